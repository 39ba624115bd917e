"""Stopping a dnsmasq that is still reading its hosts (``dnsmasqd.stop``): it handles no signal
until it is done (seconds with many hosts), so it is killed at once rather than after the
SIGTERM grace; an idle one that does not end gets the grace.  Real processes (named dnsmasq,
ignoring SIGTERM), the waits on a fake clock."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netupdate.live.embedded.runtime import dnsmasqd as DQ

BUSY = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass\n"
IDLE = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"


class Clock:
    """time.monotonic/sleep where sleeping moves the clock (and lets the process run)."""

    def __init__(self):
        import time
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


def test_a_zombie_is_not_alive(tmp_path):
    """A dnsmasq that exited but was not reaped yet is not running (its command line reads
    empty), and one still running with our conf is."""
    import time
    conf = tmp_path / "dnsmasq.conf"
    proc = subprocess.Popen(["bash", "-c", f'exec -a dnsmasq "$0" -c "$1" --conf-file={conf}',
                             sys.executable, IDLE])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not DQ.alive(proc.pid, conf):
            time.sleep(0.01)
        assert DQ.alive(proc.pid, conf)
        proc.kill()
        while time.monotonic() < deadline and DQ._cmdline(proc.pid) is not None:
            time.sleep(0.01)   # a zombie until reaped below
        with open(f"/proc/{proc.pid}/stat") as handle:
            assert handle.read().rsplit(")", 1)[1].split()[0] == "Z"
        assert not DQ.alive(proc.pid, conf)
    finally:
        proc.kill()
        proc.wait()


def test_a_running_dnsmasq_is_watched_and_its_exit_seen(tmp_path, monkeypatch):
    """Found running once, a dnsmasq is watched through a pidfd: asked again, ``alive`` reads
    no /proc file; once it exited (a zombie not reaped yet), it is not alive, and no longer
    watched; another conf file is never taken for it."""
    import time
    conf = tmp_path / "dnsmasq.conf"
    proc = subprocess.Popen(["bash", "-c", f'exec -a dnsmasq "$0" -c "$1" --conf-file={conf}',
                             sys.executable, IDLE])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not DQ.alive(proc.pid, conf):
            time.sleep(0.01)
        real = DQ._cmdline
        with monkeypatch.context() as patched:
            patched.setattr(DQ, "_cmdline", lambda pid: pytest.fail("read /proc again"))
            assert DQ.alive(proc.pid, conf) and DQ.alive(proc.pid, str(conf))
        assert not DQ.alive(proc.pid, tmp_path / "other.conf")
        proc.kill()
        while time.monotonic() < deadline and real(proc.pid) is not None:
            time.sleep(0.01)
        assert not DQ.alive(proc.pid, conf)                 # exited, not yet reaped
        assert (proc.pid, str(conf)) not in DQ._WATCHED
    finally:
        proc.kill()
        proc.wait()
