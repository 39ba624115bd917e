"""The backend interface of ``netupdate.connect()`` and the result types both backends share.

``connect()`` returns a ``Backend``: the embedded runtime (``connection.Connection``) or libvirt
(``libvirtconn.LibvirtConnection``).  Both have the verbs below with the same signatures, return
the same result types (``UpdateResult``, ``NetworkInfo``, ``NetworkStatus``, ``DiffResult``) and
raise the same error classes (netupdate.errors).  A verb one backend cannot do raises
``UnsupportedError`` naming the backend (``unsupported``); docs/live.md has the table.

A backend opened with ``policy=`` (a ``policy.Policy``, TOML text or a path) checks the
ChangeSet of every edit (update, nodeSpec update, update_batch, apply) against it before
anything is changed, and raises ``PolicyError`` when a rule refuses it.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from netupdate.errors import InvalidOperationError, NetupdateError, UnsupportedError

# live / config outcome words (one set for both backends)
CHANGED = "changed"              # the side was changed
APPLIED = "applied"              # live: the plan was applied to the running network
RESTARTED = "restarted"          # live: the network was restarted with the new definition
RESTART_NEEDED = "restart-needed"  # live: the change is NOT in effect until a restart
UNCHANGED = "unchanged"          # nothing to do on this side
NOT_REQUESTED = "not-requested"  # the caller asked for the other side only
NOT_RUNNING = "not-running"      # live: the network is not active
TRANSIENT = "transient"          # config: the network has no persistent config
STARTED, STOPPED, REPAIRED = "started", "stopped", "repaired"   # apply, rollback, recover

EXIT_RESTART_NEEDED = 3
VIA_LIBVIRT = "virNetworkUpdate"
VIA_NETUPDATE = "netupdate"


def unsupported(backend: str, what: str) -> UnsupportedError:
    """The error of a verb (or option) the ``backend`` cannot do."""
    return UnsupportedError(f"the {backend} backend does not support {what}")


def check_policy(policy, before, after, command: str | None) -> None:
    """Check the changes from ``before`` to ``after`` (XML text, bytes, ``Network``) against
    ``policy`` (None: nothing to check); raises ``PolicyError``."""
    if policy is None:
        return
    from netupdate.planning.policy import enforce
    enforce(policy, _text(before), _text(after), command=command)


def check_changes(policy, changes, command: str | None) -> None:
    """Check a computed ``ChangeSet`` against ``policy`` (None: nothing to check)."""
    if policy is not None and changes is not None:
        policy.check(changes, command=command)


def load_policy(policy):
    if policy is None:
        return None
    from netupdate.planning.policy import load_policy
    return load_policy(policy)


def refuse_invalid(data: bytes) -> None:
    """Refuse a desired definition with validation errors (warnings are fine)."""
    from netupdate.check.semantic import validate
    from netupdate.live.txn import checkpoint
    errors = [i for i in validate(data) if i.is_error]
    checkpoint()   # validating 100,000 hosts takes seconds: a signal deferred meanwhile stops here
    if errors:
        shown = "; ".join(f"line {i.line}: {i.code} {i.message}" if i.line else
                          f"{i.code} {i.message}" for i in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidOperationError(f"the desired definition is invalid: {shown}{more}")


def read_fragment(xml):
    """An update's XML fragment: text, or (virsh: not starting with '<') a file name."""
    if xml is not None and not isinstance(xml, bytes) and \
            not str(xml).lstrip().startswith("<") and os.path.exists(str(xml)):
        with open(xml, encoding="utf-8") as handle:
            return handle.read()
    return xml


def batch_edit(network, item) -> None:
    """One update of a batch (a ``txn.BatchUpdate``) on ``network``; a refused one raises
    ``BatchError`` naming its line."""
    from netupdate.edit import engine as edit
    from netupdate.live import txn
    try:
        edit.apply_update(network, item.command, item.section, item.xml,
                          parent_index=item.parent_index, node_spec=item.node_spec)
    except NetupdateError as exc:
        raise txn.BatchError(f"batch line {item.line}: {exc}; nothing was changed",
                             line=item.line) from exc


def skeleton(name: str) -> str:
    """The empty network a new definition is checked against (policy)."""
    return f"<network><name>{name}</name></network>"


def _text(doc):
    if isinstance(doc, bytes):
        return doc.decode("utf-8")
    if hasattr(doc, "to_xml"):
        return doc.to_xml()
    return doc


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class NetworkInfo:
    """One network as ``list()`` reports it (``uuid`` None when the definition has none;
    ``netns``: the namespace an embedded network runs in; ``vanished``: that namespace was
    deleted behind netupdate's back, its runtime record stays (``active``) until ``recover`` or
    ``stop`` clears it)."""

    name: str
    active: bool
    persistent: bool
    autostart: bool
    bridge: str | None = None
    uuid: str | None = None
    netns: str | None = None
    vanished: bool = False

    @property
    def state(self) -> str:
        return "vanished" if self.vanished else "active" if self.active else "inactive"

    def to_json(self) -> dict:
        return {"name": self.name, "uuid": self.uuid, "state": self.state,
                "active": self.active, "persistent": self.persistent,
                "autostart": self.autostart, "bridge": self.bridge, "netns": self.netns}


@dataclass(frozen=True)
class NetworkStatus(NetworkInfo):
    """``status()`` of the libvirt backend: the network plus whether its live state and
    persistent config differ."""

    uri: str = ""
    drift: tuple[str, ...] | None = ()   # live vs persistent differences (None: unknown)
    notes: tuple[str, ...] = ()

    @property
    def diverged(self) -> bool:
        return bool(self.drift)

    def to_json(self) -> dict:
        data = super().to_json()
        data.update(uri=self.uri, diverged=self.diverged if self.drift is not None else None,
                    drift=list(self.drift) if self.drift is not None else None,
                    notes=list(self.notes))
        return data

    def to_text(self) -> str:
        lines = [f"network {self.name} ({self.uri})",
                 f"  state:      {self.state}{'' if self.persistent else ' (transient)'}",
                 f"  uuid:       {self.uuid}",
                 f"  autostart:  {'yes' if self.autostart else 'no'}"]
        if self.bridge:
            lines.append(f"  bridge:     {self.bridge}")
        if self.drift is None:
            lines.append("  live vs persistent config: unknown (the driver cannot show both)")
        elif self.drift:
            lines.append("  live vs persistent config: DIFFERENT (a restart applies the "
                         "persistent config):")
            lines.extend(f"    {line}" for line in self.drift)
        elif self.active and self.persistent:
            lines.append("  live vs persistent config: same")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class DiffResult:
    """``diff()``: the changes from the network's definition to another one, and the live plan.

    ``base`` says what was compared: ``"config"`` (persistent config vs other), or ``"live"``
    (live definition vs persistent config, when no other definition was given)."""

    network: str
    base: str
    changes: Any                     # ChangeSet
    plan: Any = None                 # Plan (live -> other), when the network is active
    restart_needed: bool = False     # applying it live needs a restart
    notes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_text(self) -> str:
        out = [self.changes.to_text()]
        if self.plan is not None and self.changes:
            out.append(self.plan.to_text())
            if self.restart_needed:
                out.append("applying this live needs a restart of the network (--restart)")
        out.extend(f"note: {note}" for note in self.notes)
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"network": self.network, "base": self.base,
                "changes": self.changes.to_json()["changes"],
                "plan": self.plan.to_json()["actions"] if self.plan is not None else None,
                "restart_needed": self.restart_needed, "notes": list(self.notes)}


