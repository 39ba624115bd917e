"""``forward`` (libvirt section 6): ``<network><forward mode? dev? managed?>`` with ``<nat>``,
``<driver>`` and the device pool (``<interface>``: ``sections/forward_interface.py``, ``<pf>``:
``forward_pf.py``, PCI ``<address>``).

libvirt refuses the section in ``net-update``; netupdate edits it as a whole element.  The mode
decides what the rest of the network may hold, so the rules here are re-checked (scope
``"forward"``) after edits of every section whose elements the mode constrains: libvirt's parser
(one interface and an ``<ip>`` for nat/route/open, no forward device for open, ``<nat>`` only
with nat, the bridge attributes per mode, ``<mtu>``) and, as a define would, the bridge driver's
checks (no ``<mac>``, ``<ip>``, ``<domain>``, DNS records or bandwidth where libvirt owns no
host-side device).  The mode groups are ``model.values`` (``L3_MODES``, ``DEVICE_MODES``, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from netupdate.errors import InvalidFragmentError, ModelError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections._spec import (
    ADDED,
    CONF,
    DEVICE_POOL,
    ERROR,
    FIREWALL_ATOMIC,
    LV_REFUSED,
    MODIFIED,
    POOL,
    REMOVED,
    RESTART,
    UNMANAGED,
    Finding,
    Rule,
    Section,
    mode_of,
    q,
    row,
)
from netupdate.sections.dns import RECORDS as _RECORDS
from netupdate.sections.dns import disabled_message

SECTION = Section("forward", 6, ("network", "forward"), M.ForwardDef, False, frozenset())

def _forward(view):
    return next(view.root.iterchildren("forward"), None)


def _mode(view) -> tuple[object, T.ForwardMode | None]:
    """(``<forward>``, its mode); the mode is None for an isolated network or an unknown mode
    (NU-E101 and the fragment check report that one)."""
    forward = _forward(view)
    if forward is None:
        return None, None
    mode = mode_of(forward)
    return forward, mode if isinstance(mode, T.ForwardMode) else None


# ---------------------------------------------------------------------- messages
def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on a ``<forward>`` on its own (before it is placed)."""
    mode = element.get("mode")
    if mode is not None and mode not in set(T.ForwardMode):
        yield Finding(element, f"unknown forwarding type '{mode}'", error=InvalidFragmentError)
    managed = element.get("managed")
    if managed is not None and managed not in ("yes", "no"):
        yield Finding(element, f"invalid value '{managed}' for attribute 'managed' of <forward> "
                      f"in network {q(n)}", error=InvalidFragmentError)


def multiple_interfaces(n: str) -> str:
    return f"multiple forwarding interfaces specified for network {q(n)}, only one is supported"


def dev_not_allowed(n: str, mode) -> str:
    return f"forward dev not allowed for network {q(n)} with forward mode='{mode}'"


def name_and_dev(n: str, mode) -> str:
    return (f"A network with forward mode='{mode}' can specify a bridge name or a forward dev, "
            f"but not both (network {q(n)})")


def in_use(n: str, dev, used: int) -> str:
    return (f"unable to delete the <forward> element of network {q(n)}: interface '{dev}' is "
            f"currently being used by {used} domains.")


