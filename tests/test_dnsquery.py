"""The DNS exchange of live verification (``runtime/dnsquery``) on a kept socket: over loopback,
replies to older queries, replies from elsewhere and garbage are skipped, and the values of the
reply to this query are read (generated answers, TXT strings joined by newlines)."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rrset
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.live.embedded.runtime import dnsquery as Q

labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
txt_strings = st.lists(st.binary(max_size=40), min_size=1, max_size=3)


@st.composite
def answers(draw):
    """(rdtype, [(kind, items)] records of the reply, the values expected for rdtype)."""
    rdtype = draw(st.sampled_from(["A", "AAAA", "TXT"]))
    records, expected = [], []
    for kind in draw(st.lists(st.sampled_from(["A", "AAAA", "TXT", "CNAME"]), max_size=3,
                              unique=True)):
        if kind == "A":
            values = draw(st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=3,
                                   unique=True))
            items = values
        elif kind == "AAAA":
            values = [str(v) for v in draw(st.lists(st.ip_addresses(v=6), min_size=1,
                                                    max_size=3, unique=True))]
            items = values
        elif kind == "TXT":
            strings = draw(st.lists(txt_strings.map(tuple), min_size=1, max_size=2, unique=True))
            items = [" ".join('"' + "".join(f"\\{b:03d}" for b in s) + '"' for s in one)
                     for one in strings]
            values = [b"\n".join(one).decode(errors="replace") for one in strings]
        else:
            items, values = ["target.example."], []
        records.append((kind, items))
        if kind == rdtype:
            expected += values
    return rdtype, records, expected


def _serve(server, name, records, noise):
    data, peer = server.recvfrom(512)
    query = dns.message.from_wire(data)
    for kind in noise:   # what must be skipped before the real reply
        if kind == "stale":
            stale = dns.message.make_response(query)
            stale.id = (query.id + 1) & 0xFFFF
            server.sendto(stale.to_wire(), peer)
        else:
            server.sendto(b"\x00\x01garbage", peer)
    reply = dns.message.make_response(query)
    for kind, items in records:
        reply.answer.append(dns.rrset.from_text_list(name + ".", 5, "IN", kind, items))
    server.sendto(reply.to_wire(), peer)


@settings(max_examples=60)
@given(name=names, case=answers(), noise=st.lists(st.sampled_from(["stale", "garbage"]),
                                                  max_size=3))
def test_the_reply_to_this_query_is_read_and_the_rest_skipped(name, case, noise):
    rdtype, records, expected = case
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=_serve, args=(server, name, records, noise))
    thread.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rcode, values = Q.exchange(client, "127.0.0.1", name, rdtype,
                                   port=server.getsockname()[1], timeout=5)
        assert (rcode, sorted(values)) == ("NOERROR", sorted(expected))
    finally:
        thread.join(5)
        client.close()
        server.close()


def test_no_reply_is_a_timeout():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            Q.exchange(client, "127.0.0.1", "a.example", "A", port=server.getsockname()[1],
                       timeout=0.2)
        except TimeoutError:
            pass
        else:
            raise AssertionError("an unanswered query returned")
    finally:
        client.close()
        server.close()


def test_a_stop_ends_the_wait_for_a_reply_within_a_slice():
    """A signal during a query to a silent server ends it at the next slice, not at its
    timeout: ``stop()`` is looked at before every slice of the wait."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    looks = []
    try:
        try:
            Q.exchange(client, "127.0.0.1", "a.example", "A", port=server.getsockname()[1],
                       timeout=60, stop=lambda: looks.append(1) or len(looks) >= 3)
        except TimeoutError as exc:
            assert str(exc) == "stopped"
        else:
            raise AssertionError("an unanswered query returned")
        assert len(looks) == 3   # two slices waited, then the stop seen
    finally:
        client.close()
        server.close()
