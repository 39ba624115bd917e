"""The one DNS exchange live verification needs: a dnspython query for an A, AAAA or TXT record
(class IN, or CH for ``version.bind``), sent on a UDP socket the caller keeps (the namespace's
pooled one, ``netns.udp_socket``), and the values of the answer's records of that type.

dnspython's ``dns.query.udp`` would open a socket per query, and a socket made in a network
namespace needs a trip into it; here the socket is reused, and replies to older queries on it
(a late answer to an earlier poll) or garbage are skipped until the reply to this query comes.
"""

from __future__ import annotations

import socket
import time

SLICE = 0.1   # seconds between looks at stop() while waiting for the reply


def exchange(sock: socket.socket, server: str, name: str, rdtype: str, *,
             rdclass: str = "IN", timeout: float = 0.5, port: int = 53,
             stop=None, meanwhile=None) -> tuple[str, list[str]]:
    """(rcode text, values of the answer's ``rdtype`` records) of asking ``server`` (on ``port``)
    over the UDP ``sock``.  Raises ``TimeoutError`` after ``timeout`` seconds, or within a tenth
    of a second once ``stop()`` (a signal came) is true.  ``meanwhile()`` runs once the query
    is sent: the caller's work, done while the server answers."""
    import dns.exception
    import dns.message
    import dns.rcode

    query = dns.message.make_query(name.rstrip(".") + ".", rdtype, rdclass)
    sock.sendto(query.to_wire(), (server, port))
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
        try:
            reply = dns.message.from_wire(data)
        except dns.exception.DNSException:
            continue   # garbage: keep waiting
        if query.is_response(reply):
            return dns.rcode.to_text(reply.rcode()), _values(reply, query.question[0].rdtype)


def _values(reply, rdtype) -> list[str]:
    """Addresses as text; a TXT record's strings joined by newlines (sections/dns_txt.txt_wire)."""
    out = []
    for rrset in reply.answer:
        if rrset.rdtype == rdtype:
            out += [b"\n".join(rd.strings).decode(errors="replace") if hasattr(rd, "strings")
                    else rd.to_text() for rd in rrset]
    return out


def _same_address(a: str, b: str) -> bool:
    family = socket.AF_INET6 if ":" in b else socket.AF_INET
    try:
        return socket.inet_pton(family, a) == socket.inet_pton(family, b)
    except OSError:
        return False
