"""What the verbs of both backends return: the outcome words of a side (live, config) and the
result types (``NetworkInfo``, ``NetworkStatus``, ``DiffResult``, ``UpdateResult``), each with
``to_json`` (one schema for both backends) and, where the CLI prints it, ``to_text``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

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

# a dry run's outcome words: what the side would become (UpdateResult sets them itself)
WOULD = {CHANGED: "would-change", APPLIED: "would-apply", RESTARTED: "would-restart",
         STARTED: "would-start", STOPPED: "would-stop", REPAIRED: "would-repair"}
_DONE = {would: done for done, would in WOULD.items()}


def _as_done(word: str) -> str:
    """A side's outcome word as a real run says it (``would-change`` -> ``changed``)."""
    return _DONE.get(word, word)

EXIT_RESTART_NEEDED = 3
VIA_LIBVIRT = "virNetworkUpdate"
VIA_NETUPDATE = "netupdate"

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
    vanished: bool = False      # its namespace was deleted behind netupdate's back

    @property
    def state(self) -> str:
        return "vanished" if self.vanished else "active" if self.active else "inactive"

    def to_json(self) -> dict:
        return {"name": self.name, "uuid": self.uuid, "state": self.state,
                "active": self.active, "persistent": self.persistent,
                "autostart": self.autostart, "bridge": self.bridge, "netns": self.netns}


@dataclass(frozen=True)
class NetworkStatus(NetworkInfo):
    """``status()`` of both backends: the network, whether its live state and persistent config
    differ (``drift``: the differences, ``()`` when they agree or one side is missing, None when
    the driver cannot show both), and what is broken in its live state (``problems``: what
    ``start`` or ``recover`` repairs; ``state`` is then ``degraded``).

    ``bridge_state``, ``dnsmasq`` and ``firewall`` are what the embedded runtime reads back
    (the bridge through netlink: ``present``, ``stp``, ``delay``, ``mtu``, ``up``,
    ``addresses``; dnsmasq's ``pid``, ``alive``, ``conf``; the nft ``family``, ``table``,
    ``present``); None on libvirt, whose daemon owns them."""

    uri: str = ""
    drift: tuple[str, ...] | None = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    bridge_state: dict | None = None
    dnsmasq: dict | None = None
    firewall: dict | None = None

    @property
    def state(self) -> str:
        if self.vanished:
            return "vanished"
        if self.active and self.problems:
            return "degraded"
        return "active" if self.active else "inactive"

    @property
    def diverged(self) -> bool:
        return bool(self.drift)

    def to_json(self) -> dict:
        data = super().to_json()
        data.update(uri=self.uri, diverged=self.diverged if self.drift is not None else None,
                    drift=list(self.drift) if self.drift is not None else None,
                    problems=list(self.problems), notes=list(self.notes),
                    bridge_state=self.bridge_state, dnsmasq=self.dnsmasq,
                    firewall=self.firewall)
        return data

    def to_text(self) -> str:
        lines = [f"network {self.name} ({self.uri})",
                 f"  state:      {self.state}{'' if self.persistent else ' (transient)'}",
                 f"  uuid:       {self.uuid}",
                 f"  autostart:  {'yes' if self.autostart else 'no'}"]
        if self.netns:
            lines.append(f"  namespace:  {self.netns}")
        lines += self._runtime_lines()
        if self.drift is None:
            lines.append("  live vs persistent config: unknown (the driver cannot show both)")
        elif self.drift:
            lines.append("  live vs persistent config: DIFFERENT (a restart applies the "
                         "persistent config):")
            lines.extend(f"    {line}" for line in self.drift)
        elif self.active and self.persistent:
            lines.append("  live vs persistent config: same")
        lines.extend(f"  problem:    {problem}" for problem in self.problems)
        if self.problems:
            lines.append(f"  repair with: netupdate start {self.name}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _runtime_lines(self) -> list[str]:
        br, dq, fw = self.bridge_state, self.dnsmasq, self.firewall
        if br is None:
            return [f"  bridge:     {self.bridge}"] if self.bridge else []
        extra = ""
        if br.get("present"):
            extra = (f" (stp {'on' if br.get('stp') else 'off'}, delay {br.get('delay')}, "
                     f"mtu {br.get('mtu')}, {'up' if br.get('up') else 'down'})")
        lines = [f"  bridge:     {br['name']}{'' if br.get('present') else ' MISSING'}{extra}"]
        if br.get("addresses"):
            lines.append(f"  addresses:  {', '.join(br['addresses'])}")
        if dq is not None:
            lines.append(f"  dnsmasq:    pid {dq.get('pid')} "
                         f"{'running' if dq.get('alive') else 'NOT RUNNING'}")
        if fw is not None:
            lines.append(f"  firewall:   nft table {fw.get('family')} {fw.get('table')}"
                         f"{'' if fw.get('present') else ' MISSING'}")
        return lines


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
    impact: tuple = ()               # planning.impact.Effect: what it does to the guests

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_text(self) -> str:
        out = [self.changes.to_text()]
        if self.plan is not None and self.changes:
            out.append(self.plan.to_text())
            if self.restart_needed:
                out.append("applying this live needs a restart of the network (--restart)")
        out.extend([f"impact: {e.text}" for e in self.impact] + [f"note: {n}" for n in self.notes])
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"network": self.network, "base": self.base,
                "changes": self.changes.to_json()["changes"],
                "plan": self.plan.to_json()["actions"] if self.plan is not None else None,
                "restart_needed": self.restart_needed, "notes": list(self.notes),
                "impact": [e.to_json() for e in self.impact]}