@dataclass
class UpdateResult:
    """What an update, batch, apply or rollback did, per side (``live``, ``config``): one of
    ``changed``, ``applied``, ``restarted``, ``restart-needed``, ``unchanged``,
    ``not-requested``, ``not-running``, ``transient`` (and ``started``, ``stopped``,
    ``repaired`` for apply, rollback and recover).  One ``to_json`` schema for both backends."""

    network: str
    command: str | None
    section: str | None
    live: str = NOT_REQUESTED
    config: str = NOT_REQUESTED
    plan: Any = None                  # the live plan
    change: Any = None                # the engine's Change (update)
    actions: tuple = ()               # plan actions netupdate performed itself
    checks: tuple[str, ...] = ()      # verifications run after a live change
    dry_run: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    count: int | None = None          # updates in a batch
    changes: Any = None               # ChangeSet (apply: live or config -> desired)
    change_info: Any = None           # the change an ``apply --try`` opened (txn.ChangeInfo)
    uri: str | None = None            # the connection (libvirt)
    via: str = VIA_NETUPDATE          # virNetworkUpdate or netupdate
    operations: tuple = ()            # virNetworkUpdate calls made (or planned)
    pending: tuple = ()               # plan actions that need a restart
    config_xml: str | None = None
    live_xml: str | None = None

    @property
    def config_changed(self) -> bool:
        return self.config == CHANGED

    @property
    def live_changed(self) -> bool:
        return self.live in (CHANGED, APPLIED, RESTARTED, STARTED, STOPPED, REPAIRED)

    @property
    def changed(self) -> bool:
        return self.config_changed or self.live_changed

    @property
    def restart_needed(self) -> bool:
        return self.live == RESTART_NEEDED

    @property
    def restarted(self) -> bool:
        return self.live == RESTARTED

    @property
    def diverged(self) -> bool:
        """Live state and persistent config differ after this (restart needed, or the config
        was changed alone on a running network)."""
        return self.restart_needed or (self.config_changed and self.live == NOT_REQUESTED)

    @property
    def ok(self) -> bool:
        """Everything requested is in effect (a config-only change is, by request)."""
        return not self.restart_needed

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else EXIT_RESTART_NEEDED

    def _done(self) -> list[str]:
        done = ["persistent config"] if self.config_changed else []
        if self.live in (APPLIED, RESTARTED, CHANGED, REPAIRED):
            done.append("live state" + (" (network restarted)" if self.restarted else ""))
        elif self.live == STARTED:
            done.append("live state (network started)")
        elif self.live == STOPPED:
            done.append("live state (network stopped)")
        return done

    def summary(self) -> str:
        """One line, worded like virsh: ``Updated network N persistent config and live state``."""
        done = self._done()
        both = " and ".join(done)
        if self.command == "apply":
            if not done:
                return (f"Network {self.network} already matches the desired definition: "
                        "nothing to do")
            return f"{'Would apply' if self.dry_run else 'Applied'} the desired definition " \
                   f"to network {self.network}: {both}"
        if self.command == "rollback":
            if not done:
                return f"Rolled back the change on network {self.network}: nothing had changed"
            return f"Rolled back network {self.network}: {both}"
        verb = "Would update" if self.dry_run else "Updated"
        count = ""
        if self.command == "batch":
            count = f" ({self.count} update{'s' if self.count != 1 else ''}, one transaction)"
        if not done:
            head = f"Network {self.network}: " + ("live state NOT updated" if self.restart_needed
                                                  else "nothing to change") + count
        else:
            head = f"{verb} network {self.network} {both}{count}"
        if self.restart_needed:
            kinds = ", ".join(dict.fromkeys(a.kind for a in self.pending)) or "network-restart"
            head += (f"; the live network still runs the old definition and needs a restart "
                     f"to apply it ({kinds}): use --restart, or stop and start the network")
        elif self.diverged:
            head += ("; live state not updated (persistent config only): the change takes "
                     "effect when the network restarts")
        return head

    def to_text(self) -> str:
        lines = [self.summary()]
        if self.operations or (self.uri or "netupdate:").split(":")[0] != "netupdate":
            lines += [f"  via:    {self.via}", f"  config: {self.config}", f"  live:   {self.live}"]
        for op in self.operations:
            lines.append(f"  {'would call' if self.dry_run else 'called'}: {op.describe()}")
        for action in self.actions:
            detail = action.detail_text() if hasattr(action, "detail_text") else ""
            lines.append(f"  {'would do' if self.dry_run else 'did'}: {action.kind}"
                         + (f" ({detail})" if detail else ""))
        label = "covered by the restart" if self.restarted else "pending"
        for action in self.pending:
            lines.append(f"  {label}: {action.kind}: {action.reason}")
        if self.checks:
            lines.append(f"  verified: {', '.join(self.checks)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "network": self.network, "uri": self.uri, "command": self.command,
            "section": self.section, "via": self.via, "config": self.config,
            "live": self.live, "ok": self.ok, "diverged": self.diverged,
            "restart_needed": self.restart_needed, "dry_run": self.dry_run,
            "operations": [dataclasses.asdict(op) for op in self.operations],
            "actions": [_action_json(a) for a in self.actions],
            "pending": [_action_json(a) for a in self.pending],
            "checks": list(self.checks), "seconds": round(self.seconds, 6),
            "count": self.count,
            "changes": self.changes.to_json()["changes"] if self.changes is not None else None,
            "change": self.change_info.to_json() if self.change_info is not None else None,
            "notes": list(self.notes), "summary": self.summary(),
        }


