"""Every section x every command, success and refusal rows, as data.

Success rows state the expected typed result independently of the engine: the section's list
(or singleton) in the NetworkDef before the update, with the fragment's definition inserted
first/last, put in place of entry k, or removed.  They also check that the text outside the
touched element is byte-identical.  Refusal rows check the error class, key words of the
message, and that the document is unchanged.
"""

import dataclasses
import difflib
from pathlib import Path

import pytest

import netupdate
from netupdate import sections
from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    NotFoundError,
)
from netupdate.model import defs as M

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
NETWORKS = ROOT / "networks"
FRAGMENTS = ROOT / "fragments"

NOT_FOUND, DUPLICATE, AMBIGUOUS = NotFoundError, DuplicateError, AmbiguousError
INVALID, REFUSED = InvalidFragmentError, InvalidOperationError


# ---------------------------------------------------------------------- helpers
def network_text(name: str) -> str:
    if ":" in name:   # "net:-substring" drops the lines containing substring
        base, *drops = name.split(":")
        lines = (NETWORKS / f"{base}.xml").read_text().splitlines(keepends=True)
        return "".join(line for line in lines
                       if not any(d.lstrip("-") in line for d in drops))
    return (NETWORKS / f"{name}.xml").read_text()


def fragment_text(fragment: str) -> str:
    if fragment.startswith("@"):
        return (FRAGMENTS / fragment[1:]).read_text()
    return fragment


class Ok:
    """Expected success: ``op`` on the definition found at ``path`` in the NetworkDef."""

    def __init__(self, *path, op: str, k: int | None = None, fn=None):
        self.path, self.op, self.k, self.fn = path, op, k, fn

    def __repr__(self):
        return f"Ok{self.path}:{self.op}{'' if self.k is None else self.k}"


_EMPTY = {"dhcp": M.DhcpDef, "dns": M.DnsDef}


def _get(obj, step):
    return obj[step] if isinstance(step, int) else getattr(obj, step)


def _set(obj, step, value):
    if isinstance(step, int):
        return obj[:step] + (value,) + obj[step + 1:]
    return dataclasses.replace(obj, **{step: value})


def _edit(obj, path, fn):
    if not path:
        return fn(obj)
    step, rest = path[0], path[1:]
    child = _get(obj, step)
    if child is None and rest:
        child = _EMPTY[step]()
    return _set(obj, step, _edit(child, rest, fn))


def _cleanup(defs: M.NetworkDef, path) -> M.NetworkDef:
    """Containers left empty by a delete disappear (<dhcp> without range/host/bootp, an empty
    attribute-less <dns>)."""
    if path[:1] == ("ips",) and len(path) > 2:
        ip = defs.ips[path[1]]
        if ip.dhcp is not None and not ip.dhcp.ranges and not ip.dhcp.hosts \
                and ip.dhcp.bootp is None:
            defs = _set(defs, "ips", _set(defs.ips, path[1], dataclasses.replace(ip, dhcp=None)))
    if path[:1] == ("dns",) and len(path) > 1 and defs.dns is not None:
        dns = defs.dns
        if not (dns.forwarders or dns.txts or dns.srvs or dns.hosts) and dns.enable is None \
                and dns.forward_plain_names is None:
            defs = dataclasses.replace(defs, dns=None)
    return defs


def expected_defs(before: M.NetworkDef, ok: Ok, new) -> M.NetworkDef:
    if ok.fn is not None:
        return ok.fn(before)
    ops = {
        "first": lambda t: (new, *t),
        "last": lambda t: (*t, new),
        "replace": lambda t: t[:ok.k] + (new,) + t[ok.k + 1:],
        "remove": lambda t: t[:ok.k] + t[ok.k + 1:],
        "set": lambda _: new,
        "unset": lambda _: None,
    }
    after = _edit(before, ok.path, ops[ok.op])
    if ok.op == "remove":
        after = _cleanup(after, ok.path)
    if ok.path[:2] == ("forward", "interfaces"):   # libvirt writes <forward dev> = 1st interface
        forward = after.forward
        if not forward.pfs and not forward.addresses:
            first = forward.interfaces[0].dev if forward.interfaces else None
            after = dataclasses.replace(after, forward=dataclasses.replace(forward, dev=first))
    return after


