"""Check probes: what proves a network still works after a change (``--check HOST:PORT``,
``--check-command CMD``), run in the network's namespace and retried until a timeout."""

from __future__ import annotations

import time
from dataclasses import dataclass

from netupdate.errors import InvalidOperationError, NetupdateError

DEFAULT_CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """What proves the network still works after a change: a TCP connection to ``host:port``
    or a command exiting 0, run in the network's namespace, retried for ``timeout`` seconds."""

    kind: str                  # "tcp" | "command"
    target: str                # "host:port" | a shell command
    timeout: float = DEFAULT_CHECK_TIMEOUT

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "timeout": self.timeout}

    @classmethod
    def from_json(cls, data: dict | None) -> Check | None:
        if not data:
            return None
        return cls(data["kind"], data["target"], float(data.get("timeout",
                                                                 DEFAULT_CHECK_TIMEOUT)))

    def describe(self) -> str:
        return self.target if self.kind == "tcp" else f"command {self.target!r}"


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT``."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidOperationError(f"--check wants HOST:PORT (or [IPV6]:PORT), not {text!r}")
    return host, int(port)


def make_check(tcp: str | None = None, command: str | None = None,
               timeout: float | None = None) -> Check | None:
    if tcp and command:
        raise InvalidOperationError("give --check HOST:PORT or --check-command CMD, not both")
    timeout = DEFAULT_CHECK_TIMEOUT if timeout is None else float(timeout)
    if timeout <= 0:
        raise InvalidOperationError("the check timeout must be positive")
    if tcp:
        parse_hostport(tcp)
        return Check("tcp", tcp.strip(), timeout)
    if command:
        return Check("command", command, timeout)
    return None


def as_check(value) -> Check | None:
    """A ``Check`` from a ``Check``, ``"host:port"``, ``{"command": ...}`` / ``{"tcp": ...}``."""
    if value is None or isinstance(value, Check):
        return value
    if isinstance(value, str):
        return make_check(tcp=value)
    if isinstance(value, dict):
        if "kind" in value:
            return Check.from_json(value)
        return make_check(tcp=value.get("tcp"), command=value.get("command"),
                          timeout=value.get("timeout"))
    raise InvalidOperationError(f"cannot use {value!r} as a check")


def _tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    import socket
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        left = deadline - time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(1.0, left))):
                return True, f"connected to {host}:{port}"
        except OSError as exc:
            last = exc
        if time.monotonic() >= deadline:
            return False, f"cannot connect to {host}:{port}: {last}"
        time.sleep(0.2)


def probe(check: Check, netns: str | None) -> tuple[bool, str]:
    """Run ``check`` in ``netns`` (the host when None); (ok, what happened)."""
    from netupdate.live.embedded.runtime import netns as NS
    if check.kind == "tcp":
        host, port = parse_hostport(check.target)
        try:
            return NS.call(netns, _tcp_probe, host, port, check.timeout)
        except NetupdateError as exc:
            return False, str(exc)
    deadline = time.monotonic() + check.timeout
    last = ""
    while True:
        left = max(0.5, deadline - time.monotonic())
        try:
            proc = NS.run(["/bin/sh", "-c", check.target], netns=netns, timeout=left,
                          check=False)
            if proc.returncode == 0:
                return True, f"command {check.target!r} succeeded"
            last = (f"command {check.target!r} exited {proc.returncode}"
                    + (f": {proc.stderr.strip()[:200]}" if proc.stderr.strip() else ""))
        except NetupdateError as exc:
            last = f"command {check.target!r}: {exc}"
        if time.monotonic() >= deadline:
            return False, last
        time.sleep(0.2)