def _action_json(action) -> dict:
    if hasattr(action, "to_json"):
        return action.to_json()
    return {"kind": getattr(action, "kind", str(action))}


# ---------------------------------------------------------------------- the interface
class Backend(abc.ABC):
    """The verbs of a ``netupdate.connect()`` connection, identical on both backends."""

    #: the backend's name in errors ("embedded", "libvirt")
    backend_name = ""

    # -- plumbing
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def network(self, name: str):
        """A handle on one network: the verbs without the name."""
        from netupdate.store import check_name
        return NetworkHandle(self, check_name(name))

    # -- definitions
    @abc.abstractmethod
    def define(self, xml: str | bytes | os.PathLike) -> str: ...

    @abc.abstractmethod
    def undefine(self, name: str) -> list[str]: ...

    @abc.abstractmethod
    def list(self) -> list[NetworkInfo]: ...

    @abc.abstractmethod
    def dumpxml(self, name: str, inactive: bool = False) -> str: ...

    # -- lifecycle
    @abc.abstractmethod
    def start(self, name: str, *, netns: str | None = None) -> None: ...

    @abc.abstractmethod
    def stop(self, name: str) -> list[str]: ...

    def destroy(self, name: str) -> list[str]:
        """``stop`` (virsh's spelling)."""
        return self.stop(name)

    @abc.abstractmethod
    def status(self, name: str): ...

    @abc.abstractmethod
    def set_autostart(self, name: str, enabled: bool = True, *,
                      netns: str | None = None) -> None: ...

    @abc.abstractmethod
    def autostart_netns(self, name: str) -> str | None: ...

    # -- edits
    @abc.abstractmethod
    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False,
               dry_run: bool = False) -> UpdateResult: ...

    @abc.abstractmethod
    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None) -> UpdateResult: ...

    @abc.abstractmethod
    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True) -> UpdateResult: ...

    @abc.abstractmethod
    def diff(self, name: str, other_xml: str | None = None) -> DiffResult: ...

    # -- change transactions and recovery (the embedded runtime's; UnsupportedError elsewhere)
    def change_start(self, name: str, *, rollback_after: float | None = None, check=None,
                     _allow_missing: bool = False):
        raise unsupported(self.backend_name, "change transactions (change_start)")

    def change_commit(self, name: str, *, token: str | None = None):
        raise unsupported(self.backend_name, "change transactions (change_commit)")

    def change_rollback(self, name: str, *, token: str | None = None,
                        reason: str = "requested", progress=None,
                        _from_timer: bool = False) -> UpdateResult:
        raise unsupported(self.backend_name, "change transactions (change_rollback)")

    def change_status(self, name: str | None = None):
        raise unsupported(self.backend_name, "change transactions (change_status)")

    def transaction(self, name: str, *, rollback_after: float | None = None, check=None):
        raise unsupported(self.backend_name, "change transactions (transaction)")

    def recover(self, *, progress=None):
        raise unsupported(self.backend_name, "recover")


class NetworkHandle:
    """One network of a connection: ``net.update(...)``, ``net.apply(xml)``,
    ``with net.transaction(): ...``."""

    def __init__(self, conn: Backend, name: str):
        self.conn, self.name = conn, name

    def __repr__(self) -> str:
        return f"<NetworkHandle {self.name!r} of {self.conn!r}>"

    def update(self, *args, **kwargs):
        return self.conn.update(self.name, *args, **kwargs)

    def update_batch(self, updates, **kwargs):
        return self.conn.update_batch(self.name, updates, **kwargs)

    def apply(self, desired_xml, **kwargs):
        return self.conn.apply(self.name, desired_xml, **kwargs)

    def transaction(self, **kwargs):
        return self.conn.transaction(self.name, **kwargs)

    def change_start(self, **kwargs):
        return self.conn.change_start(self.name, **kwargs)

    def commit(self, **kwargs):
        return self.conn.change_commit(self.name, **kwargs)

    def rollback(self, **kwargs):
        return self.conn.change_rollback(self.name, **kwargs)

    def status(self):
        return self.conn.status(self.name)

    def dumpxml(self, inactive: bool = False) -> str:
        return self.conn.dumpxml(self.name, inactive=inactive)
