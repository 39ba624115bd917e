"""Atomic, durable writes of the store's files: a temp file in the same directory, fsync,
rename, fsync of the directory (no fsync in a volatile directory: ``VOLATILE``), and the
writes of a live update, started early and put in place later (``PendingWrites``).

Replacing a big file by rename frees its blocks, 0.17 ms on this ext4 for a definition of 1,000
hosts: a live update swaps the file with a spare instead (``PendingWrites``), and other writes
keep a replaced big file alive under a hidden name (``retire``), unlinked by a background
thread (``settle`` waits for those unlinks; ``txn.state.clean_temps`` removes what a dead
process left).
"""

from __future__ import annotations

import _thread
import contextlib
import errno
import itertools
import os
from collections.abc import Iterable

# Directories whose files do not outlive a reboot (a store's runtime directory, /run/netupdate
# by default): writes there stay atomic (temp file + rename, so a killed process leaves the old
# or the new file) but skip fsync, which costs more than the rest of a live update.
VOLATILE: set[str] = set()
_DURABLE: dict[str, bool] = {}   # absolute directory -> not in VOLATILE (``volatile`` clears it)


def volatile(root: str | os.PathLike) -> None:
    """Count ``root`` and everything under it as ``VOLATILE``."""
    VOLATILE.add(os.path.abspath(root))
    _DURABLE.clear()


def _durable(path: str) -> bool:
    return _durable_dir(os.path.dirname(path))


def _durable_dir(directory: str) -> bool:
    """Whether files in ``directory`` must be fsynced (it is under no ``VOLATILE`` root)."""
    known = _DURABLE.get(directory)
    if known is None:
        absolute = os.path.abspath(directory)
        known = not any(absolute == root or absolute.startswith(root + os.sep)
                        for root in VOLATILE)
        if os.path.isabs(directory):   # a relative one depends on the working directory
            if len(_DURABLE) >= 256:       # files edited all over the disk: start again
                _DURABLE.clear()
            _DURABLE[directory] = known
    return known