def assert_only_touched(before: str, after: str, change) -> None:
    """Everything outside one small region around the touched element is byte-identical."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    codes = [c for c in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
             if c[0] != "equal"]
    if change.before_xml is not None and change.before_xml == change.after_xml:
        assert not codes, "an identical replacement changed the text"
        return
    assert codes, "nothing changed"
    assert len(codes) <= 2, codes   # the element, and at most its parent's start tag
    lines_before = len(change.before_xml.splitlines()) if change.before_xml else 0
    lines_after = len(change.after_xml.splitlines()) if change.after_xml else 0
    for _, i1, i2, j1, j2 in codes:
        assert i2 - i1 <= lines_before + 2, (old[i1:i2], change)
        assert j2 - j1 <= lines_after + 3, (new[j1:j2], change)


# ---------------------------------------------------------------------- the matrix
S_DEFS = {s.name: s.def_cls for s in sections.SECTIONS}
HOSTS0 = ("ips", 0, "dhcp", "hosts")
RANGES0 = ("ips", 0, "dhcp", "ranges")
ADDS = ("add-first", "add-last", "add")
R = []


def row(section, command, network, fragment, expect, *, index=-1, words=(), name=""):
    commands = ADDS if command == "adds" else (command,)
    for cmd in commands:
        if isinstance(expect, Ok) and expect.op == "add":
            op = "first" if cmd == "add-first" else "last"
            exp = Ok(*expect.path, op=op)
        else:
            exp = expect
        if name:
            label = name
        elif fragment.startswith("@"):
            label = fragment.split("/")[-1][:-4]
        else:
            label = "".join(c for c in fragment[:48] if c.isalnum() or c in "=.-_")
        R.append(pytest.param(section, cmd, network, fragment, index, exp, tuple(words),
                              id=f"{section}|{cmd}|{network.split(':')[0]}|{label}"))


# bridge ------------------------------------------------------------------------------------
row("bridge", "adds", "nat-default:-<bridge", "@bridge/bridge-stp-off.xml", Ok("bridge", op="set"))
row("bridge", "adds", "nat-default", "@bridge/bridge-virbr0.xml", DUPLICATE,
    words=["already a <bridge>", "'default'"])
row("bridge", "adds", "nat-default:-<bridge", "@bridge/bad-stp-value.xml", INVALID,
    words=["'maybe'", "stp"])
row("bridge", "add", "nat-default:-<bridge", "@bridge/bad-long-name.xml", INVALID,
    words=["longer than 15"])
row("bridge", "add", "nat-default:-<bridge", "@bridge/bad-delay.xml", INVALID, words=["delay"])
row("bridge", "add", "nat-default:-<bridge", "@bridge/bad-wrong-element.xml", INVALID,
    words=["unexpected element <forward>, expecting <bridge>"])
row("bridge", "add", "macvtap-private", "<bridge name='br7'/>", REFUSED,
    words=["bridge name not allowed in private mode"])
row("bridge", "modify", "nat-default", "@bridge/bridge-stp-off.xml", Ok("bridge", op="set"))
row("bridge", "modify", "bridge-host", "@bridge/bridge-mactable.xml", Ok("bridge", op="set"))
row("bridge", "modify", "nat-forward-dev", "@bridge/bridge-zone.xml", Ok("bridge", op="set"))
row("bridge", "modify", "nat-default:-<bridge", "@bridge/bridge-stp-off.xml", NOT_FOUND,
    words=["no <bridge> element to modify"])
row("bridge", "modify", "bridge-host", "<bridge name='br0' stp='on'/>", REFUSED,
    words=["stp/zone options only allowed"])
row("bridge", "delete", "nat-default", "<bridge/>", Ok("bridge", op="unset"))
row("bridge", "delete", "nat-default", "@bridge/bridge-virbr0.xml", Ok("bridge", op="unset"))
row("bridge", "delete", "nat-default", "<bridge name='virbr7'/>", NOT_FOUND,
    words=["does not match"])
row("bridge", "delete", "macvtap-pool", "<bridge/>", NOT_FOUND, words=["no <bridge>"])

# domain ------------------------------------------------------------------------------------
row("domain", "adds", "nat-default", "@domain/domain-example.xml", Ok("domain", op="set"))
row("domain", "add", "local-domain", "@domain/domain-example.xml", DUPLICATE,
    words=["already a <domain>"])
row("domain", "add", "nat-default", "@domain/bad-name-chars.xml", INVALID,
    words=["DNS name 'bad_domain!' is not a valid DNS name"])
row("domain", "add-first", "nat-default", "@domain/bad-localonly.xml", INVALID,
    words=["'sometimes'"])
row("domain", "add-last", "bridge-host", "@domain/domain-example.xml", REFUSED,
    words=["Unsupported <domain> element", "mode='bridge'"])
row("domain", "modify", "local-domain", "@domain/domain-localonly.xml", Ok("domain", op="set"))
row("domain", "modify", "nat-default", "@domain/domain-localonly.xml", NOT_FOUND,
    words=["no <domain> element to modify"])
row("domain", "modify", "local-domain", "@domain/bad-missing-name.xml", INVALID,
    words=["missing name"])
row("domain", "delete", "local-domain", "<domain/>", Ok("domain", op="unset"))
row("domain", "delete", "nat-default", "<domain/>", NOT_FOUND, words=["no <domain>"])

# ip ------------------------------------------------------------------------------------------
row("ip", "add-first", "nat-default", "@ip/ip-v6-dhcp.xml", Ok("ips", op="first"))
row("ip", "add-last", "nat-default", "@ip/ip-v4-tftp.xml", Ok("ips", op="last"))
row("ip", "add", "nat-default", "@ip/ip-v6-dhcp.xml", Ok("ips", op="last"))
row("ip", "adds", "nat-default", "@ip/ip-v4-netmask.xml", DUPLICATE,
    words=["address '192.168.122.1'"])
row("ip", "add", "nat-default", "@ip/bad-address.xml", INVALID, words=["192.168.122.300"])
row("ip", "add", "nat-default", "@ip/bad-family-mismatch.xml", REFUSED,
    words=["Family 'ipv4' specified for non-IPv4 address"])
row("ip", "add", "nat-default", "@ip/bad-ipv6-netmask.xml", REFUSED,
    words=["netmask not allowed for IPv6"])
row("ip", "add-first", "nat-default:-<ip :-<dhcp:-<range:-</dhcp:-</ip",
    "@ip/bad-netmask-and-prefix.xml", REFUSED, words=["both a prefix and a netmask"])
row("ip", "add-last", "nat-default",
    "<ip address='10.9.0.1' prefix='24'><dhcp><range start='10.9.0.10' end='10.9.0.20'/>"
    "</dhcp></ip>", REFUSED, words=["single IPv4 address"], name="second-dhcp")
row("ip", "add", "bridge-host", "@ip/ip-v4-tftp.xml", REFUSED,
    words=["Unsupported <ip> element", "mode='bridge'"])
row("ip", "add", "nat-default", "<ip family='ipv6' address='fd00::1' prefix='64'>"
    "<tftp root='/x'/></ip>", REFUSED, words=["<tftp> element in an IPv6"], name="tftp6")
row("ip", "modify", "nat-default", "@ip/ip-v4-localptr-dhcp.xml", Ok("ips", op="replace", k=0))
row("ip", "modify", "nat-default", "@ip/ip-v4-netmask.xml", Ok("ips", op="replace", k=0))
row("ip", "modify", "nat-default", "@ip/ip-v6-dhcp.xml", NOT_FOUND,
    words=["address '2001:db8:122::1'"])
row("ip", "modify", "nat-default", "<ip address='192.168.122.1' prefix='25'><dhcp>"
    "<range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip>", REFUSED,
    words=["not entirely within network 192.168.122.1/25"], name="range-outside")
row("ip", "delete", "nat-hosts", "<ip address='192.168.101.1'/>", Ok("ips", op="remove", k=1))
row("ip", "delete", "nat-hosts", "<ip address='2001:db8:100::1'/>",
    Ok("ips", op="remove", k=2))
row("ip", "delete", "nat-default", "<ip address='192.168.122.1'/>", REFUSED,
    words=["nat forwarding requested, but no IP address"])
row("ip", "delete", "nat-default", "<ip address='10.1.1.1'/>", NOT_FOUND,
    words=["address '10.1.1.1'"])
row("ip", "delete", "nat-default", "<ip netmask='255.255.255.0'/>", INVALID,
    words=["Missing required address"])

# ip-dhcp-host ----------------------------------------------------------------------------------
row("ip-dhcp-host", "adds", "nat-default", "@ip-dhcp-host/host-new.xml", Ok(*HOSTS0, op="add"))
row("ip-dhcp-host", "adds", "nat-default", "@ip-dhcp-host/host-new-with-lease.xml",
    Ok(*HOSTS0, op="add"))
row("ip-dhcp-host", "add", "nat-default", "@ip-dhcp-host/host-name-only.xml",
    Ok(*HOSTS0, op="last"))
row("ip-dhcp-host", "adds", "dual-stack-dhcp", "@ip-dhcp-host/host-ipv6-id.xml",
    Ok("ips", 1, "dhcp", "hosts", op="add"))
row("ip-dhcp-host", "add", "dual-stack-dhcp", "@ip-dhcp-host/host-ipv6-name.xml",
    Ok("ips", 1, "dhcp", "hosts", op="last"), index=1)
row("ip-dhcp-host", "add", "nat-hosts",
    "<host mac='52:54:00:a1:00:77' name='on2' ip='192.168.101.7'/>", REFUSED, index=1,
    words=["dhcp is supported only for a single IPv4 address"], name="single-dhcp")
row("ip-dhcp-host", "add", "nat-default", "<host name='x6' ip='fd00::7'/>", NOT_FOUND,
    words=["no IPv6 <ip> element"], name="no-ipv6")
row("ip-dhcp-host", "add", "nat-default", "@ip-dhcp-host/host-new.xml", NOT_FOUND, index=3,
    words=["no <ip> element found at index 3"])
row("ip-dhcp-host", "add", "dual-stack-dhcp", "@ip-dhcp-host/host-ipv6-name.xml", REFUSED,
    index=0, words=["address family of a host entry IP must match"])
row("ip-dhcp-host", "adds", "nat-hosts", "@ip-dhcp-host/host-existing.xml", DUPLICATE,
    words=["existing dhcp host entry in network 'nat-hosts'", "web1.example.com"])
row("ip-dhcp-host", "add", "nat-hosts", "@ip-dhcp-host/host-mac-upper.xml", DUPLICATE,
    words=["existing dhcp host entry"])
row("ip-dhcp-host", "add", "nat-hosts",
    "<host mac='52:54:00:a1:00:78' name='DB1' ip='192.168.100.78'/>", Ok(*HOSTS0, op="last"),
    name="name-case-sensitive")
for bad, words in [("bad-multicast-mac", ["multicast"]), ("bad-mac-syntax", ["Cannot parse MAC"]),
                   ("bad-ip", ["Invalid IP address"]), ("bad-name-dash", ["'-dash'"]),
                   ("bad-short-lease", ["greater than 2 minutes"]),
                   ("bad-lease-unit", ["'days'"]), ("bad-missing-ip", ["Missing IP address"]),
                   ("bad-empty", ["must have mac or name"]),
                   ("bad-wrong-element", ["expecting <host>"])]:
    row("ip-dhcp-host", "add", "nat-default", f"@ip-dhcp-host/{bad}.xml", INVALID, words=words)
row("ip-dhcp-host", "add", "dual-stack-dhcp", "@ip-dhcp-host/bad-id-chars.xml", INVALID,
    index=1, words=["Invalid character 'z'"])
row("ip-dhcp-host", "add", "dual-stack-dhcp", "@ip-dhcp-host/bad-mac-on-ipv6.xml", INVALID,
    index=1, words=["IPv6 static host definition"])
row("ip-dhcp-host", "modify", "nat-hosts", "@ip-dhcp-host/host-updated.xml",
    Ok(*HOSTS0, op="replace", k=0))
row("ip-dhcp-host", "modify", "nat-hosts", "@ip-dhcp-host/host-mac-upper.xml",
    Ok(*HOSTS0, op="replace", k=0))
row("ip-dhcp-host", "modify", "nat-hosts", "<host name='db1' ip='192.168.100.21'/>",
    Ok(*HOSTS0, op="replace", k=3), name="by-name")
row("ip-dhcp-host", "modify", "dual-stack-dhcp",
    "<host id='00:02:00:00:ab:11:5a:1b:3c:4d:5e:6f' name='gamma' ip='fd00:106::13'/>",
    Ok("ips", 1, "dhcp", "hosts", op="replace", k=2), name="by-id")
row("ip-dhcp-host", "modify", "nat-default", "@ip-dhcp-host/host-new.xml", NOT_FOUND,
    words=["couldn't locate an existing dhcp host entry", "newvm"])
row("ip-dhcp-host", "modify", "nat-hosts",
    "<host mac='52:54:00:a1:00:10' name='db1' ip='192.168.100.10'/>", DUPLICATE,
    words=["existing dhcp host entry", "db1"], name="creates-duplicate-name")
row("ip-dhcp-host", "modify", "nat-hosts", "@ip-dhcp-host/bad-missing-ip.xml", INVALID,
    words=["Missing IP address"])
row("ip-dhcp-host", "delete", "nat-hosts", "@ip-dhcp-host/host-delete-by-mac.xml",
    Ok(*HOSTS0, op="remove", k=2))
row("ip-dhcp-host", "delete", "nat-hosts", "@ip-dhcp-host/host-delete-by-name.xml",
    Ok(*HOSTS0, op="remove", k=3))
row("ip-dhcp-host", "delete", "nat-hosts", "@ip-dhcp-host/host-existing.xml",
    Ok(*HOSTS0, op="remove", k=0))
row("ip-dhcp-host", "delete", "nat-hosts", "<host mac='52:54:00:A1:00:11'/>",
    Ok(*HOSTS0, op="remove", k=1), name="mac-case")
row("ip-dhcp-host", "delete", "dual-stack-dhcp", "<host id='0:3:0:1:52:54:0:6a:0:1'/>",
    Ok("ips", 1, "dhcp", "hosts", op="remove", k=0), name="by-id")
row("ip-dhcp-host", "delete", "isolated", "<host mac='52:54:00:10:0a:01'/>",
    Ok(*HOSTS0, op="remove", k=0), name="last-host")
row("ip-dhcp-host", "delete", "nat-hosts", "<host mac='52:54:00:a1:00:99'/>", NOT_FOUND,
    words=["couldn't locate a matching dhcp host entry in network 'nat-hosts'"],
    name="unknown-mac-spares-macless")
row("ip-dhcp-host", "delete", "nat-hosts", "<host name='db1' ip='192.168.100.21'/>", NOT_FOUND,
    words=["couldn't locate a matching dhcp host"], name="all-given-must-match")
row("ip-dhcp-host", "delete", "nat-hosts", "@ip-dhcp-host/bad-empty.xml", INVALID,
    words=["At least one of name, mac, ip or id"])
row("ip-dhcp-host", "delete", "nat-hosts", "@ip-dhcp-host/bad-mac-syntax.xml", INVALID,
    words=["Cannot parse MAC"])

# ip-dhcp-range --------------------------------------------------------------------------------
row("ip-dhcp-range", "adds", "nat-hosts", "@ip-dhcp-range/range-new.xml", Ok(*RANGES0, op="add"))
row("ip-dhcp-range", "adds", "nat-hosts", "@ip-dhcp-range/range-with-lease.xml",
    Ok(*RANGES0, op="add"))
row("ip-dhcp-range", "add", "dual-stack-dhcp", "@ip-dhcp-range/range-ipv6.xml",
    Ok("ips", 1, "dhcp", "ranges", op="last"))
row("ip-dhcp-range", "add", "nat-forward-dev:-<range",
    "<range start='10.20.30.50' end='10.20.30.150'/>", Ok(*RANGES0, op="last"), name="into-empty")
row("ip-dhcp-range", "adds", "nat-default", "@ip-dhcp-range/range-existing.xml", DUPLICATE,
    words=["existing dhcp range entry", "192.168.122.2"])
for bad, kind, words in [("bad-reversed", INVALID, ["is reversed"]),
                         ("bad-outside", REFUSED, ["not entirely within network"]),
                         ("bad-broadcast", REFUSED, ["broadcast address"]),
                         ("bad-network-address", REFUSED, ["is the network address"]),
                         ("bad-missing-end", INVALID, ["Missing 'end' attribute"]),
                         ("bad-family", NOT_FOUND, ["no IPv6 <ip>"])]:
    row("ip-dhcp-range", "add", "nat-default", f"@ip-dhcp-range/{bad}.xml", kind, words=words)
row("ip-dhcp-range", "add", "nat-default", "@ip-dhcp-range/bad-family.xml", REFUSED, index=0,
    words=["mismatch of address family"], name="family-explicit-index")
row("ip-dhcp-range", "add", "dual-stack-dhcp", "@ip-dhcp-range/bad-too-large.xml", INVALID,
    index=1, words=["too large"])
row("ip-dhcp-range", "add", "nat-hosts", "<range start='192.168.101.10' end='192.168.101.20'/>",
    REFUSED, index=1, words=["single IPv4 address"], name="single-dhcp")
row("ip-dhcp-range", "modify", "nat-default",
    "<range start='192.168.122.2' end='192.168.122.254'><lease expiry='2' unit='hours'/></range>",
    Ok(*RANGES0, op="replace", k=0), name="lease")
row("ip-dhcp-range", "modify", "nat-default", "@ip-dhcp-range/range-new.xml", REFUSED,
    words=["not entirely within"])
row("ip-dhcp-range", "modify", "nat-default",
    "<range start='192.168.122.2' end='192.168.122.100'/>", NOT_FOUND,
    words=["couldn't locate a matching dhcp range entry"], name="sub-range")
row("ip-dhcp-range", "delete", "nat-default", "@ip-dhcp-range/range-existing.xml",
    Ok(*RANGES0, op="remove", k=0))
row("ip-dhcp-range", "delete", "nat-hosts",
    "<range start='192.168.100.128' end='192.168.100.254'><lease expiry='0'/></range>",
    Ok(*RANGES0, op="remove", k=0), name="lease-ignored")
row("ip-dhcp-range", "delete", "tftp-bootp", "<range start='192.168.108.2' end='192.168.108.254'/>",
    Ok(*RANGES0, op="remove", k=0), name="keeps-bootp")
row("ip-dhcp-range", "delete", "nat-default",
    "<range start='192.168.122.2' end='192.168.122.100'/>", NOT_FOUND,
    words=["couldn't locate a matching dhcp range entry"], name="sub-range")
row("ip-dhcp-range", "delete", "nat-default", "@ip-dhcp-range/bad-outside.xml", REFUSED,
    words=["not entirely within"])

# forward --------------------------------------------------------------------------------------
row("forward", "adds", "isolated", "@forward/forward-nat-ports.xml", Ok("forward", op="set"))
row("forward", "adds", "nat-default", "@forward/forward-nat.xml", DUPLICATE,
    words=["already a <forward>"])
row("forward", "add", "isolated", "@forward/bad-mode.xml", INVALID,
    words=["unknown forwarding type 'teleport'"])
row("forward", "add", "isolated", "@forward/bad-nat-in-route.xml", REFUSED,
    words=["<nat> element can only be used"])
row("forward", "add", "isolated", "@forward/bad-dev-mismatch.xml", REFUSED,
    words=["<forward dev='eth1'> must match first <interface dev='eth2'/>"])
row("forward", "add", "isolated", "<forward mode='bridge'/>", REFUSED,
    words=["Unsupported <ip> element"], name="bridge-with-ip")
row("forward", "modify", "nat-default", "@forward/forward-nat-ports.xml", Ok("forward", op="set"))
row("forward", "modify", "routed", "@forward/forward-route-dev.xml", Ok("forward", op="set"))
row("forward", "modify", "hostdev-pci-pool", "@forward/forward-hostdev.xml",
    Ok("forward", op="set"))
row("forward", "modify", "nat-default", "<forward mode='route'/>", Ok("forward", op="set"),
    name="nat-to-route")
row("forward", "modify", "isolated", "@forward/forward-nat.xml", NOT_FOUND,
    words=["no <forward> element to modify"])
row("forward", "modify", "hostdev-pci-pool", "@forward/bad-driver.xml", INVALID,
    words=["'xen'"])
row("forward", "modify", "nat-default", "<forward mode='bridge'/>", REFUSED,
    words=["Unsupported <ip> element"], name="to-bridge")
row("forward", "delete", "nat-default", "<forward mode='nat'/>", Ok("forward", op="unset"))
row("forward", "delete", "nat-default", "<forward/>", Ok("forward", op="unset"), name="any")
row("forward", "delete", "isolated", "<forward/>", NOT_FOUND, words=["no <forward>"])
row("forward", "delete", "nat-default", "<forward mode='route'/>", NOT_FOUND,
    words=["does not match"])
row("forward", "delete", "macvtap-pool", "<forward/>", REFUSED,
    words=["currently being used by 2 domains"])

# forward-interface ----------------------------------------------------------------------------
row("forward-interface", "adds", "macvtap-pool", "@forward-interface/interface-eth47.xml",
    Ok("forward", "interfaces", op="add"))
row("forward-interface", "add", "qbg", "@forward-interface/interface-eth12.xml",
    Ok("forward", "interfaces", op="last"))
row("forward-interface", "add", "macvtap-pool", "<interface dev='eth48' connections='4'/>",
    Ok("forward", "interfaces", op="last",
       fn=lambda d: dataclasses.replace(d, forward=dataclasses.replace(
           d.forward, interfaces=(*d.forward.interfaces, M.ForwardInterface(dev="eth48"))))),
    name="connections-ignored")
row("forward-interface", "adds", "macvtap-pool", "@forward-interface/interface-enp7s0.xml",
    DUPLICATE, words=["existing interface entry", "<interface dev='enp7s0'>"])
row("forward-interface", "add", "nat-forward-dev", "@forward-interface/interface-eth47.xml",
    REFUSED, words=["multiple forwarding interfaces", "only one is supported"])
row("forward-interface", "add", "nat-default", "@forward-interface/interface-eth47.xml",
    Ok("forward", "interfaces", op="last"), name="first-on-nat")
row("forward-interface", "add", "isolated", "@forward-interface/interface-eth47.xml", REFUSED,
    words=["no <forward> element"])
row("forward-interface", "add", "macvtap-pool", "@forward-interface/bad-missing-dev.xml",
    INVALID, words=["missing dev attribute in <interface> element"])
row("forward-interface", "add", "macvtap-pool", "@forward-interface/bad-wrong-element.xml",
    INVALID, words=["expecting <interface>"])
row("forward-interface", "add", "bridge-host", "@forward-interface/interface-eth47.xml",
    REFUSED, words=["bridge name or a forward dev, but not both"])
row("forward-interface", "modify", "macvtap-pool", "@forward-interface/interface-enp7s0.xml",
    Ok("forward", "interfaces", op="replace", k=2))
row("forward-interface", "modify", "macvtap-pool", "@forward-interface/interface-eth47.xml",
    NOT_FOUND, words=["couldn't find an interface entry", "<interface dev='eth47'>"])
row("forward-interface", "modify", "macvtap-pool", "@forward-interface/bad-missing-dev.xml",
    INVALID, words=["missing dev attribute"])
row("forward-interface", "delete", "nat-dns-srv", "@forward-interface/interface-eth1.xml",
    Ok("forward", "interfaces", op="remove", k=0))
row("forward-interface", "delete", "macvtap-pool", "@forward-interface/interface-enp7s0.xml",
    Ok("forward", "interfaces", op="remove", k=2))
row("forward-interface", "delete", "qbg", "<interface dev='eth10'/>",
    Ok("forward", "interfaces", op="remove", k=0), name="first-sets-dev")
row("forward-interface", "delete", "macvtap-pool", "@forward-interface/interface-enp6s0.xml",
    REFUSED, words=["unable to delete interface 'enp6s0'", "used by 1 domains"])
row("forward-interface", "delete", "macvtap-pool", "@forward-interface/interface-eth47.xml",
    NOT_FOUND, words=["couldn't find an interface entry"])
row("forward-interface", "delete", "isolated", "@forward-interface/interface-eth47.xml",
    NOT_FOUND, words=["couldn't find an interface entry"])

# forward-pf -----------------------------------------------------------------------------------
row("forward-pf", "adds", "sriov-pf:-<pf", "@forward-pf/pf-enp4s0f1.xml",
    Ok("forward", "pfs", op="add"))
row("forward-pf", "adds", "sriov-pf", "@forward-pf/pf-enp4s0f1.xml", DUPLICATE,
    words=["Only one <pf> element"])
row("forward-pf", "add", "sriov-pf:-<pf", "@forward-pf/bad-missing-dev.xml", INVALID,
    words=["Missing required dev attribute in <pf>"])
row("forward-pf", "add", "sriov-pf:-<pf", "@forward-pf/bad-wrong-element.xml", INVALID,
    words=["expecting <pf>"])
row("forward-pf", "add", "macvtap-pool", "@forward-pf/pf-enp4s0f1.xml", REFUSED,
    words=["'dev' attribute cannot be used"])
row("forward-pf", "add", "isolated", "@forward-pf/pf-enp4s0f1.xml", REFUSED,
    words=["no <forward> element"])
row("forward-pf", "modify", "sriov-pf", "@forward-pf/pf-enp4s0f1.xml",
    Ok("forward", "pfs", op="replace", k=0))
row("forward-pf", "modify", "hostdev-kvm", "@forward-pf/pf-enp65s0f1.xml",
    Ok("forward", "pfs", op="replace", k=0))
row("forward-pf", "modify", "macvtap-pool", "@forward-pf/pf-enp4s0f1.xml", NOT_FOUND,
    words=["no <pf> element to modify"])
row("forward-pf", "modify", "sriov-pf", "@forward-pf/bad-missing-dev.xml", INVALID,
    words=["Missing required dev"])
row("forward-pf", "delete", "sriov-pf", "@forward-pf/pf-enp4s0f0.xml",
    Ok("forward", "pfs", op="remove", k=0))
row("forward-pf", "delete", "sriov-pf", "@forward-pf/pf-enp4s0f1.xml", NOT_FOUND,
    words=["<pf dev='enp4s0f1'/>"])
row("forward-pf", "delete", "isolated", "@forward-pf/pf-enp4s0f1.xml", NOT_FOUND,
    words=["no <forward> element"])

# portgroup ------------------------------------------------------------------------------------
row("portgroup", "adds", "openvswitch-portgroups", "@portgroup/portgroup-new.xml",
    Ok("portgroups", op="add"))
row("portgroup", "add", "qbh", "@portgroup/portgroup-qbh.xml", Ok("portgroups", op="last"))
row("portgroup", "add", "bandwidth-vlan", "@portgroup/portgroup-bandwidth.xml",
    Ok("portgroups", op="last"))
row("portgroup", "add", "nat-default", "<portgroup name='only' default='YES'/>",
    Ok("portgroups", op="last", fn=lambda d: dataclasses.replace(
        d, portgroups=(M.Portgroup(name="only", default=True),))), name="default-case")
row("portgroup", "adds", "openvswitch-portgroups", "@portgroup/portgroup-second-default.xml",
    REFUSED, words=["already set as the default"])
row("portgroup", "add", "openvswitch-portgroups", "<portgroup name='lan'/>", DUPLICATE,
    words=["existing portgroup entry", "<portgroup name='lan'>"], name="same-name")
for bad, words in [("bad-missing-name", ["Missing required name attribute in portgroup"]),
                   ("bad-vlan-id", ["5000"]), ("bad-virtualport-type", ["'vxlan'"]),
                   ("bad-bandwidth-no-average", ["average or floor"])]:
    row("portgroup", "add", "openvswitch-portgroups", f"@portgroup/{bad}.xml", INVALID,
        words=words)
row("portgroup", "add", "openvswitch-portgroups", "<portgroup name='x' default='maybe'/>",
    INVALID, words=["'maybe'"], name="default-maybe")
row("portgroup", "modify", "openvswitch-portgroups", "@portgroup/portgroup-dmz-modified.xml",
    Ok("portgroups", op="replace", k=1))
row("portgroup", "modify", "openvswitch-portgroups", "<portgroup name='lan' default='yes'/>",
    Ok("portgroups", op="replace", k=0), name="keep-default")
row("portgroup", "modify", "openvswitch-portgroups", "<portgroup name='dmz' default='yes'/>",
    REFUSED, words=["already set as the default"], name="second-default")
row("portgroup", "modify", "openvswitch-portgroups", "@portgroup/portgroup-new.xml", NOT_FOUND,
    words=["couldn't find a portgroup entry", "<portgroup name='guest'>"])
row("portgroup", "delete", "openvswitch-portgroups", "@portgroup/portgroup-lan-delete.xml",
    Ok("portgroups", op="remove", k=0))
row("portgroup", "delete", "openvswitch-portgroups", "<portgroup name='trunk'><vlan><tag id='1'/>"
    "</vlan></portgroup>", Ok("portgroups", op="remove", k=2), name="body-ignored")
row("portgroup", "delete", "openvswitch-portgroups", "@portgroup/portgroup-new.xml", NOT_FOUND,
    words=["couldn't find a portgroup entry"])
row("portgroup", "delete", "openvswitch-portgroups", "@portgroup/bad-vlan-id.xml", INVALID,
    words=["5000"])

# dns-host -------------------------------------------------------------------------------------
DNS_HOSTS = ("dns", "hosts")
row("dns-host", "adds", "nat-dns-hosts", "@dns-host/dns-host-new.xml", Ok(*DNS_HOSTS, op="add"))
row("dns-host", "add", "nat-dns-hosts", "@dns-host/dns-host-ipv6.xml",
    Ok(*DNS_HOSTS, op="last"))
row("dns-host", "add", "nat-default", "@dns-host/dns-host-new.xml", Ok(*DNS_HOSTS, op="last"),
    name="creates-dns")
row("dns-host", "adds", "nat-dns-hosts", "@dns-host/dns-host-existing-ip.xml", DUPLICATE,
    words=["DNS HOST record with a matching field in network nat-dns-hosts"])
row("dns-host", "add", "nat-dns-hosts", "@dns-host/dns-host-ipv6-spelling.xml", DUPLICATE,
    words=["DNS HOST record"])
for bad, words in [("bad-ip", ["Invalid IP address"]), ("bad-empty-hostname", ["Missing hostname"]),
                   ("bad-no-ip-no-hostname", ["Missing IP address"]),
                   ("bad-wrong-element", ["expecting <host>"])]:
    row("dns-host", "add", "nat-dns-hosts", f"@dns-host/{bad}.xml", INVALID, words=words)
row("dns-host", "add", "nat-dns-hosts", "@dns-host/dns-host-by-hostname.xml", INVALID,
    words=["Missing IP address in network 'nat-dns-hosts' DNS HOST record"])
row("dns-host", "add", "no-dns", "@dns-host/dns-host-new.xml", REFUSED,
    words=["Extra data in disabled network"])
row("dns-host", "modify", "nat-dns-hosts",
    "<host ip='192.168.102.2'><hostname>printer</hostname></host>",
    Ok(*DNS_HOSTS, op="replace", k=1), name="fewer-names")
row("dns-host", "modify", "nat-dns-hosts",
    "<host ip='fd00:102:0::2'><hostname>p6</hostname></host>",
    Ok(*DNS_HOSTS, op="replace", k=2), name="ipv6-spelling")
row("dns-host", "modify", "nat-dns-hosts", "@dns-host/dns-host-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS HOST record in network nat-dns-hosts"])
row("dns-host", "modify", "nat-dns-hosts", "@dns-host/dns-host-by-hostname.xml", INVALID,
    words=["Missing IP address"])
row("dns-host", "delete", "nat-dns-hosts", "@dns-host/dns-host-by-hostname.xml",
    Ok(*DNS_HOSTS, op="remove", k=0))
row("dns-host", "delete", "nat-dns-hosts", "@dns-host/dns-host-existing-ip.xml",
    Ok(*DNS_HOSTS, op="remove", k=1))
row("dns-host", "delete", "nat-dns-hosts", "@dns-host/dns-host-ambiguous.xml", AMBIGUOUS,
    words=["multiple matching DNS HOST records"])
row("dns-host", "delete", "nat-dns-hosts", "@dns-host/dns-host-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS HOST record"])
row("dns-host", "delete", "nat-dns-hosts", "@dns-host/bad-unparsable.xml", INVALID,
    words=["Missing ip and hostname"])

# dns-txt --------------------------------------------------------------------------------------
DNS_TXTS = ("dns", "txts")
row("dns-txt", "adds", "nat-dns-txt", "@dns-txt/txt-new.xml", Ok(*DNS_TXTS, op="add"))
row("dns-txt", "add", "nat-default", "@dns-txt/txt-new.xml", Ok(*DNS_TXTS, op="last"),
    name="creates-dns")
row("dns-txt", "adds", "nat-dns-txt", "@dns-txt/txt-existing.xml", DUPLICATE,
    words=["DNS TXT record with name 'example' in network nat-dns-txt"])
for bad, words in [("bad-name-space", ["prohibited character", "'two words'"]),
                   ("bad-name-comma", ["prohibited character"]),
                   ("bad-missing-name", ["missing required name attribute"]),
                   ("bad-wrong-element", ["expecting <txt>"])]:
    row("dns-txt", "add", "nat-dns-txt", f"@dns-txt/{bad}.xml", INVALID, words=words)
row("dns-txt", "add", "nat-dns-txt", "@dns-txt/txt-delete-name-only.xml", INVALID,
    words=["missing required value attribute"])
row("dns-txt", "modify", "nat-dns-txt", "@dns-txt/txt-modify.xml",
    Ok(*DNS_TXTS, op="replace", k=0))
row("dns-txt", "modify", "nat-dns-txt", "@dns-txt/txt-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS TXT record"])
row("dns-txt", "modify", "nat-dns-txt", "@dns-txt/txt-delete-name-only.xml", INVALID,
    words=["missing required value attribute"])
row("dns-txt", "delete", "nat-dns-txt", "@dns-txt/txt-existing.xml",
    Ok(*DNS_TXTS, op="remove", k=0))
row("dns-txt", "delete", "nat-dns-txt", "@dns-txt/txt-delete-name-only.xml",
    Ok(*DNS_TXTS, op="remove", k=2))
row("dns-txt", "delete", "nat-dns-txt", "<txt name='example' value='other value'/>",
    Ok(*DNS_TXTS, op="remove", k=0), name="value-ignored")
row("dns-txt", "delete", "nat-dns-txt", "@dns-txt/txt-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS TXT record"])
row("dns-txt", "delete", "nat-dns-txt", "@dns-txt/bad-missing-name.xml", INVALID,
    words=["missing required name"])

# dns-srv --------------------------------------------------------------------------------------
DNS_SRVS = ("dns", "srvs")
row("dns-srv", "adds", "nat-dns-srv", "@dns-srv/srv-new.xml", Ok(*DNS_SRVS, op="add"))
row("dns-srv", "add", "nat-default", "@dns-srv/srv-minimal.xml", Ok(*DNS_SRVS, op="last"),
    name="creates-dns")
row("dns-srv", "adds", "nat-dns-srv", "@dns-srv/srv-existing.xml", DUPLICATE,
    words=["DNS SRV record matching all specified fields in network nat-dns-srv"])
row("dns-srv", "add", "nat-dns-srv", "@dns-srv/srv-different-port.xml", DUPLICATE,
    words=["DNS SRV record matching all specified fields"])
for bad, words in [("bad-port-without-target", ["not permitted without target"]),
                   ("bad-service-dot", ["invalid character in service attribute 'a.b'"]),
                   ("bad-port-zero", ["invalid DNS SRV port"]),
                   ("bad-port-too-large", ["invalid DNS SRV port"]),
                   ("bad-missing-protocol", ["missing required protocol attribute"]),
                   ("bad-protocol-chars", ["invalid character in protocol"])]:
    row("dns-srv", "add", "nat-dns-srv", f"@dns-srv/{bad}.xml", INVALID, words=words)
row("dns-srv", "modify", "nat-dns-srv", "@dns-srv/srv-modify.xml",
    Ok(*DNS_SRVS, op="replace", k=0))
row("dns-srv", "modify", "nat-dns-srv-records",
    "<srv service='kerberos' protocol='udp' domain='lab.example'/>", AMBIGUOUS,
    words=["multiple DNS SRV records matching all specified fields"], name="ambiguous")
row("dns-srv", "modify", "nat-dns-srv", "@dns-srv/srv-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS SRV record"])
row("dns-srv", "modify", "nat-dns-srv-records", "@dns-srv/srv-service-only.xml", INVALID,
    words=["missing required protocol"])
row("dns-srv", "delete", "nat-dns-srv", "@dns-srv/srv-existing.xml",
    Ok(*DNS_SRVS, op="remove", k=0))
row("dns-srv", "delete", "nat-dns-srv-records", "@dns-srv/srv-minimal.xml",
    Ok(*DNS_SRVS, op="remove", k=0))
row("dns-srv", "delete", "nat-dns-srv-records", "<srv service='http' target='.'/>",
    Ok(*DNS_SRVS, op="remove", k=5), name="no-protocol")
row("dns-srv", "delete", "nat-dns-srv-records", "@dns-srv/srv-service-only.xml", AMBIGUOUS,
    words=["multiple DNS SRV records"])
row("dns-srv", "delete", "nat-dns-srv", "@dns-srv/srv-new.xml", NOT_FOUND,
    words=["couldn't locate a matching DNS SRV record"])
row("dns-srv", "delete", "nat-dns-srv", "@dns-srv/bad-service-dot.xml", INVALID,
    words=["invalid character in service"])

# dns (pseudo section) ---------------------------------------------------------------------------
row("dns", "adds", "nat-default", "<dns forwardPlainNames='no'><forwarder addr='9.9.9.9'/></dns>",
    Ok("dns", op="set"), name="forwarder")
row("dns", "adds", "dns-heavy", "<dns/>", DUPLICATE, words=["already a <dns>"])
row("dns", "add", "nat-default", "<dns enable='no'><txt name='a' value='b'/></dns>", REFUSED,
    words=["Extra data in disabled network"], name="disabled-extra")
row("dns", "add", "nat-default", "<dns><forwarder/></dns>", REFUSED,
    words=["must contain at least one of addr or domain"], name="empty-forwarder")
row("dns", "add", "nat-default", "<dns><txt name='a b' value='x'/></dns>", INVALID,
    words=["TXT name 'a b' is not a valid DNS name"], name="bad-record")
row("dns", "modify", "dns-heavy", "<dns enable='yes'><forwarder addr='1.1.1.1'/></dns>",
    Ok("dns", op="set"), name="forwarders")
row("dns", "modify", "nat-default", "<dns/>", NOT_FOUND, words=["no <dns> element to modify"])
row("dns", "modify", "dns-heavy", "<dns enable='maybe'/>", INVALID, words=["'maybe'"])
row("dns", "delete", "dns-heavy", "<dns/>", Ok("dns", op="unset"))
row("dns", "delete", "nat-default", "<dns/>", NOT_FOUND, words=["no <dns> element"])

# network (pseudo section) ----------------------------------------------------------------------
row("network", "adds", "nat-default", "<mtu size='9000'/>",
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, mtu=9000)), name="mtu")
ROUTE = "<route address='10.10.128.0' prefix='20' gateway='10.10.0.9'/>"
NEW_ROUTE = M.RouteDef(address=M.T.ip_address("10.10.128.0"), prefix=20,
                       gateway=M.T.ip_address("10.10.0.9"))
row("network", "add-first", "routed", ROUTE,
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, routes=(NEW_ROUTE, *d.routes))),
    name="route")
row("network", "add-last", "routed", ROUTE,
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, routes=(*d.routes, NEW_ROUTE))),
    name="route")
row("network", "add", "nat-default", "<mtu size='9'/>", INVALID, words=["68..65535"],
    name="mtu-small")
row("network", "adds", "mtu", "<mtu size='1500'/>", DUPLICATE, words=["already a <mtu>"])
row("network", "add", "nat-default", "<foo/>", INVALID, words=["<foo> is not allowed"])
row("network", "modify", "mtu", "<mtu size='1400'/>",
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, mtu=1400)), name="mtu")
row("network", "modify", "nat-default", "<mac address='52:54:00:0a:cd:22'/>",
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, mac=M.T.MAC("52:54:00:0a:cd:22"))),
    name="mac")
row("network", "modify", "nat-default", "<mac address='01:54:00:0a:cd:22'/>", REFUSED,
    words=["must be unicast"], name="multicast-mac")
row("network", "modify", "nat-default", "<mtu size='1400'/>", NOT_FOUND,
    words=["no <mtu> element"])
row("network", "delete", "mtu", "<mtu/>",
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, mtu=None)), name="mtu")
row("network", "delete", "routed", "<route address='10.10.50.0' gateway='10.10.0.2'/>",
    Ok(op="fn", fn=lambda d: dataclasses.replace(d, routes=d.routes[1:])), name="route")
row("network", "delete", "nat-default", "<name/>", REFUSED, words=["needs a <name>"])
row("network", "delete", "nat-default", "<mtu/>", NOT_FOUND, words=["no <mtu> element"])


# ---------------------------------------------------------------------- the tests
@pytest.mark.parametrize("section,command,network,fragment,index,expect,words", R)
def test_matrix(section, command, network, fragment, index, expect, words):
    text = network_text(network)
    net = netupdate.load(text)
    before_defs = net.defs
    frag = fragment_text(fragment)
    if isinstance(expect, Ok):
        change = net.update(command, section, frag, parent_index=index)
        assert change.command == ("add-last" if command == "add" else command)
        assert change.section == section
        new = None
        if expect.fn is None and command != "delete":
            new = S_DEFS[section].from_element(netupdate.edit.engine._parse_fragment(frag))
            assert change.after == new
        assert net.defs == expected_defs(before_defs, expect, new)
        if command == "delete":
            assert change.after is None or section in ("network",)
        assert_only_touched(text, net.to_xml(), change)
        assert netupdate.load(net.to_xml()).defs == net.defs
        # the edit marks cover everything the engine changed
        assert net.source.serialize(tracked=True) == net.to_xml()
    else:
        with pytest.raises(netupdate.NetupdateError) as info:
            net.update(command, section, frag, parent_index=index)
        assert type(info.value) is expect, info.value
        for word in words:
            assert word in info.value.message, info.value.message
        assert net.to_xml() == text
        assert net.source.serialize(tracked=True) == text
        assert "\n" not in str(info.value)


def test_matrix_covers_every_section_and_command_both_ways():
    seen = set()
    for param in R:
        section, command, *_, expect, _ = param.values
        seen.add((section, command, isinstance(expect, Ok)))
    for section in S_DEFS:
        for command in ("add-first", "add-last", "add", "modify", "delete"):
            for success in (True, False):
                assert (section, command, success) in seen, (section, command, success)
