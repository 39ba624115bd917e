"""``check --repair`` on the libvirt backend (issue 16): the least disruptive repair of a running
libvirt network, as on the embedded runtime.

* the kernel state of libvirt's bridge on a local daemon is set back to what libvirt itself sets
  from the live definition: STP and forward delay (``bridge.BridgeTuner``, in libvirt's order),
  MTU, MAC, up, a missing address.  What cannot be set in place (the bridge gone or another kind
  of link, an address libvirt did not put there) is left, with a note saying why;
* the live definition's drift from the persistent one: the persistent definition is applied to
  the running network through the backend's own live plan, unless only a restart applies it.
"""

from __future__ import annotations

RESTART_NOTE = ("the live definition was not set to the persistent one: only a network restart "
                "applies that difference, and a restart cuts every guest's link; stop and start "
                "the network when they can lose it")


def bridge(conn, br: str, defs) -> list[str]:
    """Set libvirt's bridge ``br`` back to live definition ``defs`` in place (the daemon's
    namespace, ``conn.netns``); returns a note per drift left alone and why."""
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.libvirt.bridge import BridgeTuner
    from netupdate.sections import bridge as SB
    from netupdate.sections import ip as IP
    ipr = NS.iproute(conn.netns)
    try:
        state = BR.read(ipr, br)
        if state is None or state.get("kind") != "bridge":
            return [f"bridge {br} was not repaired: it is "
                    f"{'gone' if state is None else 'another kind of link'}, which only a "
                    "network restart (stop and start) brings back"]
        stp, delay = SB.want_stp(defs), SB.kernel_delay(defs)
        if state["stp"] != stp or state["delay"] != delay:
            BridgeTuner(conn.netns).tune(br, stp=stp if state["stp"] != stp else None,
                                         delay=SB.want_delay(defs), stp_after=stp)
        if defs.mtu is not None and state["mtu"] != defs.mtu:
            BR.set_mtu(ipr, br, defs.mtu)
        if defs.mac is not None and (state.get("mac") or "").lower() != defs.mac.normalized:
            BR.set_mac(ipr, br, defs.mac.normalized)
        if not state["up"]:
            BR.set_up(ipr, br)
        return _addresses(ipr, br, IP.addresses(defs), state["addresses"])
    finally:
        ipr.close()


def _addresses(ipr, br: str, want: list[str], have: list[str]) -> list[str]:
    """Add the definition's addresses the bridge lacks; an address it has besides is left (not
    libvirt's: someone put it there, and taking it away may cut what uses it)."""
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime.driver import _norm_addr
    held = {_norm_addr(a) for a in have}
    wanted = {_norm_addr(a) for a in want}
    for address in want:
        if _norm_addr(address) not in held:
            BR.add_address(ipr, br, address)
    return [f"bridge {br} address {a} was not removed: libvirt did not put it there, and "
            "removing it may cut what uses it ('ip addr del' it if nothing does)"
            for a in have if _norm_addr(a) not in wanted]


def redefine(conn, name: str, persistent_xml: str) -> tuple[bool, str]:
    """Apply ``persistent_xml`` to running network ``name`` (live only) through the backend's
    live plan; (False, why) when only a restart would apply it."""
    diff = conn.diff(name)
    if diff.restart_needed:
        return False, RESTART_NOTE
    done = conn.apply(name, persistent_xml, live=True, config=False)
    kinds = ", ".join(dict.fromkeys(done.plan.kinds if done.plan is not None else ())) \
        or "no live action"
    impact = "; ".join(e.text for e in done.impact) or "none"
    return True, (f"live definition: set to the persistent definition through the live plan "
                  f"({kinds}; guests: {impact})")
