"""SIGTERM and SIGINT end a long command within about a second, cleanly: one line, the
documented exit code, nothing changed, the network lock released.

The inputs are generated; the bound checked (5 s) is functional, not a speed target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_bounds import network

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "//*[count(//*[count(//*) > 0]) > 0]"


def start(*argv, env=None):
    return subprocess.Popen([sys.executable, "-m", "netupdate", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def stop(proc, signum, after: float) -> tuple[int, str, float]:
    time.sleep(after)
    assert proc.poll() is None, "the command ended before the signal"
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err, time.monotonic() - sent


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.xml"
    path.write_text(network(hosts=100_000))
    return path


@pytest.mark.parametrize("signum,code,word", [(signal.SIGTERM, 143, "terminated"),
                                              (signal.SIGINT, 130, "interrupted")])
def test_validate_stops_at_once(big, signum, code, word):
    returncode, err, took = stop(start("validate", str(big)), signum, 1.0)
    assert took < 5 and returncode == code, (took, returncode, err)
    assert err.strip() == f"netupdate: {word}"


def test_edit_in_place_stops_and_leaves_the_file_alone(big, tmp_path):
    path = tmp_path / "net.xml"
    path.write_bytes(big.read_bytes())
    before = path.read_bytes()
    proc = start("edit", str(path), "add", "ip-dhcp-host",
                 "<host mac='52:54:00:ff:00:42' name='new1' ip='10.250.0.42'/>", "--in-place")
    returncode, err, took = stop(proc, signal.SIGTERM, 1.0)
    assert took < 5 and returncode == 143, (took, returncode, err)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["net.xml"]


def test_a_hostile_node_spec_stops_on_sigterm_and_releases_the_lock(tmp_path):
    env = {"NETUPDATE_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir(mode=0o755)
    source = tmp_path / "net.xml"
    source.write_text(network(hosts=2000))
    assert start("define", str(source), env=env).wait(timeout=60) == 0
    dumped = start("dumpxml", "big", "--inactive", env=env).communicate(timeout=60)[0]
    proc = start("update", "big", "delete", "--node-spec", HOSTILE, "--config", env=env)
    returncode, err, took = stop(proc, signal.SIGTERM, 0.7)
    assert took < 5 and returncode in (130, 143), (took, returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert start("dumpxml", "big", "--inactive", env=env).communicate(timeout=60)[0] == dumped
    other = start("update", "big", "add", "ip-dhcp-host",
                  "<host mac='52:54:00:ff:00:42' name='new1' ip='10.250.0.42'/>", "--config",
                  env=env)
    assert other.wait(timeout=30) == 0, other.communicate()


def test_apply_of_a_big_definition_stops_on_sigterm(tmp_path):
    env = {"NETUPDATE_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir(mode=0o755)
    big = tmp_path / "big.xml"
    big.write_text(network(hosts=40_000))
    assert start("define", str(big), env=env).wait(timeout=120) == 0
    dumped = start("dumpxml", "big", "--inactive", env=env).communicate(timeout=120)[0]
    desired = tmp_path / "desired.xml"
    desired.write_text(big.read_text().replace("name='vm7'", "name='renamed7'"))
    proc = start("apply", "big", str(desired), "--config", env=env)
    returncode, err, took = stop(proc, signal.SIGTERM, 1.0)
    # nothing is changed before the apply has read, validated and planned the definition:
    # until then a signal stops it at once
    assert took < 5 and returncode == 143, (took, returncode, err)
    assert "Traceback" not in err
    assert start("dumpxml", "big", "--inactive", env=env).communicate(timeout=120)[0] == dumped


def test_an_update_killed_during_a_costly_node_spec_releases_the_lock(tmp_path):
    env = {"NETUPDATE_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "state").mkdir(mode=0o755)
    source = tmp_path / "net.xml"
    source.write_text(network(hosts=2000))
    assert start("define", str(source), env=env).wait(timeout=60) == 0
    proc = start("update", "big", "delete", "--node-spec", HOSTILE, "--config", env=env)
    time.sleep(0.7)
    proc.kill()            # SIGKILL: no clean-up at all, the forked evaluation is orphaned
    proc.wait(timeout=10)
    other = start("update", "big", "add", "ip-dhcp-host",
                  "<host mac='52:54:00:ff:00:42' name='new1' ip='10.250.0.42'/>", "--config",
                  env=env)
    assert other.wait(timeout=60) == 0, other.communicate()


FORKED_CHILD = """
import os, signal, sys, time
{setup}
pid = os.fork()
if pid == 0:
    time.sleep(5)
    os._exit(0)
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
"""


@pytest.mark.parametrize("setup", [
    # the CLI's own handler (a forked helper, e.g. pyroute2's namespace worker, inherits it)
    "from netupdate import cli\ncli._CLI_PID[:] = [os.getpid()]\n"
    "signal.signal(signal.SIGTERM, cli._terminate)",
    # an operation's deferring handler
    "from netupdate.live.txn.interrupts import Interrupts\nInterrupts().__enter__()",
])
def test_a_forked_helper_ends_on_sigterm_quietly(setup):
    """A child forked while netupdate's handler is installed dies of SIGTERM as a plain process
    would: it neither raises "terminated" (printed as the CLI's own end) nor ignores it."""
    done = subprocess.run([sys.executable, "-c", FORKED_CHILD.format(setup=setup)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "True" and "terminated" not in done.stderr, done
