"""The libc calls the standard library does not wrap (setns, capget, renameat2,
sync_file_range, syncfs, aio_fsync, the inotify calls), through ctypes, each looked up once.
ctypes releases the GIL for the call.  Imported where such a call is made: ctypes costs an
import."""

from __future__ import annotations

import ctypes
import errno
import os

_FOUND: dict = {}


def function(name: str, *argtypes: str):
    """libc's ``name`` (``argtypes``: ctypes type names), or None where this libc has none."""
    if name not in _FOUND:
        try:
            found = getattr(ctypes.CDLL(None, use_errno=True), name)
            if argtypes:
                found.argtypes = [getattr(ctypes, kind) for kind in argtypes]
        except (OSError, AttributeError):
            found = None
        _FOUND[name] = found
    return _FOUND[name]


def error(what: str | None = None) -> OSError:
    """The OSError of the errno the last call left (``what``: the file it names)."""
    code = ctypes.get_errno()
    return OSError(code, os.strerror(code), what)


def last_errno() -> int:
    return ctypes.get_errno()


# ---------------------------------------------------------------------- fsync in the background
SIGEV_NONE = 1
_AIOCB_SIZE = 256          # glibc's struct aiocb: 168 bytes on a 64-bit system
_AIOCB_FILDES, _AIOCB_SIGEV_NOTIFY = 0, 44   # its aio_fildes and aio_sigevent.sigev_notify
_IN_FLIGHT: dict = {}      # id -> control block glibc may still write to: never freed before done


def _aio() -> bool:
    """Whether ``aio_fsync`` can be called with the layout above: glibc, 64-bit."""
    if "aio" not in _FOUND:
        try:
            glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            glibc = ""
        _FOUND["aio"] = glibc.startswith("glibc ") and ctypes.sizeof(ctypes.c_void_p) == 8 \
            and ctypes.sizeof(ctypes.c_long) == 8 and function("aio_fsync") is not None
        if _FOUND["aio"] and function("aio_init") is not None:
            # struct aioinit (8 ints): at most 4 threads, 16 requests, and an idle thread kept
            # a minute (glibc's default, one second, starts a thread for most updates)
            function("aio_init")((ctypes.c_int * 8)(4, 16, 0, 0, 0, 0, 60, 0))
    return _FOUND["aio"]


class Fsync:
    """``fsync(fd)`` started now and done by one of glibc's AIO threads (``aio_fsync``: a C
    thread, so no GIL is handed back and forth); ``wait`` returns once it is done, raising its
    error.  Where there is no such call (another libc), the kernel's writeback of the file is
    started (``sync_file_range``) and ``wait`` does the fsync itself.  ``fd`` must stay open
    until ``wait`` returned."""

    def __init__(self, fd: int):
        self.fd, self._block, self._done = fd, None, False
        if _aio():
            block = ctypes.create_string_buffer(_AIOCB_SIZE)
            ctypes.c_int.from_buffer(block, _AIOCB_FILDES).value = fd
            ctypes.c_int.from_buffer(block, _AIOCB_SIGEV_NOTIFY).value = SIGEV_NONE
            if function("aio_fsync")(os.O_SYNC, block) == 0:
                _IN_FLIGHT[id(block)] = block
                self._block = block
                return
        start = function("sync_file_range", "c_int", "c_int64", "c_int64", "c_uint")
        if start is not None:
            start(fd, 0, 0, 2)   # SYNC_FILE_RANGE_WRITE: start the writeback, do not wait

    def done(self) -> bool:
        """Whether ``wait`` would return at once (the fallback's fsync is still to do)."""
        return self._done or (self._block is not None
                              and function("aio_error")(self._block) != errno.EINPROGRESS)

    def wait(self) -> None:
        if self._done:
            return
        self._done = True
        block, self._block = self._block, None
        if block is None:
            os.fsync(self.fd)
            return
        pending = (ctypes.c_void_p * 1)(ctypes.addressof(block))
        while (code := function("aio_error")(block)) == errno.EINPROGRESS:
            function("aio_suspend")(pending, 1, None)   # returns early on a signal: asks again
        function("aio_return")(block)
        del _IN_FLIGHT[id(block)]
        if code:
            raise OSError(code, os.strerror(code))