# ---------------------------------------------------------------------- rules
def _interface_count(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    if mode not in T.L3_MODES:
        return
    interfaces = list(forward.iterchildren("interface"))
    count = len(interfaces) or (1 if forward.get("dev") else 0)
    if count > 1:
        yield Finding(interfaces[1], multiple_interfaces(view.n),
                      f"forward mode '{mode}' allows only one <interface>, found {count}")
    elif mode == T.ForwardMode.OPEN and count:
        yield Finding(forward, dev_not_allowed(view.n, mode),
                      "forward mode 'open' takes no forward device (dev or <interface>)")


def _dev(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    dev = forward.get("dev") if forward is not None else None
    if mode is None or dev is None:
        return
    if next(forward.iterchildren("pf", "address"), None) is not None:
        yield Finding(forward, "the <forward> 'dev' attribute cannot be used when <address> or "
                      f"<pf> sub-elements are present in network {view.n}",
                      f"forward dev '{dev}' cannot be combined with <pf> or <address> entries")
        return
    first = next(forward.iterchildren("interface"), None)
    if first is not None and first.get("dev") != dev:
        shown = first.get("dev")
        yield Finding(forward, f"<forward dev='{dev}'> must match first <interface "
                      f"dev='{shown}'/> in network {view.n}",
                      None if shown is None else
                      f"forward dev '{dev}' must match the first <interface> dev '{shown}'")


def _ip(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    if mode in T.L3_MODES and next(view.root.iterchildren("ip"), None) is None:
        yield Finding(forward, f"{mode} forwarding requested, but no IP address provided for "
                      f"network {q(view.n)}", f"forward mode '{mode}' needs at least one <ip> address")


def _nat_mode(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    nat = next(forward.iterchildren("nat"), None) if mode is not None else None
    if nat is not None and mode != T.ForwardMode.NAT:
        yield Finding(nat, "The <nat> element can only be used when <forward> 'mode' is 'nat' in "
                      f"network {view.n}", f"<nat> is only used with forward mode 'nat', not '{mode}'")


def _nat_ranges(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    nat = next(forward.iterchildren("nat"), None) if mode is not None else None
    if nat is None:
        return
    try:
        nat_def = M.NatDef.from_element(nat)
    except ModelError:
        return   # NU-E020 (validate); the engine's typed check refuses it first
    for part, what in ((nat_def.address, "address"), (nat_def.port, "port")):
        if part is None or part.start is None or part.end is None or part.start <= part.end:
            continue
        message = (f"range {part.start} - {part.end} is reversed" if what == "address" else
                   f"invalid <nat> port range {part.start}-{part.end} in network {q(view.n)}")
        yield Finding(next(nat.iterchildren(what)), message,
                      f"NAT {what} range {part.start} - {part.end} is reversed")


def _bridge(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    bridge = next(view.root.iterchildren("bridge"), None)
    if bridge is None or mode not in T.DEVICE_MODES:
        return
    qn, name = q(view.n), bridge.get("name")
    if mode in T.DIRECT_MODES:
        for attr, what in (("name", "bridge name"), ("zone", "bridge zone"),
                           ("macTableManager", "bridge macTableManager setting")):
            if bridge.get(attr) is not None:
                yield Finding(bridge, f"{what} not allowed in {mode} mode (network {qn})",
                              f"<bridge {attr}> is not allowed with forward mode '{mode}'")
    given = [attr for attr in ("stp", "delay", "zone") if bridge.get(attr) is not None
             and (attr != "delay" or bridge.get(attr).strip() not in ("0", ""))]
    if given:
        yield Finding(bridge, "bridge delay/stp/zone options only allowed in route, nat, and "
                      f"isolated mode, not in {mode} (network {qn})",
                      f"bridge {', '.join(given)} only apply to networks libvirt creates the "
                      f"bridge for (isolated, nat, route, open), not forward mode '{mode}'")
    if name and (forward.get("dev") or next(forward.iterchildren("interface", "pf", "address"),
                                            None) is not None):
        yield Finding(bridge, name_and_dev(view.n, mode),
                      f"forward mode '{mode}' takes a bridge name or a forward device, not both")


def _unsupported(tag: str, view, mode) -> str:
    return f"Unsupported <{tag}> element in network {view.n} with forward mode='{mode}'"


def _host_side(view) -> Iterator[Finding]:
    _forward_el, mode = _mode(view)
    if mode not in T.DEVICE_MODES:
        return
    root, n = view.root, view.n
    for tag in ("ip", "domain", "mac"):
        for element in root.iterchildren(tag):
            yield Finding(element, _unsupported(tag, view, mode),
                          f"<{tag}> is not supported with forward mode '{mode}'")
    mtu = next(root.iterchildren("mtu"), None)
    if mtu is not None:
        yield Finding(mtu, "mtu size only allowed in open, route, nat, and isolated mode, not "
                      f"in {mode} (network {q(n)})",
                      f"<mtu> is not supported with forward mode '{mode}'")
    bandwidth = next(root.iterchildren("bandwidth"), None)
    if bandwidth is not None and mode in T.DIRECT_MODES:
        yield Finding(bandwidth, f"Unsupported network-wide <bandwidth> element in network {n} "
                      f"with forward mode='{mode}'",
                      f"network-wide <bandwidth> is not supported with forward mode '{mode}'")
    if mode != T.ForwardMode.HOSTDEV:
        return
    for group in root.iterchildren("portgroup"):
        found = next(group.iterchildren("bandwidth"), None)
        if found is not None:
            name = group.get("name")
            yield Finding(found, f"unsupported <bandwidth> element in <portgroup name='{name}'> "
                          f"of network {q(n)} with forward mode='{mode}'",
                          f"<bandwidth> in portgroup '{name}' is not supported with forward "
                          f"mode '{mode}'")




def _dns(view) -> Iterator[Finding]:
    dns = next(view.root.iterchildren("dns"), None)
    if dns is None:
        return
    _forward_el, mode = _mode(view)
    records = [f"<{tag}>" for tag in _RECORDS if next(dns.iterchildren(tag), None) is not None]
    if mode in T.DEVICE_MODES and records:
        yield Finding(dns, _unsupported("dns", view, mode),
                      f"DNS records ({', '.join(records)}) are not supported with forward mode "
                      f"'{mode}': no DNS server runs for this network")
    elif dns.get("enable") == "no":
        what = records + (["<forwarder>"] if next(dns.iterchildren("forwarder"), None)
                          is not None else [])
        if what:
            yield Finding(dns, disabled_message(view.n), f"DNS is disabled (enable='no') but "
                          f"{', '.join(what)} are configured")


def _vlan_tags(element) -> bool:
    vlan = next(element.iterchildren("vlan"), None)
    return vlan is not None and next(vlan.iterchildren("tag"), None) is not None


def _port_type(element) -> str | None:
    port = next(element.iterchildren("virtualport"), None)
    return port.get("type") if port is not None else None


def _vlan(view) -> Iterator[Finding]:
    forward, mode = _mode(view)
    if forward is not None and mode is None:
        return
    root = view.root
    ovs = T.VirtualPortType.OPENVSWITCH
    allowed = mode in T.VLAN_MODES or (mode == T.ForwardMode.BRIDGE and _port_type(root) == ovs)
    where = f"forward mode '{mode}'" if mode else "an isolated network"
    vlan = next(root.iterchildren("vlan"), None)
    if _vlan_tags(root) and not allowed:
        yield Finding(vlan, None, f"<vlan> is not supported with {where} (only hostdev, "
                      "passthrough, and bridge with an openvswitch virtualport)")
    for group in root.iterchildren("portgroup"):
        if not _vlan_tags(group):
            continue
        port = _port_type(group)
        ok = (mode == T.ForwardMode.BRIDGE and port == ovs) if port is not None else allowed
        if not ok:
            yield Finding(next(group.iterchildren("vlan")), None,
                          f"<vlan> in portgroup '{group.get('name')}' is not supported with "
                          f"{where}")


def _rule(code: str, name: str, title: str, explanation: str, check) -> Rule:
    return Rule(code, name, ERROR, title, explanation, check=check, scope="forward")


# in the order the update engine reports them when one edit breaks several
RULES = (
    _rule("NU-E115", "forward-dev-mismatch", "Forward dev differs from the first interface",
          "``<forward dev='X'>`` is shorthand for the first ``<interface dev='X'/>``; when both "
          "are written they must name the same device, and it cannot be combined with a "
          "``<pf>`` or PCI ``<address>`` pool.  libvirt's parser refuses both.", _dev),
    _rule("NU-E114", "forward-interface-count", "Forward interfaces not allowed by the mode",
          "With ``<forward mode='nat'>``, ``'route'`` or ``'open'`` (libvirt's L3 modes) at most "
          "one ``<interface>`` (the outgoing device) may be listed; interface pools are for the "
          "bridge, private, vepa and passthrough modes.  With ``mode='open'`` no forward device "
          "may be given at all.  libvirt's parser refuses both, in this order (\"multiple "
          "forwarding interfaces specified\", \"forward dev not allowed\"), in an update too.",
          _interface_count),
    _rule("NU-E130", "nat-outside-nat-mode", "<nat> with a forward mode other than nat",
          "A ``<nat>`` element (address and port ranges, IPv6 NAT) only means something with "
          "``<forward mode='nat'>``; libvirt's parser refuses it with any other mode (\"The "
          "<nat> element can only be used when <forward> 'mode' is 'nat'\").", _nat_mode),
    _rule("NU-E127", "nat-range-reversed", "NAT address or port range reversed",
          "``<nat><address start end/>`` or ``<nat><port start end/>`` ends before it starts; "
          "the firewall rules libvirt writes from it would be refused.", _nat_ranges),
    _rule("NU-E116", "forward-without-ip", "Routed network without an <ip>",
          "Forward modes nat, route and open forward IP traffic of the network's own subnet, "
          "so the network needs at least one ``<ip>``.  libvirt refuses the definition "
          "(\"forwarding requested, but no IP address provided\").", _ip),
    _rule("NU-E119", "element-unsupported-for-mode", "Host-side element the mode cannot use",
          "With forward modes bridge, private, vepa, passthrough and hostdev libvirt neither "
          "owns a host-side device nor runs dnsmasq, so ``<mtu>`` (its parser), ``<mac>``, "
          "``<ip>`` and ``<domain>`` (its bridge driver, at define) are refused.  Network-wide "
          "``<bandwidth>`` is refused for private, vepa, passthrough and hostdev, and portgroup "
          "``<bandwidth>`` for hostdev.", _host_side),
    _rule("NU-E120", "dns-unservable", "DNS records the network cannot serve",
          "DNS records (``<txt>``, ``<srv>``, ``<host>``) are served by the network's dnsmasq, "
          "which only runs for isolated, nat, route and open networks: with forward modes "
          "bridge, private, vepa, passthrough and hostdev libvirt refuses them at define (its "
          "update of the DNS sections does not check it).  With ``<dns enable='no'>`` any "
          "forwarder or record is refused as well (\"Extra data in disabled network\").", _dns),
    _rule("NU-E118", "bridge-attributes-for-mode", "Bridge settings the forward mode ignores",
          "libvirt creates and configures the bridge only for isolated, nat, route and open "
          "networks.  With modes private, vepa, passthrough and hostdev there is no bridge at "
          "all, so a bridge ``name``, ``zone`` or ``macTableManager`` is refused; with those and "
          "mode bridge ``stp``, a non-zero ``delay`` and ``zone`` are refused, and a bridge name "
          "and a forward device exclude each other.  libvirt's parser refuses each of these.",
          _bridge),
    Rule("NU-E121", "vlan-unsupported", ERROR, "VLAN the forward mode cannot carry",
         "Transparent VLAN tagging works only for hostdev and passthrough (SR-IOV) networks and "
         "for mode bridge with an Open vSwitch ``<virtualport>``.  A ``<vlan>`` of the network "
         "or of a portgroup elsewhere (a nat network, a plain Linux bridge) is refused by "
         "libvirt at define (not by its update of a portgroup).", check=_vlan),
)

# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("forward", "bridge")

# ---------------------------------------------------------------------- plan
FIREWALL_IF = "the masquerade and forward rules name the outgoing device; " + FIREWALL_ATOMIC
_DEVICE = "read when a device is assigned to a guest from now on"

PLAN_ROWS = (
    row("forward.routed", "forward", "*", (ADDED, REMOVED),
        ("firewall-reload", "isolated <-> nat, route or open: the rule set is replaced "
                            "atomically (ip_forward follows the definition)"),
        ("dnsmasq-restart", "the isolated-network options (dhcp-option=3, no-resolv, ra-param) "
                            "are conf lines; " + CONF),
        when=("same-group",), libvirt=LV_REFUSED),
    row("forward", "forward", "*", (ADDED, REMOVED),
        (RESTART, "isolated <-> forwarding: ip_forward, the isolated-network dnsmasq options "
                  "(dhcp-option=3, no-resolv) and the whole rule set are set up at start"),
        libvirt=LV_REFUSED),
    row("forward.mode.switch", "forward", "mode", (MODIFIED,),
        ("firewall-reload", "nat, route and open share the bridge, the addresses, ip_forward "
                            "and the dnsmasq conf; only the firewall rules differ; "
                            + FIREWALL_ATOMIC),
        when=("forwarding-switch",), libvirt=LV_REFUSED),
    row("forward.mode.pool", "forward", "mode", (MODIFIED,), POOL, when=("same-group",),
        libvirt=LV_REFUSED),
    row("forward.mode", "forward", "mode", (MODIFIED,),
        (RESTART, "the forward mode decides whether there is a bridge, addresses and dnsmasq at "
                  "all (bridge, macvtap and hostdev modes have none): nothing smaller switches "
                  "it"),
        libvirt=LV_REFUSED),
    row("forward.dev.routed", "forward", "dev", (MODIFIED,), ("firewall-reload", FIREWALL_IF),
        when=("routed",), libvirt=LV_REFUSED),
    row("forward.dev.device", "forward", "dev", (MODIFIED,), POOL, when=UNMANAGED,
        libvirt=LV_REFUSED),
    row("forward.dev", "forward", "dev", (MODIFIED,),
        ("none", "no firewall rule names it in this mode (open: no rules; pools: used for "
                 "guest ports plugged from now on)"),
        libvirt=LV_REFUSED),
    row("forward.managed", "forward", "managed", (MODIFIED,), ("none", _DEVICE),
        libvirt=LV_REFUSED),
    row("forward.driver", "forward", "driver", (MODIFIED,), ("none", _DEVICE),
        libvirt=LV_REFUSED),
    row("forward.nat.nat", "forward", "nat", (MODIFIED,),
        ("firewall-reload", "the NAT address and port ranges and NAT for IPv6 are masquerade "
                            "rules; " + FIREWALL_ATOMIC),
        when=("nat",), libvirt=LV_REFUSED),
    row("forward.nat", "forward", "nat", (MODIFIED,),
        ("none", "<nat> is used only by mode nat, which this network does not have"),
        libvirt=LV_REFUSED),
    row("forward.addresses.device", "forward", "addresses", (MODIFIED,), POOL, when=UNMANAGED,
        libvirt=LV_REFUSED),
    row("forward.addresses", "forward", "addresses", (MODIFIED,), ("none", DEVICE_POOL),
        libvirt=LV_REFUSED),
)

# libvirt's defaults of absent attributes, applied before comparing (planning/differ.py)
def effective_dev(forward: M.ForwardDef) -> str | None:
    """``<forward dev>``; without one libvirt uses the first ``<interface>``'s."""
    if forward.dev is None and forward.interfaces:
        return forward.interfaces[0].dev
    return forward.dev


DIFF_DEFAULTS = {"mode": T.ForwardMode.NAT, "dev": effective_dev, (M.NatDef, "ipv6"): False}
# its interfaces and PFs are sections of their own (fields of the item -> section)
DIFF_SUBSECTIONS = {"interfaces": "forward-interface", "pfs": "forward-pf"}


def diff_own(forward: M.ForwardDef, same) -> M.ForwardDef:
    """What a diff reports as the ``<forward>`` itself: its dev (which stands for its first
    interface), without its interfaces and PFs."""
    return replace(forward, dev=effective_dev(forward), **dict.fromkeys(DIFF_SUBSECTIONS, ()))

# ---------------------------------------------------------------------- libvirt's live XML
# the source ports masquerading uses unless <nat><port> says otherwise (libvirt writes them
# into the live XML)
NAT_PORTS = (1024, 65535)


def libvirt_normal(forward: M.ForwardDef | None) -> M.ForwardDef | None:
    """``<forward>`` without what libvirt adds on its own: usage counters (``connections``),
    the NAT port range 1024-65535 of the live XML, the ``<interface>`` implied by ``<forward
    dev>``, and the device lists a PF expands into."""
    if forward is None:
        return None
    nat = forward.nat
    if nat is not None and nat.port is not None \
            and (nat.port.start, nat.port.end) == NAT_PORTS:
        nat = replace(nat, port=None)
        if nat.address is None and nat.ipv6 is None:
            nat = None
    interfaces = tuple(replace(i, connections=None) for i in forward.interfaces)
    addresses = tuple(replace(a, connections=None) for a in forward.addresses)
    if forward.pfs:
        interfaces, addresses = (), ()
    elif forward.dev is not None and not interfaces:
        interfaces = (M.ForwardInterface(dev=forward.dev),)
    return replace(forward, nat=nat, interfaces=interfaces, addresses=addresses)


# ---------------------------------------------------------------------- render
DNSMASQ_SLOT = "isolated"   # after interface=, before the DNS records


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """An isolated network (no ``<forward>``) offers no default route and no upstream DNS."""
    return ["dhcp-option=3", "no-resolv", "ra-param=*,0,0"] if defs.forward is None else []


def uplink(defs: M.NetworkDef) -> str | None:
    """The outgoing device the firewall rules name: ``<forward dev>``, else the first
    ``<interface>`` (None: any)."""
    return effective_dev(defs.forward) if defs.forward is not None else None


def masquerade_lines(defs: M.NetworkDef, kw: str, subnets: list[str], out_dev: str) -> list[str]:
    """The nft postrouting lines of mode nat for the ``kw`` (``ip``/``ip6``) ``subnets``: the
    ``<nat>`` address range (IPv4) and port range (default 1024-65535)."""
    nat = defs.forward.nat
    address = nat.address if nat is not None else None
    port = nat.port if nat is not None else None
    low, high = (port.start, port.end) if port is not None and port.start else NAT_PORTS
    lines = []
    for net in subnets:
        match = f"{kw} saddr {net} {kw} daddr != {net} {out_dev}"
        if kw == "ip":
            lines.append(f"\t\tip saddr {net} ip daddr 224.0.0.0/24 return")
            lines.append(f"\t\tip saddr {net} ip daddr 255.255.255.255 return")
        else:
            lines.append(f"\t\tip6 saddr {net} ip6 daddr ff00::/8 return")
        if address is not None and address.start is not None and kw == "ip":
            span = str(address.start) + (f"-{address.end}" if address.end else "")
            lines.append(f"\t\t{match}meta l4proto {{ tcp, udp }} "
                         f"snat ip to {span}:{low}-{high}")
            lines.append(f"\t\t{match}snat ip to {span}")
        else:
            lines.append(f"\t\t{match}meta l4proto {{ tcp, udp }} masquerade to :{low}-{high}")
            lines.append(f"\t\t{match}masquerade")
    return lines
