"""STP and forward delay of a libvirt network's bridge through netlink (pyroute2): the plan
actions netupdate performs itself on a local daemon (``codes.LOCAL_KINDS``)."""

from __future__ import annotations

from netupdate.errors import NetupdateError, PermissionFailure, RuntimeFailure


class BridgeTuner:
    """STP and forward delay of a bridge through netlink (pyroute2), in ``netns`` if given."""

    def __init__(self, netns: str | None = None):
        self.netns = netns

    def _ipr(self):
        try:
            from pyroute2 import IPRoute
        except ImportError:
            raise NetupdateError("pyroute2 is not installed: pip install "
                                 "'netupdate[live]'") from None
        try:
            return IPRoute(netns=self.netns) if self.netns else IPRoute()
        except OSError as exc:
            raise RuntimeFailure(f"cannot open netlink"
                                 f"{' in ' + self.netns if self.netns else ''}: {exc}") from None

    def index(self, bridge: str) -> int | None:
        with self._ipr() as ipr:
            found = ipr.link_lookup(ifname=bridge)
            return found[0] if found else None

    def tune(self, bridge: str, *, stp: bool | None, delay: int | None,
             stp_after: bool) -> None:
        """Set STP (``stp``) and/or the forward delay (``delay`` seconds), in the order libvirt
        uses at start: with STP on, the kernel takes delays of 2..30 s only, so the delay is
        clamped like libvirt's start does and set before STP is switched on."""
        from pyroute2.netlink.exceptions import NetlinkError
        final_stp = stp if stp is not None else stp_after
        centis = None
        if delay is not None:
            centis = delay * 100
            if final_stp:
                centis = min(max(centis, 200), 3000)
        with self._ipr() as ipr:
            found = ipr.link_lookup(ifname=bridge)
            if not found:
                raise RuntimeFailure(f"bridge {bridge} does not exist")
            index = found[0]
            try:
                if stp is False:
                    ipr.link("set", index=index, kind="bridge", br_stp_state=0)
                if centis is not None:
                    ipr.link("set", index=index, kind="bridge", br_forward_delay=centis)
                if stp is True:
                    ipr.link("set", index=index, kind="bridge", br_stp_state=1)
            except NetlinkError as exc:
                if exc.code == 1:
                    raise PermissionFailure(f"not allowed to change bridge {bridge} "
                                            f"(needs CAP_NET_ADMIN)") from None
                raise RuntimeFailure(f"netlink refused the change of bridge {bridge}: "
                                     f"{exc}") from None
            link = ipr.get_links(index)[0]
            got_stp = bool(link.get(("linkinfo", "data", "br_stp_state")))
            got_delay = link.get(("linkinfo", "data", "br_forward_delay"))
        if stp is not None and got_stp != stp:
            raise RuntimeFailure(f"bridge {bridge}: STP is still {'on' if got_stp else 'off'}")
        if centis is not None and got_delay is not None and int(got_delay) != centis:
            raise RuntimeFailure(f"bridge {bridge}: forward delay is {got_delay} cs, "
                                 f"expected {centis}")
