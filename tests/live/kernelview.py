"""An independent look at a running network (issue 17's live restart-rate sample): what a
definition says must be visible, read straight from the kernel and from dnsmasq, by code that
shares nothing with the runtime's own verification (``netupdate.live.embedded.runtime.verify``)
or its model: the expectation comes from the XML through lxml, the observation from netlink
(pyroute2 in the namespace), ``/proc/sys`` in the namespace, ``nft list ruleset``, dnsmasq's conf file and host files (found
through ``/proc/PID/cmdline``), and DNS answers (dnspython run inside the namespace).

``expect(xml)`` and ``observe(netns, bridge, port)`` return the same keys; a test compares
them after each applied pair.  Only what a definition fixes is expected (an absent ``<mac>``
leaves the kernel's MAC, so it is not a key)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys

from lxml import etree

DEFAULT_MTU = 1500
FIELDS = ("addresses", "mtu", "mac", "stp", "delay", "routes", "isolated", "vlan_filtering",
          "learning", "inbound", "outbound", "firewall", "dnsmasq", "dns", "disable_ipv6")


# ---------------------------------------------------------------------- from the XML
def _prefix(ip) -> int:
    if ip.get("prefix"):
        return int(ip.get("prefix"))
    if ip.get("netmask"):
        return ipaddress.ip_network(f"0.0.0.0/{ip.get('netmask')}").prefixlen
    return 64 if ":" in ip.get("address") else 24


def _addresses(root) -> set[str]:
    return {str(ipaddress.ip_interface(f"{ip.get('address')}/{_prefix(ip)}"))
            for ip in root.findall("ip") if ip.get("address")}


def _route(route) -> tuple[str, str]:
    text = f"{route.get('address')}/{_prefix(route)}"
    try:
        return str(ipaddress.ip_network(text, strict=False)), str(ipaddress.ip_address(
            route.get("gateway")))
    except ValueError:   # no such route can exist (say an IPv4 address with prefix 56)
        return text, route.get("gateway")


def _routes(root) -> set[tuple[str, str]]:
    return {_route(r) for r in root.findall("route")}


def _firewall(root) -> dict:
    fwd = root.find("forward")
    mode = None if fwd is None else fwd.get("mode", "nat")
    nat = fwd.find("nat") if fwd is not None else None
    families = {"6" if ":" in (ip.get("address") or "") else "4" for ip in root.findall("ip")}
    natted = "4" in families or ("6" in families and nat is not None
                                 and nat.get("ipv6") == "yes")
    # masquerade (or snat to <address>): IPv4 subnets, IPv6 only with <nat ipv6='yes'>
    out = {"snat": mode == "nat" and natted, "table": mode != "open"}
    if fwd is not None and fwd.get("dev") and mode in ("nat", "route"):
        out["dev"] = fwd.get("dev")
    if mode == "nat" and nat is not None:
        address, port = nat.find("address"), nat.find("port")
        if address is not None:
            out["nat_address"] = address.get("start")
        if port is not None:
            out["nat_ports"] = f"{port.get('start')}-{port.get('end')}"
    return out


def _dnsmasq(root) -> dict:
    ranges = sorted(f"{r.get('start')},{r.get('end')}" for r in root.iterfind("ip/dhcp/range"))
    hosts = sorted(h.get("ip") for h in root.iterfind("ip/dhcp/host") if h.get("ip"))
    domain = root.find("domain")
    return {"ranges": ranges, "hosts": hosts,
            "domain": domain.get("name") if domain is not None else None,
            "tftp": root.find("ip/tftp") is not None}


def _runs_dnsmasq(root) -> bool:
    """libvirt starts dnsmasq for a network with an ``<ip>`` that serves DHCP, TFTP or DNS."""
    dns = root.find("dns")
    served = root.find("ip/dhcp/range") is not None or root.find("ip/dhcp/host") is not None \
        or root.find("ip/tftp") is not None
    return root.find("ip") is not None and (served or dns is None or dns.get("enable") != "no")


def _dns(root) -> dict:
    """``{(name, type): sorted answers}`` dnsmasq must give for the ``<dns>`` records (a TXT
    value's commas separate its character-strings, as dnsmasq's txt-record reads them)."""
    dns = root.find("dns")
    if dns is None or dns.get("enable") == "no":
        return {}
    want: dict = {}
    for host in dns.findall("host"):
        kind = "AAAA" if ":" in host.get("ip") else "A"
        for name in host.findall("hostname"):
            want.setdefault(f"{name.text}|{kind}", set()).add(
                str(ipaddress.ip_address(host.get("ip"))))
    for txt in dns.findall("txt"):
        want.setdefault(f"{txt.get('name')}|TXT", set()).add(txt.get("value"))
    for srv in dns.findall("srv"):
        if srv.get("domain") and srv.get("target"):
            want.setdefault(f"_{srv.get('service')}._{srv.get('protocol')}."
                            f"{srv.get('domain')}|SRV", set()).add(srv.get("target").rstrip("."))
    return {key: sorted(value) for key, value in want.items()}


def _bandwidth(root, side: str, unit: int):
    el = root.find(f"bandwidth/{side}")
    if el is None or not el.get("average"):
        return None
    average = int(el.get("average"))
    if side == "outbound":   # libvirt's swap: ingress policing at the average
        return {"qdisc": "ingress"}
    return {"qdisc": "htb", "rate": average * unit, "ceil": int(el.get("peak") or average) * unit}


def expect(xml: str) -> dict:
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    bridge = root.find("bridge")
    stp = bridge is None or bridge.get("stp", "on") == "on"
    delay = int(bridge.get("delay", "0")) if bridge is not None else 0
    libvirt_table = bridge is not None and bridge.get("macTableManager") == "libvirt"
    port = root.find("port")
    mtu, mac = root.find("mtu"), root.find("mac")
    out = {
        "addresses": _addresses(root),
        "mtu": int(mtu.get("size")) if mtu is not None else DEFAULT_MTU,
        "stp": stp,
        # centiseconds; with STP the kernel keeps the delay within 2..30 s
        "delay": min(max(delay, 2), 30) * 100 if stp else delay * 100,
        "routes": _routes(root),
        "isolated": port is not None and port.get("isolated") == "yes",
        "vlan_filtering": libvirt_table,
        "learning": not libvirt_table,
        # tc reads libvirt's "%llukbps" as 1000 bytes/s
        "inbound": _bandwidth(root, "inbound", 1000),
        "outbound": _bandwidth(root, "outbound", 1000),
        "firewall": _firewall(root),
        "dnsmasq": _dnsmasq(root) if _runs_dnsmasq(root) else None,
        "dns": _dns(root) if root.find("ip") is not None else {},
        # libvirt's networkSetIPv6Sysctls: IPv6 on the bridge only with an IPv6 <ip>
        "disable_ipv6": "0" if any(":" in (ip.get("address") or "") or ip.get("family") ==
                                   "ipv6" for ip in root.findall("ip")) else "1",
    }
    if mac is not None:
        out["mac"] = mac.get("address").lower()
    return out


# ---------------------------------------------------------------------- from the kernel
def _link(ipr, name: str):
    return ipr.get_links(ipr.link_lookup(ifname=name)[0])[0]


def _netlink(netns: str, bridge: str, port: str) -> dict:
    from pyroute2 import NetNS
    with NetNS(netns) as ipr:
        link = _link(ipr, bridge)
        index = link["index"]
        data = link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA")
        slave = _link(ipr, port).get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_SLAVE_DATA")
        addresses = {f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
                     for a in ipr.get_addr(index=index) if a["scope"] == 0}
        routes = set()
        for family in (2, 10):
            for r in ipr.get_routes(family=family, table=254):
                if r.get_attr("RTA_GATEWAY") and r.get_attr("RTA_OIF") == index:
                    routes.add((f"{r.get_attr('RTA_DST') or ('::' if family == 10 else '0.0.0.0')}"
                                f"/{r['dst_len']}", r.get_attr("RTA_GATEWAY")))
        qdiscs = {q.get_attr("TCA_KIND"): q for q in ipr.get_qdiscs(index=index)}
        inbound = None
        if "htb" in qdiscs:
            for cls in ipr.get_classes(index=index):
                if cls["handle"] == 0x10001:
                    parms = cls.get_attr("TCA_OPTIONS").get_attr("TCA_HTB_PARMS")
                    inbound = {"qdisc": "htb", "rate": parms["rate"], "ceil": parms["ceil"]}
        return {
            "addresses": {str(ipaddress.ip_interface(a)) for a in addresses},
            "mtu": link.get_attr("IFLA_MTU"), "mac": link.get_attr("IFLA_ADDRESS").lower(),
            "stp": data.get_attr("IFLA_BR_STP_STATE") != 0,
            "delay": data.get_attr("IFLA_BR_FORWARD_DELAY"),
            "routes": {(str(ipaddress.ip_network(d, strict=False)), str(ipaddress.ip_address(g)))
                       for d, g in routes},
            "isolated": bool(slave.get_attr("IFLA_BRPORT_ISOLATED")),
            "vlan_filtering": bool(data.get_attr("IFLA_BR_VLAN_FILTERING")),
            "learning": bool(slave.get_attr("IFLA_BRPORT_LEARNING")),
            "inbound": inbound,
            "outbound": {"qdisc": "ingress"} if "ingress" in qdiscs else None,
        }


def _nft(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"],
                          capture_output=True, text=True, check=True).stdout


def _firewall_seen(ruleset: str, bridge: str, want: dict) -> dict:
    tables = [block for block in ruleset.split("\ntable ") if f'"{bridge}"' in block]
    text = "\n".join(tables)
    out = {"snat": "masquerade" in text or "snat " in text, "table": bool(tables)}
    if "dev" in want:
        out["dev"] = want["dev"] if f'oifname "{want["dev"]}"' in text else None
    for key in ("nat_address", "nat_ports"):
        if key in want:
            out[key] = want[key] if want[key] in text else None
    return out


def _dnsmasq_conf(netns: str, bridge: str) -> str | None:
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                          text=True).stdout.split()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().decode().split("\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) != "dnsmasq":
            continue
        conf = next((a.split("=", 1)[1] for a in argv if a.startswith("--conf-file=")), None)
        text = open(conf).read() if conf else ""
        if f"interface={bridge}\n" in text:
            return text
    return None


def _dnsmasq_seen(text: str | None) -> dict | None:
    if text is None:
        return None
    lines = text.splitlines()
    value = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if "=" in line}
    hostsdir = value.get("dhcp-hostsdir")
    hosts_text = "".join(open(os.path.join(hostsdir, name)).read()
                         for name in sorted(os.listdir(hostsdir))) if hostsdir else ""
    ranges = [line.split("=", 1)[1].split(",") for line in lines
              if line.startswith("dhcp-range=")]
    return {"ranges": sorted(",".join(r[:2]) for r in ranges if r[1] not in ("ra-only", "static")),
            "domain": value.get("domain"), "tftp": "enable-tftp" in lines,
            "hosts": hosts_text}


QUERY = """
import json, sys
import dns.message, dns.query, dns.rdatatype
server, keys = sys.argv[1], json.loads(sys.argv[2])
out = {}
for key in keys:
    name, kind = key.split("|")
    reply = dns.query.udp(dns.message.make_query(name, kind), server, timeout=2)
    out[key] = sorted(str(r.target).rstrip(".") if kind == "SRV" else
                      b",".join(r.strings).decode() if kind == "TXT" else r.address
                      for rrset in reply.answer if rrset.rdtype == dns.rdatatype.from_text(kind)
                      for r in rrset)
