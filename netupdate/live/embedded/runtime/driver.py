"""The embedded live driver: start, stop, inspect, repair, apply plans, verify.

Everything start creates is written to the runtime record (``Store.write_record``) before it is
created, so stop can tear a network down from the record alone, even when its definition was
edited or deleted meanwhile.  Kernel work runs in the namespace named in the record.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime
from pathlib import Path

from netupdate import sections as S
from netupdate.errors import RuntimeFailure, UnsupportedError
from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import devices as DEV
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import forwarding as FW
from netupdate.live.embedded.runtime import liveset as LS
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import nft as NFT
from netupdate.model import values as T
from netupdate.model.defs import IpDef, NetworkDef
from netupdate.render import dnsmasq as conf
from netupdate.render import nftables as firewall
from netupdate.sections import bridge as BRIDGE
from netupdate.sections import dns as DNS
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import ip as IP
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections.bridge import bridge_name, kernel_delay, want_delay, want_stp
from netupdate.store import Store

RECORD_VERSION = 1
VERIFY_TIMEOUT = 3.0
KNOWN_KINDS = frozenset({
    "none", "dnsmasq-none", "dnsmasq-sighup", "dnsmasq-restart", "bridge-stp", "bridge-delay",
    "bridge-mtu", "address-add", "address-remove", "route-add", "route-remove",
    "firewall-reload", "network-restart"}) | LS.KINDS


class VerifyError(RuntimeFailure):
    """A live check did not see the expected state; ``check`` names it."""

    def __init__(self, check: str, detail: str):
        super().__init__(f"verification failed: {check}: {detail}")
        self.check = check


# ---------------------------------------------------------------------- desired state


def route_dict(route) -> dict:
    prefix = route.prefix
    if prefix is None and route.address is not None:
        prefix = IpDef(address=route.address).effective_prefix
    network = ipaddress.ip_network(f"{route.address}/{prefix}", strict=False)
    return {"address": str(network), "gateway": str(route.gateway), "metric": route.metric}


def want_routes(defs: NetworkDef) -> list[dict]:
    return [route_dict(r) for r in defs.routes if r.address is not None and r.gateway]


def _norm_route(route: dict) -> tuple:
    """A route's identity; no metric is the kernel's default (IPv4 0, IPv6 1024)."""
    network = ipaddress.ip_network(route["address"], strict=False)
    metric = route.get("metric")
    if metric is None:
        metric = 1024 if network.version == 6 else 0
    return (str(network), str(ipaddress.ip_address(route["gateway"])), metric)


def _norm_addr(address: str) -> str:
    return str(ipaddress.ip_interface(address))


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
            state = BR.read(self.ipr(netns), br)
        except Exception as exc:  # noqa: BLE001
            self._drop_ipr(netns)
            problems.append(f"cannot read bridge {br}: {exc}")
        if netns is not None and state is not None and BR.is_up(self.ipr(netns), "lo") is False:
            problems.append(f"lo is down in namespace {netns}")
        if defs is not None and any(NS.call(netns, NS.sysctl, key) != "1"
                                    for key in FW.forwarding_keys(defs)):
            problems.append("packet forwarding is off")
        out["bridge"] = {"name": br, "present": state is not None, **(state or {})}
        if state is None:
            problems.append(f"bridge {br} is missing")
        elif defs is not None:
            problems += self._bridge_mismatches(state, defs)
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

    def _bridge_mismatches(self, state: dict, defs: NetworkDef) -> list[str]:
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
        changed = False
        layout = self.layout(name)
        dnsmasq_done = False
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
    @staticmethod
    def host_change_applies(record: dict, change, kinds) -> bool:
        """Whether ``apply_host_change`` may take this edit (it may still decline)."""
        return (getattr(change, "section", None) in ("ip-dhcp-host", "dns-host")
                and bool(record.get("dnsmasq"))
                and set(kinds) <= {"none", "dnsmasq-none", "dnsmasq-sighup"})

    def apply_host_change(self, name: str, record: dict, change, kinds) -> dict | None:
        """Apply one DHCP or DNS host edit from the ``Change`` alone (no re-read of the whole
        network): write or remove that host's file, SIGHUP when the plan (or dnsmasq's
        hostsdir rules) needs it.  Returns what ``verify_host_change`` needs, or None when the
        edit does not fit the fast path (another host shares the file, or the files are not
        what the definition says), so the caller takes the general path."""
        if not self.host_change_applies(record, change, kinds):
            return None
        section = change.section
        dq = record["dnsmasq"]
        layout = self.layout(name)
        before, after = change.before, change.after
        if section == "ip-dhcp-host":
            version = HOST.fast_version(change)
            if version is None:
                return None
            folder = layout.dhcp_hostsdir
            old = new = None
            if before is not None:
                old = (HOST.file_name(before, version),
                       _line(conf.dhcp_host_line(before, version)))
            if after is not None:
                new = (HOST.file_name(after, version),
                       _line(conf.dhcp_host_line(after, version)))
        else:
            folder = layout.hostsdir
            old = DNS_HOST.file_of(before) if before is not None else None
            new = DNS_HOST.file_of(after) if after is not None else None
        # where the host is now: its own file, or a line of the base file
        base_path = folder / DQ.BASE
        own = old is not None and _read(folder / old[0]) == old[1] and old[1] is not None
        base_lines = None
        if old is not None and not own:
            base_lines = (_read(base_path) or "").splitlines(keepends=True)
            if old[1] is None or old[1] not in base_lines:
                return None  # not where the definition says: take the general path
            base_lines.remove(old[1])
        if new is not None and (not own or new[0] != old[0]) and \
                _read(folder / new[0]) not in (None, ""):
            return None  # another host already has that file
        writes, removes = [], []
        if new is not None and new[1] is not None:
            writes.append((folder / new[0], new[1]))
        if base_lines is not None:
            writes.append((base_path, "".join(base_lines)))
        elif own and (new is None or new[0] != old[0]):
            if section == "dns-host":
                writes.append((folder / old[0], ""))  # tombstone, see dnsmasqd
            else:
                removes.append(folder / old[0])
        if writes:
            DQ.S.atomic_write_many(writes, mode=DQ.HOST_MODE)
        for path in removes:
            DQ.S.remove(path)
        sighup = "dnsmasq-sighup" in kinds or (section == "ip-dhcp-host"
                                               and HOST.needs_sighup(old is not None))
        if sighup:
            DQ.sighup(dq["pid"], dq["conf"], layout)
        return {"section": section, "writes": writes, "removes": removes, "sighup": sighup,
                "before": before, "after": after}

    def verify_host_change(self, record: dict, applied: dict, server: str | None,
                           dns_on: bool, timeout: float = VERIFY_TIMEOUT) -> list[str]:
        dq = record["dnsmasq"]
        if not DQ.alive(dq.get("pid"), dq.get("conf")):
            raise VerifyError("dnsmasq", "not running")
        for path, text in applied["writes"]:
            if DQ.read_hosts(path) != text:
                raise VerifyError("host files", f"{path} does not hold the host")
        for path in applied["removes"]:
            if path.exists():
                raise VerifyError("host files", f"{path} still holds a host")
        done = ["dnsmasq", "host files"]
        if not dns_on or server is None:
            return done
        if applied["section"] == "dns-host":
            old = DNS_HOST.names_of(applied["before"])
            new = DNS_HOST.names_of(applied["after"])
            checks = DNS_HOST.answers(new, old)
        else:
            checks = [(None, "TXT", None, True)]
        NS.call(record["netns"], _dns_wait, server, checks, time.monotonic() + timeout)
        done.append("dns")
        return done

    # -------------------------------------------------------------- verification
    def verify(self, name: str, record: dict, defs: NetworkDef, *, before: NetworkDef | None,
               kinds=(), sections=(), timeout: float = VERIFY_TIMEOUT) -> list[str]:
        """Check the live state matches ``defs`` for what the actions touched; raises
        ``VerifyError`` naming the failed check.  Returns the checks that passed."""
        if record.get("pool") is not None:
            return DEV.verify(record, defs, VerifyError)
        kinds = set(kinds)
        done: list[str] = []
        netns = record["netns"]
        full = "network-restart" in kinds
        if full or kinds & {"bridge-stp", "bridge-delay", "bridge-mtu", "address-add",
                            "address-remove"}:
            state = BR.read(self.ipr(netns), record["bridge"]["name"])
            if state is None:
                raise VerifyError("bridge", f"{record['bridge']['name']} is missing")
            bad = self._bridge_mismatches(state, defs)
            if bad:
                raise VerifyError("bridge", "; ".join(bad))
            done.append("bridge")
        if full or kinds & {"route-add", "route-remove"}:
            have = {_norm_route(r) for r in BR.routes(self.ipr(netns), record["bridge"]["name"])}
            missing = [r["address"] for r in want_routes(defs) if _norm_route(r) not in have]
            if missing:
                raise VerifyError("routes", f"missing: {', '.join(missing)}")
            done.append("routes")
        if full or "firewall-reload" in kinds:
            fw = record.get("firewall")
            want = firewall.ruleset(defs, self.table_name(name), record["bridge"]["name"])
            if (want is not None) != bool(fw) or (fw and not NFT.exists(fw["table"],
                                                                          netns=netns)):
                raise VerifyError("firewall", "the nft table does not match the definition")
            done.append("firewall")
        done += LS.verify(self, record, defs, kinds, VerifyError)
        dq_kinds = {k for k in kinds if k.startswith("dnsmasq-")}
        if full or dq_kinds or sections & {"dns-host", "dns-txt", "dns-srv", "ip-dhcp-host"}:
            done += self._verify_dnsmasq(name, record, defs, before, sections, timeout)
        return done

    def _verify_dnsmasq(self, name, record, defs, before, sections, timeout) -> list[str]:
        dq = record.get("dnsmasq")
        if not conf.needs_dnsmasq(defs):
            if dq:
                raise VerifyError("dnsmasq", "still recorded although not needed")
            return []
        if not dq or not DQ.alive(dq.get("pid"), dq.get("conf")):
            raise VerifyError("dnsmasq", "not running")
        layout = self.layout(name)
        text = DQ.render(defs, layout, name, record["bridge"]["name"])
        digest = DQ.conf_hash(text)
        if dq.get("conf_sha256") != digest:
            raise VerifyError("dnsmasq conf", "the running dnsmasq was started with another conf "
                                              "than the definition needs (restart required)")
        done = ["dnsmasq", "dnsmasq conf"]
        problem = DQ.check_full(layout, defs)
        if problem:
            raise VerifyError("host files", problem)
        done.append("host files")
        server = IP.server_address(defs)
        if not DNS.enabled(defs) or server is None:
            return done
        checks = _dns_expectations(defs, before, sections)
        deadline = time.monotonic() + timeout
        NS.call(record["netns"], _dns_wait, server, checks, deadline)
        done.append("dns")
        return done


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


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


# ---------------------------------------------------------------------- DNS checks
def _line(text: str | None) -> str | None:
    return None if text is None else text + "\n"


def _dns_expectations(after: NetworkDef, before: NetworkDef | None, sections) -> list[tuple]:
    """(name, rdtype, expected values, present) for the records an update changed; with
    nothing specific, one liveness query (any answer will do)."""
    checks: list[tuple] = []
    for section in sections:
        expectations = S.hook(section, "dns_expectations")
        if expectations is not None:
            checks += expectations(after, before)
    if not checks:
        checks.append((None, "TXT", None, True))  # a round trip: dnsmasq is serving
    return checks


def query(server: str, name: str, rdtype: str, *, timeout: float = 0.5,
          rdclass: str = "IN") -> tuple[str, list[str]]:
    """(rcode text, answer values) of one UDP query (run it inside the network's namespace)."""
    import dns.message
    import dns.query
    import dns.rcode
    message = dns.message.make_query(name if name.endswith(".") else name + ".", rdtype,
                                     rdclass)
    response = dns.query.udp(message, server, timeout=timeout)
    values = []
    for rrset in response.answer:
        for rdata in rrset:
            if rrset.rdtype == 16:  # TXT
                values.append(b"\n".join(rdata.strings).decode(errors="replace"))  # sections/dns_txt.txt_wire
            else:
                values.append(rdata.to_text())
    return dns.rcode.to_text(response.rcode()), values


def _dns_wait(server: str, checks: list[tuple], deadline: float) -> None:
    pending = list(checks)
    last = ""
    pause = 0.0005          # dnsmasq usually answers at once: retry soon, then less often
    while True:
        still = []
        for check in pending:
            name, rdtype, value, present = check
            try:
                if name is None:  # answered by dnsmasq itself, never forwarded
                    rcode, values = query(server, "version.bind", "TXT", rdclass="CH")
                else:
                    rcode, values = query(server, name, rdtype)
            except Exception as exc:  # noqa: BLE001 - timeouts and refusals are retried
                still.append(check)
                last = f"no answer from {server}: {exc.__class__.__name__} {exc}".strip()
                continue
            if name is None:
                continue
            ok = (value in values) if present else (value not in values)
            if not ok:
                still.append(check)
                shown = ", ".join(values) or rcode
                last = (f"{rdtype} {name} answers {shown}, expected "
                        f"{'' if present else 'no '}{value}")
        if not still:
            return
        if time.monotonic() >= deadline:
            raise VerifyError("dns", last)
        pending = still
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
