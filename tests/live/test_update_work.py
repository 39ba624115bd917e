"""The work of one live DNS-host update, counted (the times are in benchmarks/bench_live.py):
how often it enters the network's namespace, when the definitions start going to disk, that no
thread helps, and that the name still answers from dnsmasq before the update returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netupdate.live.embedded.runtime import dnsquery
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.verify import query
from netupdate.store import atomic

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parent.parent.parent

NET = """<network>
  <name>work</name>
  <bridge name='nubr-work' stp='off' delay='0'/>
  <dns><host ip='10.64.0.7'><hostname>seven</hostname></host></dns>
  <ip address='10.64.0.1' prefix='24'><dhcp><range start='10.64.0.100' end='10.64.0.150'/>
  </dhcp></ip>
</network>
"""


def host(i: int) -> str:
    return f"<host ip='10.64.1.{i}'><hostname>fresh{i}</hostname></host>"


def test_a_repeated_update_enters_no_namespace_and_asks_dnsmasq_itself(conn, netns,
                                                                         monkeypatch):
    conn.define(NET)
    conn.start("work")
    conn.update("work", "add", "dns-host", host(1))        # warm: the sockets are made here
    calls, asked = [], []
    real_call, real_exchange = NS.call, dnsquery.exchange
    monkeypatch.setattr(NS, "call", lambda *a, **k: calls.append(a[1]) or real_call(*a, **k))

    def exchange(sock, server, name, rdtype, **kw):
        reply = real_exchange(sock, server, name, rdtype, **kw)
        asked.append((name, rdtype, reply[1]))
        return reply
    monkeypatch.setattr(dnsquery, "exchange", exchange)
    for i in range(2, 5):
        result = conn.update("work", "add", "dns-host", host(i))
        assert "dns" in result.checks
        # the answer that ended the verification is dnsmasq's, with the new address
        assert asked[-1] == (f"fresh{i}", "A", [f"10.64.1.{i}"])
    assert calls == []     # no thread hop: the pooled socket lives in the namespace
    assert real_call(netns, query, "10.64.0.1", "fresh4", "A")[1] == ["10.64.1.4"]


def test_the_definitions_go_to_disk_before_the_journal_and_in_place_after_it(conn,
                                                                              monkeypatch):
    from netupdate import store as ST
    from netupdate.live.txn import journal as J
    conn.define(NET)
    conn.start("work")
    events = []
    real_pending, real_journal, real_replace = ST.PendingWrites, J.write_journal, os.replace
    defs = {str(conn.store.config_path("work")), str(conn.store.live_path("work"))}

    class Pending(real_pending):
        def __init__(self, items, mode, **kw):
            events.append("temp files")
            super().__init__(items, mode, **kw)
    monkeypatch.setattr(ST, "PendingWrites", Pending)
    monkeypatch.setattr("netupdate.live.embedded.update.PendingWrites", Pending)
    monkeypatch.setattr(J, "write_journal", lambda *a, **k: events.append("journal")
                        or real_journal(*a, **k))
    monkeypatch.setattr(os, "replace", lambda src, dst, **k: (
        events.append("in place") if str(dst) in defs else None) or real_replace(src, dst, **k))
    real_swap = atomic._exchange

    def swap(one, other):
        swapped = real_swap(one, other)
        if swapped and str(other) in defs:
            events.append("in place")
        return swapped
    monkeypatch.setattr(atomic, "_exchange", swap)
    conn.update("work", "add", "dns-host", host(9))
    assert events == ["temp files", "journal", "in place", "in place"]


def test_a_host_add_runs_in_the_callers_thread_alone(conn, monkeypatch):
    """No Python thread takes part in a DNS host add (its fsyncs run in glibc's AIO threads,
    which hold no GIL, and overlap with dnsmasq's answer): on a small VM the GIL hand-offs with
    a Python writer thread cost the caller more than the writes."""
    conn.define(NET)
    conn.start("work")
    conn.update("work", "add", "dns-host", host(1))        # warm: the sockets are made here
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name)
                        or real_start(self))
    monkeypatch.setattr(atomic, "_pool", lambda: pytest.fail("a thread pool was used"))
    for i in range(2, 6):
        assert "dns" in conn.update("work", "add", "dns-host", host(i)).checks
    assert started == []
    assert conn.store.config_path("work").read_text().count("fresh") == 5


def test_the_command_line_update_enters_the_namespace_once(state_dir, netns):
    import netupdate
    conn = netupdate.connect(state_dir=state_dir, netns=netns)
    conn.define(NET)
    conn.start("work")
    code = ("import sys, json\n"
            "from netupdate.live.embedded.runtime import netns as NS\n"
            "entered = []\n"
            "real = NS._setns\n"
            "NS._setns = lambda fd: entered.append(fd) or real(fd)\n"
            "from netupdate.cli import main\n"
            f"rc = main(['update', 'work', 'add', 'dns-host', {host(5)!r}])\n"
            "sys.stderr.write(json.dumps([rc, len(entered)]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NETUPDATE_STATE_DIR": state_dir}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=state_dir)
    rc, entered = json.loads(proc.stderr.splitlines()[-1])
    assert (rc, entered) == (0, 1)
    assert NS.call(netns, query, "10.64.0.1", "fresh5", "A")[1] == ["10.64.1.5"]
    conn.stop("work")


def test_forgetting_a_namespace_closes_its_pooled_sockets(netns):
    with NS.udp_socket(netns) as sock:
        pass
    assert sock.fileno() >= 0
    with NS.udp_socket(netns) as again:
        assert again is sock              # reused, not made again
    NS.forget(netns)
    assert sock.fileno() == -1            # closed: it no longer keeps the namespace alive
    assert NS.link_index(netns, "lo") == 1 and NS.link_index(netns, "nubr-none") is None
