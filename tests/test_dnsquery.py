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


rare = st.sampled_from([False, False, False, False, True])   # shrinks to False


@st.composite
def replies(draw):
    """How to write a reply (``_reply``) to a query for a generated name: answers of the asked
    type and others, other owners, twins, other sections, EDNS, rcodes, flags, another id,
    damage."""
    import dns.rcode
    name = draw(names) + "."
    rdtype, rdclass = draw(st.sampled_from([("A", "IN"), ("AAAA", "IN"), ("TXT", "IN"),
                                             ("TXT", "CH")]))
    records, only_asked = [], draw(st.booleans())   # as dnsmasq answers, or anything
    for kind, items in draw(answers())[1]:
        if only_asked and kind != rdtype:
            continue
        owner = draw(names) + "." if draw(rare) else name
        klass = "IN" if kind in ("A", "AAAA") else \
            ("CH" if rdclass == "IN" else "IN") if draw(rare) else rdclass
        twins = items[:1] if draw(rare) else []
        records.append((owner, klass, kind, items + twins))
    return {"name": name, "rdtype": rdtype, "rdclass": rdclass, "records": records,
            "ident": draw(st.binary(min_size=2, max_size=2)),
            "rcode": draw(st.none() | st.sampled_from(list(dns.rcode.Rcode))),
            "edns": draw(rare), "authority": draw(rare),
            "flag": draw(st.sampled_from(["", "AA", "TC", "RA"])),
            "other_id": draw(rare),
            "damage": draw(rare) and draw(st.tuples(st.floats(0, 1), st.integers(0, 255))),
            "cut": draw(rare) and draw(st.floats(0, 1))}


def _reply(how: dict) -> tuple[bytes, bytes, bytes]:
    """(the query's packet, its question, the reply's bytes) as ``how`` says."""
    import dns.flags
    wire, question, _code = Q._question(how["name"], how["rdtype"], how["rdclass"])
    packet = how["ident"] + wire[2:]
    reply = dns.message.make_response(dns.message.from_wire(packet))
    for owner, klass, kind, items in how["records"]:
        reply.answer.append(dns.rrset.from_text_list(owner, 5, klass, kind, items))
    if how["rcode"] is not None:
        reply.set_rcode(how["rcode"])
    if how["edns"]:
        reply.use_edns(0)
    if how["authority"]:
        reply.authority.append(dns.rrset.from_text(how["name"], 5, "IN", "NS", "ns.example."))
    if how["flag"]:
        reply.flags |= dns.flags.Flag[how["flag"]]
    if how["other_id"]:
        reply.id = (reply.id + 1) & 0xFFFF
    data = bytearray(reply.to_wire())
    if how["damage"]:
        where, value = how["damage"]
        data[min(int(where * len(data)), len(data) - 1)] = value
    if how["cut"] is not False:
        data = data[:int(how["cut"] * len(data))]
    return packet, question, bytes(data)


@settings(max_examples=400)
@given(how=replies())
def test_the_plain_reading_of_a_reply_is_dnspythons(how):
    """Whatever the reply (written by dnspython, sometimes damaged), the plain reading either
    leaves it to dnspython or finds exactly what dnspython finds: not a reply to this query,
    or the same rcode and values in the same order."""
    packet, question, data = _reply(how)
    plain = Q._plain_answer(data, packet[:2], question, int.from_bytes(question[-4:-2], "big"))
    if plain is not None:
        assert plain == Q._answer(packet, data)


@given(name=names, case=answers())
@settings(max_examples=60)
def test_a_reply_as_dnsmasq_writes_it_is_read_plainly(name, case):
    """dnsmasq's reply to a verification query (the asked name's records of the asked type,
    nothing else) never needs dnspython."""
    rdtype, records, expected = case
    how = {"name": name + ".", "rdtype": rdtype, "rdclass": "IN", "ident": b"\x12\x34",
           "records": [(name + ".", "IN", kind, items) for kind, items in records
                       if kind == rdtype],
           "rcode": None, "edns": False, "authority": False, "flag": "RA", "other_id": False,
           "damage": False, "cut": False}
    packet, question, data = _reply(how)
    plain = Q._plain_answer(data, packet[:2], question, int.from_bytes(question[-4:-2], "big"))
    assert plain is not None and plain == Q._answer(packet, data)
    assert plain[0] == "NOERROR" and sorted(plain[1]) == sorted(expected)


@given(name=names, rdtype=st.sampled_from(["A", "AAAA", "TXT"]),
       rdclass=st.sampled_from(["IN", "CH"]))
def test_a_query_is_written_as_dnspython_writes_it(name, rdtype, rdclass):
    import dns.message
    query = dns.message.make_query(name + ".", rdtype, rdclass)
    query.id = 0
    wire, question, code = Q._question(name + ".", rdtype, rdclass)
    assert wire == query.to_wire() and wire.endswith(question) and code == query.question[0].rdtype


def test_an_ipv4_mapped_address_answers_as_the_definition_writes_it():
    """dnspython writes ``::ffff:10.0.0.1``, the definition's value (Python's ipaddress) is
    ``::ffff:a00:1``: the answer is given in the definition's form, or the verification of
    such a DNS host would wait for an answer it already has, then roll back."""
    from netupdate.model.defs import load
    from netupdate.sections import dns_host as DNS_HOST
    network = load("<network><name>m</name><dns><host ip='::ffff:10.0.0.1'><hostname>m"
                   "</hostname></host></dns></network>")
    (host,) = network.defs.dns.hosts
    (check,) = DNS_HOST.answers(DNS_HOST.names_of(host), {})
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=_serve, args=(server, "m", [("AAAA", ["::ffff:10.0.0.1"])],
                                                   []))
    thread.start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rcode, values = Q.exchange(client, "127.0.0.1", "m", "AAAA",
                                   port=server.getsockname()[1], timeout=5)
    finally:
        thread.join(5)
        client.close()
        server.close()
    assert check == ("m", "AAAA", "::ffff:a00:1", True) and check[2] in values
