"""The ``libvirt`` Python binding, imported on first use, and libvirt's errors mapped to
netupdate's kinds (``error``: ``libvirt_code`` keeps libvirt's number)."""

from __future__ import annotations

from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    NetupdateError,
    NotFoundError,
    PermissionFailure,
    StateError,
    UnsupportedError,
)

INSTALL_HINT = ("the libvirt Python binding is not installed: pip install 'netupdate[libvirt]' "
                "(it needs libvirt's client library, e.g. apt-get install libvirt0 or "
                "libvirt-dev to build it)")

_libvirt_module = None


def libvirt():
    """The ``libvirt`` module, imported on first use (its errors are not printed to stderr)."""
    global _libvirt_module
    if _libvirt_module is None:
        try:
            import libvirt as module
        except ImportError:
            raise NetupdateError(INSTALL_HINT) from None
        module.registerErrorHandler(lambda _ctx, _err: None, None)
        _libvirt_module = module
    return _libvirt_module


def available() -> bool:
    """Whether the libvirt binding can be imported."""
    try:
        libvirt()
    except NetupdateError:
        return False
    return True


class LibvirtError(NetupdateError):
    """libvirt refused or failed an operation that has no more specific netupdate kind."""

    kind = "libvirt"


def _invalid_kind(low: str) -> type[NetupdateError]:
    """The kind of a VIR_ERR_OPERATION_INVALID, from libvirt's wording."""
    if any(word in low for word in ("not running", "already running", "transient",
                                    "already active", "is active", "still in use")):
        return StateError
    if "couldn't locate" in low or "couldn't find" in low or "no <ip>" in low:
        return NotFoundError
    if "multiple" in low:
        return AmbiguousError
    if "existing" in low or "already" in low:
        return DuplicateError
    return InvalidOperationError


def _kind(lv, code: int, low: str, update: bool) -> type[NetupdateError]:
    if code == lv.VIR_ERR_NO_NETWORK:
        return StateError
    if code == lv.VIR_ERR_OPERATION_INVALID:
        return _invalid_kind(low)
    if code in (lv.VIR_ERR_OPERATION_UNSUPPORTED, lv.VIR_ERR_NO_SUPPORT):
        return UnsupportedError
    if code == lv.VIR_ERR_OPERATION_DENIED or code == getattr(lv, "VIR_ERR_ACCESS_DENIED", -1):
        return PermissionFailure
    if update and code in (lv.VIR_ERR_XML_ERROR, lv.VIR_ERR_XML_DETAIL,
                           lv.VIR_ERR_CONFIG_UNSUPPORTED, lv.VIR_ERR_INVALID_ARG):
        return InvalidFragmentError
    if update and code == lv.VIR_ERR_INTERNAL_ERROR:
        return InvalidOperationError
    return LibvirtError


def error(exc, context: str = "", *, update: bool = False) -> NetupdateError:
    """A netupdate error for a ``libvirt.libvirtError`` (``libvirt_code`` keeps libvirt's)."""
    code = exc.get_error_code()
    message = exc.get_error_message() or str(exc)
    text = f"{context}: {message}" if context else message
    result = _kind(libvirt(), code, message.lower(), update)(text)
    result.libvirt_code = code  # type: ignore[attr-defined]
    return result
