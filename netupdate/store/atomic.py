"""Atomic, durable writes of the store's files: a temp file in the same directory, fsync,
rename, fsync of the directory (no fsync in a volatile directory: ``VOLATILE``), and the
background writes of a live update (``PendingWrites``).

Replacing a big file by rename frees its blocks, a fraction of a millisecond on ext4 for a
definition of 1,000 hosts: a replaced file is kept alive under a hidden name (``retire``) and
unlinked by a background thread instead, off the caller's path (``settle`` waits for those
unlinks; ``txn.state.clean_temps`` removes what a dead process left).
"""

from __future__ import annotations

import _thread
import contextlib
import itertools
import os
from collections.abc import Iterable

# Directories whose files do not outlive a reboot (a store's runtime directory, /run/netupdate
# by default): writes there stay atomic (temp file + rename, so a killed process leaves the old
# or the new file) but skip fsync, which costs more than the rest of a live update.
VOLATILE: set[str] = set()


def _durable(path: str) -> bool:
    directory = os.path.dirname(os.path.abspath(path))
    return not any(directory == root or directory.startswith(root + os.sep)
                   for root in VOLATILE)


def _fsync_dir(path: str) -> None:
    if not _durable(os.path.join(path, "x")):
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: str) -> None:
    """Flush the whole file system holding ``path`` (one call for many new files)."""
    import ctypes
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _write_temp(path: str, data: bytes, mode: int, fsync: bool = True) -> str:
    directory, base = os.path.split(path)
    tmp = os.path.join(directory, f".{base}.{os.getpid()}.{_thread.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileExistsError:  # left by a dead process with this pid and thread id
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, mode)  # through the descriptor: O_CREAT's mode is filtered by the umask
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if fsync and _durable(path):
            os.fsync(fd)
    except BaseException as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = path  # os.write names no file
        raise
    os.close(fd)
    return tmp


def _bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def atomic_write(path: str | os.PathLike, data: str | bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temp + fsync + rename + dir fsync;
    no fsync in a volatile directory)."""
    path = os.fspath(path)
    tmp = _write_temp(path, _bytes(data), mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(path) or ".")


_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="netupdate-fsync")
    return _POOL


BIG = 1 << 16       # bytes: replacing a smaller file frees it faster than ``retire`` costs
_RETIRED = itertools.count()


def retire(path: str) -> str | None:
    """Keep the big file at ``path`` alive under a hidden name in its directory (the name of
    a temp file of this process: ``.NAME.old.PID.N.tmp``), so that replacing ``path`` frees
    nothing; ``free_soon`` unlinks that name later.  None: no such file, or a small one."""
    try:
        st = os.lstat(path)
        if st.st_nlink != 1 or st.st_size < BIG:   # another link keeps it, or cheap to free
            return None
        directory, base = os.path.split(path)
        kept = os.path.join(directory, f".{base}.old.{os.getpid()}.{next(_RETIRED)}.tmp")
        os.link(path, kept, follow_symlinks=False)
    except OSError:
        return None
    return kept


_FREEING: list = []   # the background unlinks not yet waited for (``settle``)


def free_soon(paths) -> None:
    """Unlink retired files in the background."""
    paths = [path for path in paths if path]
    if paths:
        _FREEING.append(_pool().submit(_unlink_all, paths))


def settle() -> None:
    """Wait for the background unlinks started so far (a connection that closes: a process
    may then end with ``os._exit``, as a command server's child does)."""
    while _FREEING:
        _FREEING.pop().result()


BULK = 32


def atomic_write_many(items: Iterable[tuple[str | os.PathLike, str | bytes]], *,
                      mode: int = 0o644) -> None:
    """``atomic_write`` for several files, with their fsyncs done in parallel.

    Each file is replaced atomically; the files are renamed in the order given, after every one
    of them is safely on disk.  Past ``BULK`` files, one ``syncfs`` replaces the per-file fsyncs
    (the same guarantee: every temp file is on disk before any rename).
    """
    items = [(os.fspath(path), _bytes(data)) for path, data in items]
    if len(items) == 1:
        atomic_write(items[0][0], items[0][1], mode=mode)
        return
    if len(items) <= BULK:
        PendingWrites(items, mode).commit()
        return
    temps = []
    try:
        for path, data in items:
            temps.append(_write_temp(path, data, mode, fsync=False))
        for directory in sorted({os.path.dirname(path) or "." for path, _ in items}):
            _syncfs(directory)
    except BaseException:
        _unlink_all(temps)
        raise
    for (path, _), tmp in zip(items, temps, strict=True):
        os.replace(tmp, path)
    for directory in sorted({os.path.dirname(path) or "." for path, _ in items}):
        _fsync_dir(directory)


class PendingWrites:
    """Files being written (temp + fsync) in the background; ``commit`` renames them into
    place (each atomically) once they are all on disk, ``abort`` drops them.  ``commit_soon``
    lets the renames (and the directory fsyncs) happen in the background too, as soon as the
    files are on disk; ``commit`` then waits for them."""

    def __init__(self, items, mode: int):
        self.items = [(os.fspath(path), _bytes(data)) for path, data in items]
        started = {path: _pool().submit(_write_temp, path, data, mode)   # fsynced ones first
                   for path, data in sorted(self.items, key=lambda item: not _durable(item[0]))}
        self.futures = [started[path] for path, _ in self.items]
        self._placed = None       # the background commit, once commit_soon() started it

    def commit_soon(self) -> None:
        # a pool thread waits for the files and renames them, never the caller's: the writes
        # were queued before it, and the pool takes its tasks in order, so it waits only on
        # tasks that run or ran
        self._placed = _pool().submit(self._rename, parallel=False)

    def _temps(self) -> list[str]:
        temps, error = [], None
        for future in self.futures:
            try:
                temps.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                temps.append(None)
                error = error or exc
        if error is not None:
            _unlink_all(temps)
            raise error
        return temps

    def commit(self) -> None:
        if self._placed is not None:
            self._placed.result()
        else:
            self._rename(parallel=True)

    def _rename(self, *, parallel: bool) -> None:
        """Rename the files into place, then fsync their directories (in the pool when
        ``parallel``)."""
        temps, retired = self._temps(), []
        for (path, _), tmp in zip(self.items, temps, strict=True):
            retired.append(retire(path))
            os.replace(tmp, path)
        dirs = sorted({os.path.dirname(path) or "." for path, _ in self.items})
        if not parallel:
            for directory in dirs:
                _fsync_dir(directory)
        else:
            for future in [_pool().submit(_fsync_dir, d) for d in dirs]:
                future.result()
        free_soon(retired)

    def abort(self) -> bool:
        """Drop the files; True when a background commit had already put (some of) them in
        place (the caller puts the old contents back)."""
        if self._placed is not None:
            try:
                self._placed.result()
            except BaseException:  # noqa: BLE001 - it may have renamed some of them
                pass
            return True
        try:
            _unlink_all(self._temps())
        except BaseException:  # noqa: BLE001 - the temps are gone either way
            pass
        return False


def _unlink_all(paths) -> None:
    for tmp in paths:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def remove(path: str | os.PathLike) -> bool:
    """Remove a file (and fsync its directory); False when it was not there."""
    path = os.fspath(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    _fsync_dir(os.path.dirname(path) or ".")
    return True


