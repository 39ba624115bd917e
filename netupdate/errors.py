"""The exception hierarchy: one root, a subclass per kind of refusal.

Every error may carry where it happened: ``file``, ``line`` (1-based) and ``path`` (the XPath of
the element, such as ``/network/ip[1]/dhcp/host[2]``).  ``str(err)`` is one line that starts with
that location, so the command line can print it as it is.
"""

from __future__ import annotations

import errno
import os

# Exit codes of the command line: one table for every verb (docs/cli.md, "Exit codes";
# ``netupdate --help`` prints it).  ``validate`` (1: some file invalid) and ``diff --exit-code``
# (1: there are changes, 2: trouble, like diff(1)) keep their CI conventions on top of it.
EXIT_OK = 0             # done, or nothing to do
EXIT_ERROR = 1          # refused or failed; nothing changed, or what changed was put back
EXIT_USAGE = 2          # bad command line
EXIT_RESTART_NEEDED = 3  # done in the config, but the live network needs a restart to follow
EXIT_NOT_FOUND = 4      # no such network (name or UUID), or no such change
EXIT_DEGRADED = 5       # status: the network runs but something is missing or broken
EXIT_PERMISSION = 6     # not allowed: not root, a state directory of another user, EACCES
EXIT_SYSTEM = 7         # the system refused a file operation (disk full, quota, I/O, ...)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143   # SIGTERM (after the same clean-up as Ctrl-C)
EXIT_CODES = {
    EXIT_OK: "ok, or nothing to do",
    EXIT_ERROR: "refused or failed: nothing changed, or what changed was rolled back",
    EXIT_USAGE: "bad command line",
    EXIT_RESTART_NEEDED: "config changed, the live network needs a restart (--restart)",
    EXIT_NOT_FOUND: "no such network (name or UUID) or change",
    EXIT_DEGRADED: "status: the network is degraded (see its problems)",
    EXIT_PERMISSION: "permission denied (not root, or another user's state directory)",
    EXIT_SYSTEM: "the system refused a file operation (disk full, quota, read-only, I/O)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C), after rolling back",
    EXIT_TERMINATED: "terminated (SIGTERM), after rolling back",
}
SYSTEM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EMFILE,
                           errno.ENFILE, errno.ENOMEM})


class NetupdateError(Exception):
    """Root of every error netupdate raises on purpose."""

    kind = "error"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.path = path

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        elif self.line:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)

    def reason(self) -> str:
        """What went wrong, without where (``str()`` is the location, then this)."""
        return self.message

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.reason()}" if loc else self.reason()


class XMLParseError(NetupdateError):
    """The input is not well-formed XML, or is hostile (DTD, entities, too large)."""

    kind = "xml"


class UnreadableError(XMLParseError):
    """A document file that cannot be read at all (missing, a directory, EACCES: the OSError
    is its cause); ``validate``'s NU-E005."""

    kind = "unreadable"


class ModelError(NetupdateError):
    """The XML is well-formed but a typed value cannot be read (bad MAC, bad address, ...).

    ``problems`` holds every problem found as ``ModelError`` instances; the exception itself
    describes the first one.
    """

    kind = "model"

    def __init__(self, message: str, *, problems: list[ModelError] | None = None,
                 code: str | None = None, **where):
        super().__init__(message, **where)
        self.problems = problems if problems is not None else [self]
        self.code = code    # the validation code when it is not NU-E020 (NU-E021: unsafe text)

    def reason(self) -> str:
        more = len(self.problems) - 1
        return f"{self.message} (and {more} more problem{'s' if more > 1 else ''})" \
            if more > 0 else self.message


class UnsafeValueError(NetupdateError):
    """A renderer refused a value that would change the structure of what it writes (a
    dnsmasq conf or hosts line, an nft ruleset, a file name): the model should have refused
    it already; this is the second line of defence."""

    kind = "unsafe-value"


