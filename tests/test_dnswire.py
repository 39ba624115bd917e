"""The DNS exchange of live verification (``runtime/dnswire``) against dnspython: the same query
bytes, the same values read from generated (compressed) replies, and garbage rejected with
``WireError`` only; plus one exchange over a loopback socket with a reply to an older query in
the way."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.live.embedded.runtime import dnswire as W

labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
txt_strings = st.lists(st.binary(max_size=40), min_size=1, max_size=3)


def _dnspython_values(reply: dns.message.Message, rdtype: str) -> list[str]:
    """What verify.query returned when it used dnspython (for the asked type)."""
    out = []
    for rrset in reply.answer:
        if rrset.rdtype != dns.rdatatype.from_text(rdtype):
            continue
        for rdata in rrset:
            out.append(b"\n".join(rdata.strings).decode(errors="replace") if rdtype == "TXT"
                       else rdata.to_text())
    return out


@settings(max_examples=100)
@given(qid=st.integers(0, 0xFFFF), name=names, rdtype=st.sampled_from(sorted(W.TYPES)),
       rdclass=st.sampled_from(sorted(W.CLASSES)))
def test_the_query_is_the_one_dnspython_makes(qid, name, rdtype, rdclass):
    theirs = dns.message.make_query(name + ".", rdtype, rdclass)
    theirs.id = qid
    assert W.encode_query(qid, name, rdtype, rdclass) == theirs.to_wire()


@st.composite
def replies(draw):
    name, rdtype = draw(names), draw(st.sampled_from(sorted(W.TYPES)))
    query = dns.message.make_query(name + ".", rdtype)
    query.id = draw(st.integers(0, 0xFFFF))
    reply = dns.message.make_response(query)
    reply.set_rcode(draw(st.integers(0, 5)))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["A", "AAAA", "TXT", "CNAME"]))
        owner = draw(st.sampled_from([name, draw(names)])) + "."
        if kind == "A":
            items = draw(st.lists(ipv4, min_size=1, max_size=3, unique=True))
        elif kind == "AAAA":
            items = draw(st.lists(ipv6, min_size=1, max_size=3, unique=True))
        elif kind == "TXT":
            items = [" ".join('"' + "".join(f"\\{b:03d}" for b in s) + '"' for s in strings)
                     for strings in draw(st.lists(txt_strings, min_size=1, max_size=2))]
        else:
            items = [name + "."]
        reply.answer.append(dns.rrset.from_text_list(owner, 60, "IN", kind, items))
    return query, reply, rdtype


@settings(max_examples=100)
@given(replies())
def test_the_values_read_are_dnspythons(case):
    query, reply, rdtype = case
    wire = query.to_wire()
    rcode, values = W.decode_reply(reply.to_wire(), query.id, wire[12:], rdtype)
    # (the order of the records in a set is the writer's; the checks test membership)
    assert (rcode, sorted(values)) == (dns.rcode.to_text(reply.rcode()),
                                       sorted(_dnspython_values(reply, rdtype)))


@settings(max_examples=200)
@given(data=st.binary(max_size=80), qid=st.integers(0, 0xFFFF))
def test_garbage_is_a_wire_error_and_nothing_else(data, qid):
    question = W.encode_query(qid, "a.b", "A")[12:]
    for candidate in (data, W.encode_query(qid, "a.b", "A")[:2] + b"\x81\x80\x00\x01" + data,
                      bytes([qid >> 8, qid & 0xFF, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0])
                      + question + data):
        try:
            W.decode_reply(candidate, qid, question, "A")
        except W.WireError:
            pass


@pytest.mark.parametrize("bad", ["a..b", "x" * 64, ".".join(["abcdefgh"] * 40)])
def test_bad_names_are_refused(bad):
    with pytest.raises(ValueError):
        W.encode_query(1, bad, "A")


def test_an_exchange_skips_a_late_reply_to_an_older_query():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        data, peer = server.recvfrom(512)
        query = dns.message.from_wire(data)
        stale = dns.message.make_response(query)
        stale.id = (query.id + 1) & 0xFFFF
        server.sendto(stale.to_wire(), peer)
        reply = dns.message.make_response(query)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 5, "IN", "A",
                                                "192.0.2.7"))
        server.sendto(reply.to_wire(), peer)
    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert W.exchange(client, "127.0.0.1", "host.example", "A", port=port) == (
            "NOERROR", ["192.0.2.7"])
    finally:
        thread.join(5)
        client.close()
        server.close()
