"""``netupdate.connect()``: the one entry point to both backends (the interface: live/backend.py).

The backend's module is imported only when it is picked: the embedded runtime for no URI or an
embedded one (``EMBEDDED_URIS``), libvirt for any other URI.  It lives apart from
``backend.py`` because both backends import that module: picking one there would be an import
cycle.
"""

from __future__ import annotations

import os

from netupdate.errors import UnsupportedError
from netupdate.live.backend import Backend

#: the URIs of the embedded runtime (``connect()`` without a URI is the embedded runtime too)
EMBEDDED_URIS = (None, "", "embedded", "netupdate:///embedded", "netupdate:///")


def connect(uri: str | None = None, *, state_dir: str | os.PathLike | None = None,
            netns: str | None = None, readonly: bool = False, policy=None) -> Backend:
    """A connection (a ``Backend``): the embedded runtime for ``uri=None`` (or one of
    ``EMBEDDED_URIS``), else libvirt at ``uri``.

    ``state_dir`` (or $NETUPDATE_STATE_DIR) moves the embedded store; ``netns`` is the namespace
    networks started through this connection run in (recorded at start); ``readonly`` opens a
    read-only libvirt connection; ``policy`` (a ``policy.Policy``, TOML text or a path) is
    checked against every edit made through the connection (docs/policy.md).
    """
    if uri in EMBEDDED_URIS:
        from netupdate.live.embedded.connection import Connection
        return Connection(state_dir=state_dir, netns=netns, policy=policy)
    if state_dir is not None:
        raise UnsupportedError("state_dir applies to the embedded runtime only (uri=None)")
    from netupdate.live.libvirt.connection import LibvirtConnection
    return LibvirtConnection(uri, netns=netns, readonly=readonly, policy=policy)
