"""Live tier: SIGTERM during a live ``apply`` that restarts dnsmasq on a big-ish network.

The command ends with exit 143 and one line; the network is back as it was (same live
definition, active, no drift, no journal), and the lock is free: the next update goes through.
The time it takes is measured by benchmarks/bench_interrupt.py (30,000 hosts), not here."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from txnhelp import cli_env

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_live import network_xml  # noqa: E402

HOSTS = 5000


def cli(env, *argv):
    return subprocess.run([sys.executable, "-m", "netupdate", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("at", ["apply", "verify"])
def test_sigterm_during_a_dnsmasq_restart_rolls_back_and_frees_the_lock(state_dir, netns,
                                                                        tmp_path, at):
    env = cli_env(state_dir)
    xml = network_xml("big", "nubr-int", HOSTS)
    (tmp_path / "net.xml").write_text(xml)
    desired = tmp_path / "desired.xml"
    desired.write_text(xml.replace("<forward mode='nat'/>",
                                   "<forward mode='nat'/>\n  <domain name='big.test'/>"))
    assert cli(env, "define", str(tmp_path / "net.xml")).returncode == 0
    assert cli(env, "start", "big", "--netns", netns).returncode == 0
    before = cli(env, "dumpxml", "big").stdout
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", "apply", "big", str(desired),
                             "--json"], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    signalled = False
    for line in proc.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "step" and event.get("step") == at and not signalled:
            proc.send_signal(signal.SIGTERM)
            signalled = True
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 143 and signalled, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert cli(env, "dumpxml", "big").stdout == before
    status = json.loads(cli(env, "status", "big", "--json").stdout)
    assert status["active"] and not status["diverged"] and not status["problems"], status
    assert not (Path(state_dir) / "run" / "journal" / "big.json").exists()
    probe = cli(env, "update", "big", "add", "dns-host",
                "<host ip='10.75.0.9'><hostname>probe</hostname></host>", "--live")
    assert probe.returncode == 0, probe.stderr
    assert cli(env, "stop", "big").returncode == 0
