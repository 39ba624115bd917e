"""One supervised dnsmasq per network: its files, start/stop/reload, and liveness.

Files live in the network's run directory (``Store.network_dir``)::

    dnsmasq.conf     the conf (mode 0600; dnsmasq reads it as root before dropping privileges)
    dnsmasq.pid      written by dnsmasq
    dnsmasq.leases   the lease database
    dhcp-hosts/      --dhcp-hostsdir: one file per DHCP host (dnsmasq.dhcp_host_files)
    dns-hosts/       --hostsdir: one file per DNS address (dnsmasq.dns_host_files)

Each hostsdir holds a ``base`` file with every host at start (one file: creating thousands of
files costs seconds on some file systems), and one file per host for hosts changed live since
(``dnsmasq.dhcp_host_files`` / ``dns_host_files`` name them); a live change to a host still in
``base`` rewrites ``base`` without it.  dnsmasq reads new and changed files by itself (inotify).

dnsmasq daemonises itself (it outlives the command that started it) and drops privileges to
``nobody``, which must be able to read the host files: they are written 0644 in 0755
directories.  A DNS host that goes away is written as an empty file (a tombstone) rather than
unlinked: dnsmasq (2.90) forgets a hostsdir file's names when the file changes, not when it is
deleted.  Tombstones are pruned when dnsmasq re-reads everything (SIGHUP, restart).  So an
empty file may vanish at any SIGHUP: a ``base`` that is missing or empty means "no hosts" (a
network without DNS hosts, or whose last DHCP host was deleted), and both are correct.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from netupdate import store as S
from netupdate.errors import RuntimeFailure, StateError
from netupdate.live import procs
from netupdate.live.embedded.runtime import netns as NS
from netupdate.render import dnsmasq as conf
from netupdate.sections import dns as DNS
from netupdate.store.statedir import check_dir
from netupdate.store.statedir import read_file as read_file_bytes

DNSMASQ = "dnsmasq"
HOST_MODE = 0o644
LEASES = "dnsmasq.leases"
TERM_GRACE = 0.5   # seconds dnsmasq gets to end on SIGTERM before SIGKILL


def binary() -> str | None:
    found = shutil.which(DNSMASQ)
    if found is None:
        for candidate in ("/usr/sbin/dnsmasq", "/sbin/dnsmasq"):
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def require_binary() -> str:
    found = binary()
    if found is None:
        raise RuntimeFailure("dnsmasq is not installed (apt-get install dnsmasq-base)")
    return found


@dataclass(frozen=True)
class Layout:
    dir: Path

    @property
    def conf(self) -> Path:
        return self.dir / "dnsmasq.conf"

    @property
    def pid_file(self) -> Path:
        return self.dir / "dnsmasq.pid"

    @property
    def leases(self) -> Path:
        return self.dir / LEASES

    @property
    def restart_ms(self) -> Path:
        return self.dir / "dnsmasq.restart-ms"

    @property
    def dhcp_hostsdir(self) -> Path:
        return self.dir / "dhcp-hosts"

    @property
    def hostsdir(self) -> Path:
        return self.dir / "dns-hosts"

    @property
    def servers_file(self) -> Path:
        return self.dir / "servers"

    def paths(self, name: str) -> conf.Paths:
        return conf.Paths(dir=str(self.dir), name=name, pid_file=str(self.pid_file),
                          lease_file=str(self.leases), dhcp_hostsdir=str(self.dhcp_hostsdir),
                          hostsdir=str(self.hostsdir), servers_file=str(self.servers_file))

    def make(self) -> None:
        for path in (self.dir, self.dhcp_hostsdir, self.hostsdir):
            check_dir(path, 0o755)  # owned by us, not through a symlink, 0755 whatever the umask
        check_reachable(self.hostsdir)


def note_restart(layout: Layout, ms: int) -> None:
    """Remember how long a restart kept DHCP and DNS silent (guest impact quotes it; the file
    goes with the network's directory, and outside the runtime record, which a rollback
    restores byte for byte)."""
    S.atomic_write(layout.restart_ms, f"{int(ms)}\n", mode=0o644)


def last_restart_ms(layout: Layout) -> int | None:
    text = read_file(layout.restart_ms)
    return int(text) if text and text.strip().isdigit() else None


def remove_files(layout: Layout) -> None:
    """Remove the conf, pid file, leases and host files of a stopped dnsmasq."""
    for path in (layout.conf, layout.pid_file, layout.leases, layout.restart_ms,
                 layout.servers_file):
        S.remove(path)
    for folder in (layout.dhcp_hostsdir, layout.hostsdir):
        shutil.rmtree(folder, ignore_errors=True)


def check_reachable(path: Path) -> None:
    """dnsmasq reads the host files as ``nobody``: every directory above them must be
    searchable by others."""
    for parent in [path, *path.parents]:
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if not mode & 0o001:
            raise RuntimeFailure(
                f"dnsmasq drops privileges to 'nobody', which cannot enter {parent} "
                f"(mode {oct(mode & 0o777)}); use a state directory that others can traverse "
                f"(chmod o+x {parent})")


def conf_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def render(defs, layout: Layout, name: str, bridge: str) -> str:
    return conf.conf_text(defs, paths=layout.paths(name), bridge=bridge)


def write_conf(layout: Layout, text: str, *, netns: str | None = None) -> None:
    """Check the conf with ``dnsmasq --test`` before swapping it in."""
    new = layout.dir / "dnsmasq.conf.new"
    S.atomic_write(new, text, mode=0o600)
    try:
        NS.run([require_binary(), "--test", f"--conf-file={new}"], netns=netns, timeout=10)
    except RuntimeFailure as exc:
        S.remove(new)
        raise RuntimeFailure(f"dnsmasq rejects the generated conf: {exc}") from None
    os.replace(new, layout.conf)


# ---------------------------------------------------------------------- host files
BASE = "base"


_RENDERED: list[tuple] = []   # (defs, base texts) of the last definitions rendered


def base_texts(defs) -> tuple[str, str]:
    """The ``base`` files: every DHCP host (hostsfile lines) and every DNS address (hosts
    lines) of ``defs``.  Definitions are immutable, so the texts of the last two rendered
    (before and after an operation) are kept: an apply and its rollback render, sync and
    verify the same definitions several times (30,000 hosts: about a second each)."""
    for known, texts in _RENDERED:
        if known is defs:
            return texts
    dhcp = "".join(f"{line}\n" for line in conf.dhcp_host_lines(defs))
    dns = "".join(text for text in conf.dns_host_files(defs).values())
    _RENDERED.insert(0, (defs, (dhcp, dns)))
    del _RENDERED[2:]
    return dhcp, dns


def read_hosts(path: Path) -> str:
    """The text of a host file; a missing one holds no host (empty files are pruned as
    tombstones, so "missing" and "empty" must mean the same)."""
    return read_file(path) or ""


def _entries(path: Path) -> list[str]:
    try:
        return [e for e in os.listdir(path) if not e.startswith(".")]
    except FileNotFoundError:
        return []


def servers_text(defs) -> str:
    """The servers file (``--servers-file``): the forwarders, which SIGHUP re-reads."""
    return "".join(f"{line}\n" for line in DNS.server_lines(defs))


def full_sync(layout: Layout, defs) -> bool:
    """Make each hostsdir hold exactly one ``base`` file with all of ``defs``' hosts (the layout
    at start and after every restart or SIGHUP; single-host updates then add one file per host
    beside it).  Returns whether anything changed, in which case a running dnsmasq needs a
    SIGHUP (a deleted file's records stay until then)."""
    changed = False
    dhcp, dns = base_texts(defs)
    writes = []
    if read_file(layout.servers_file) != servers_text(defs):
        writes.append((layout.servers_file, servers_text(defs)))
    for folder, text in ((layout.dhcp_hostsdir, dhcp), (layout.hostsdir, dns)):
        if read_hosts(folder / BASE) != text:  # no host and no file: nothing to write
            writes.append((folder / BASE, text))
    if writes:
        S.atomic_write_many(writes, mode=HOST_MODE)
        changed = True
    for folder in (layout.dhcp_hostsdir, layout.hostsdir):
        for entry in _entries(folder):
            if entry != BASE:
                S.remove(folder / entry)
                changed = True
    return changed


def check_full(layout: Layout, defs) -> str | None:
    """None when the hostsdirs hold exactly ``defs``' hosts in the full-sync layout, else what
    differs."""
    if read_file(layout.servers_file) != servers_text(defs):
        return f"{layout.servers_file} does not hold the definition's forwarders"
    dhcp, dns = base_texts(defs)
    for folder, text in ((layout.dhcp_hostsdir, dhcp), (layout.hostsdir, dns)):
        if read_hosts(folder / BASE) != text:
            return f"{folder / BASE} does not hold the definition's hosts"
        extra = [e for e in _entries(folder) if e != BASE]
        if extra:
            return f"{folder} holds stray files: {', '.join(sorted(extra)[:3])}"
    return None


def read_file(path: Path) -> str | None:
    try:
        data = read_file_bytes(path)
        return None if data is None else data.decode("utf-8")
    except (OSError, StateError, UnicodeError):
        return None


def prune_tombstones(layout: Layout) -> None:
    """Remove empty DNS host files; only safe right before dnsmasq re-reads everything."""
    try:
        entries = list(os.scandir(layout.hostsdir))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_file() and entry.stat().st_size == 0:
            S.remove(entry.path)


# ---------------------------------------------------------------------- the process
def _cmdline(pid: int) -> list[str] | None:
    """The command line of ``pid``; None when there is no such process or it is a zombie.  A
    process's command line reads empty as soon as it starts exiting, before it closed its
    sockets: only its state says it is done (a dnsmasq started next could not bind)."""
    args = procs.cmdline(pid)
    return args if args is not None and procs.living(procs.stat(pid)) else None


class Progress:
    """Called, says whether process ``pid`` used CPU since the last call (or since it was
    made): a dnsmasq reading thousands of hosts is working, not hung."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.ticks = cpu_ticks(pid)

    def __call__(self) -> bool:
        ticks = cpu_ticks(self.pid)
        worked = ticks is not None and self.ticks is not None and ticks > self.ticks
        self.ticks = ticks
        return worked


def cpu_ticks(pid: int | None) -> int | None:
    """User plus system CPU time of ``pid`` in clock ticks (None: no such process)."""
    fields = procs.stat(pid) if pid else None
    return None if fields is None else int(fields[11]) + int(fields[12])   # utime, stime


_WATCHED: dict[tuple[int, str], int] = {}   # (pid, conf) -> pidfd of a dnsmasq found running
WATCH_MAX = 64


def alive(pid: int | None, conf_path: Path | str) -> bool:
    """True when ``pid`` is a running dnsmasq started with this conf file (not a recycled pid).
    A dnsmasq found running is then watched through a pidfd, which proves that the pid still
    is that process: asked again, ``alive`` reads only its state, not its command line (0.1 ms
    of every live update, twice).  A process that started exiting is not running, although its
    pidfd turns readable only once it has exited."""
    if not pid:
        return False
    key = (pid, os.fspath(conf_path))
    watched = _WATCHED.pop(key, None)
    if watched is not None:
        if not _exited(watched) and procs.running(procs.stat(pid)):
            _WATCHED[key] = watched
            return True
        os.close(watched)   # exiting or gone: looked at again below
    fd = _pidfd(pid)   # opened first: still running after the look at /proc, it is that process
    args = _cmdline(pid)
    running = bool(args) and os.path.basename(args[0]) == DNSMASQ \
        and f"--conf-file={conf_path}" in args
    if fd is not None:
        running = running and not _exited(fd)
        if running and len(_WATCHED) >= WATCH_MAX:
            _forget_exited()
        if running and len(_WATCHED) < WATCH_MAX:
            _WATCHED[key] = fd
        else:
            os.close(fd)
    return running


def _forget_exited() -> None:
    """Stop watching the processes that have exited (nobody asked about them since)."""
    for key, fd in list(_WATCHED.items()):
        if _exited(fd):
            del _WATCHED[key]
            os.close(fd)


def _pidfd(pid: int) -> int | None:
    """A pidfd of ``pid`` (close-on-exec), or None (no such process, or no pidfd_open here)."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _exited(pidfd: int) -> bool:
    import select
    return bool(select.select([pidfd], [], [], 0)[0])


def read_pid(layout: Layout) -> int | None:
    text = S.read_text(layout.pid_file)
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def start(layout: Layout, *, netns: str | None = None) -> int:
    """Start dnsmasq (it daemonises once it is ready) and return its pid."""
    exe = require_binary()
    S.remove(layout.pid_file)
    NS.run([exe, f"--conf-file={layout.conf}"], netns=netns, timeout=15)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pid = read_pid(layout)
        if pid and alive(pid, layout.conf):
            return pid
        time.sleep(0.005)
    raise RuntimeFailure(f"dnsmasq did not start (no live pid in {layout.pid_file})")


def stop(pid: int | None, conf_path: Path | str, *, grace: float = TERM_GRACE,
         timeout: float = 3.0) -> bool:
    """Stop our dnsmasq (SIGTERM, then SIGKILL after ``grace`` seconds: a dnsmasq still
    reading its host files handles no signal until it is done, seconds with many hosts);
    False when it was not running."""
    if not alive(pid, conf_path):
        return False
    working = Progress(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline - grace * 0.8:   # a first look: gone, or busy reading?
        if _cmdline(pid) is None:
            return True
        time.sleep(0.005)
    if working():       # still working after the SIGTERM: it is reading its hosts, and
        deadline = 0.0  # handles the signal only when done (seconds with many hosts)
    while time.monotonic() < deadline:
        if _cmdline(pid) is None:
            return True
        time.sleep(0.005)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _cmdline(pid) is not None:
        time.sleep(0.005)
    if _cmdline(pid) is not None:
        raise RuntimeFailure(f"dnsmasq {pid} does not die")
    return True


def sighup(pid: int, conf_path: Path | str, layout: Layout | None = None) -> None:
    if not alive(pid, conf_path):
        raise RuntimeFailure(f"dnsmasq {pid} is not running")
    if layout is not None:
        prune_tombstones(layout)
    os.kill(pid, signal.SIGHUP)
