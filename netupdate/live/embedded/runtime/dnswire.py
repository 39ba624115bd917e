"""The one DNS exchange live verification needs, in wire format (RFC 1035) with the standard
library alone: a query for an A, AAAA or TXT record (class IN, or CH for ``version.bind``) and
the values of the answer's records of that type.

dnspython did this before and cost 55-75 ms of imports in every command-line update (its
message, name, rdata and query modules, and the package metadata it reads for its optional
features) for a few dozen bytes each way.  tests/test_dnswire.py checks both directions against
dnspython on generated names and answers.
"""

from __future__ import annotations

import os
import socket
import struct
import time

TYPES = {"A": 1, "TXT": 16, "AAAA": 28}
CLASSES = {"IN": 1, "CH": 3}
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")


class WireError(ValueError):
    """A reply that is not a well-formed answer to the query."""


def encode_name(name: str) -> bytes:
    """``name`` (dots between labels, a trailing dot optional) as wire labels."""
    labels = name.rstrip(".").split(".") if name.strip(".") else []
    out = bytearray()
    for label in labels:
        raw = label.encode("ascii") if label.isascii() else label.encode("idna")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label {label!r} in {name!r}")
        out += bytes((len(raw),)) + raw
    if len(out) > 254:
        raise ValueError(f"DNS name too long: {name!r}")
    return bytes(out) + b"\0"


def encode_query(qid: int, name: str, rdtype: str, rdclass: str = "IN") -> bytes:
    """A standard query (recursion desired, no EDNS) for ``name``."""
    return _HEADER.pack(qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", TYPES[rdtype], CLASSES[rdclass])


def _skip_name(data: bytes, at: int) -> int:
    """The offset just after the (possibly compressed) name at ``at``."""
    while True:
        if at >= len(data):
            raise WireError("name runs past the end")
        length = data[at]
        if length >= 0xC0:
            return at + 2
        if length > 63:
            raise WireError("bad label length")
        if length == 0:
            return at + 1
        at += 1 + length


def decode_reply(data: bytes, qid: int, question: bytes, rdtype: str) -> tuple[str, list[str]]:
    """(rcode text, values of the answer's ``rdtype`` records) of a reply to the query with id
    ``qid`` and question section ``question``; ``WireError`` when it is not that reply."""
    if len(data) < _HEADER.size:
        raise WireError("short reply")
    rid, flags, qdcount, ancount, _ns, _ar = _HEADER.unpack_from(data)
    if rid != qid or not flags & 0x8000:
        raise WireError("not the reply to this query")
    at = _HEADER.size
    if qdcount != 1 or data[at:at + len(question)].lower() != question.lower():
        raise WireError("the reply is for another question")
    at += len(question)
    want, values = TYPES[rdtype], []
    for _ in range(ancount):
        at = _skip_name(data, at)
        if at + _RR.size > len(data):
            raise WireError("record runs past the end")
        kind, _cls, _ttl, length = _RR.unpack_from(data, at)
        at += _RR.size
        rdata = data[at:at + length]
        if len(rdata) != length:
            raise WireError("record data runs past the end")
        at += length
        if kind == want:
            values.append(_rdata_text(kind, rdata))
    rcode = flags & 0xF
    return (RCODES[rcode] if rcode < len(RCODES) else str(rcode)), values


def _rdata_text(kind: int, rdata: bytes) -> str:
    if kind == 1 and len(rdata) == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if kind == 28 and len(rdata) == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if kind == 16:   # character-strings, newline-joined (sections/dns_txt.txt_wire)
        strings, at = [], 0
        while at < len(rdata):
            end = at + 1 + rdata[at]
            if end > len(rdata):
                raise WireError("TXT string runs past the end")
            strings.append(rdata[at + 1:end])
            at = end
        return b"\n".join(strings).decode(errors="replace")
    raise WireError(f"bad record data of type {kind}")


def exchange(sock: socket.socket, server: str, name: str, rdtype: str, *,
             rdclass: str = "IN", timeout: float = 0.5, port: int = 53) -> tuple[str, list[str]]:
    """Ask ``server`` (on ``port``) over the UDP ``sock``; replies to other (older) queries on the
    same socket are skipped.  Raises ``TimeoutError`` after ``timeout`` seconds."""
    qid = int.from_bytes(os.urandom(2), "big")
    query = encode_query(qid, name, rdtype, rdclass)
    question = query[_HEADER.size:]
    sock.sendto(query, (server, port))
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply within {timeout:g} s")
        sock.settimeout(left)
        data, peer = sock.recvfrom(4096)   # TimeoutError when none came in time
        if peer[0] != server and socket.inet_pton(_family(server), peer[0]) != \
                socket.inet_pton(_family(server), server):
            continue
        try:
            return decode_reply(data, qid, question, rdtype)
        except WireError:
            continue   # a late reply to an earlier query, or garbage: keep waiting


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET
