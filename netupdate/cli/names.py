"""Networks on the command line: by name or by UUID, and "no such network" as its own error
(exit ``EXIT_NOT_FOUND``) with a did-you-mean, on both backends alike."""

from __future__ import annotations

import contextlib

from netupdate.document.patterns import Pattern
from netupdate.errors import NetupdateError, NoSuchNetwork

UUID = Pattern(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def _plain(uuid: str) -> str:
    return uuid.replace("-", "").lower()


def missing(conn, name: str) -> NoSuchNetwork:
    import difflib
    known = [n.name for n in conn.list()]
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return NoSuchNetwork(f"network '{name}' is not defined{hint}")


def _uuid_of(conn, info) -> str | None:
    """A network's UUID: from ``list()``, else (a network not running in the embedded
    runtime) from its definition."""
    if info.uuid:
        return info.uuid
    import netupdate
    try:
        return str(netupdate.load(conn.dumpxml(info.name, inactive=True)).defs.uuid or "")
    except NetupdateError:
        return None


def resolve(conn, name: str) -> str:
    """The name of the network called ``name`` or with the UUID ``name``."""
    if UUID.match(name):
        infos = conn.list()
        if any(info.name == name for info in infos):
            return name
        for info in infos:
            uuid = _uuid_of(conn, info)
            if uuid and _plain(uuid) == _plain(name):
                return info.name
        raise missing(conn, name)
    return name


def exists(conn, name: str) -> bool:
    return any(info.name == name for info in conn.list())


@contextlib.contextmanager
def named(conn, name: str):
    """``with named(conn, NAME) as name:`` the resolved name; an error of the body on a
    network that does not exist becomes ``NoSuchNetwork``."""
    resolved = resolve(conn, name)
    try:
        yield resolved
    except NoSuchNetwork:
        raise
    except NetupdateError as exc:
        if not exists(conn, resolved):
            raise missing(conn, resolved) from exc
        raise


def require(conn, name: str) -> str:
    """The resolved name of a network that must exist."""
    resolved = resolve(conn, name)
    if not exists(conn, resolved):
        raise missing(conn, resolved)
    return resolved
