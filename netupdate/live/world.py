"""What a change does to the running world (issue 16): the backend verbs ``leases`` and
``check``, and their results, shared by both backends (``Backend`` inherits ``WorldVerbs``).

* ``leases(name)``: each DHCP lease of a running network with its status (``model.leases``:
  reserved, dynamic, conflicting, stale);
* ``check(name, repair=False)``: drift between the persistent definition, the live definition
  and what really runs; ``repair`` fixes it by the least disruptive plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netupdate.errors import InvalidOperationError, UnsupportedError


@dataclass(frozen=True)
class LeaseInfo:
    """One lease as ``leases()`` reports it."""
    ip: str
    mac: str | None
    hostname: str | None
    expiry: int | None              # seconds since the epoch; 0: never; None: unknown
    status: str
    client_id: str | None = None
    present: bool | None = None     # None: not probed (libvirt on a remote host)

    def to_json(self) -> dict:
        return {"ip": self.ip, "mac": self.mac, "hostname": self.hostname,
                "expiry": self.expiry, "status": self.status, "client_id": self.client_id,
                "present": self.present}

    def to_text(self) -> str:
        from netupdate.model.leases import until as expires
        until = "unknown" if self.expiry is None else expires(self.expiry).removeprefix("until ")
        return f"{self.ip:<26} {self.mac or '-':<18} {self.hostname or '-':<16} " \
               f"{self.status:<12} {until}"


class LeaseList(list):
    """``leases()``: a list of ``LeaseInfo`` that prints as a table or JSON."""

    def to_text(self) -> str:
        head = f"{'IP':<26} {'MAC':<18} {'HOSTNAME':<16} {'STATUS':<12} EXPIRES"
        return "\n".join([head, *(row.to_text() for row in self)])

    def to_json(self) -> list[dict]:
        return [row.to_json() for row in self]


@dataclass(frozen=True)
class Drift:
    """One difference: ``what`` is expected to be ``expected`` but is ``actual``."""
    what: str
    expected: str
    actual: str

    def to_text(self) -> str:
        return f"{self.what}: expected {self.expected}, actual {self.actual}"

    def to_json(self) -> dict:
        return {"what": self.what, "expected": self.expected, "actual": self.actual}


def definition_drift(conn, name: str) -> list[Drift]:
    """The live definition's differences from the persistent one, from the backend's
    ``diff(name)`` (live -> persistent: ``before`` is what runs, ``after`` what is defined)."""
    out = []
    for change in conn.diff(name).changes:
        what = f"live definition: {change.section}" + (f" {change.label}" if change.label
                                                         else "")
        if change.op == "added":        # defined, not live
            out.append(Drift(what, change.details()[0], "absent"))
        elif change.op == "removed":    # live, no longer defined
            out.append(Drift(what, "absent", change.details()[0]))
        else:
            for line in change.details():
                path, _, values = line.partition(": ")
                actual, _, expected = values.partition(" -> ")
                out.append(Drift(f"{what} {path}", expected, actual))
    return out


@dataclass
class CheckResult:
    network: str
    drift: list[Drift] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)   # what a repair did
    remaining: list[Drift] = field(default_factory=list)  # drift left after the repair
    running: bool = True
    notes: list[str] = field(default_factory=list)       # what a repair left alone, and why

    @property
    def exit_code(self) -> int:
        return 1 if (self.remaining if self.repaired else self.drift) else 0

    def to_text(self) -> str:
        if not self.running:
            return f"network {self.network}: not running (nothing to compare)"
        if not self.drift:
            return f"network {self.network}: no drift"
        lines = [f"network {self.network}: {len(self.drift)} drift"]
        lines += [f"  {d.to_text()}" for d in self.drift]
        lines += [f"  repaired: {what}" for what in self.repaired]
        lines += [f"  still: {d.to_text()}" for d in self.remaining]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"network": self.network, "drift": [d.to_json() for d in self.drift],
                "repaired": self.repaired, "remaining": [d.to_json() for d in self.remaining],
                "running": self.running, "notes": self.notes, "ok": self.exit_code == 0}


def refuse(decisions) -> None:
    """Raise when a lease decision refuses the change (the first names its holder and expiry)."""
    refused = [d for d in decisions if d.action == "refuse"]
    if refused:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise InvalidOperationError(f"refused: {refused[0].why}{more}; nothing was changed "
                                    "(--release-conflicting releases it)")


class WorldVerbs:
    """The verbs of issue 16 on ``Backend``.  Each backend names the module implementing them
    (``world_module``: functions taking the connection first); a backend that cannot do one
    raises ``UnsupportedError`` naming itself."""

    backend_name = ""
    world_module: str | None = None

    def _world(self, verb: str):
        import importlib
        module = importlib.import_module(self.world_module) if self.world_module else None
        if getattr(module, verb, None) is None:
            raise UnsupportedError(f"the {self.backend_name} backend does not support {verb}")
        return getattr(module, verb)

    def leases(self, name: str) -> LeaseList:
        """Each DHCP lease of running network ``name`` with its status."""
        return LeaseList(self._world("leases")(self, name))

    def check(self, name: str, *, repair: bool = False) -> CheckResult:
        """The drift between the persistent and live definitions and what really runs;
        ``repair`` fixes it by the least disruptive plan."""
        return self._world("check")(self, name, repair=repair)
