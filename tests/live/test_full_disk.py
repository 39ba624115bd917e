"""Live tier: a full state directory (a small tmpfs) during start and update gives one error
line and exit code 3, leaves nothing behind, and ``recover`` puts the network in line once
there is room again."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile

import pytest
from txnhelp import NAME, NET, assert_in_line, cli

import netupdate
from netupdate.errors import EXIT_SYSTEM, NetupdateError, exit_code
from netupdate.live.txn.journal import read_journal

pytestmark = pytest.mark.live
PAGE = 4096


@pytest.fixture
def small_state_dir():
    path = tempfile.mkdtemp(prefix="nu-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k,mode=755", "tmpfs", path],
                   check=True)
    yield path
    subprocess.run(["umount", "-l", path], check=False)
    os.rmdir(path)


@contextlib.contextmanager
def full(state_dir: str, free_pages: int = 0):
    """The file system of ``state_dir`` filled up but for ``free_pages`` pages."""
    filler = os.path.join(state_dir, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * PAGE)
    finally:
        os.close(fd)
    size = os.path.getsize(filler)
    os.truncate(filler, max(0, size - free_pages * PAGE))
    try:
        yield
    finally:
        os.unlink(filler)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("netupdate: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_start_on_a_full_disk_is_one_line_and_creates_nothing(small_state_dir, netns, tmp_path):
    xml = tmp_path / "net.xml"
    xml.write_text(NET)
    cli(small_state_dir, "define", str(xml))
    with full(small_state_dir):
        proc = cli(small_state_dir, "start", NAME, "--netns", netns, check=False)
    assert proc.returncode == EXIT_SYSTEM
    assert "No space left on device" in one_error_line(proc)
    links = subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True,
                           text=True).stdout
    assert "nubr-txn" not in links
    conn = netupdate.connect(state_dir=small_state_dir)
    assert conn.store.read_record(NAME) is None
    cli(small_state_dir, "start", NAME, "--netns", netns)  # room again: it starts
    assert_in_line(conn, netns)
    cli(small_state_dir, "stop", NAME)
    conn.close()


UPDATES = [
    ("add", "dns-host", "<host ip='10.71.0.{n}'><hostname>h{n}</hostname></host>"),
    ("add", "ip-dhcp-host", "<host mac='52:54:00:71:01:{n:02x}' name='w{n}' ip='10.71.0.{n}'/>"),
    ("modify", "dns-txt", "<txt name='motd' value='v{n}'/>"),
    ("modify", "bridge", "<bridge name='nubr-txn' stp='{stp}' delay='0'/>"),
]


def _attempt(conn, n: int, command: str, section: str, template: str) -> None:
    """One update on a (nearly) full disk: it works, or fails with one line and exit 3."""
    text = template.format(n=n, stp="on" if n % 2 else "off")
    try:
        conn.update(NAME, command, section, text)
    except (NetupdateError, OSError) as exc:
        assert exit_code(exc) == EXIT_SYSTEM, exc
        assert "\n" not in str(exc) and "No space left on device" in str(exc)


def test_update_on_a_full_disk_is_one_line_and_leaves_no_journal(small_state_dir, netns,
                                                                 tmp_path):
    xml = tmp_path / "net.xml"
    xml.write_text(NET)
    cli(small_state_dir, "define", str(xml))
    cli(small_state_dir, "start", NAME, "--netns", netns)
    conn = netupdate.connect(state_dir=small_state_dir)
    before = conn.store.live_path(NAME).read_bytes()
    try:
        with full(small_state_dir):
            proc = cli(small_state_dir, "update", NAME, "add", "dns-host",
                       "<host ip='10.71.0.9'><hostname>nine</hostname></host>", check=False)
        assert proc.returncode == EXIT_SYSTEM
        assert one_error_line(proc).endswith("No space left on device; nothing was changed")
        assert read_journal(conn.store, NAME) is None
        journals = conn.store.run_dir / "journal"   # made by the first journal written
        assert not journals.exists() or not list(journals.iterdir())
        assert conn.store.live_path(NAME).read_bytes() == before
        assert_in_line(conn, netns)
    finally:
        cli(small_state_dir, "stop", NAME, check=False)
        conn.close()


def test_updates_on_a_nearly_full_disk_are_recoverable(small_state_dir, netns, tmp_path):
    """With the disk full or nearly (the journal fits, a later write may not), each kind of
    update works or fails with one line and exit 3; once there is room, ``recover`` leaves the
    network in line (live state = live definition = persistent definition).  Then several
    updates in a row on a full disk (each first tries to undo what the one before left)."""
    xml = tmp_path / "net.xml"
    xml.write_text(NET)
    cli(small_state_dir, "define", str(xml))
    cli(small_state_dir, "start", NAME, "--netns", netns)
    conn = netupdate.connect(state_dir=small_state_dir)
    n = 20
    try:
        for free_pages in (0, 1, 2, 3, 5, 8):
            for command, section, template in UPDATES:
                n += 1
                with full(small_state_dir, free_pages):
                    _attempt(conn, n, command, section, template)
                conn.recover()
                assert_in_line(conn, netns)
        with full(small_state_dir, 2):
            for command, section, template in UPDATES * 2:
                n += 1
                _attempt(conn, n, command, section, template)
        assert conn.recover().ok
        assert_in_line(conn, netns)
    finally:
        cli(small_state_dir, "stop", NAME, check=False)
        conn.close()


def test_filler_really_fills(small_state_dir):
    fd = os.open(os.path.join(small_state_dir, "x"), os.O_WRONLY | os.O_CREAT, 0o600)
    with full(small_state_dir), pytest.raises(OSError) as caught:
        os.write(fd, b"\0" * PAGE)
    os.close(fd)
    assert caught.value.errno == errno.ENOSPC
