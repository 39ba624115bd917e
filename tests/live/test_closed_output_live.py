"""Live tier, issue 13: output problems never change an outcome.  Each command runs with its
stdout (or stderr) a pipe whose reader is already gone (``netupdate ... | head -c 0``): the
operation still completes, live and persisted, and the command exits 141 (it worked; its output
was lost), without a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from txnhelp import DEFAULT, assert_in_line, cli, cli_env, files

from netupdate.live.txn.snapshots import read_snapshot

pytestmark = pytest.mark.live

HOST = "<host mac='52:54:00:00:14:{n:02x}' name='out{n}' ip='192.168.122.{n}'/>"


def run_closed(state_dir: str, *args: str, closed: str = "stdout") -> subprocess.CompletedProcess:
    """Run the CLI with ``closed`` (stdout or stderr) a pipe nobody reads any more."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", *args], env=cli_env(state_dir),
                            stdin=subprocess.DEVNULL, text=True, **pipes)
    getattr(proc, closed).close()  # the reader goes away before the command writes anything
    other = proc.stderr if closed == "stdout" else proc.stdout
    text = other.read()
    proc.wait(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, text, "")


@pytest.fixture
def default(conn, netns, state_dir):
    name = conn.define(DEFAULT)
    conn.start(name)
    return conn, name


def _in_line_with(conn, netns, name: str, *needles: bytes) -> None:
    config, live = files(conn, name)
    for needle in needles:
        assert needle in config and needle in live, needle
    assert_in_line(conn, netns, name, dns=False)


def test_batch_json(default, netns, state_dir, tmp_path):
    conn, name = default
    batch = tmp_path / "batch"
    batch.write_text("".join(f"add ip-dhcp-host {HOST.format(n=n)}\n" for n in (10, 11, 12)))
    proc = run_closed(state_dir, "update", name, "--batch", str(batch), "--json")
    _in_line_with(conn, netns, name, b"out10", b"out12")  # not rolled back
    assert proc.returncode == 141, proc.stdout
    assert "Traceback" not in proc.stdout and "Exception ignored" not in proc.stdout


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_update(default, netns, state_dir, closed):
    conn, name = default
    proc = run_closed(state_dir, "update", name, "add", "ip-dhcp-host", HOST.format(n=20),
                      closed=closed)
    if closed == "stdout":
        assert proc.returncode == 141, proc.stdout
        assert "Traceback" not in proc.stdout and "Exception ignored" not in proc.stdout
    else:  # nothing goes to stderr on success: nothing was lost
        assert proc.returncode == 0 and "network default" in proc.stdout, proc.stdout
    _in_line_with(conn, netns, name, b"out20")


def test_a_failure_with_stderr_closed_still_exits_1_and_changes_nothing(default, netns,
                                                                          state_dir):
    conn, name = default
    before = files(conn, name)
    proc = run_closed(state_dir, "update", name, "delete", "ip-dhcp-host",
                      "<host mac='52:54:00:00:14:01' name='absent' ip='192.168.122.99'/>",
                      closed="stderr")
    assert proc.returncode == 1
    assert files(conn, name) == before
    assert_in_line(conn, netns, name, dns=False)


def test_apply(default, netns, state_dir, tmp_path):
    conn, name = default
    target = tmp_path / "desired.xml"
    target.write_text(DEFAULT.replace("</dhcp>", HOST.format(n=30) + "</dhcp>"))
    proc = run_closed(state_dir, "apply", name, str(target))
    assert proc.returncode == 141, proc.stdout
    _in_line_with(conn, netns, name, b"out30")


def test_change_commit(default, netns, state_dir):
    conn, name = default
    cli(state_dir, "change", "start", name, "--rollback-after", "60")
    cli(state_dir, "update", name, "add", "ip-dhcp-host", HOST.format(n=40))
    proc = run_closed(state_dir, "change", "commit", name)
    assert proc.returncode == 141, proc.stdout
    assert read_snapshot(conn.store, name) is None
    assert conn.change_status(name).state == "committed"
    _in_line_with(conn, netns, name, b"out40")
