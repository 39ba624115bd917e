"""The one DNS exchange live verification needs: a dnspython query for an A, AAAA or TXT record
(class IN, or CH for ``version.bind``), sent on a UDP socket the caller keeps (the namespace's
pooled one, ``netns.udp_socket``), and the values of the answer's records of that type.

dnspython's ``dns.query.udp`` would open a socket per query, and a socket made in a network
namespace needs a trip into it; here the socket is reused, and replies to older queries on it
(a late answer to an earlier poll) or garbage are skipped until the reply to this query comes.

dnspython encodes each query's name (``_question``), and reads any reply
``_plain_answer`` cannot: that one reads the common reply (header, the question echoed byte for
byte, answer records of the asked type, nothing else) in a dozen calls, where dnspython's
``from_wire`` makes some 350, 0.2-0.3 ms of every live update on a cold cache.  It reads
exactly what dnspython reads (a generated test compares the two, tests/test_dnsquery.py).
"""

from __future__ import annotations

import functools
import os
import socket
import struct
import time

SLICE = 0.1   # seconds between looks at stop() while waiting for the reply


def exchange(sock: socket.socket, server: str, name: str, rdtype: str, *,
             rdclass: str = "IN", timeout: float = 0.5, port: int = 53,
             stop=None, meanwhile=None) -> tuple[str, list[str]]:
    """(rcode text, values of the answer's ``rdtype`` records: addresses as the definitions
    write them, ``_address``) of asking ``server`` (on ``port``) over the UDP ``sock``.
    Raises ``TimeoutError`` after ``timeout`` seconds, or within a tenth of a second once
    ``stop()`` (a signal came) is true.  ``meanwhile()`` runs once the query is sent: the
    caller's work, done while the server answers."""
    wire, question, code = _question(name.rstrip(".") + ".", rdtype, rdclass)
    ident = os.urandom(2)
    packet = ident + wire[2:]
    sock.sendto(packet, (server, port))
    if meanwhile is not None:
        meanwhile()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply within {timeout:g} s")
        if stop is not None and stop():
            raise TimeoutError("stopped")
        sock.settimeout(min(left, SLICE) if stop is not None else left)
        try:
            data, peer = sock.recvfrom(65535)
        except TimeoutError:
            continue   # the deadline or stop() ends it above
        if not _same_address(peer[0], server):
            continue
        found = _plain_answer(data, ident, question, code)
        if found is None:
            found = _answer(packet, data)
        if found:
            return found


def _answer(packet: bytes, data: bytes) -> tuple[str, list[str]] | tuple:
    """dnspython's reading of ``data``: (rcode text, values), or () when it is garbage or not
    the reply to ``packet``."""
    import dns.exception
    import dns.message
    import dns.rcode
    query = dns.message.from_wire(packet)
    try:
        reply = dns.message.from_wire(data)
    except dns.exception.DNSException:
        return ()   # garbage: keep waiting
    if not query.is_response(reply):
        return ()
    return dns.rcode.to_text(reply.rcode()), _values(reply, query.question[0].rdtype)


@functools.lru_cache(maxsize=256)
def _question(name: str, rdtype: str, rdclass: str) -> tuple[bytes, bytes, int]:
    """The query for ``name`` as ``dns.message.make_query`` writes it, its id zeroed (one
    question, recursion desired, no EDNS); its question section; the rdtype's code.  Only the
    name is encoded by dnspython: a whole message costs ten times more."""
    import dns.name
    import dns.rdataclass
    import dns.rdatatype
    code = int(dns.rdatatype.from_text(rdtype))
    question = dns.name.from_text(name).to_wire() + struct.pack(
        "!HH", code, dns.rdataclass.from_text(rdclass))
    return struct.pack("!6H", 0, 0x0100, 1, 0, 0, 0) + question, question, code


_RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
A, TXT, AAAA = 1, 16, 28


def _plain_answer(data: bytes, ident: bytes, question: bytes, rdtype: int):
    """(rcode text, values) of a plain reply to the query with id ``ident`` and ``question``
    (every answer record of the asked type and class, owned by the asked name: ``0xC00C``);
    () when ``data`` is no reply to that query; None when dnspython must read it."""
    if len(data) < 12 or data[:2] != ident or not data[2] & 0x80:
        return ()   # another query's reply, or no reply at all
    flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHH", data, 2)
    end = 12 + len(question)
    if flags & 0x7A00 or qdcount != 1 or nscount or arcount or flags & 0xF >= len(_RCODES) \
            or data[12:end] != question:
        return None   # another opcode, truncated, more sections, EDNS: dnspython reads it
    record = _OWNED + question[-4:]        # the asked name, type and class
    values: list[str] = []
    for _ in range(ancount):
        if data[end:end + 6] != record or end + 12 > len(data):
            return None
        length = struct.unpack_from("!H", data, end + 10)[0]
        end += 12 + length
        value = _text(rdtype, data[end - length:end]) if end <= len(data) else None
        if value is None or value in values:
            return None   # a record dnspython would refuse, or merge with its twin
        values.append(value)
    return (_RCODES[flags & 0xF], values) if end == len(data) else None


_OWNED = b"\xc0\x0c"   # a name compressed to the question's, at offset 12


def _text(kind: int, rdata: bytes) -> str | None:
    """A record's value as dnspython's ``_values`` gives it; None: leave it to dnspython."""
    if kind in (A, AAAA):
        return _address(rdata) if len(rdata) == (4 if kind == A else 16) else None
    if kind == TXT:
        strings, at = [], 0
        while at < len(rdata):
            length = rdata[at]
            if at + 1 + length > len(rdata):
                return None
            strings.append(rdata[at + 1:at + 1 + length])
            at += 1 + length
        return b"\n".join(strings).decode(errors="replace") if strings else None
    return None


def _values(reply, rdtype) -> list[str]:
    """Addresses as the definitions write them (``_address``); a TXT record's strings joined by
    newlines (sections/dns_txt.txt_wire); any other record as dnspython writes it."""
    out = []
    for rrset in reply.answer:
        if rrset.rdtype == rdtype:
            out += [b"\n".join(rd.strings).decode(errors="replace") if hasattr(rd, "strings")
                    else _address(rd.address) if rrset.rdtype in (A, AAAA)
                    and rrset.rdclass == 1 else rd.to_text()
                    for rd in rrset]
    return out


def _address(address: bytes | str) -> str:
    """An address (packed, or as text) as the definitions hold it (Python's ``ipaddress``: ``::ffff:a00:1``, where
    dnspython writes ``::ffff:10.0.0.1``), so that a check finds the definition's value."""
    import ipaddress
    return str(ipaddress.ip_address(address))


def _same_address(a: str, b: str) -> bool:
    family = socket.AF_INET6 if ":" in b else socket.AF_INET
    try:
        return socket.inet_pton(family, a) == socket.inet_pton(family, b)
    except OSError:
        return False
