"""The embedded ``Connection``'s lifecycle verbs: ``define``, ``undefine``, ``dumpxml``,
``list``, ``start``, ``stop``, ``status``, autostart; and the start and teardown every operation
builds on (``_start_with``, ``_stop_locked``)."""

from __future__ import annotations

import os

from netupdate.errors import NetupdateError, RuntimeFailure, StateError
from netupdate.live.backend import check_policy, refuse_invalid, skeleton
from netupdate.live.embedded import world
from netupdate.live.embedded.common import vanished, write_files
from netupdate.live.results import NetworkInfo, NetworkStatus
from netupdate.store import check_name


class LifecycleVerbs:
    """Defining, starting, stopping and listing networks (a ``Connection`` mixin)."""

    def define(self, xml: str | bytes | os.PathLike, *, force: bool = False) -> str:
        """Store a persistent definition (new, or replacing the persistent one; a running
        network keeps running its live definition).  Returns the network's name.  What it
        leaves out of the network's identity is kept from the current definition, else made as
        libvirt makes it (a uuid; a free ``virbrN`` for a bridge netupdate manages: identity.py).
        """
        from netupdate.live import identity
        from netupdate.model.defs import load
        network = load(xml)
        name = network.defs.name
        if not name:
            raise NetupdateError("the definition has no <name>")
        check_name(name)
        with self.store.lock(name):
            self._finish_interrupted(name)
            record = self.store.read_record(name)
            if record is not None and network.defs.uuid and record.get("uuid") and \
                    str(network.defs.uuid) != record["uuid"]:
                raise StateError(f"network '{name}' is running with uuid {record['uuid']}")
            check_policy(self.policy, self.store.read_config(name) or skeleton(name), network,
                         None)
            current = self._load(self.store.config_path(name)) or \
                self._load(self.store.live_path(name))
            identity.keep(network, current, [], mac=False)
            identity.generate(network, lambda: self._bridges_in_use(name))
            refuse_invalid(network, "the definition")   # what libvirt's net-define refuses
            world.preflight_define(self, name, network.defs, force)
            self.store.write_config(name, network.to_bytes())
            self._forget(self.store.config_path(name))
        return name

    def _bridges_in_use(self, name: str) -> set[str]:
        """The bridge names of the store's other networks and the interfaces of this
        namespace (libvirt's ``networkFindUnusedBridgeName`` skips both)."""
        import socket

        from netupdate.live.identity import bridge_names
        others = [n for n in self.store.names() if n != name]
        taken = bridge_names(self._defs(path) for n in others for path in
                             (self.store.config_path(n), self.store.live_path(n)))
        return taken | {iface for _index, iface in socket.if_nameindex()}

    def undefine(self, name: str) -> list[str]:
        """Remove the persistent definition (a running network goes on as a transient one);
        returns notes (the record of a network whose namespace is gone is cleared)."""
        with self.store.lock(name):
            notes = self._finish_interrupted(name) + vanished().clear(self, name)
            if not self.store.delete_config(name) and not notes:
                raise StateError(f"network '{name}' is not defined")
            self._forget(self.store.config_path(name))
            return notes

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

    def list(self) -> list[NetworkInfo]:
        gone = vanished().gone
        out = []
        for name in self.store.names():
            record = self.store.read_record(name)
            if record is not None:
                uuid, bridge = record.get("uuid"), record.get("bridge", {}).get("name")
                if uuid is None:
                    uuid = self._peek(name)[0]
            else:
                uuid, bridge = self._peek(name)
            out.append(NetworkInfo(name, active=record is not None,
                                   persistent=self.store.config_path(name).exists(),
                                   autostart=self.store.autostart(name), bridge=bridge,
                                   uuid=uuid, netns=(record or {}).get("netns"),
                                   vanished=gone(record)))
        return out

    def _peek(self, name: str) -> tuple[str | None, str | None]:
        """The uuid (spelled as libvirt spells it) and bridge name of the persistent
        definition, read as far as those two children (not the whole definition)."""
        import uuid

        from netupdate.document.peek import children
        try:
            found = children(self.store.config_path(name), ("uuid", "bridge"))
        except FileNotFoundError:   # a transient network
            return None, None
        text = (found["uuid"].text or "").strip() if "uuid" in found else ""
        bridge = found["bridge"].get("name") if "bridge" in found else None
        try:
            return (str(uuid.UUID(text)) if text else None), bridge or None
        except ValueError:
            return None, bridge or None

    def start(self, name: str, *, netns: str | None = None, force: bool = False) -> None:
        """Start a defined network (in ``netns``, else the connection's namespace).  A running
        network whose dnsmasq, bridge or firewall vanished is repaired; a healthy one is an
        error."""
        check_name(name)
        with self.store.lock(name):
            undone = self._finish_interrupted(name)
            record = self.store.read_record(name)
            if record is not None:
                if not self._repair_running(name, record) and not undone:
                    raise StateError(f"network '{name}' is already running")
                return
            config = self._load(self.store.config_path(name))
            if config is None:
                raise StateError(f"network '{name}' is not defined")
            netns = netns if netns is not None else self.netns
            world.preflight_start(self, name, config.defs, netns, force)
            self._start_with(name, config.defs, config.data, netns, [])
            # the live definition shares the persistent one's parsed tree (no copy: an edit
            # of one side only forgets the other, cache._edit_targets)
            self._remember(self.store.live_path(name), config.data, config.network, config.defs)

    def _repair_running(self, name: str, record: dict) -> list[str]:
        from netupdate.live.embedded.runtime import converge
        problems = converge.repair_running(self, name, record)
        self._forget(self.store.live_path(name))
        return problems

    def stop(self, name: str) -> list[str]:
        """Tear down everything the runtime record lists (not what the config says).  Best
        effort: every step runs; what could not be undone raises ``RuntimeFailure`` (and stays
        in the record for another try)."""
        check_name(name)
        with self.store.lock(name):
            try:
                self._finish_interrupted(name)
            except RuntimeFailure:  # stopping anyway: the definitions were put back first
                from netupdate.live.txn import drop_journal
                drop_journal(self.store, name)
            record = self.store.read_record(name)
            if record is None:
                raise StateError(f"network '{name}' is not running")
            self._stop_locked(name, record)
            return []

    def status(self, name: str) -> NetworkStatus:
        """The network (``list``'s entry), what is broken in its live state (``problems``:
        what ``start`` or ``recover`` repairs) and the drift between its live definition and
        persistent config."""
        from netupdate.live import txn
        check_name(name)
        record = self.store.read_record(name)
        persistent = self.store.config_path(name).exists()
        if record is None and not persistent:
            raise StateError(f"network '{name}' is not defined")
        problems: list[str] = []
        journal = txn.read_journal(self.store, name)
        if journal is not None:
            problems.append(f"an interrupted {journal.get('op')} (pid {journal.get('pid')}) "
                            "left the network half-changed: run 'netupdate recover'")
        config = self._defs(self.store.config_path(name))
        info = dict(name=name, active=record is not None, persistent=persistent,
                    autostart=self.store.autostart(name), uri=self.uri,
                    uuid=self._peek(name)[0])
        if record is None:
            return NetworkStatus(**info, problems=tuple(problems))
        if vanished().gone(record):
            return NetworkStatus(**info, netns=record.get("netns"), vanished=True,
                                 problems=(*problems, vanished().status_problem(record)))
        live = self._defs(self.store.live_path(name))
        if live is None:
            problems.append("the live definition is missing (a start did not finish): run "
                            f"'netupdate start {name}' or 'netupdate recover'")
        defs = live or config
        seen = self.driver.inspect(record, defs)
        if defs is not None:  # everything recover and start would repair
            seen["problems"] = txn.live_problems(self, name, record, defs)
        drift: tuple[str, ...] = ()
        if config is not None and live is not None and config != live:
            from netupdate.planning.differ import diff
            drift = tuple(change.describe() for change in diff(live, config))
        info.update(uuid=record.get("uuid") or info["uuid"],
                    bridge=record.get("bridge", {}).get("name"))
        return NetworkStatus(**info, netns=seen["netns"], drift=drift,
                             problems=tuple(problems + seen["problems"]),
                             bridge_state=seen["bridge"], dnsmasq=seen["dnsmasq"],
                             firewall=seen["firewall"], notes=tuple(seen.get("notes", ())))

    def _start_with(self, name: str, defs, data: bytes, netns, writes) -> dict:
        """Start ``name`` from ``defs`` and write its live definition (``data``) and ``writes``;
        undone when anything fails."""
        record = self.driver.start(name, defs, netns=netns)
        try:
            from netupdate.live.txn import checkpoint
            checkpoint()
            write_files(self.store, [(self.store.live_path(name), data), *writes])
        except BaseException as exc:
            from netupdate.live.txn import mark_restored
            if self.driver.teardown(record):
                self.store.write_record(name, record)  # what stays, for start/recover/stop
                raise
            self.store.delete_record(name)
            mark_restored(exc)
            raise
        return record

    def _teardown(self, name: str, record: dict, failure: str = "") -> None:
        from netupdate.live.embedded.runtime.converge import teardown
        teardown(self.store, self.driver, name, record, failure)

    def _stop_locked(self, name: str, record: dict) -> None:
        self._teardown(name, record, f"network '{name}' could not be torn down completely: ")
        self.store.delete_live(name)
        self.store.delete_record(name)
        self._forget(self.store.live_path(name))

    def autostart_netns(self, name: str) -> str | None:
        text = self.store.read_state(self.store.autostart_path(name))
        return text.strip() or None if text is not None else None

    def _write_autostart(self, name: str, enabled: bool, netns: str | None) -> None:
        from netupdate.store import atomic_write
        path = self.store.autostart_path(name)
        if enabled:
            if netns is not None:
                from netupdate.live.embedded.runtime.netns import check_name as check_netns
                check_netns(netns)  # one line in the file
            self.store.ensure_dir(path.parent)
            atomic_write(path, (netns or "") + ("\n" if netns else ""), mode=0o600)
        else:
            self.store.set_autostart(name, False)

    def set_autostart(self, name: str, enabled: bool = True, *,
                      netns: str | None = None) -> None:
        """Mark a defined network to be started by ``recover`` at boot, or unmark it.  It is
        started in ``netns``; by default in the namespace it runs in now (when running), else
        the connection's namespace."""
        check_name(name)
        with self.store.lock(name):
            if enabled and not self.store.config_path(name).exists():
                raise StateError(f"network '{name}' is not defined (autostart needs a "
                                 "persistent definition)")
            if netns is None:
                record = self.store.read_record(name)
                netns = record.get("netns") if record is not None else self.netns
            self._write_autostart(name, enabled, netns)