def _fsync_dir(path: str) -> None:
    if not _durable_dir(path):
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: str) -> None:
    """Flush the whole file system holding ``path`` (one call for many new files)."""
    from netupdate import libc
    call = libc.function("syncfs", "c_int")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if call is None or call(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _create_temp(path: str) -> tuple[int, str]:
    """A new temp file beside ``path`` (``.NAME.PID.TID.tmp``, exclusive, no symlink followed),
    open for writing."""
    directory, base = os.path.split(path)
    tmp = os.path.join(directory, f".{base}.{os.getpid()}.{_thread.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(tmp, flags, 0o600), tmp
    except FileExistsError:  # left by a dead process with this pid and thread id
        os.unlink(tmp)
        return os.open(tmp, flags, 0o600), tmp


def _fill(fd: int, data: bytes, mode: int, path: str, *, reused: bool = False) -> None:
    """``data`` as the whole contents of ``fd`` (cut to its length when ``reused``: a spare may
    have been longer), with ``mode`` set through the descriptor (O_CREAT's mode is filtered by
    the umask)."""
    try:
        os.fchmod(fd, mode)
        view, offset = memoryview(data), 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        if reused:
            os.ftruncate(fd, len(view))
    except OSError as exc:
        if exc.filename is None:
            exc.filename = path  # os.pwrite names no file
        raise


def _write_temp(path: str, data: bytes, mode: int, fsync: bool = True) -> str:
    fd, tmp = _create_temp(path)
    try:
        _fill(fd, data, mode, path)
        if fsync and _durable(path):
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
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
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netupdate-free")
    return _POOL


BIG = 1 << 16       # bytes: replacing a smaller file frees it faster than ``retire`` costs
_RETIRED = itertools.count()


def retire(path: str) -> str | None:
    """Keep the big file at ``path`` alive under a hidden name in its directory (the name of
    a temp file of this process: ``.NAME.old.PID.N.tmp``), so that replacing ``path`` frees
    nothing; ``free_soon`` unlinks that name later.  None: no such file, or a small one."""
    if not _durable(path):
        return None   # freeing memory of a volatile file system is cheap
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
    """``atomic_write`` for several files, their disk writes started together.

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
    """Files written now to temp files, the fsync of the durable ones started at once (in the
    background, without a thread of ours: ``libc.Fsync``), and put in place by ``commit``
    (renames, then the directories' fsyncs), or dropped by ``abort``.  A live update thus
    overlaps its disk writes with its own work and with dnsmasq's, not with threads of its own
    (on a 2-CPU VM a Python writer thread cost the caller more in GIL hand-offs than the
    writes).

    With ``spare`` (the caller holds the files' lock), each file is written over its spare
    (``.NAME.spare``: the version before the current one) and swapped with it in one atomic
    step (``_exchange``): the version replaced becomes the next spare, so no disk blocks (or
    tmpfs pages) are freed or allocated on the caller's path.  Where names cannot be swapped,
    a plain rename."""

    def __init__(self, items, mode: int, *, spare: bool = False):
        self.items = [(os.fspath(path), _bytes(data)) for path, data in items]
        self.placed = False       # some file is in place: ``abort`` leaves the undo to the caller
        self._temps: list[tuple[str, int | None, bool, object]] = []   # (temp, fd, spare, sync)
        self._dirs: list = []     # (fd, sync) of the directories' fsyncs under way
        try:
            for path, data in self.items:
                self._temps.append(_write_pending(path, data, mode, spare))
        except BaseException:
            self._drop()
            raise

    def commit(self, *, wait: bool = True) -> None:
        """Once the durable files are on disk, put every file in place (in the order given)
        and fsync their directories; without ``wait``, those fsyncs are left running for
        ``wait()``."""
        try:
            for _tmp, _fd, _spare, sync in self._temps:
                if sync is not None:
                    sync.wait()
        except BaseException:
            self._drop()
            raise
        self._close()
        self.placed = True
        retired = []
        for (path, _), (tmp, _fd, spare, _sync) in zip(self.items, self._temps, strict=True):
            if not (spare and _exchange(tmp, path)):
                retired.append(retire(path))
                os.replace(tmp, path)
        self._dirs = [_fsync_dir_soon(directory) for directory in
                      sorted({os.path.dirname(path) or "." for path, _ in self.items})
                      if _durable_dir(directory)]
        free_soon(retired)
        if wait:
            self.wait()

    def on_disk(self) -> bool:
        """Whether the durable files are on disk already (``commit`` would not wait for them)."""
        return all(sync is None or sync.done() for _tmp, _fd, _spare, sync in self._temps)

    def wait(self) -> None:
        """Until the directories' fsyncs ``commit`` started are done."""
        dirs, self._dirs, error = self._dirs, [], None
        for fd, sync in dirs:
            try:
                sync.wait()
            except OSError as exc:
                error = error or exc
            finally:
                os.close(fd)
        if error is not None:
            raise error

    def abort(self) -> bool:
        """Drop the files; True when ``commit`` had already put (some of) them in place (the
        caller puts the old contents back)."""
        if self.placed:
            with contextlib.suppress(OSError):
                self.wait()
        else:
            self._drop()
        return self.placed

    def _close(self) -> None:
        """Close the temp files, once their fsyncs are done (an error was raised by ``wait``
        already, or is of no use now)."""
        for index, (tmp, fd, spare, sync) in enumerate(self._temps):
            if fd is not None:
                if sync is not None:
                    with contextlib.suppress(OSError):
                        sync.wait()
                os.close(fd)
                self._temps[index] = (tmp, None, spare, None)

    def _drop(self) -> None:
        self._close()
        _unlink_all(tmp for tmp, _fd, spare, _sync in self._temps if not spare)   # a spare
        # stays one


def _fsync_dir_soon(directory: str):
    from netupdate.libc import Fsync
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    return fd, Fsync(fd)


def _write_pending(path: str, data: bytes, mode: int, spare: bool) -> tuple[str, int | None,
                                                                            bool, object]:
    """Write ``data`` for ``path`` (over its spare with ``spare``, else to a new temp file):
    (temp, its descriptor while durable, whether a spare, its fsync started)."""
    durable = _durable(path)
    opened = _open_spare(path) if spare else None
    fd, tmp = opened or _create_temp(path)
    try:
        _fill(fd, data, mode, path, reused=opened is not None)
        if durable:
            from netupdate.libc import Fsync
            return tmp, fd, opened is not None, Fsync(fd)
    except BaseException:
        os.close(fd)
        if opened is None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    os.close(fd)
    return tmp, None, opened is not None, None


def spare_path(path: str | os.PathLike) -> str:
    directory, base = os.path.split(os.fspath(path))
    return os.path.join(directory, f".{base}.spare")


def _open_spare(path: str) -> tuple[int, str] | None:
    """The spare of ``path`` open for writing (made when missing): a regular file of ours with
    no other link, never through a symlink; None when what is there is not that."""
    import stat
    spare = spare_path(path)
    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(spare, flags | os.O_CREAT, 0o600)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        os.close(fd)
        return None
    return fd, spare


RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOENT, errno.EXDEV}


def _exchange(one: str, other: str) -> bool:
    """Swap the names ``one`` and ``other`` atomically (``renameat2`` with RENAME_EXCHANGE);
    False where that cannot be done (no such call or file system support, ``other`` missing):
    nothing changed then."""
    from netupdate import libc
    call = libc.function("renameat2", "c_int", "c_char_p", "c_int", "c_char_p", "c_uint")
    if call is None:
        return False
    if call(-100, os.fsencode(one), -100, os.fsencode(other), RENAME_EXCHANGE) == 0:  # AT_FDCWD
        return True
    if libc.last_errno() in _NO_EXCHANGE:
        return False
    raise libc.error(other)


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


