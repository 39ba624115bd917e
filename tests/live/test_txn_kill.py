"""Live tier: SIGKILL at random points of update, apply, batch, commit and rollback.

After every kill: the persistent definition parses and is byte for byte the old or the new one,
and ``recover`` brings the live state in line (live = persistent definition, no journal left, no
stray dnsmasq, bridge/routes/firewall/dnsmasq conf and host files as defined, DNS answers).

The operations run in children of a fork server that imported netupdate once (killserver.py),
so a kill point costs milliseconds, not a Python start-up; a few kill the real command line.
The delay of each kill is random over the operation's usual duration (a fixed seed per run is
printed, ``NETUPDATE_KILL_SEED`` replays one)."""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter

import pytest
from txnhelp import (
    NAME,
    NET,
    ForkServer,
    assert_in_line,
    cli_env,
    files,
    gone,
    kill_group,
    wait_for,
)

import netupdate
from netupdate.edit.batch import parse_batch
from netupdate.live.txn.journal import read_journal
from netupdate.live.txn.snapshots import read_snapshot

pytestmark = pytest.mark.live

KILLS = {"update": 55, "apply": 45, "batch": 40, "commit": 30, "rollback": 35}
CLI_KILLS = 12                     # + real command lines killed: 217 kill points in all


# ---------------------------------------------------------------------- the operations
HOST42 = "<host ip='10.71.0.42'><hostname>answer</hostname></host>"
DHCP33 = "<host mac='52:54:00:71:00:33' name='dhcp33' ip='10.71.0.33'/>"


def _txt(text: str) -> str:
    return text.split("<txt name='motd' value='")[1].split("'")[0]


def update_op(current: str, rng: random.Random) -> dict:
    kind = rng.choice(["dns-host", "dns-txt", "bridge", "ip-dhcp-host"])
    if kind == "dns-host":
        if "10.71.0.42" in current:
            return {"command": "delete", "section": "dns-host", "xml": "<host ip='10.71.0.42'/>"}
        return {"command": "add", "section": "dns-host", "xml": HOST42}
    if kind == "dns-txt":
        return {"command": "modify", "section": "dns-txt",
                "xml": f"<txt name='motd' value='u{rng.randrange(10**6)}'/>"}
    if kind == "bridge":
        stp = "off" if "stp='on'" in current else "on"
        return {"command": "modify", "section": "bridge",
                "xml": f"<bridge name='nubr-txn' stp='{stp}' delay='0'/>"}
    if "52:54:00:71:00:33" in current:
        return {"command": "delete", "section": "ip-dhcp-host",
                "xml": "<host mac='52:54:00:71:00:33'/>"}
    return {"command": "add", "section": "ip-dhcp-host", "xml": DHCP33}


def desired_docs() -> list[str]:
    changed = NET.replace("value='first'", "value='applied'").replace("stp='off'", "stp='on'") \
        .replace("<host ip='10.71.0.7'>", HOST42 + "\n    <host ip='10.71.0.7'>")
    isolated = NET.replace("  <forward mode='nat'/>\n", "")
    hosts = NET.replace("<host mac='52:54:00:71:00:05' name='five' ip='10.71.0.5'/>",
                        "<host mac='52:54:00:71:00:05' name='five' ip='10.71.0.55'/>\n"
                        "      " + DHCP33)
    return [NET, changed, isolated, hosts]


def batch_text(current: str, rng: random.Random) -> str:
    forward = "b1.txn" not in current and "<hostname>b1<" not in current
    lines = []
    for n in range(1, 21):
        if forward:
            lines.append(f"add dns-host <host ip='10.71.0.{200 + n}'><hostname>b{n}</hostname>"
                         "</host>")
        else:
            lines.append(f"delete dns-host <host ip='10.71.0.{200 + n}'/>")
    lines.insert(rng.randrange(len(lines)),
                 f"modify dns-txt <txt name='motd' value='b{rng.randrange(10**6)}'/>")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- the test
@pytest.fixture
def server():
    srv = ForkServer()
    yield srv
    srv.close()


