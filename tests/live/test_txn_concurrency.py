"""Live tier: many processes updating one network at once.  Every update lands (none lost), and
a reader polling the persistent definition meanwhile always finds a complete, valid file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from txnhelp import (
    NAME,
    NET,
    ROOT,
    ask,
    assert_in_line,
)

import netupdate

pytestmark = pytest.mark.live

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import netupdate
    state_dir, name, me, count, live = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
        int(sys.argv[4]), sys.argv[5] == "live"
    conn = netupdate.connect(state_dir=state_dir)
    for n in range(count):
        xml = (f"<host ip='10.{{100 + me}}.{{n // 250}}.{{n % 250 + 1}}'>"
               f"<hostname>p{{me}}-{{n}}</hostname></host>")
        conn.update(name, "add", "dns-host", xml, live=live or None, config=True)
    conn.close()
""")

READER = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    import netupdate
    path, stop = sys.argv[1], sys.argv[2]
    reads, counts, errors = 0, [], []
    while not os.path.exists(stop):
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            defs = netupdate.load(data).defs
            counts.append(len(defs.dns.hosts) if defs.dns else 0)
        except Exception as exc:
            errors.append(f"{{exc.__class__.__name__}}: {{exc}}"[:300])
        reads += 1
    print(json.dumps({{"reads": reads, "errors": errors[:5], "error_count": len(errors),
                      "monotonic": counts == sorted(counts), "last": counts[-1:]}}))
""")


def _run_writers(state_dir: str, tmp_path, procs: int, count: int, live: bool) -> dict:
    conn = netupdate.connect(state_dir=state_dir)
    path = str(conn.store.config_path(NAME))
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER.format(root=str(ROOT)), path,
                               str(stop)], stdout=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT)), state_dir,
                                 NAME, str(me), str(count), "live" if live else "config"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for me in range(procs)]
    failures = []
    for proc in writers:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures.append(err[-2000:])
    stop.write_text("")
    seen = json.loads(reader.communicate(timeout=60)[0])
    assert not failures, failures
    return seen


def test_eight_processes_hundred_updates_each_none_lost(state_dir, tmp_path):
    conn = netupdate.connect(state_dir=state_dir)
    conn.define(NET)
    seen = _run_writers(state_dir, tmp_path, 8, 100, live=False)
    assert seen["error_count"] == 0, seen["errors"]
    assert seen["reads"] > 100 and seen["monotonic"]
    defs = netupdate.load(conn.store.config_path(NAME)).defs
    names = {h for host in defs.dns.hosts for h in host.hostnames}
    expected = {f"p{me}-{n}" for me in range(8) for n in range(100)}
    assert expected <= names and len(defs.dns.hosts) == 800 + 1
    print(f"reader parsed the file {seen['reads']} times, always valid")


def test_concurrent_live_updates_all_land(conn, netns, state_dir, tmp_path):
    conn.define(NET)
    conn.start(NAME)
    seen = _run_writers(state_dir, tmp_path, 4, 25, live=True)
    assert seen["error_count"] == 0, seen["errors"]
    live = netupdate.load(conn.store.live_path(NAME)).defs
    names = {h for host in live.dns.hosts for h in host.hostnames}
    assert {f"p{me}-{n}" for me in range(4) for n in range(25)} <= names
    assert ask(netns, "p3-24") == ["10.103.0.25"]
    assert_in_line(conn, netns)
    os.sync()