class UpdateError(NetupdateError):
    """Base of refused updates.  The document is left unchanged."""

    kind = "update"


class NotFoundError(UpdateError):
    kind = "not-found"


class DuplicateError(UpdateError):
    kind = "duplicate"


class AmbiguousError(UpdateError):
    kind = "ambiguous"


class InvalidFragmentError(UpdateError):
    kind = "invalid-fragment"


class UnsupportedError(UpdateError):
    kind = "unsupported"


class InvalidOperationError(UpdateError):
    """The update is well-formed but breaks a rule of the network (family, single DHCP, ...)."""

    kind = "invalid-operation"


class ConflictError(InvalidOperationError):
    """The conflict pre-flight refused a change: it collides with another network or with
    what the namespace holds (issue 16, docs/world.md)."""

    kind = "conflict"


class PolicyError(NetupdateError):
    """A change is not allowed by the access policy."""

    kind = "policy"


class StateError(NetupdateError):
    """The requested operation does not fit the state (network not running, not defined...)."""

    kind = "state"


class NoSuchNetwork(StateError):
    """No network has this name or UUID, or no change is open on it (exit ``EXIT_NOT_FOUND``)."""

    kind = "not-found"


class RuntimeFailure(NetupdateError):
    """A live step failed (netlink, dnsmasq, nft, verification)."""

    kind = "runtime"


class PermissionFailure(NetupdateError):
    """Missing privileges (not root, no CAP_NET_ADMIN)."""

    kind = "permission"


class StateDirRefused(StateError, PermissionFailure):
    """A state directory that is not safe to use (another user's, writable by others, ...)."""

    kind = "state-dir"


class SystemFailure(NetupdateError):
    """The operating system refused a file operation (disk full, quota, read-only file system,
    I/O error): the operation stopped; what it had changed was put back."""

    kind = "system"


# an atomic write's temp file (compiled on first use: --version and --help import this module)
_TEMP = r"^\.(.+)\.\d+\.\d+\.tmp$"


def describe_os_error(exc: OSError) -> str:
    """One line for an ``OSError``: the file it concerns (a temp file of an atomic write is
    named by the file it was to replace) and the system's reason."""
    import re
    reason = exc.strerror or exc.__class__.__name__
    name = exc.filename
    if name is None:
        return reason
    name = os.fsdecode(name)
    folder, base = os.path.split(name)
    match = re.match(_TEMP, base)
    if match:
        name = os.path.join(folder, match.group(1))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        name = repr(name)  # one line, whatever the file is called
    return f"{name}: {reason}"


def exit_code(exc: BaseException) -> int:
    """The command line's exit code for an error (the table at the top): ``EXIT_SYSTEM`` when
    the system refused a file operation (the error, or an error it was raised from),
    ``EXIT_NOT_FOUND`` for an unknown network, ``EXIT_PERMISSION`` when not allowed (the
    error, or an ``EACCES``/``EPERM`` it was raised from), else ``EXIT_ERROR``."""
    seen, denied = exc, False
    while seen is not None:
        if isinstance(seen, SystemFailure) or (isinstance(seen, OSError)
                                               and seen.errno in SYSTEM_ERRNOS):
            return EXIT_SYSTEM
        denied = denied or isinstance(seen, (PermissionFailure, PermissionError))
        seen = seen.__cause__
    if isinstance(exc, NoSuchNetwork):
        return EXIT_NOT_FOUND
    return EXIT_PERMISSION if denied else EXIT_ERROR


def restored(exc: BaseException) -> bool:
    """Whether a failed operation put the network back itself (then its journal can go, and
    the command line says the network is as it was)."""
    return bool(getattr(exc, "netupdate_restored", False))


def mark_restored(exc: BaseException) -> BaseException:
    """Mark ``exc`` as "the network was put back" (``restored``); returns it."""
    try:
        exc.netupdate_restored = True
    except AttributeError:  # built-in exceptions accept attributes
        pass
    return exc
