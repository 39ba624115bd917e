"""``edit --in-place``: a locked read-modify-write that is safe in shared directories.

- The path is resolved first: a symlink's target is edited and the link is kept.
- The file is opened without following a symlink (from a descriptor of its directory) and
  locked (``flock``, exclusive) for the whole read-modify-write; a writer that finds, once it
  holds the lock, that the name now holds another file (a concurrent edit renamed a new one
  into place) starts again on the new file, so concurrent edits all land, one after another.
- The new contents go to a temp file made with ``O_CREAT|O_EXCL|O_NOFOLLOW`` in the same
  directory; owner, group and permission bits are copied through the descriptor (``fchown``,
  ``fchmod``), without the setuid, setgid and sticky bits; it is fsynced and renamed over the
  file, then the directory is fsynced.  A crash leaves the old file or the new one.
- Other hard links to the file keep the old contents (rename gives the name a new inode).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator

KEPT_BITS = 0o777  # the setuid, setgid and sticky bits are dropped


class InPlaceError(OSError):
    """A file that cannot be rewritten safely (its owner cannot be kept, it is not a regular
    file...)."""


class Target:
    """The locked file: ``source`` to read it, ``replace`` to write its new contents."""

    def __init__(self, dir_fd: int, name: str, fd: int, path: str):
        self.dir_fd, self.name, self.fd, self.path = dir_fd, name, fd, path
        self.stat = os.fstat(fd)

    @property
    def source(self) -> str:
        """A path to read exactly the locked file by (its descriptor's /proc entry)."""
        return f"/proc/self/fd/{self.fd}"

    def replace(self, data: bytes) -> None:
        tmp = f".{self.name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=self.dir_fd)
        try:
            self._fill(fd, data)
            os.replace(tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=self.dir_fd)
            raise
        os.close(fd)
        os.fsync(self.dir_fd)

    def _fill(self, fd: int, data: bytes) -> None:
        st = self.stat
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, st.st_uid, st.st_gid)
            except PermissionError:
                raise InPlaceError(f"cannot keep the owner of {self.path} (uid {st.st_uid}, "
                                   f"gid {st.st_gid}); not rewritten") from None
        os.fchmod(fd, stat.S_IMODE(st.st_mode) & KEPT_BITS)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[Target]:
    """The file at ``path`` (a symlink's target), locked for a read-modify-write."""
    real = os.path.realpath(path)
    directory, name = os.path.split(real)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        while True:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise InPlaceError(f"{path} is not a regular file")
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _still_there(fd, name, dir_fd):
                    yield Target(dir_fd, name, fd, os.fspath(path))
                    return
            finally:
                os.close(fd)  # releases the lock
    finally:
        os.close(dir_fd)


def _still_there(fd: int, name: str, dir_fd: int) -> bool:
    """Whether ``name`` still names the file open as ``fd`` (no edit renamed another over it
    while this one waited for the lock)."""
    try:
        now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
