"""Running things inside a named network namespace (``ip netns`` names, /run/netns/NAME).

* ``run(argv, netns=...)``: a subprocess whose child joins the namespace (setns) before exec;
* ``call(netns, fn)``: run ``fn`` in a worker thread that joined the namespace, so sockets it
  opens (DNS queries, ``if_nametoindex``) live there; the caller's own thread never moves;
* ``udp_socket(netns, family)``: a UDP socket made in the namespace once (through ``call``)
  and then reused from any thread (a socket stays in the namespace it was made in): the DNS
  queries of live verification and ``link_index`` cost no thread hop;
* ``iproute(netns)``: a pyroute2 ``IPRoute`` bound to the namespace (imported lazily).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Callable

from netupdate.errors import NetupdateError, PermissionFailure, RuntimeFailure, StateError

NETNS_DIR = "/run/netns"
NAME_MAX = 255  # bytes: a namespace is a file in /run/netns
CLONE_NEWNET = 0x40000000
CAP_NET_ADMIN = 12
CAPABILITY_VERSION_3 = 0x20080522   # capget's header: 2 x (effective, permitted, inheritable)
SIOCGIFINDEX = 0x8933
IFNAMSIZ = 16

def _setns(fd: int) -> None:
    from netupdate import libc
    if libc.function("setns")(fd, CLONE_NEWNET) != 0:
        raise libc.error()


def check_name(name: str) -> str:
    """A namespace name as ``ip netns`` accepts it (one file name in /run/netns: not empty,
    '.' or '..', no '/', at most 255 bytes), and without control characters (NUL, newline),
    which ip accepts but no config file or log line should carry."""
    if isinstance(name, str) and name in _CHECKED:
        return name
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name \
            or len(name.encode(errors="surrogateescape")) > NAME_MAX \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise NetupdateError(f"invalid network namespace name {name!r}: it must be 1 to "
                             f"{NAME_MAX} bytes, not '.' or '..', without '/' or control "
                             "characters")
    if len(_CHECKED) < 256:
        _CHECKED.add(name)
    return name


_CHECKED: set[str] = set()   # names that passed ``check_name`` (asked dozens of times an update)


def path(name: str) -> str:
    return os.path.join(NETNS_DIR, check_name(name))


def exists(name: str | None) -> bool:
    return name is None or os.path.exists(path(name))


def require(name: str | None) -> None:
    """Raise a clear error when the name is invalid or the namespace does not exist."""
    if name is not None:
        _namespace_id(name)


def has_net_admin() -> bool:
    """True when this process has CAP_NET_ADMIN in its effective set (``capget``; reading
    /proc/self/status, where there is none, costs 0.1 ms)."""
    import ctypes

    from netupdate import libc
    from netupdate.store.statedir import read_file
    capget = libc.function("capget")
    header, sets = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0), (ctypes.c_uint32 * 6)()
    if capget is not None and capget(header, sets) == 0:
        return bool(sets[0] >> CAP_NET_ADMIN & 1)   # the effective set's low 32 bits
    try:
        for line in (read_file("/proc/self/status") or b"").splitlines():
            if line.startswith(b"CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except OSError:
        pass
    return os.geteuid() == 0


def require_privileges(what: str) -> None:
    if not has_net_admin():
        who = "not root" if os.geteuid() != 0 else "root without CAP_NET_ADMIN"
        raise PermissionFailure(f"{what} needs root with CAP_NET_ADMIN (running as {who}); "
                                "run it with sudo, or edit the definition only with --config")


def _preexec(name: str) -> Callable[[], None]:
    target = path(name)

    def enter() -> None:
        fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        _setns(fd)
        os.close(fd)
    return enter


def run(argv: list[str], *, netns: str | None = None, input: str | None = None,
        timeout: float = 30.0, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command (inside ``netns`` when given); with ``check`` a failure raises
    ``RuntimeFailure`` carrying the command's stderr."""
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=_preexec(netns) if netns else None,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise RuntimeFailure(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise RuntimeFailure(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
    except subprocess.SubprocessError as exc:  # preexec failed: no such namespace
        raise RuntimeFailure(f"cannot run {argv[0]} in namespace {netns}: {exc}") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise RuntimeFailure(f"{' '.join(argv)} failed (exit {proc.returncode}): {detail}")
    return proc


class _Worker:
    """A thread living in one network namespace that runs calls for others."""

    def __init__(self, name: str | None):
        from concurrent.futures import ThreadPoolExecutor
        self.name = name
        self.error: OSError | None = None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"netns-{name}",
                                       initializer=self._enter)

    def _enter(self) -> None:
        if self.name is not None:
            try:
                fd = os.open(path(self.name), os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _setns(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self.error = exc
                raise

    def call(self, fn, *args, **kwargs):
        from concurrent.futures.thread import BrokenThreadPool
        try:
            return self.pool.submit(fn, *args, **kwargs).result()
        except BrokenThreadPool:
            forget(self.name)
            why = self.error.strerror if self.error is not None else "the thread failed"
            raise RuntimeFailure(f"cannot enter network namespace '{self.name}': {why}") \
                from None


_WORKERS: dict[tuple[str | None, int], _Worker] = {}
_LOCK = threading.Lock()


def _namespace_id(name: str) -> int:
    """The identity of namespace ``name`` (its file's inode: a namespace re-created under the
    same name is another one); a clear error when the name is invalid or there is none."""
    try:
        return os.stat(path(name)).st_ino
    except OSError:
        raise StateError(f"network namespace '{name}' does not exist "
                         f"(create it with: ip netns add {name})") from None


def call(netns: str | None, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run in a thread that lives in ``netns`` (the host when None)."""
    if netns is None:
        return fn(*args, **kwargs)
    key = (netns, _namespace_id(netns))  # a namespace re-created under the same name is new
    with _LOCK:
        worker = _WORKERS.get(key)
        if worker is None:
            for old in [k for k in _WORKERS if k[0] == netns]:
                _WORKERS.pop(old).pool.shutdown(wait=False)
            _drop_sockets(netns)
            worker = _WORKERS[key] = _Worker(netns)
    return worker.call(fn, *args, **kwargs)


_SOCKETS: dict[tuple, list[socket.socket]] = {}


@contextlib.contextmanager
def udp_socket(netns: str | None, family: int = socket.AF_INET):
    """A UDP socket living in ``netns``, for the block's use only (taken from a pool; made there
    through ``call`` when none is free).  Replies to an earlier user's queries may still
    arrive on it: match replies to queries."""
    key = (netns, _namespace_id(netns) if netns is not None else 0, family)
    with _LOCK:
        free = _SOCKETS.get(key)
        sock = free.pop() if free else None
    if sock is None:
        sock = call(netns, socket.socket, family, socket.SOCK_DGRAM)
    try:
        yield sock
    finally:
        with _LOCK:
            if key[0] is None or key[:2] in {k[:2] for k in _WORKERS}:
                _SOCKETS.setdefault(key, []).append(sock)
                sock = None
        if sock is not None:   # the namespace was forgotten meanwhile
            sock.close()


def _drop_sockets(netns: str | None) -> None:
    """Close the pooled sockets of ``netns`` (hold ``_LOCK``): they keep it alive."""
    for key in [k for k in _SOCKETS if k[0] == netns]:
        for sock in _SOCKETS.pop(key):
            sock.close()


def sysctl(key: str, value: str | None = None) -> str:
    """Read /proc/sys/<key> in the calling thread's namespace (``call`` it there) and set it to
    ``value`` when given; returns the previous value."""
    path = f"/proc/sys/{key}"
    try:
        with open(path) as handle:
            previous = handle.read().strip()
        if value is not None and previous != value:
            with open(path, "w") as handle:
                handle.write(value)
        return previous
    except OSError as exc:
        what = key.replace("/", ".")
        action = f"read {what}" if value is None else f"set {what}={value}"
        raise RuntimeFailure(f"cannot {action}: {exc}") from None


def forget(netns: str | None) -> None:
    """Drop the worker thread of a namespace (so it can go away)."""
    with _LOCK:
        for key in [k for k in _WORKERS if k[0] == netns]:
            _WORKERS.pop(key).pool.shutdown(wait=False)
        _drop_sockets(netns)


def link_index(netns: str | None, ifname: str) -> int | None:
    """The interface index of ``ifname`` in the namespace, or None (cheap: one ioctl on a
    pooled socket of the namespace)."""
    import fcntl
    raw = ifname.encode(errors="surrogateescape")
    if not raw or len(raw) >= IFNAMSIZ or b"\0" in raw:
        return None
    with udp_socket(netns) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFINDEX, struct.pack("16s24x", raw))
        except OSError:
            return None
    return struct.unpack_from("i", reply, IFNAMSIZ)[0]


def require_netlink():
    """pyroute2's ``IPRoute`` class, or a clear error when it is not installed."""
    try:
        from pyroute2 import IPRoute
    except ImportError:
        raise RuntimeFailure("the live runtime needs pyroute2 (pip install 'netupdate[live]')") \
            from None
    return IPRoute


def iproute(netns: str | None):
    """A pyroute2 IPRoute socket in the namespace (the caller closes it)."""
    IPRoute = require_netlink()
    require(netns)
    return IPRoute(netns=netns) if netns else IPRoute()
