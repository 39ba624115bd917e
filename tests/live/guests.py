"""veth "guests" on a network's bridge, and a watch on their links (netlink link events through
``ip monitor link``) that says whether a guest lost its link or its bridge meanwhile."""

from __future__ import annotations

import secrets
import subprocess
import time


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def plug(netns: str, bridge: str, *, isolated: bool = False, client: str | None = None) -> str:
    """A veth pair in ``netns``, one end on ``bridge`` (up), the other up too (moved into
    namespace ``client`` when given, named ``vp`` + the port's suffix); returns the bridge-side
    name (the guest's port)."""
    suffix = secrets.token_hex(3)
    port, peer = f"vg{suffix}", f"vp{suffix}"
    ip("-n", netns, "link", "add", port, "type", "veth", "peer", "name", peer)
    ip("-n", netns, "link", "set", port, "master", bridge, "up")
    if client is not None:
        ip("-n", netns, "link", "set", peer, "netns", client)
    ip("-n", client or netns, "link", "set", peer, "up")
    if isolated:
        ip("-n", netns, "link", "set", port, "type", "bridge_slave", "isolated", "on")
    return port


class LinkWatch:
    """``with LinkWatch(netns, port) as watch: ...``; then ``watch.cuts`` lists the events
    where the port went down, was deleted, or left its bridge."""

    def __init__(self, netns: str, port: str):
        self.netns, self.port = netns, port
        self.lines: list[str] = []

    def __enter__(self):
        self.proc = subprocess.Popen(["ip", "-n", self.netns, "-o", "monitor", "link"],
                                     stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)   # listening before anything changes
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        self.lines = out.splitlines()
        return False

    @property
    def cuts(self) -> list[str]:
        out = []
        for line in self.lines:
            if f" {self.port}@" not in line and f" {self.port}:" not in line:
                continue
            flags = line.split("<", 1)[1].split(">", 1)[0].split(",") if "<" in line else []
            if line.startswith("Deleted") or "LOWER_UP" not in flags or " master " not in line:
                out.append(line)
        return out


UPSTREAM = r"""
import socket, sys
import dns.message, dns.rrset
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    data, peer = sock.recvfrom(4096)
    query = dns.message.from_wire(data)
    reply = dns.message.make_response(query)
    q = query.question[0]
    if q.rdtype == 1:
        reply.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", sys.argv[2]))
    sock.sendto(reply.to_wire(), peer)
"""


def upstream(netns: str, address: str, answer: str) -> subprocess.Popen:
    """A DNS server on ``address`` (added to lo in ``netns``) answering every A query with
    ``answer``; the caller terminates it."""
    import sys
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "lo"], check=True)
    proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", UPSTREAM,
                             address, answer], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc
