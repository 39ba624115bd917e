"""Whether the server's own modules changed on disk since it imported them (it then serves no
more commands).  inotify watches on their folders make the check one read that finds nothing;
where inotify cannot be had (ctypes or the call missing), each file is stat'ed instead."""

from __future__ import annotations

import os
import struct

# inotify(7): modify, attrib, close-write, moved from/to, create, delete (a file of the folder)
# and delete-self, move-self (the folder); an overflowed queue is a change too
_MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
_FOLDER_GONE = 0x400 | 0x800 | 0x4000
_EVENT = struct.Struct("iIII")   # wd, mask, cookie, len; then the name


def module_files() -> dict[str, tuple[int, int, int]]:
    """The (inode, mtime, size) of every imported netupdate module's file."""
    import sys

    import netupdate
    top = os.path.dirname(netupdate.__file__)
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(top):
            st = os.stat(path)
            found[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return found


def stat_changed(files: dict[str, tuple[int, int, int]]) -> bool:
    """Whether a file of ``module_files`` changed since (a stat each)."""
    for path, seen in files.items():
        try:
            st = os.stat(path)
        except OSError:
            return True
        if (st.st_ino, st.st_mtime_ns, st.st_size) != seen:
            return True
    return False


class Watch:
    """The modules the server runs, watched from now on (``changed``)."""

    def __init__(self, files: dict[str, tuple[int, int, int]] | None = None):
        self.files = module_files() if files is None else files
        self.fd, self.folders = _watch({os.path.dirname(path) for path in self.files})
        self.seen = False   # a change was seen: the answer stays yes
        if self.fd is not None and stat_changed(self.files):   # before the watches began
            self.seen = True

    def changed(self) -> bool:
        if not self.seen:
            self.seen = stat_changed(self.files) if self.fd is None else self._events()
        return self.seen

    def _events(self) -> bool:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return False
        at = 0
        while at + _EVENT.size <= len(data):
            wd, mask, _, size = _EVENT.unpack_from(data, at)
            name = data[at + _EVENT.size:at + _EVENT.size + size].rstrip(b"\0")
            at += _EVENT.size + size
            folder = self.folders.get(wd)
            if mask & _FOLDER_GONE or folder is None:
                return True
            if os.path.join(folder, os.fsdecode(name)) in self.files:
                return True
        return False   # other files of the folders (__pycache__, editors' temporary files)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _watch(folders: set[str]) -> tuple[int | None, dict[int, str]]:
    """An inotify descriptor watching ``folders`` (None where inotify cannot be had)."""
    from netupdate import libc
    init, add = libc.function("inotify_init1"), libc.function("inotify_add_watch")
    fd = init(os.O_NONBLOCK | os.O_CLOEXEC) if init is not None and add is not None else -1
    if fd < 0:
        return None, {}
    watched = {}
    for folder in folders:
        wd = add(fd, os.fsencode(folder), _MASK)
        if wd < 0:
            os.close(fd)
            return None, {}
        watched[wd] = folder
    return fd, watched