def test_sigkill_at_random_points_then_recover(conn, netns, state_dir, server, tmp_path):
    seed = int(os.environ.get("NETUPDATE_KILL_SEED", random.randrange(2**32)))
    print(f"kill-point seed: {seed}")
    rng = random.Random(seed)
    conn.define(NET)
    conn.start(NAME)
    docs = desired_docs()
    plan = [op for op, count in KILLS.items() for _ in range(count)]
    rng.shuffle(plan)
    durations: dict[str, list[float]] = {}
    stats: Counter = Counter()
    out = tmp_path / "outcome.json"

    def request(op: str, current: str) -> tuple[dict, bytes | None]:
        """The request for ``op`` and the persistent definition it leads to (computed with the
        engine on a copy; None for commit and rollback)."""
        req = {"op": op, "state_dir": state_dir, "netns": netns, "name": NAME,
               "out": str(out)}
        network = netupdate.load(current)
        if op == "update":
            req.update(update_op(current, rng))
            network.update(req["command"], req["section"], req["xml"])
        elif op == "apply":
            req["xml"] = rng.choice([d for d in docs if d != current])
            return req, req["xml"].encode()
        elif op == "batch":
            req["text"] = batch_text(current, rng)
            for item in parse_batch(req["text"]):
                network.update(item.command, item.section, item.xml)
        else:
            return req, None
        return req, network.to_bytes()

    def prepare(op: str) -> tuple[bytes, bytes | None]:
        """For commit and rollback, open a change and change something first (not killed)."""
        before = files(conn)[0]
        conn.change_start(NAME)
        upd = update_op(before.decode(), rng)
        conn.update(NAME, upd["command"], upd["section"], upd["xml"])
        return before, files(conn)[0]

    def run_uncut(op: str) -> float:
        current = files(conn)[0].decode()
        if op in ("commit", "rollback"):
            prepare(op)
        req, _ = request(op, current)
        if out.exists():
            out.unlink()
        started = time.monotonic()
        pid = server.spawn(req)
        assert wait_for(lambda: gone(pid), 60)
        took = time.monotonic() - started
        outcome = json.loads(out.read_text())
        assert outcome["ok"], outcome
        assert_in_line(conn, netns)
        return took

    # calibration: each operation once uncut, to know how long it runs
    for op in KILLS:
        durations[op] = [run_uncut(op)]

    started_all = time.monotonic()
    for number, op in enumerate(plan):
        old = files(conn)[0]
        if op in ("commit", "rollback"):
            pre_change, changed = prepare(op)
            old = changed
            new = changed if op == "commit" else pre_change
            req, _ = request(op, old.decode())
        else:
            req, new = request(op, old.decode())
        if out.exists():
            out.unlink()
        # uniform over the operation's usual run (the median of its finished runs; one slow
        # run must not send most kills after the end: a fast operation's journal is open for
        # a millisecond or two), and a little beyond
        span = statistics.median(durations[op]) * 1.3
        delay = rng.uniform(0, span)
        t0 = time.monotonic()
        pid = server.spawn(req)
        time.sleep(max(0.0, delay - (time.monotonic() - t0)))
        kill_group(pid)
        finished = out.exists()
        if finished:
            outcome = json.loads(out.read_text())
            assert outcome["ok"], (number, op, outcome)
            durations[op].append(time.monotonic() - t0)
        # the persistent definition parses and is the old or the new one
        config = files(conn)[0]
        netupdate.load(config)
        if op == "commit":  # the config does not change; the open change may be rolled back
            assert config == old, (number, op)
        else:
            assert config in (old, new), (number, op)
        journal = read_journal(conn.store, NAME) is not None
        report = conn.recover()
        assert report.ok, (number, op, report.to_text())
        config = files(conn)[0]
        netupdate.load(config)
        if op == "rollback":
            assert config == new, (number, op, "rollback not completed by recover")
        elif op == "commit":
            assert config in (pre_change, changed), (number, op)
        else:
            assert config in (old, new), (number, op)
            if journal:
                assert config == old, (number, op, "a killed operation was not undone")
        assert read_snapshot(conn.store, NAME) is None
        assert_in_line(conn, netns)
        stats["kills"] += 1
        stats[f"{op}:{'new' if config == new else 'old'}"] += 1
        stats["finished before the kill"] += finished
        stats["killed mid-operation (journal left)"] += journal
        stats["recover had work"] += any(w for _n, w, _ok in report.entries)
    elapsed = time.monotonic() - started_all
    print(f"{stats['kills']} kill points in {elapsed:.1f} s: {dict(sorted(stats.items()))}")
    assert stats["kills"] == sum(KILLS.values())
    assert stats["killed mid-operation (journal left)"] >= 20, stats
    assert stats["finished before the kill"] >= 10, stats
    assert stats["recover had work"] >= 20, stats


def test_sigkill_of_the_command_line(conn, netns, state_dir):
    """The real ``netupdate update`` process (and its children) killed at random moments."""
    seed = int(os.environ.get("NETUPDATE_KILL_SEED", random.randrange(2**32)))
    print(f"kill-point seed: {seed}")
    rng = random.Random(seed)
    conn.define(NET)
    conn.start(NAME)
    env = cli_env(state_dir)
    for number in range(CLI_KILLS):
        old = files(conn)[0]
        upd = update_op(old.decode(), rng)
        proc = subprocess.Popen([sys.executable, "-m", "netupdate", "update", NAME,
                                 upd["command"], upd["section"], upd["xml"]],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.3, 1.2))
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        config = files(conn)[0]
        netupdate.load(config)
        report = conn.recover()
        assert report.ok, (number, report.to_text())
        after = files(conn)[0]
        assert after in (old, config), number
        assert_in_line(conn, netns)
