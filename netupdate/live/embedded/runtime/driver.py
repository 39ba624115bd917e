"""The embedded live driver: start, stop, inspect, repair, apply plans, verify.

Everything start creates is written to the runtime record (``Store.write_record``) before it is
created, so stop can tear a network down from the record alone, even when its definition was
edited or deleted meanwhile.  Kernel work runs in the namespace named in the record.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from netupdate.errors import RuntimeFailure, UnsupportedError
from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import devices as DEV
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import forwarding as FW
from netupdate.live.embedded.runtime import hostfast as HF
from netupdate.live.embedded.runtime import ipv6conf as V6
from netupdate.live.embedded.runtime import liveset as LS
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import nft as NFT
from netupdate.live.embedded.runtime import observe as OBS
from netupdate.live.embedded.runtime import verify as V
from netupdate.live.embedded.runtime.desired import _norm_addr, _norm_route, want_routes
from netupdate.live.embedded.runtime.verify import VerifyError as VerifyError  # the driver's
from netupdate.live.embedded.runtime.verify import query as query  # public names
from netupdate.live.txn.interrupts import checkpoint
from netupdate.model import values as T
from netupdate.model.defs import NetworkDef
from netupdate.render import dnsmasq as conf
from netupdate.render import nftables as firewall
from netupdate.sections import bridge as BRIDGE
from netupdate.sections import ip as IP
from netupdate.sections.bridge import bridge_name, kernel_delay, want_delay, want_stp
from netupdate.store import Store

RECORD_VERSION = 1
KNOWN_KINDS = frozenset({
    "none", "dnsmasq-none", "dnsmasq-sighup", "dnsmasq-restart", "bridge-stp", "bridge-delay",
    "bridge-mtu", "address-add", "address-remove", "route-add", "route-remove",
    "firewall-reload", "network-restart", "bridge-ipv6"}) | LS.KINDS




# ---------------------------------------------------------------------- desired state


def check_runnable(defs: NetworkDef) -> None:
    """Every forward mode libvirt defines runs (host-device modes: ``devices.py``)."""
    mode = defs.forward_mode
    if mode is not None and not isinstance(mode, T.ForwardMode):
        raise UnsupportedError(f"the embedded runtime cannot run forward mode '{mode}'")
    name = bridge_name(defs)
    if mode not in T.MANAGED_MODES:
        return
    problem = BRIDGE.too_long(name)
    if problem is not None:
        raise RuntimeFailure(problem)


# ---------------------------------------------------------------------- the driver
class Driver:
    """Live operations on networks of one store.  Keeps netlink sockets per namespace open for
    long-running callers; ``close()`` releases them."""

    def __init__(self, store: Store):
        self.store = store
        self._ipr: dict[str | None, object] = {}
        self.owner = NFT.owner_id(store.run_dir)

    def table_name(self, name: str) -> str:
        """The nft table this store's network ``name`` gets (another state directory running
        a same-named network in the same namespace gets another one)."""
        return firewall.table_name(name, self.owner)

    def close(self) -> None:
        for ipr in self._ipr.values():
            try:
                ipr.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._ipr.clear()

    def ipr(self, netns: str | None):
        ipr = self._ipr.get(netns)
        if ipr is None:
            ipr = self._ipr[netns] = NS.iproute(netns)
        return ipr

    def _drop_ipr(self, netns: str | None) -> None:
        ipr = self._ipr.pop(netns, None)
        if ipr is not None:
            try:
                ipr.close()
            except Exception:  # noqa: BLE001
                pass

    def layout(self, name: str) -> DQ.Layout:
        return DQ.Layout(self.store.network_dir(name))

    # -------------------------------------------------------------- preflight
    def preflight(self, defs: NetworkDef, netns: str | None) -> None:
        """Every reason start would fail, checked before anything is created."""
        check_runnable(defs)
        NS.require_privileges("running a network")
        NS.require_netlink()
        NS.require(netns)
        if DEV.applies(defs):
            return
        if conf.needs_dnsmasq(defs):
            DQ.require_binary()
        if firewall.ruleset(defs, "t", "b") is not None:
            NFT.require_binary()

    @staticmethod
    def prepare(defs: NetworkDef, plan, *, start: bool = False) -> None:
        """Render ahead what starting ``defs``, or taking a network to it by ``plan``, writes
        (every host's line: a second at 30,000 hosts), before anything changes: a signal
        meanwhile ends the operation at once instead of after the change and its rollback."""
        kinds = plan.kinds if plan is not None else ("network-restart",) if start else ()
        if conf.needs_dnsmasq(defs) and any(k.startswith("dnsmasq-") or k == "network-restart"
                                            for k in kinds):
            DQ.base_texts(defs)

    # -------------------------------------------------------------- start
    def start(self, name: str, defs: NetworkDef, *, netns: str | None) -> dict:
        """Create everything; on failure undo what was done and raise."""
        self.preflight(defs, netns)
        if DEV.applies(defs):
            return DEV.start(self, name, defs, netns)
        br = bridge_name(defs)
        if self._link_exists(netns, br):
            raise RuntimeFailure(f"cannot start network '{name}': an interface named {br} "
                                 f"already exists{' in namespace ' + netns if netns else ''}")
        layout = self.layout(name)
        table = self.table_name(name)
        record = {
            "version": RECORD_VERSION, "name": name, "netns": netns,
            "uuid": str(defs.uuid) if defs.uuid else None,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bridge": {"name": br, "created": True},
            "addresses": [], "routes": [], "sysctls": False,
            "firewall": ({"family": firewall.FAMILY, "table": table}
                         if firewall.ruleset(defs, table, br) is not None else None),
            "dnsmasq": ({"conf": str(layout.conf), "pid": None, "conf_sha256": None}
                        if conf.needs_dnsmasq(defs) else None),
            "dir": str(layout.dir),
        }
        # what start is about to create is recorded first: after a crash in the middle,
        # stop finds everything (the bridge name was checked free above)
        self.store.write_record(name, record)
        try:
            self._build(name, record, defs)
        except BaseException as exc:
            problems = self.teardown(record)
            if not problems:
                self.store.delete_record(name)
                raise
            self.store.write_record(name, record)
            raise RuntimeFailure(f"{exc}; and undoing the partial start failed: "
                                 + "; ".join(problems)) from exc
        self.store.write_record(name, record)
        return record

    def _build(self, name: str, record: dict, defs: NetworkDef) -> None:
        netns = record["netns"]
        br = record["bridge"]["name"]
        ipr = self.ipr(netns)
        if netns is not None:
            BR.set_up(ipr, "lo")  # a fresh namespace has lo down: no local traffic at all
        BR.create(ipr, br, mtu=defs.mtu, mac=str(defs.mac.normalized) if defs.mac else None,
                  stp=want_stp(defs), delay=want_delay(defs))
        V6.apply(netns, br, defs)  # before the addresses: none is IPv6 while disable_ipv6=1
        self._firewall(record, defs)
        for address in IP.addresses(defs):
            record["addresses"].append(address)
            BR.add_address(ipr, br, address)
        BR.set_up(ipr, br)
        LS.start(self, record, defs)
        for route in want_routes(defs):
            record["routes"].append(route)
            BR.add_route(ipr, route)
        if FW.forwarding_keys(defs):
            FW.follow(self.store, record, defs)
        if conf.needs_dnsmasq(defs):
            self._start_dnsmasq(name, record, defs)

    def _link_exists(self, netns: str | None, ifname: str) -> bool:
        return NS.link_index(netns, ifname) is not None

    def _firewall(self, record: dict, defs: NetworkDef) -> None:
        table = (record["firewall"] or {}).get("table") or self.table_name(record["name"])
        if firewall.ruleset(defs, table, record["bridge"]["name"]) is None:
            if record["firewall"]:
                NFT.delete(record["firewall"]["table"], netns=record["netns"])
                record["firewall"] = None
            return
        record["firewall"] = {"family": firewall.FAMILY, "table": table}
        NFT.replace(defs, table, record["bridge"]["name"], netns=record["netns"])

    def _start_dnsmasq(self, name: str, record: dict, defs: NetworkDef) -> None:
        layout = self.layout(name)
        layout.make()
        text = DQ.render(defs, layout, name, record["bridge"]["name"])
        DQ.write_conf(layout, text, netns=record["netns"])
        DQ.full_sync(layout, defs)
        record["dnsmasq"] = {"conf": str(layout.conf), "pid": None,
                             "conf_sha256": DQ.conf_hash(text)}
        record["dnsmasq"]["pid"] = DQ.start(layout, netns=record["netns"])

    # -------------------------------------------------------------- stop
    def teardown(self, record: dict) -> list[str]:
        """Undo everything in ``record``, each step regardless of the others; returns what could
        not be undone (and leaves only that in ``record``)."""
        problems: list[str] = []
        netns = record.get("netns")
        ns_gone = netns is not None and not NS.exists(netns)
        dq = record.get("dnsmasq")
        if dq:
            try:
                pid = dq.get("pid") or DQ.read_pid(DQ.Layout(Path(dq["conf"]).parent))
                DQ.stop(pid, dq.get("conf"))
                record["dnsmasq"] = None
            except Exception as exc:  # noqa: BLE001 - best effort, reported
                problems.append(f"dnsmasq {dq.get('pid')}: {exc}")
        fw = record.get("firewall")
        if fw and not ns_gone:
            try:
                NFT.delete(fw["table"], netns=netns)
                record["firewall"] = None
            except Exception as exc:  # noqa: BLE001
                problems.append(f"nft table {fw['table']}: {exc}")
        elif fw:
            record["firewall"] = None
        br = (record.get("bridge") or {}).get("name")
        if br and record["bridge"].get("created") and not ns_gone:
            try:
                ipr = self.ipr(netns)
                for route in list(record.get("routes") or []):
                    BR.del_route(ipr, route)
                BR.delete(ipr, br)
                record["routes"], record["addresses"] = [], []
                record["bridge"]["created"] = False
            except Exception as exc:  # noqa: BLE001
                self._drop_ipr(netns)
                problems.append(f"bridge {br}: {exc}")
        elif ns_gone:
            record["routes"], record["addresses"] = [], []
        if record.get("sysctls"):
            try:
                FW.leave(self.store, record)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"sysctls: {exc}")
        directory = record.get("dir")
        if directory:
            try:
                _remove_tree(Path(directory), self.store.run_dir)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"files in {directory}: {exc}")
        if netns and not problems:
            NS.forget(netns)
            self._drop_ipr(netns)
        return problems

    # -------------------------------------------------------------- inspect
    def inspect(self, record: dict, defs: NetworkDef | None = None) -> dict:
        """``observe.inspect``: what is really there, compared with the record and ``defs``."""
        return OBS.inspect(self, record, defs)

    # -------------------------------------------------------------- repair / converge
    def reconcile(self, name: str, record: dict, defs: NetworkDef) -> dict:
        """Make the running network match ``defs`` whatever it looks like now (repair after
        something vanished, rollback after a failed update)."""
        if record.get("pool") is not None:
            return DEV.reconcile(self.store, name, record, defs)
        netns = record["netns"]
        NS.require(netns)
        br = record["bridge"]["name"]
        ipr = self.ipr(netns)
        if netns is not None:
            BR.set_up(ipr, "lo")
        state = BR.read(ipr, br)
        if state is None:
            record["bridge"]["created"] = True
            record["addresses"], record["routes"] = [], []
            self.store.write_record(name, record)
            BR.create(ipr, br, mtu=defs.mtu,
                      mac=str(defs.mac.normalized) if defs.mac else None,
                      stp=want_stp(defs), delay=want_delay(defs))
            state = BR.read(ipr, br)
        else:
            stp_changed = state["stp"] != want_stp(defs)
            if stp_changed:
                BR.set_stp(ipr, br, want_stp(defs))
            if stp_changed or state["delay"] != kernel_delay(defs):
                BR.set_delay(ipr, br, want_delay(defs))
            if defs.mtu is not None and state["mtu"] != defs.mtu:
                BR.set_mtu(ipr, br, defs.mtu)
        want = IP.addresses(defs)
        have = {_norm_addr(a) for a in state["addresses"]}
        for address in dict.fromkeys(record["addresses"] + state["addresses"]):  # extra too
            if _norm_addr(address) not in {_norm_addr(a) for a in want}:
                BR.del_address(ipr, br, address)
        V6.apply(netns, br, defs)
        for address in want:
            if _norm_addr(address) not in have:
                BR.add_address(ipr, br, address)
        record["addresses"] = list(want)
        BR.set_up(ipr, br)
        wanted_routes = want_routes(defs)
        wanted_keys = {_norm_route(r) for r in wanted_routes}
        kept = {key[:2] for key in wanted_keys}  # the kernel shows a default metric
        for route in record["routes"] + [r for r in BR.routes(ipr, br)  # a killed op's too
                                         if _norm_route(r)[:2] not in kept]:
            if _norm_route(route) not in wanted_keys:
                BR.del_route(ipr, route)
        for route in wanted_routes:
            BR.add_route(ipr, route)
        record["routes"] = wanted_routes
        LS.reconcile(self, record, defs)
        FW.follow(self.store, record, defs)
        self._firewall(record, defs)
        self._converge_dnsmasq(name, record, defs)
        self.store.write_record(name, record)
        return record

    def _converge_dnsmasq(self, name: str, record: dict, defs: NetworkDef) -> None:
        layout = self.layout(name)
        dq = record.get("dnsmasq")
        if not conf.needs_dnsmasq(defs):
            if dq:
                _drop_dnsmasq(record, layout)
            return
        layout.make()
        text = DQ.render(defs, layout, name, record["bridge"]["name"])
        running = dq is not None and DQ.alive(dq.get("pid"), dq.get("conf"))
        current = layout.conf.read_text() if layout.conf.exists() else None
        if running and current == text and dq.get("conf_sha256") == DQ.conf_hash(text):
            if DQ.full_sync(layout, defs):
                DQ.sighup(dq["pid"], dq["conf"], layout)
            return
        if dq:
            DQ.stop(dq.get("pid"), dq.get("conf"))
        self._start_dnsmasq(name, record, defs)

    # -------------------------------------------------------------- apply a plan
    def apply(self, name: str, record: dict, before: NetworkDef, after: NetworkDef,
              actions) -> tuple[dict, bool]:
        """Run the plan's actions in order.  Returns the record and whether it changed."""
        kinds = [action.kind for action in actions]
        unknown = sorted(set(kinds) - KNOWN_KINDS)
        if unknown:
            raise RuntimeFailure(f"the plan has actions this runtime cannot run: {unknown}")
        netns, br = record["netns"], record["bridge"]["name"]
        changed = dnsmasq_done = False
        layout = self.layout(name)
        for action in actions:
            kind, detail = action.kind, action.detail
            if kind == "none":
                continue
            if kind == "network-restart":
                return LS.restart(self, name, record, after), True
            if kind in LS.KINDS:
                changed |= LS.apply(self, record, after, kind, detail)
            elif kind.startswith("dnsmasq-"):
                if dnsmasq_done:
                    continue
                dnsmasq_done = True
                changed |= self._dnsmasq_action(name, record, layout, kind, before, after)
            elif kind == "bridge-stp":
                BR.set_stp(self.ipr(netns), br, bool(detail["stp"]))
                if not detail["stp"]:
                    # while STP ran the kernel held the delay at 2 s or more; without STP the
                    # definition's delay (0 by default) applies again
                    BR.set_delay(self.ipr(netns), br, want_delay(after))
            elif kind == "bridge-ipv6":   # the first IPv6 <ip> comes or the last goes
                V6.apply(netns, br, after)
            elif kind == "bridge-delay":
                BR.set_delay(self.ipr(netns), br, int(detail.get("delay") or 0))
            elif kind == "bridge-mtu":
                BR.set_mtu(self.ipr(netns), br, int(detail["mtu"]))
            elif kind == "address-add":
                BR.add_address(self.ipr(netns), br, detail["address"])
                record["addresses"].append(detail["address"])
                changed = True
            elif kind == "address-remove":
                BR.del_address(self.ipr(netns), br, detail["address"])
                gone = _norm_addr(detail["address"])
                record["addresses"] = [a for a in record["addresses"] if _norm_addr(a) != gone]
                changed = True
            elif kind == "route-add":
                route = {k: detail.get(k) for k in ("address", "gateway", "metric")}
                BR.add_route(self.ipr(netns), route)
                record["routes"].append(route)
                changed = True
            elif kind == "route-remove":
                route = {k: detail.get(k) for k in ("address", "gateway", "metric")}
                BR.del_route(self.ipr(netns), route)
                gone = _norm_route(route)
                record["routes"] = [r for r in record["routes"] if _norm_route(r) != gone]
                changed = True
            elif kind == "firewall-reload":
                self._firewall(record, after)
                changed = True
        changed |= FW.follow_change(self.store, record, before, after)
        return record, changed

    def _dnsmasq_action(self, name: str, record: dict, layout: DQ.Layout, kind: str,
                        before: NetworkDef, after: NetworkDef) -> bool:
        dq = record.get("dnsmasq")
        if not conf.needs_dnsmasq(after):
            if dq:
                _drop_dnsmasq(record, layout)
                return True
            return False
        if kind == "dnsmasq-restart" or dq is None:
            DQ.base_texts(after)   # the long part (every host) before DHCP and DNS go silent
            checkpoint()           # a signal meanwhile: roll back before dnsmasq is touched
            silent = time.monotonic()   # DHCP and DNS are down from here until it is back
            if dq:
                DQ.stop(dq.get("pid"), dq.get("conf"))
                record["dnsmasq"] = None
            self._start_dnsmasq(name, record, after)
            if dq:   # what guest impact reports (planning.impact)
                DQ.note_restart(layout, round((time.monotonic() - silent) * 1000))
            return True
        # general path (the one-host fast path is apply_host_change): back to the full layout;
        # a SIGHUP makes dnsmasq drop the records of the files that went away
        if DQ.full_sync(layout, after) or kind == "dnsmasq-sighup":
            DQ.sighup(dq["pid"], dq["conf"], layout)
        return False

    # -------------------------------------------------------------- one host, fast
    host_change_applies = staticmethod(HF.host_change_applies)

    def apply_host_change(self, name: str, record: dict, change, kinds) -> dict | None:
        """``hostfast.apply_host_change``: one DHCP or DNS host edit from the ``Change``."""
        return HF.apply_host_change(self, name, record, change, kinds)

    @staticmethod
    def verify_host_change(record: dict, applied: dict, server: str | None, dns_on: bool,
                           timeout: float = V.VERIFY_TIMEOUT, meanwhile=None) -> list[str]:
        return V.verify_host_change(record, applied, server, dns_on, timeout, meanwhile)

    # -------------------------------------------------------------- verification
    def verify(self, name: str, record: dict, defs: NetworkDef, **kwargs) -> list[str]:
        """``verify.verify``: the live state matches ``defs`` for what the actions touched."""
        return V.verify(self, name, record, defs, **kwargs)


def _drop_dnsmasq(record: dict, layout: DQ.Layout) -> None:
    """Stop the dnsmasq of a network that needs none any more, and remove its files (a fresh
    start of such a network makes none)."""
    dq = record["dnsmasq"]
    DQ.stop(dq.get("pid"), dq.get("conf"))
    record["dnsmasq"] = None
    DQ.remove_files(layout)


def _remove_tree(path: Path, root: Path) -> None:
    import shutil
    if not path.exists():
        return
    if root.resolve() not in path.resolve().parents:
        raise RuntimeFailure(f"refusing to remove {path}: outside {root}")
    shutil.rmtree(path)
