"""A minimal DHCPv6 client for the live tests (the machine has none: busybox is built without
udhcpc6, and neither dhclient nor dhcpcd is installed).  It runs inside a client namespace:

    python dhcp6client.py IFACE MAC IAID

Solicit, Advertise, Request, Reply (RFC 8415) for one IA_NA, with a DUID-LL made of ``MAC``;
on a Reply with an address it configures the address on ``IFACE`` (so the guest answers NDP
like a real one) and prints ``LEASED ADDRESS``; exit 1 when no server answered in time.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess
import sys

SOLICIT, ADVERTISE, REQUEST, REPLY = 1, 2, 3, 7
CLIENTID, SERVERID, IA_NA, IAADDR, ORO, ELAPSED, STATUS = 1, 2, 3, 5, 6, 8, 13
SERVERS = "ff02::1:2"


def option(code: int, data: bytes) -> bytes:
    return struct.pack("!HH", code, len(data)) + data


def options(data: bytes) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    while len(data) >= 4:
        code, size = struct.unpack("!HH", data[:4])
        out.setdefault(code, []).append(data[4:4 + size])
        data = data[4 + size:]
    return out


def message(kind: int, xid: bytes, duid: bytes, iaid: int, *extra: bytes) -> bytes:
    ia = option(IA_NA, struct.pack("!III", iaid, 0, 0) + b"".join(
        e for e in extra if e[:2] == struct.pack("!H", IAADDR)))
    rest = b"".join(e for e in extra if e[:2] != struct.pack("!H", IAADDR))
    return bytes([kind]) + xid + option(CLIENTID, duid) + option(ELAPSED, b"\0\0") + \
        option(ORO, struct.pack("!H", 23)) + ia + rest


def exchange(sock, scope: int, packet: bytes, xid: bytes, want: int, tries: int = 8):
    """Send ``packet`` to the servers until an answer of type ``want`` comes: its options."""
    for _ in range(tries):
        sock.sendto(packet, (SERVERS, 547, 0, scope))
        try:
            while True:
                data, _peer = sock.recvfrom(4096)
                if data[0] == want and data[1:4] == xid:
                    return options(data[4:])
        except TimeoutError:
            continue
    return None


def address(found: dict) -> tuple[bytes, str] | None:
    """The IAADDR option and its address in an answer's IA_NA (None: no address)."""
    for ia in found.get(IA_NA, []):
        for raw in options(ia[12:]).get(IAADDR, []):
            return option(IAADDR, raw[:24]), str(ipaddress.IPv6Address(raw[:16]))
    return None


def main(iface: str, mac: str, iaid: int) -> int:
    duid = struct.pack("!HH", 3, 1) + bytes.fromhex(mac.replace(":", ""))
    scope = socket.if_nametoindex(iface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    sock.bind(("::", 546, 0, scope))
    sock.settimeout(1.0)
    xid = os.urandom(3)
    advertised = exchange(sock, scope, message(SOLICIT, xid, duid, iaid), xid, ADVERTISE)
    if advertised is None or address(advertised) is None:
        return 1
    iaaddr, _offered = address(advertised)
    xid = os.urandom(3)
    request = message(REQUEST, xid, duid, iaid, option(SERVERID, advertised[SERVERID][0]),
                      iaaddr)
    replied = exchange(sock, scope, request, xid, REPLY)
    if replied is None or address(replied) is None:
        return 1
    _raw, leased = address(replied)
    subprocess.run(["ip", "-6", "addr", "add", f"{leased}/64", "dev", iface, "nodad"],
                   check=True)
    print(f"LEASED {leased}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
