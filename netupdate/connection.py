"""``netupdate.connect()``: the verbs of the command line as a library, for long-running callers.

``connect(uri=None)`` is the embedded runtime (no libvirt): networks defined in a state store and
run by netupdate itself (bridge through netlink, one dnsmasq per network, one nftables table),
in the host or in a named network namespace.  ``connect("qemu:///system")`` (any libvirt URI) is
the libvirt backend behind the same method names.

An update of a running network changes both its live state and its persistent config by default
(virsh's default, the current state only, lost changes at restart).  The live side runs the
plan's actions in order, then verifies the live state; if anything fails, the live state and the
config are put back as they were and the error names the failed check.

A ``Connection`` caches parsed definitions (keyed by file identity), so repeated updates of a big
network do not re-read it from disk.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from netupdate.errors import NetupdateError, RuntimeFailure, StateError, UnsupportedError
from netupdate.store import PendingWrites, Store, atomic_write_many, check_name, submit

EMBEDDED_URIS = (None, "", "embedded", "netupdate:///embedded", "netupdate:///")

# live / config outcome words (the libvirt backend uses the same)
CHANGED, UNCHANGED, NOT_REQUESTED = "changed", "unchanged", "not-requested"
APPLIED, RESTARTED = "applied", "restarted"


def connect(uri: str | None = None, *, state_dir: str | os.PathLike | None = None,
            netns: str | None = None):
    """A connection: the embedded runtime for ``uri=None``, else libvirt at ``uri``.

    ``state_dir`` (or $NETUPDATE_STATE_DIR) moves the embedded store; ``netns`` is the namespace
    networks started through this connection run in (recorded at start).
    """
    if uri in EMBEDDED_URIS:
        return Connection(state_dir=state_dir, netns=netns)
    if state_dir is not None:
        raise UnsupportedError("state_dir applies to the embedded runtime only (uri=None)")
    from netupdate.libvirtconn import LibvirtConnection
    return LibvirtConnection(uri, netns=netns)


@dataclass
class UpdateResult:
    """What ``Connection.update`` did: per side (``live``, ``config``) one of ``changed``,
    ``applied``, ``restarted``, ``unchanged``, ``not-requested``."""

    network: str
    command: str
    section: str | None
    live: str = NOT_REQUESTED
    config: str = NOT_REQUESTED
    plan: Any = None
    change: Any = None
    actions: tuple = ()
    checks: tuple[str, ...] = ()
    dry_run: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return 0

    def summary(self) -> str:
        verb = "Would update" if self.dry_run else "Updated"
        done = []
        if self.config in (CHANGED,):
            done.append("persistent config")
        if self.live in (APPLIED, RESTARTED, CHANGED):
            done.append("live state" + (" (network restarted)" if self.live == RESTARTED else ""))
        if not done:
            return f"Network {self.network}: nothing to change"
        return f"{verb} network {self.network} {' and '.join(done)}"

    def to_text(self) -> str:
        lines = [self.summary()]
        for action in self.actions:
            detail = action.detail_text() if hasattr(action, "detail_text") else ""
            lines.append(f"  {'would do' if self.dry_run else 'did'}: {action.kind}"
                         + (f" ({detail})" if detail else ""))
        if self.checks:
            lines.append(f"  verified: {', '.join(self.checks)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"network": self.network, "command": self.command, "section": self.section,
                "live": self.live, "config": self.config, "dry_run": self.dry_run,
                "actions": [a.to_json() if hasattr(a, "to_json") else {"kind": a.kind}
                            for a in self.actions],
                "checks": list(self.checks), "seconds": round(self.seconds, 6),
                "notes": list(self.notes), "summary": self.summary()}


class _Doc:
    """A parsed definition, the bytes it was read from and the identity of the file.

    ``defs`` are the typed definitions of ``data`` (computed when first needed: reading 1,000
    hosts costs tens of milliseconds, and a host update does not need them)."""

    __slots__ = ("stamp", "data", "network", "_defs")

    def __init__(self, stamp, data: bytes, network, defs=None):
        self.stamp, self.data, self.network, self._defs = stamp, data, network, defs

    @property
    def defs(self):
        if self._defs is None:
            from netupdate.model import load
            self._defs = load(self.data).defs
        return self._defs


def _stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


class Connection:
    """The embedded runtime's verbs: ``define``, ``start``, ``update``, ``stop`` (``destroy``),
    ``undefine``, ``list``, ``dumpxml``, ``status``."""

    uri = "netupdate:///embedded"

    def __init__(self, *, state_dir: str | os.PathLike | None = None, netns: str | None = None):
        self.store = Store(state_dir)
        self.netns = netns
        self._driver = None
        self._docs: dict[str, _Doc] = {}

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
        self._docs.clear()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<netupdate.Connection config={self.store.config_dir} run={self.store.run_dir}>"

    @property
    def driver(self):
        if self._driver is None:
            from netupdate.runtime.driver import Driver
            self._driver = Driver(self.store)
        return self._driver

    def _load(self, path, *, like: _Doc | None = None):
        """The parsed document at ``path`` (cached while the file is unchanged).  With ``like``,
        a file with the same bytes shares ``like``'s parsed document instead of parsing again."""
        from netupdate.model import load
        key = os.fspath(path)
        stamp = _stamp(path)
        if stamp is None:
            self._docs.pop(key, None)
            return None
        doc = self._docs.get(key)
        if doc is not None and doc.stamp == stamp:
            return doc
        with open(path, "rb") as handle:
            data = handle.read()
        if like is not None and like.data == data:
            doc = _Doc(stamp, data, like.network, like._defs)
        else:
            doc = _Doc(stamp, data, load(data, filename=key, check=False))
        self._docs[key] = doc
        return doc

    def _forget(self, *paths) -> None:
        for path in paths:
            self._docs.pop(os.fspath(path), None)

    def _remember(self, path, data: bytes, network, defs=None) -> None:
        stamp = _stamp(path)
        if stamp is not None:
            self._docs[os.fspath(path)] = _Doc(stamp, data, network, defs)

    def _defs(self, path):
        doc = self._load(path)
        return doc.defs if doc is not None else None

    # ------------------------------------------------------------------ definitions
    def define(self, xml: str | bytes | os.PathLike) -> str:
        """Store a persistent definition (new, or replacing the persistent one; a running
        network keeps running its live definition).  Returns the network's name."""
        from netupdate.model import load
        network = load(xml)
        name = network.defs.name
        if not name:
            raise NetupdateError("the definition has no <name>")
        check_name(name)
        with self.store.lock(name):
            record = self.store.read_record(name)
            if record is not None and network.defs.uuid and record.get("uuid") and \
                    str(network.defs.uuid) != record["uuid"]:
                raise StateError(f"network '{name}' is running with uuid {record['uuid']}")
            self.store.write_config(name, network.to_bytes())
            self._forget(self.store.config_path(name))
        return name

    def undefine(self, name: str) -> None:
        """Remove the persistent definition (a running network goes on as a transient one)."""
        with self.store.lock(name):
            if not self.store.delete_config(name):
                raise StateError(f"network '{name}' is not defined")
            self._forget(self.store.config_path(name))

    def dumpxml(self, name: str, inactive: bool = False) -> str:
        """The live definition of a running network (``inactive``: the persistent one)."""
        check_name(name)
        text = None
        if not inactive:
            text = self.store.read_live(name)
        if text is None:
            text = self.store.read_config(name)
        if text is None:
            raise StateError(f"network '{name}' is not defined")
        return text

    def list(self) -> list[dict]:
        out = []
        for name in self.store.names():
            record = self.store.read_record(name)
            out.append({"name": name, "active": record is not None,
                        "state": "active" if record is not None else "inactive",
                        "persistent": self.store.config_path(name).exists(),
                        "autostart": self.store.autostart(name),
                        "bridge": (record or {}).get("bridge", {}).get("name"),
                        "netns": (record or {}).get("netns")})
        return out

    # ------------------------------------------------------------------ lifecycle
    def start(self, name: str, *, netns: str | None = None) -> dict:
        """Start a defined network (in ``netns``, else the connection's namespace).  A running
        network whose dnsmasq, bridge or firewall vanished is repaired; a healthy one is an
        error."""
        check_name(name)
        with self.store.lock(name):
            record = self.store.read_record(name)
            if record is not None:
                defs = self._defs(self.store.live_path(name)) or \
                    self._defs(self.store.config_path(name))
                if defs is None:
                    raise StateError(f"network '{name}' is running without a definition")
                status = self.driver.inspect(record, defs)
                if not status["problems"]:
                    raise StateError(f"network '{name}' is already running")
                return self.driver.reconcile(name, record, defs)
            config = self._load(self.store.config_path(name))
            if config is None:
                raise StateError(f"network '{name}' is not defined")
            netns = netns if netns is not None else self.netns
            record = self.driver.start(name, config.defs, netns=netns)
            try:
                self.store.write_live(name, config.data)
            except BaseException:
                self.driver.teardown(record)
                self.store.delete_record(name)
                raise
            self._remember(self.store.live_path(name), config.data, config.network.copy(),
                           config.defs)
            return record

    def stop(self, name: str) -> list[str]:
        """Tear down everything the runtime record lists (not what the config says).  Best
        effort: every step runs; what could not be undone raises ``RuntimeFailure`` (and stays
        in the record for another try)."""
        check_name(name)
        with self.store.lock(name):
            record = self.store.read_record(name)
            if record is None:
                raise StateError(f"network '{name}' is not running")
            problems = self.driver.teardown(record)
            if problems:
                self.store.write_record(name, record)
                raise RuntimeFailure(f"network '{name}' could not be torn down completely: "
                                     + "; ".join(problems))
            self.store.delete_live(name)
            self.store.delete_record(name)
            self._forget(self.store.live_path(name))
            return problems

    destroy = stop

    def status(self, name: str) -> dict:
        check_name(name)
        record = self.store.read_record(name)
        persistent = self.store.config_path(name).exists()
        if record is None and not persistent:
            raise StateError(f"network '{name}' is not defined")
        out = {"name": name, "active": record is not None,
               "state": "active" if record is not None else "inactive",
               "persistent": persistent, "autostart": self.store.autostart(name),
               "netns": None, "bridge": None, "dnsmasq": None, "firewall": None,
               "problems": [], "diverged": None}
        if record is None:
            return out
        live = self._defs(self.store.live_path(name))
        out.update(self.driver.inspect(record, live))
        out["state"] = "degraded" if out["problems"] else "active"
        if persistent and live is not None:
            config = self._defs(self.store.config_path(name))
            out["diverged"] = config != live
        return out

    # ------------------------------------------------------------------ update
    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, dry_run: bool = False) -> UpdateResult:
        """Edit network ``name`` (libvirt's section form, or ``node_spec``).

        Defaults: a running network gets ``live`` and ``config``; an inactive one its config;
        a transient one its live state.  Live changes run the plan, verify, and roll back both
        sides on any failure (``RuntimeFailure`` names the failed step or check).
        """
        started = time.perf_counter()
        check_name(name)
        if xml is not None and not isinstance(xml, bytes) and \
                not str(xml).lstrip().startswith("<") and os.path.exists(str(xml)):
            with open(xml, encoding="utf-8") as handle:  # virsh: not '<' means a file name
                xml = handle.read()
        with self.store.lock(name):
            record = self.store.read_record(name)
            config_path, live_path = self.store.config_path(name), self.store.live_path(name)
            persistent = config_path.exists()
            active = record is not None
            if not active and not persistent:
                raise StateError(f"network '{name}' is not defined")
            if live is None and config is None:
                live, config = active, persistent
            live, config = bool(live), bool(config)
            if live and not active:
                raise StateError(f"network '{name}' is not running (live update refused)")
            if config and not persistent:
                raise StateError("cannot change persistent config of a transient network")
            if not live and not config:
                raise StateError("nothing to update: neither live nor config selected")
            result = UpdateResult(name, str(command), section, dry_run=dry_run)
            if live:
                from netupdate.runtime.netns import require_privileges
                require_privileges("a live update")
            docs = self._edit_targets(name, live, config)
            changes = {}
            try:
                for side, doc in docs.items():
                    if side == "config" and "live" in docs and \
                            doc.network is docs["live"].network:
                        changes[side] = changes["live"]  # same text: one edit serves both
                        continue
                    changes[side] = doc.network.update(command, section, xml,
                                                       parent_index=parent_index,
                                                       node_spec=node_spec)
            except BaseException:
                self._forget(live_path, config_path)  # the cached trees may be half edited
                raise
            change = changes.get("live") or changes.get("config")
            result.change = change
            result.plan = _plan_of(change)
            if dry_run:
                self._forget(live_path, config_path)
                result.actions = tuple(result.plan.actions) if live else ()
                result.live = APPLIED if live else NOT_REQUESTED
                result.config = CHANGED if config else NOT_REQUESTED
                result.seconds = time.perf_counter() - started
                return result
            try:
                if live:
                    self._update_live(name, record, docs, result)
                else:
                    data = docs["config"].network.to_bytes()
                    atomic_write_many([(config_path, data)], mode=0o600)
                    self._remember(config_path, data, docs["config"].network)
                    result.config = CHANGED
            except BaseException:
                self._forget(live_path, config_path)
                raise
            result.seconds = time.perf_counter() - started
            return result

    def _edit_targets(self, name: str, live: bool, config: bool) -> dict[str, _Doc]:
        """The documents an update edits.  When the live and persistent definitions have the same
        bytes (the usual case), both sides share one parsed document, edited once: libvirt
        applies the edit to each copy, and identical copies give identical results."""
        paths = {"live": self.store.live_path(name), "config": self.store.config_path(name)}
        docs = {}
        for side in ("live", "config"):
            if (side == "live" and live) or (side == "config" and config):
                doc = self._load(paths[side], like=docs.get("live"))
                if doc is None:
                    raise StateError(f"network '{name}': {paths[side]} is missing")
                docs[side] = doc
        if len(docs) == 2:
            a, b = docs["live"], docs["config"]
            if a.network is not b.network and a.data == b.data:
                docs["config"] = self._docs[os.fspath(paths["config"])] = _Doc(
                    b.stamp, b.data, a.network, a._defs)
        else:
            # one side only: the other side must not share the tree about to be edited
            (side, doc), = docs.items()
            other = paths["config" if side == "live" else "live"]
            cached = self._docs.get(os.fspath(other))
            if cached is not None and cached.network is doc.network:
                self._forget(other)
        return docs

    def _update_live(self, name: str, record: dict, docs: dict, result) -> None:
        from netupdate.runtime.driver import VerifyError
        driver = self.driver
        live_doc, config_doc = docs["live"], docs.get("config")
        actions = tuple(result.plan.actions)
        kinds = [a.kind for a in actions]
        change = result.change
        sections = {getattr(change, "section", None)} - {None}
        repaired = self._repair_if_needed(name, record, live_doc)
        if repaired:
            result.notes += ("repaired before the update: " + "; ".join(repaired),)
        server, dns_on = _dns_facts(live_doc.network.root)
        live_path, config_path = self.store.live_path(name), self.store.config_path(name)
        same = config_doc is not None and config_doc.network is live_doc.network
        writes: list = []

        def persist():
            """Serialize the edited definitions and write them (temp + fsync) meanwhile the
            change is applied and verified; renamed into place only once it is verified."""
            live_bytes = live_doc.network.to_bytes()
            writes.append((live_path, live_bytes))
            if config_doc is not None:
                writes.append((config_path,
                               live_bytes if same else config_doc.network.to_bytes()))
            return PendingWrites(writes, 0o600)

        # The fast path (one DHCP or DNS host, from the Change alone) never touches the tree,
        # so the serializer may read it in a worker thread while the change is verified.
        fast = driver.host_change_applies(record, change, kinds)
        preparing = None
        before = after = None
        pending = None
        step = "apply"
        try:
            applied = driver.apply_host_change(name, record, change, kinds) if fast else None
            if applied is not None:
                # the host file is in place: serialize while dnsmasq picks it up and answers
                preparing = submit(persist)
                step = "verify"
                result.checks = tuple(driver.verify_host_change(record, applied, server,
                                                                dns_on))
                record_changed = False
            else:
                before, after = live_doc.defs, live_doc.network.defs
                record, record_changed = driver.apply(name, record, before, after, actions)
                step = "verify"
                result.checks = tuple(driver.verify(name, record, after, before=before,
                                                    kinds=kinds, sections=sections))
            step = "save"
            if record_changed:
                self.store.write_record(name, record)
            if preparing is not None:
                pending, preparing = preparing.result(), None
            if pending is None:
                pending = persist()
            pending.commit()
        except BaseException as exc:
            failure = exc
            try:
                if preparing is not None:
                    pending = preparing.result()
                if pending is not None:
                    pending.abort()
            except BaseException:  # noqa: BLE001 - nothing was renamed into place
                pass
            try:
                self._rollback(name, before if before is not None else live_doc.defs, kinds,
                               record)
            except Exception as undo:  # noqa: BLE001 - reported with the original failure
                raise RuntimeFailure(f"live update failed at {step}: {failure}; ROLLBACK "
                                     f"FAILED too: {undo}; run 'netupdate start {name}' to "
                                     "repair") from exc
            if isinstance(exc, VerifyError):
                raise RuntimeFailure(f"live update rolled back: {exc} (check '{exc.check}')") \
                    from exc
            if isinstance(exc, NetupdateError | OSError):
                raise RuntimeFailure(f"live update rolled back: {step} failed: {exc}") from exc
            raise
        for path, data in writes:
            if path == live_path:
                self._remember(path, data, live_doc.network, after)
            elif path == config_path:
                self._remember(path, data, config_doc.network, after if same else None)
        result.actions = actions
        result.live = RESTARTED if "network-restart" in kinds else APPLIED
        result.config = CHANGED if config_doc is not None else NOT_REQUESTED

    def _repair_if_needed(self, name: str, record: dict, doc: _Doc) -> list[str]:
        """Cheap checks before a live update (dnsmasq process, bridge present); repair when
        something vanished behind our back."""
        from netupdate.runtime import dnsmasqd, netns
        problems = []
        if netns.exists(record.get("netns")) is False:
            raise StateError(f"network '{name}': namespace {record.get('netns')} is gone; "
                             f"stop the network and start it again")
        dq = record.get("dnsmasq")
        if dq and not dnsmasqd.alive(dq.get("pid"), dq.get("conf")):
            problems.append(f"dnsmasq (pid {dq.get('pid')}) was not running")
        if netns.link_index(record.get("netns"), record["bridge"]["name"]) is None:
            problems.append(f"bridge {record['bridge']['name']} was missing")
        if problems:
            self.driver.reconcile(name, record, doc.defs)
        return problems

    def _rollback(self, name: str, before, kinds, record: dict) -> None:
        """Put the live state back to ``before`` (the persistent files were not written).
        ``record`` is the in-memory record the failed steps updated (it knows a dnsmasq they
        started); after a network restart the store's record is the current one."""
        driver = self.driver
        if "network-restart" in kinds:
            record = self.store.read_record(name)
        if record is None or "network-restart" in kinds:
            if record is not None:
                problems = driver.teardown(record)
                if problems:
                    raise RuntimeFailure("; ".join(problems))
                self.store.delete_record(name)
            record = driver.start(name, before, netns=(record or {}).get("netns", self.netns))
        else:
            record = driver.reconcile(name, record, before)
        driver.verify(name, record, before, before=None,
                      kinds=("network-restart",), sections=())


def _plan_of(change):
    """The plan of one edit (the engine's ``Change.plan``)."""
    plan = getattr(change, "plan", None)
    if plan is not None and not callable(plan):
        return plan
    from netupdate.plan import plan_change
    return plan_change(change)


def _dns_facts(root) -> tuple[str | None, bool]:
    """(the network's DNS server address, DNS enabled) read straight from the tree, like
    ``driver.server_address`` and ``dnsmasq.dns_enabled`` without reading every host."""
    import ipaddress
    dns = root.find("dns")
    enabled = dns is None or dns.get("enable") != "no"
    found = {}
    for ip in root.iterfind("ip"):
        try:
            address = ipaddress.ip_address((ip.get("address") or "").strip())
        except ValueError:
            continue
        found.setdefault(address.version, str(address))
    return found.get(4) or found.get(6), enabled
