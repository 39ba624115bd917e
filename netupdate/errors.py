"""The exception hierarchy: one root, a subclass per kind of refusal.

Every error may carry where it happened: ``file``, ``line`` (1-based) and ``path`` (the XPath of
the element, such as ``/network/ip[1]/dhcp/host[2]``).  ``str(err)`` is one line that starts with
that location, so the command line can print it as it is.
"""

from __future__ import annotations


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

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.message}" if loc else self.message


class XMLParseError(NetupdateError):
    """The input is not well-formed XML, or is hostile (DTD, entities, too large)."""

    kind = "xml"


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

    def __str__(self) -> str:
        text = super().__str__()
        more = len(self.problems) - 1
        return f"{text} (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else text


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


class PolicyError(NetupdateError):
    """A change is not allowed by the access policy."""

    kind = "policy"


class StateError(NetupdateError):
    """The requested operation does not fit the state (network not running, not defined...)."""

    kind = "state"


class RuntimeFailure(NetupdateError):
    """A live step failed (netlink, dnsmasq, nft, verification)."""

    kind = "runtime"


class PermissionFailure(NetupdateError):
    """Missing privileges (not root, no CAP_NET_ADMIN)."""

    kind = "permission"
