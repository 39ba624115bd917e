"""Live tier: SIGTERM during a live ``apply`` that restarts dnsmasq on a big-ish network.

The command ends with exit 143 and one line; the network is back as it was (same live
definition, active, no drift, no journal), and the lock is free: the next update goes through.
The time it takes is measured by benchmarks/bench_interrupt.py (30,000 hosts), not here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
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


# ---------------------------------------------------------------------- the work a signal costs
COUNTED = {"render": ("netupdate.render.dnsmasq", None, "dhcp_host_lines"),
           "parse": ("netupdate.model.defs", "NetworkDef", "from_element"),
           "dnsmasq start": ("netupdate.live.embedded.runtime.dnsmasqd", None, "start"),
           "dns query": ("netupdate.live.embedded.runtime.verify", None, "_failed")}


def _count(monkeypatch, phase: list[str], counts: Counter) -> None:
    """Count each call of the COUNTED functions, by the phase the operation was in."""
    import importlib
    import inspect
    for what, (module, cls, attr) in COUNTED.items():
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        raw = inspect.getattr_static(owner, attr)
        real = raw.__func__ if isinstance(raw, classmethod) else raw

        def counted(*args, _real=real, _what=what, **kwargs):
            counts[phase[0], _what] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(owner, attr, classmethod(counted) if isinstance(raw, classmethod)
                            else counted)


@pytest.mark.parametrize("at", ["apply", "verify"])
def test_what_a_signal_costs_is_bounded_by_work_not_by_the_size(conn, monkeypatch, at):
    """From the signal to the end of the rollback no host is rendered and no definition is
    read again.  A signal in the apply step (before dnsmasq is touched) restarts no dnsmasq;
    one in the verify step ends the DNS wait after one round of queries (dnsmasq is kept
    silent there, as one still reading its hosts), and the rollback starts the old dnsmasq
    once."""
    from netupdate.live.embedded.runtime import verify as V
    from netupdate.live.txn.interrupts import Interrupted
    xml = network_xml("big", "nubr-cnt", 2000)
    conn.define(xml)
    conn.start("big")
    before = conn.dumpxml("big")
    desired = xml.replace("<forward mode='nat'/>",
                          "<forward mode='nat'/>\n  <domain name='big.test'/>")
    phase, counts = ["before"], Counter()
    real = V._failed
    monkeypatch.setattr(V, "_failed", lambda *a: "no answer: Timeout" if phase[0] ==
                        "signalled" else real(*a))
    _count(monkeypatch, phase, counts)

    def progress(event):
        if event.get("event") == "step" and event.get("step") == at:
            phase[0] = "signalled"
            os.kill(os.getpid(), signal.SIGTERM)
        elif event.get("event") == "rollback":
            phase[0] = "rollback"
    # a SIGTERM the operation did not take must fail this test, not end pytest
    previous = signal.signal(signal.SIGTERM, lambda *_: phase.append("late"))
    try:
        with pytest.raises(Interrupted):
            conn.apply("big", desired, progress=progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert phase == ["rollback"], counts
    after = {(when, what): n for (when, what), n in counts.items() if when != "before"}
    for what in ("render", "parse"):
        assert not after.get(("signalled", what)) and not after.get(("rollback", what)), after
    starts = (after.get(("signalled", "dnsmasq start"), 0),
              after.get(("rollback", "dnsmasq start"), 0))
    assert starts == ((0, 0) if at == "apply" else (0, 1)), after
    assert after.get(("signalled", "dns query"), 0) <= 1, after
    monkeypatch.undo()
    assert conn.dumpxml("big") == before
    status = conn.status("big")
    assert status.active and not status.diverged, status
