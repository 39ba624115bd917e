"""The leases of a running network in the kernel's and dnsmasq's terms: who is still on the
bridge, and releasing a lease in dnsmasq (``dhcp_release`` / ``dhcp_release6`` of Debian's
dnsmasq-utils).

A lease's holder is present when its MAC is in the bridge's forwarding database (learnt on a
port, not the bridge's own), or when its address answers an ARP (``busybox arping``) or NDP
(``ndisc6``) probe sent from the bridge.  The probes of several leases run at once.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

from netupdate.document.patterns import Pattern
from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import netns as NS
from netupdate.model import leases as L

PROBE_SECONDS = 1
_HEX = Pattern(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$")
NTF_SELF = 0x02
NUD_PERMANENT = 0x80


def port_macs(ipr, bridge: str) -> set[str]:
    """The MACs the bridge learnt on its ports (its forwarding database, without its own and
    permanent entries)."""
    idx = ipr.link_lookup(ifname=bridge)
    if not idx:
        return set()
    out = set()
    for msg in ipr.fdb("dump", master=idx[0]):
        if msg.get("NDA_MASTER") != idx[0] or msg["state"] & NUD_PERMANENT \
                or msg["flags"] & NTF_SELF:
            continue
        mac = msg.get("NDA_LLADDR")
        if mac:
            out.add(mac.lower())
    return out


def ports(ipr, bridge: str) -> list[str]:
    """The names of the interfaces attached to the bridge."""
    idx = ipr.link_lookup(ifname=bridge)
    if not idx:
        return []
    return sorted(link.get("IFLA_IFNAME") for link in ipr.get_links()
                  if link.get("IFLA_MASTER") == idx[0])


def _probe_argv(lease: L.Lease, bridge: str) -> list[str]:
    if lease.version == 4:
        return [shutil.which("busybox") or "busybox", "arping", "-f", "-q", "-c", "2",
                "-w", str(PROBE_SECONDS), "-I", bridge, str(lease.ip)]
    return [shutil.which("ndisc6") or "ndisc6", "-1", "-q", "-r", "2",
            "-w", str(PROBE_SECONDS * 500), str(lease.ip), bridge]


def answers(lease: L.Lease, bridge: str, netns: str | None) -> bool:
    """Whether ``lease``'s address answers an ARP or NDP probe on the bridge."""
    proc = NS.run(_probe_argv(lease, bridge), netns=netns, timeout=PROBE_SECONDS + 5,
                  check=False)
    return proc.returncode == 0


def presence(ipr, bridge: str, netns: str | None, leases: list[L.Lease]) -> dict:
    """``{lease ip: holder present}`` for ``leases``."""
    macs = port_macs(ipr, bridge)
    out = {lease.ip: True for lease in leases if lease.mac and lease.mac in macs}
    rest = [lease for lease in leases if lease.ip not in out]
    if rest:
        with ThreadPoolExecutor(max_workers=min(16, len(rest))) as pool:
            found = pool.map(lambda lease: answers(lease, bridge, netns), rest)
            out.update((lease.ip, here) for lease, here in zip(rest, found, strict=True))
    return out


def server_duid(text: str) -> str | None:
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["duid"] and len(parts) == 2 and _HEX.match(parts[1]):
            return parts[1]
    return None


def release(lease: L.Lease, bridge: str, netns: str | None, lease_text: str) -> None:
    """Make dnsmasq forget ``lease`` at once (it sends a DHCPRELEASE in the client's name)."""
    if lease.version == 4:
        argv = [_tool("dhcp_release"), bridge, str(lease.ip), lease.mac]
        if lease.client_id and _HEX.match(lease.client_id):
            argv.append(lease.client_id)
    else:
        server = server_duid(lease_text)
        if not (lease.client_id and _HEX.match(lease.client_id)) or server is None:
            raise RuntimeFailure(f"cannot release the DHCPv6 lease of {lease.ip}: its client "
                                 "or server DUID is unknown")
        argv = [_tool("dhcp_release6"), "--iface", bridge, "--ip", str(lease.ip),
                "--server-id", server, "--client-id", lease.client_id,
                "--iaid", str(lease.iaid or 0)]
    NS.run(argv, netns=netns, timeout=10)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeFailure(f"{name} is not installed (apt-get install dnsmasq-utils)")
    return found
