"""Stopping a dnsmasq that is still reading its hosts (``dnsmasqd.stop``): it handles no signal
until it is done (seconds with many hosts), so it is killed at once rather than after the
SIGTERM grace; an idle one that does not end gets the grace.  Real processes (named dnsmasq,
ignoring SIGTERM), the waits on a fake clock."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import pytest

from netupdate.live import procs
from netupdate.live.embedded.runtime import dnsmasqd as DQ

BUSY = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass\n"
IDLE = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"


class Clock:
    """time.monotonic/sleep where sleeping moves the clock (and lets the process run)."""

    def __init__(self):
        self.real, self.now = time, 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.real.sleep(seconds)


def _ignores_sigterm(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as handle:
        ignored = next(line for line in handle if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & 1 << 14)


@pytest.mark.parametrize("program, killed_within_grace", [(BUSY, True), (IDLE, False)])
def test_a_dnsmasq_reading_its_hosts_is_killed_without_waiting(tmp_path, monkeypatch, program,
                                                                killed_within_grace):
    conf = tmp_path / "dnsmasq.conf"
    proc = subprocess.Popen(["bash", "-c", f'exec -a dnsmasq "$0" -c "$1" --conf-file={conf}',
                             sys.executable, program])
    try:
        clock = Clock()
        while not (DQ.alive(proc.pid, conf) and _ignores_sigterm(proc.pid)):
            clock.real.sleep(0.01)
        monkeypatch.setattr(DQ, "time", clock)
        assert DQ.stop(proc.pid, conf) is True
        assert proc.wait(timeout=10) == -9               # SIGTERM was ignored: SIGKILL
        assert (clock.now < DQ.TERM_GRACE) is killed_within_grace, clock.now
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def _running_fake(conf):
    """A process that looks like our dnsmasq (its name, ``--conf-file=conf``), once ``alive``
    says so; killed and reaped afterwards."""
    proc = subprocess.Popen(["bash", "-c", f'exec -a dnsmasq "$0" -c "$1" --conf-file={conf}',
                             sys.executable, IDLE])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not DQ.alive(proc.pid, conf):
            time.sleep(0.01)
        assert DQ.alive(proc.pid, conf)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _until_zombie(proc) -> None:
    """Kill ``proc`` and wait until it exited (a zombie: not reaped until ``_running_fake``
    ends)."""
    proc.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and DQ._cmdline(proc.pid) is not None:
        time.sleep(0.01)
    with open(f"/proc/{proc.pid}/stat") as handle:
        assert handle.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_zombie_is_not_alive(tmp_path):
    """A dnsmasq that exited but was not reaped yet is not running (its command line reads
    empty), and one still running with our conf is."""
    conf = tmp_path / "dnsmasq.conf"
    with _running_fake(conf) as proc:
        _until_zombie(proc)
        assert not DQ.alive(proc.pid, conf)


def test_a_running_dnsmasq_is_watched_and_its_exit_seen(tmp_path, monkeypatch):
    """Found running once, a dnsmasq is watched through a pidfd: asked again, ``alive`` does
    not read its command line again; once it exited (a zombie not reaped yet), it is not alive
    and no longer watched; another conf file is never taken for it."""
    conf = tmp_path / "dnsmasq.conf"
    with _running_fake(conf) as proc:
        with monkeypatch.context() as patched:
            patched.setattr(DQ, "_cmdline", lambda pid: pytest.fail("read its command line"))
            assert DQ.alive(proc.pid, conf) and DQ.alive(proc.pid, str(conf))
        assert not DQ.alive(proc.pid, tmp_path / "other.conf")
        _until_zombie(proc)
        assert not DQ.alive(proc.pid, conf)
        assert (proc.pid, str(conf)) not in DQ._WATCHED


def test_a_dying_dnsmasq_is_not_alive_before_it_exited(tmp_path, monkeypatch):
    """A watched dnsmasq that started exiting (its pidfd not yet readable: the kernel shows
    PF_EXITING in /proc/PID/stat and an empty command line) is not running, as it was not
    before it was watched: a killed dnsmasq is seen at once."""
    conf = tmp_path / "dnsmasq.conf"
    with _running_fake(conf) as proc:
        real = procs.stat

        def exiting(pid):
            fields = real(pid)
            fields[6] = str(int(fields[6]) | procs.PF_EXITING).encode()
            return fields
        monkeypatch.setattr(procs, "stat", exiting)
        monkeypatch.setattr(DQ, "_cmdline", lambda pid: [])
        assert not DQ.alive(proc.pid, conf)
        assert (proc.pid, str(conf)) not in DQ._WATCHED


def test_the_watch_forgets_exited_processes_when_full(tmp_path, monkeypatch):
    """A long-lived process watches the dnsmasqs it met, also ones nobody asks about after
    they exit: once the watch is full, those are forgotten to make room."""
    monkeypatch.setattr(DQ, "_WATCHED", {})
    monkeypatch.setattr(DQ, "WATCH_MAX", 2)
    for number in range(2):
        with _running_fake(tmp_path / f"{number}.conf") as proc:
            _until_zombie(proc)
    assert len(DQ._WATCHED) == 2                 # exited, never asked about again
    conf = tmp_path / "last.conf"
    with _running_fake(conf) as proc:
        assert list(DQ._WATCHED) == [(proc.pid, str(conf))]
