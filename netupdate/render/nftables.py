"""nftables rules of a network (pure text; the runtime loads them with ``nft -f``).

One table per network and state directory (``table_name``), family ``inet``, owned by
netupdate.  ``replace_script`` replaces it in a
single nft transaction (create if missing, delete, re-create), so there is never a moment without
rules, unlike libvirt's remove-and-re-add of iptables rules on every DHCP change.

* ``nat``: guests reach out through masquerading (ports 1024-65535 for tcp/udp, or the
  ``<nat><address/><port/></nat>`` ranges), replies come back; IPv6 is routed unless
  ``<nat ipv6='yes'>``; a ``<forward dev>`` limits both to that interface.
* ``route``: the subnets are forwarded both ways, no translation.
* isolated (no ``<forward>``): guests talk to each other and to the host only.
* ``open``: no rules at all (``ruleset`` returns None).
"""

from __future__ import annotations

import hashlib
import re

from netupdate.document.patterns import Pattern
from netupdate.errors import UnsupportedError
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.model.defs import NetworkDef
from netupdate.sections import forward as FORWARD
from netupdate.sections import ip as IP

FAMILY = "inet"
_ID = Pattern(r"[^A-Za-z0-9_]")


def table_name(network: str, owner: str) -> str:
    """The nft table netupdate owns for ``network`` of the store ``owner`` identifies (a short
    hex id, see ``Driver.owner``): a valid unquoted nft identifier of at most 68 characters
    (nft allows 255), distinct for two state directories that run a same-named network in one
    namespace."""
    if not re.fullmatch(r"[0-9a-f]{1,16}", owner):
        raise ValueError(f"bad table owner id {owner!r}")
    clean = _ID.sub("_", network)[:40]
    if clean != network:
        clean += "_" + hashlib.sha256(network.encode()).hexdigest()[:8]
    return f"netupdate_{clean}_{owner}"


def _q(name: str) -> str:
    """An interface name as an nft string; one outside ``textcheck.iface_name`` is refused."""
    return '"' + TC.ensure(TC.iface_name, name, "an nft interface name") + '"'


def ruleset(defs: NetworkDef, table: str, bridge: str) -> str | None:
    """The ``table inet <table> { ... }`` block for the network, or None when it needs none."""
    mode = defs.forward_mode
    if mode == T.ForwardMode.OPEN:
        return None
    if mode is not None and mode not in T.UPLINK_MODES:
        raise UnsupportedError(f"no firewall rules for forward mode '{mode}'")
    br = _q(bridge)
    dev = FORWARD.uplink(defs)
    out_dev = f"oifname {_q(dev)} " if dev else ""
    in_dev = f"iifname {_q(dev)} " if dev else ""
    v4, v6 = IP.subnets(defs, 4), IP.subnets(defs, 6)

    lines = [f"table {FAMILY} {table} {{",
             "\tchain input {",
             "\t\ttype filter hook input priority filter; policy accept;",
             f"\t\tiifname {br} udp dport {{ 53, 67, 547 }} accept",
             f"\t\tiifname {br} tcp dport 53 accept",
             "\t}",
             "\tchain forward {",
             "\t\ttype filter hook forward priority filter; policy accept;"]
    nat6 = (mode == T.ForwardMode.NAT and defs.forward.nat is not None
            and defs.forward.nat.ipv6 is True)
    for version, subnets in ((4, v4), (6, v6)):
        kw = "ip" if version == 4 else "ip6"
        for net in subnets:
            if mode == T.ForwardMode.NAT and (version == 4 or nat6):
                lines.append(f"\t\tiifname {br} {out_dev}{kw} saddr {net} accept")
                lines.append(f"\t\t{in_dev}oifname {br} {kw} daddr {net} "
                             "ct state established,related accept")
            elif mode is not None:  # route, and IPv6 of a nat network
                lines.append(f"\t\tiifname {br} {out_dev}{kw} saddr {net} accept")
                lines.append(f"\t\t{in_dev}oifname {br} {kw} daddr {net} accept")
    lines += [f"\t\tiifname {br} oifname {br} accept",
              f"\t\tiifname {br} reject",
              f"\t\toifname {br} reject",
              "\t}"]
    if mode == T.ForwardMode.NAT:
        lines += ["\tchain postrouting {",
                  "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
        lines += FORWARD.masquerade_lines(defs, "ip", v4, out_dev)
        if nat6:
            lines += FORWARD.masquerade_lines(defs, "ip6", v6, out_dev)
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def replace_script(defs: NetworkDef, table: str, bridge: str) -> str | None:
    """An ``nft -f`` script that replaces the table in one transaction (None: no table)."""
    body = ruleset(defs, table, bridge)
    if body is None:
        return None
    return f"table {FAMILY} {table}\ndelete table {FAMILY} {table}\n{body}"


def delete_script(table: str) -> str:
    """An ``nft -f`` script that deletes the table (and succeeds when it is already gone)."""
    return f"table {FAMILY} {table}\ndelete table {FAMILY} {table}\n"
