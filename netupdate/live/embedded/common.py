"""What the embedded ``Connection``'s operation modules share: progress events, writing
definition files, and the one lazy import of the runtime's ``vanished`` module (``connect()``
stays light: the runtime pulls in ctypes and subprocess)."""

from __future__ import annotations

from netupdate.store import atomic_write_many


def emit(progress, event: str, **fields) -> None:
    """Tell ``progress`` (a callable taking one dict, or None) about ``event``."""
    if progress is not None:
        progress({"event": event, **fields})


def vanished():
    """``live.embedded.runtime.vanished`` (networks whose namespace is gone), imported when
    first needed."""
    from netupdate.live.embedded.runtime import vanished as module
    return module


def write_files(store, writes) -> None:
    """Write ``writes`` (``(path, bytes)``, each atomic, in order), making their folders."""
    for path, _data in writes:
        store.ensure_dir(path.parent)
    atomic_write_many(writes, mode=0o600)