print(json.dumps(out))
"""


def _answers(netns: str, server: str, keys) -> dict:
    if not keys:
        return {}
    proc = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", QUERY, server,
                           json.dumps(sorted(keys))], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(proc.stdout)


def observe(netns: str, bridge: str, port: str, want: dict, xml: str) -> dict:
    """What runs, in ``expect``'s terms (``want``: which optional keys to read, the DNS names
    to ask; ``xml``: where dnsmasq listens)."""
    seen = _netlink(netns, bridge, port)
    if "mac" not in want:
        del seen["mac"]
    seen["firewall"] = _firewall_seen(_nft(netns), bridge, want["firewall"])
    seen["disable_ipv6"] = subprocess.run(
        ["ip", "netns", "exec", netns, "cat", f"/proc/sys/net/ipv6/conf/{bridge}/disable_ipv6"],
        capture_output=True, text=True, check=True).stdout.strip()
    conf = _dnsmasq_seen(_dnsmasq_conf(netns, bridge))
    if conf is not None and want["dnsmasq"] is not None:   # hosts: each address in a file
        conf["hosts"] = sorted(h for h in want["dnsmasq"]["hosts"] if h in conf["hosts"])
    seen["dnsmasq"] = conf
    root = etree.fromstring(xml.encode())
    server = next((ip.get("address") for ip in root.findall("ip") if ip.get("address")), None)
    seen["dns"] = _answers(netns, server, want["dns"]) if server else {}
    return seen
