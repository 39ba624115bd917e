"""Live tier: a network starts in a state directory netupdate makes under umask 077, and a
state directory squatted by another user is refused before anything runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from asuser import as_user

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parent.parent.parent

NET = """<network>
  <name>umasknet</name>
  <bridge name='nubr-um' stp='off' delay='0'/>
  <dns><host ip='10.63.0.7'><hostname>seven</hostname></host></dns>
  <ip address='10.63.0.1' prefix='24'>
    <dhcp><range start='10.63.0.100' end='10.63.0.150'/></dhcp>
  </ip>
</network>
"""


@pytest.fixture
def parent():
    path = Path(tempfile.mkdtemp(prefix="nu-parent-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def cli(state: Path, *argv: str, umask: int = 0o077) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NETUPDATE_STATE_DIR=str(state))
    return subprocess.run([sys.executable, "-m", "netupdate", *argv], env=env, text=True,
                          capture_output=True, preexec_fn=lambda: os.umask(umask),
                          timeout=120)


def test_start_works_under_umask_077(parent, netns, tmp_path):
    state = parent / "state"       # made by netupdate itself, under umask 077
    definition = tmp_path / "net.xml"
    definition.write_text(NET)
    for argv in (["define", str(definition)], ["start", "umasknet", "--netns", netns]):
        proc = cli(state, *argv)
        assert proc.returncode == 0, proc.stderr
    try:
        status = json.loads(cli(state, "status", "umasknet", "--json").stdout)
        assert status["state"] == "active", status
        modes = {rel: oct(os.stat(state / rel).st_mode & 0o777)
                 for rel in (".", "config", "run", "run/networks", "run/networks/umasknet",
                             "run/networks/umasknet/dns-hosts")}
        assert modes == {".": "0o755", "config": "0o700", "run": "0o755",
                         "run/networks": "0o755", "run/networks/umasknet": "0o755",
                         "run/networks/umasknet/dns-hosts": "0o755"}
    finally:
        proc = cli(state, "stop", "umasknet")
    assert proc.returncode == 0, proc.stderr


def test_a_squatted_state_dir_is_refused_before_anything_runs(parent, netns, tmp_path):
    """Issue 12's finding: a local user pre-creates the state dir with a sysctl ledger whose
    'previous' value would be written as root on stop; root's commands refuse the dir."""
    os.chmod(parent, 0o1777)
    state = parent / "nu-demo"
    victim = tmp_path / "victim"
    victim.write_text("root only")

    def squat():
        ledger = state / "run" / "sysctls" / f"netns-{netns}.json"
        ledger.parent.mkdir(parents=True)
        ledger.write_text(json.dumps({"users": [], "previous": {f"../..{victim}": "x"}}))
        ledger.chmod(0o777)
    assert as_user(squat) == (0, "")
    os.makedirs(state, mode=0o755, exist_ok=True)  # the README's mkdir -p
    definition = tmp_path / "net.xml"
    definition.write_text(NET)
    for argv in (["define", str(definition)], ["start", "umasknet", "--netns", netns],
                 ["stop", "umasknet"]):
        proc = cli(state, *argv, umask=0o022)
        assert proc.returncode == 6 and proc.stdout == "", proc
        assert proc.stderr.startswith("netupdate: error: refusing state directory: ")
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert victim.read_text() == "root only"
    assert subprocess.run(["ip", "-n", netns, "link", "show", "nubr-um"],
                          capture_output=True).returncode != 0