@dataclass
class UpdateResult:
    """What an update, batch, apply or rollback did, per side (``live``, ``config``): one of
    ``changed``, ``applied``, ``restarted``, ``restart-needed``, ``unchanged``,
    ``not-requested``, ``not-running``, ``transient`` (and ``started``, ``stopped``,
    ``repaired`` for apply, rollback and recover); a dry run's say what they would be
    (``would-change``, ``would-apply``, ...: ``WOULD``), whatever order the backend sets
    them in.  One ``to_json`` schema for both backends."""

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
    impact: tuple = ()                # planning.impact.Effect: what it does (did) to the guests

    def __setattr__(self, name: str, value) -> None:
        if name in ("live", "config") and getattr(self, "dry_run", False):
            value = WOULD.get(value, value)
        elif name == "dry_run" and value:
            for side in ("live", "config"):
                if side in self.__dict__:
                    self.__dict__[side] = WOULD.get(self.__dict__[side], self.__dict__[side])
        super().__setattr__(name, value)

    @property
    def config_changed(self) -> bool:
        """The persistent config was (a dry run: would be) changed."""
        return _as_done(self.config) == CHANGED

    @property
    def live_changed(self) -> bool:
        return _as_done(self.live) in WOULD   # the outcomes that change something

    @property
    def changed(self) -> bool:
        return self.config_changed or self.live_changed

    @property
    def restart_needed(self) -> bool:
        return self.live == RESTART_NEEDED

    @property
    def restarted(self) -> bool:
        return _as_done(self.live) == RESTARTED

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
        live = _as_done(self.live)
        if live in (APPLIED, RESTARTED, CHANGED, REPAIRED):
            done.append("live state" + (" (network restarted)" if self.restarted else ""))
        elif live == STARTED:
            done.append("live state (network started)")
        elif live == STOPPED:
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
        lines.extend([f"  impact: {e.text}" for e in self.impact]
                     + [f"  note: {note}" for note in self.notes])
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
            "impact": [e.to_json() for e in self.impact],
        }


def _action_json(action) -> dict:
    if hasattr(action, "to_json"):
        return action.to_json()
    return {"kind": getattr(action, "kind", str(action))}
