"""Drift of a running network from its live definition, item by item (``check``, issue 16):
the bridge through netlink (STP, delay, MTU, MAC, addresses, up), its gateway routes, dnsmasq
(process, conf, host files), the nft table, the forwarding sysctls and the bridge's IPv6
sysctls (``ipv6conf``).  Each drift is a
``(what, expected, actual)`` triple."""

from __future__ import annotations

from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import driver as D
from netupdate.sections import ip as IP


def _onoff(value: bool) -> str:
    return "on" if value else "off"


def bridge_drift(state: dict | None, defs, br: str) -> list[tuple[str, str, str]]:
    if state is None:
        return [(f"bridge {br}", "present", "missing")]
    if state.get("kind") != "bridge":
        return [(f"bridge {br}", "a bridge", "another kind of link")]
    out = []
    if state["stp"] != D.want_stp(defs):
        out.append((f"bridge {br} stp", _onoff(D.want_stp(defs)), _onoff(state["stp"])))
    if state["delay"] != D.kernel_delay(defs):
        out.append((f"bridge {br} delay", str(D.kernel_delay(defs)), str(state["delay"])))
    if defs.mtu is not None and state["mtu"] != defs.mtu:
        out.append((f"bridge {br} mtu", str(defs.mtu), str(state["mtu"])))
    if defs.mac is not None and (state.get("mac") or "").lower() != defs.mac.normalized:
        out.append((f"bridge {br} mac", defs.mac.normalized, str(state.get("mac"))))
    if not state["up"]:
        out.append((f"bridge {br}", "up", "down"))
    want = {D._norm_addr(a): a for a in IP.addresses(defs)}
    have = {D._norm_addr(a): a for a in state["addresses"]}
    out += [(f"bridge {br} address {a}", "present", "missing") for k, a in want.items()
            if k not in have]
    out += [(f"bridge {br} address {a}", "absent", "present") for k, a in have.items()
            if k not in want]
    return out


def route_drift(ipr, defs, br: str) -> list[tuple[str, str, str]]:
    """Gateway routes through the bridge, compared by destination and gateway (the kernel
    shows a default metric)."""
    want = {D._norm_route(r)[:2]: r for r in D.want_routes(defs)}
    have = {D._norm_route(r)[:2]: r for r in BR.routes(ipr, br)}
    return [(f"route {r['address']} via {r['gateway']}", "present", "missing")
            for key, r in want.items() if key not in have] + \
        [(f"route {r['address']} via {r['gateway']}", "absent", "present")
         for key, r in have.items() if key not in want]


def dnsmasq_drift(conn, name: str, record: dict, defs) -> list[tuple[str, str, str]]:
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    from netupdate.live.txn import host_files_problem
    from netupdate.render import dnsmasq as conf
    dq = record.get("dnsmasq")
    if not conf.needs_dnsmasq(defs):
        return [("dnsmasq", "not running", "recorded")] if dq else []
    if not dq:
        return [("dnsmasq", "running", "not recorded")]
    out = []
    if not DQ.alive(dq.get("pid"), dq.get("conf")):
        out.append(("dnsmasq", "running", f"not running (pid {dq.get('pid')})"))
    layout = conn.driver.layout(name)
    text = DQ.render(defs, layout, name, record["bridge"]["name"])
    on_disk = DQ.read_file(layout.conf)
    if on_disk != text or dq.get("conf_sha256") != DQ.conf_hash(text):
        out.append(("dnsmasq conf", "the definition's", "missing" if on_disk is None
                    else "different"))
    problem = host_files_problem(layout, defs)
    if problem:
        out.append(("dnsmasq host files", "the definition's hosts", problem.split(" do not")[0]
                    .replace("the host files in ", "other hosts in ")))
    return out


def firewall_drift(conn, name: str, record: dict, defs) -> list[tuple[str, str, str]]:
    from netupdate.live.embedded.runtime import forwarding as FW
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.embedded.runtime import nft as NFT
    from netupdate.render import nftables as firewall
    netns = record.get("netns")
    table = conn.driver.table_name(name)
    want = firewall.ruleset(defs, table, record["bridge"]["name"]) is not None
    have = NFT.exists(table, netns=netns)
    out = [] if want == have else [(f"nft table {firewall.FAMILY} {table}",
                                    "present" if want else "absent",
                                    "present" if have else "missing")]
    for key in FW.forwarding_keys(defs):
        value = NS.call(netns, NS.sysctl, key)
        if value != "1":
            out.append((f"sysctl {key.replace('/', '.')}", "1", value))
    return out


def kernel_drift(conn, name: str, record: dict, defs) -> list[tuple[str, str, str]]:
    """Every drift of running network ``name`` from ``defs``."""
    from netupdate.live.embedded.runtime import netns as NS
    netns = record.get("netns")
    if netns is not None and not NS.exists(netns):
        return [(f"namespace {netns}", "present", "gone")]
    if record.get("pool") is not None:   # bridge, macvtap, hostdev: the host's devices only
        from netupdate.live.embedded.runtime import devices as DEV
        return [(f"{record['pool']['mode']} pool", "every device present", problem)
                for problem in DEV.inspect(record)["problems"]]
    ipr = conn.driver.ipr(netns)
    br = record["bridge"]["name"]
    state = BR.read(ipr, br)
    out = bridge_drift(state, defs, br)
    if state is not None:
        from netupdate.live.embedded.runtime import ipv6conf as V6
        out += V6.drift(netns, br, defs)
    out += route_drift(ipr, defs, br)
    out += dnsmasq_drift(conn, name, record, defs)
    out += firewall_drift(conn, name, record, defs)
    return out
