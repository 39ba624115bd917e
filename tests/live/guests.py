"""veth "guests" on a network's bridge, and a watch on their links (netlink link events through
``ip monitor link``) that says whether a guest lost its link or its bridge meanwhile."""

from __future__ import annotations

import secrets
import subprocess
import time


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def plug(netns: str, bridge: str, *, isolated: bool = False) -> str:
    """A veth pair in ``netns``, one end on ``bridge`` (up), the other up too; returns the
    bridge-side name (the guest's port)."""
    port, peer = f"vg{secrets.token_hex(3)}", f"vp{secrets.token_hex(3)}"
    ip("-n", netns, "link", "add", port, "type", "veth", "peer", "name", peer)
    ip("-n", netns, "link", "set", port, "master", bridge, "up")
    ip("-n", netns, "link", "set", peer, "up")
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
