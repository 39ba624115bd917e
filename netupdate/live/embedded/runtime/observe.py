"""What runs, compared with the runtime record and the definition (``Driver.inspect``)."""

from __future__ import annotations

from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import devices as DEV
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import forwarding as FW
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import nft as NFT
from netupdate.live.embedded.runtime.desired import _norm_addr
from netupdate.render import dnsmasq as conf
from netupdate.sections import ip as IP
from netupdate.sections.bridge import bridge_name, kernel_delay, want_stp


def inspect(driver, record: dict, defs=None) -> dict:
    """What is really there, compared with the record (and ``defs`` when given)."""
    if record.get("pool") is not None:
        return DEV.inspect(record)
    netns = record.get("netns")
    problems: list[str] = []
    out: dict = {"netns": netns, "bridge": None, "dnsmasq": None, "firewall": None}
    if netns is not None and not NS.exists(netns):
        problems.append(f"namespace {netns} is gone")
        return {**out, "problems": problems}
    br = record["bridge"]["name"]
    state = None
    try:
        state = BR.read(driver.ipr(netns), br)
    except Exception as exc:  # noqa: BLE001
        driver._drop_ipr(netns)
        problems.append(f"cannot read bridge {br}: {exc}")
    if netns is not None and state is not None and BR.is_up(driver.ipr(netns), "lo") is False:
        problems.append(f"lo is down in namespace {netns}")
    if defs is not None and any(NS.call(netns, NS.sysctl, key) != "1"
                                for key in FW.forwarding_keys(defs)):
        problems.append("packet forwarding is off")
    out["bridge"] = {"name": br, "present": state is not None, **(state or {})}
    if state is None:
        problems.append(f"bridge {br} is missing")
    elif defs is not None:
        problems += bridge_mismatches(state, defs)
    dq = record.get("dnsmasq")
    if dq:
        alive = DQ.alive(dq.get("pid"), dq.get("conf"))
        out["dnsmasq"] = {"pid": dq.get("pid"), "alive": alive, "conf": dq.get("conf")}
        if not alive:
            problems.append(f"dnsmasq (pid {dq.get('pid')}) is not running")
    elif defs is not None and conf.needs_dnsmasq(defs):
        problems.append("dnsmasq is not running")
    fw = record.get("firewall")
    if fw:
        present = NFT.exists(fw["table"], netns=netns)
        out["firewall"] = {**fw, "present": present}
        if not present:
            problems.append(f"nft table {fw['family']} {fw['table']} is missing")
    out["problems"] = problems
    return out

def bridge_mismatches(state: dict, defs) -> list[str]:
    """How the bridge as read (``bridge.read``) differs from ``defs``."""
    out = []
    if state.get("kind") != "bridge":
        return [f"{bridge_name(defs)} is not a bridge"]
    if state["stp"] != want_stp(defs):
        out.append(f"STP is {'on' if state['stp'] else 'off'}, "
                   f"expected {'on' if want_stp(defs) else 'off'}")
    if state["delay"] != kernel_delay(defs):
        out.append(f"forward delay is {state['delay']}, expected {kernel_delay(defs)}")
    if defs.mtu is not None and state["mtu"] != defs.mtu:
        out.append(f"MTU is {state['mtu']}, expected {defs.mtu}")
    have = {_norm_addr(a) for a in state["addresses"]}
    missing = [a for a in IP.addresses(defs) if _norm_addr(a) not in have]
    if missing:
        out.append(f"addresses missing: {', '.join(missing)}")
    if not state["up"]:
        out.append("the bridge is down")
    return out
