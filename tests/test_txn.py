"""Transactions without a live network: snapshot store, journal, timer, batches, reverse plans,
Ctrl-C, recover, apply and the change verbs on persistent definitions (the live tier is
tests/live/test_txn*.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import netupdate
from netupdate.edit.batch import BatchError, BatchUpdate, as_batch, parse_batch
from netupdate.errors import InvalidOperationError, StateError, mark_restored, restored
from netupdate.live.connect import connect
from netupdate.live.procs import cmdline
from netupdate.live.results import UpdateResult
from netupdate.live.txn import journal as journal_module
from netupdate.live.txn.checks import Check, as_check, make_check, parse_hostport, probe
from netupdate.live.txn.interrupts import Interrupted, Interrupts, checkpoint
from netupdate.live.txn.journal import (
    drop_journal,
    journaled,
    kept_live_path,
    read_journal,
    write_journal,
)
from netupdate.live.txn.snapshots import (
    SNAPSHOT_VERSION,
    Snapshot,
    drop_snapshot,
    read_outcome,
    read_snapshot,
    reverse_plan,
    write_outcome,
    write_snapshot,
)
from netupdate.live.txn.state import (
    boot_id,
    clean_temps,
    journal_names,
    journal_path,
    pid_alive,
    snapshot_names,
    snapshot_path,
    timer_log_path,
)

ROOT = Path(__file__).resolve().parent.parent

NET = """<network>
  <name>cfg</name>
  <uuid>9d3c1e7a-5b2f-4e61-8a0d-3c4b5a6f7e01</uuid>
  <forward mode='nat'/>
  <bridge name='nubr-cfg' stp='off' delay='0'/>
  <dns>
    <txt name='motd' value='first'/>
  </dns>
  <ip address='10.81.0.1' prefix='24'>
    <dhcp>
      <range start='10.81.0.100' end='10.81.0.150'/>
    </dhcp>
  </ip>
</network>
"""


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture
def conn(state_dir):
    with connect(state_dir=state_dir) as connection:
        connection.define(NET)
        yield connection


def config(conn) -> bytes:
    return conn.store.config_path("cfg").read_bytes()


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def cli(state_dir, *args, check=True, **kwargs):
    env = {**os.environ, "NETUPDATE_STATE_DIR": state_dir,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                         if p)}
    proc = subprocess.run([sys.executable, "-m", "netupdate", *args], capture_output=True,
                          text=True, env=env, **kwargs)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


# ---------------------------------------------------------------------- snapshot store
def test_snapshot_round_trip_and_file_format(tmp_path):
    store = netupdate.connect(state_dir=tmp_path).store
    snap = Snapshot(network="n1", token="abc123", created=1700000000.5, boot_id="boot",
                    config=b"<network><name>n1</name></network>\n",
                    live="<network><name>n1</name><!-- \xe9 --></network>".encode("latin-1"),
                    record={"netns": "ns1", "bridge": {"name": "br0"}}, autostart=True,
                    autostart_netns="ns1", deadline=1700000060.0,
                    check=Check("tcp", "10.0.0.1:22", 2.0), timer={"pid": 4242},
                    owner=99)
    write_snapshot(store, snap)
    path = snapshot_path(store, "n1")
    assert path == store.config_dir / "transactions" / "n1.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    data = json.loads(path.read_text())
    assert data["version"] == SNAPSHOT_VERSION and data["token"] == "abc123"
    assert data["config"] == {"text": "<network><name>n1</name></network>\n"}
    assert "base64" in data["live"]  # not UTF-8: kept byte for byte
    assert data["deadline_at"] == "2023-11-14T22:14:20+00:00"
    assert data["timer"] == {"pid": 4242} and data["check"]["kind"] == "tcp"
    back = read_snapshot(store, "n1")
    assert back.live == snap.live and back.config == snap.config and back.check == snap.check
    assert back.running and not back.timer_alive()
    assert snapshot_names(store) == ["n1"]
    write_outcome(store, "n1", "abc123", "committed", "committed")
    assert snapshot_names(store) == ["n1"]  # the outcome file is not a snapshot
    assert drop_snapshot(store, "n1") and read_snapshot(store, "n1") is None
    assert read_outcome(store, "n1")["outcome"] == "committed"
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match="unknown version"):
        read_snapshot(store, "n1")


def test_journal_kept_only_when_the_network_was_not_put_back(tmp_path):
    store = netupdate.connect(state_dir=tmp_path).store
    kwargs = dict(live=None, config=b"<network/>", record=None, sides=("config",))
    with journaled(store, "n", "update", **kwargs):
        assert read_journal(store, "n")["op"] == "update"
    assert read_journal(store, "n") is None
    with pytest.raises(ValueError), journaled(store, "n", "update", **kwargs):
        raise mark_restored(ValueError("undone in process"))
    assert read_journal(store, "n") is None
    with pytest.raises(ValueError), journaled(store, "n", "update", **kwargs):
        raise ValueError("died halfway")
    journal = read_journal(store, "n")
    assert journal["config"] == b"<network/>" and journal["pid"] == os.getpid()
    assert journal["boot_id"] == boot_id() and journal_names(store) == ["n"]
    write_journal(store, "n", "update", live=b"<same/>", config=b"<same/>", record={},
                  sides=("live", "config"))
    raw = json.loads(journal_path(store, "n").read_text())
    assert raw["config"] == {"same_as": "live"}  # stored once
    assert read_journal(store, "n")["config"] == b"<same/>"


def test_clean_temps_removes_only_dead_writers(tmp_path):
    store = netupdate.connect(state_dir=tmp_path).store
    folder = store.config_dir / "networks"
    folder.mkdir(parents=True)
    dead = folder / ".cfg.xml.999999999.1.tmp"
    mine = folder / f".cfg.xml.{os.getppid()}.1.tmp"
    dead.write_text("x")
    mine.write_text("x")
    assert clean_temps(store) == 1
    assert not dead.exists() and mine.exists()


# ---------------------------------------------------------------------- batches
def test_parse_batch_lines():
    text = """# a comment

add ip-dhcp-host <host mac='52:54:00:00:00:01' name='a b' ip='10.0.0.1'/>
  modify dns-txt   <txt name='x' value='with  two spaces'/>
delete --node-spec=/network/dns/txt[@name='x']
add-first --parent-index=1 ip-dhcp-range <range start='10.0.0.5' end='10.0.0.6'/>
add --node-spec /network <mtu size='1400'/>
"""
    items = parse_batch(text)
    assert [i.line for i in items] == [3, 4, 5, 6, 7]
    assert items[0] == BatchUpdate(3, "add", "ip-dhcp-host",
                                   "<host mac='52:54:00:00:00:01' name='a b' "
                                   "ip='10.0.0.1'/>")
    assert items[1].xml == "<txt name='x' value='with  two spaces'/>"
    assert items[2].node_spec == "/network/dns/txt[@name='x']" and items[2].xml is None
    assert items[3].parent_index == 1 and items[3].section == "ip-dhcp-range"
    assert items[4].node_spec == "/network" and items[4].xml == "<mtu size='1400'/>"


def test_parse_batch_json_and_errors():
    items = parse_batch(json.dumps([
        {"command": "add", "section": "dns-txt", "xml": "<txt name='a' value='1'/>"},
        ["delete", "dns-txt", "<txt name='a'/>"],
        {"command": "delete", "node_spec": "/network/mtu"}]))
    assert [(i.line, i.command, i.section) for i in items] == [
        (1, "add", "dns-txt"), (2, "delete", "dns-txt"), (3, "delete", None)]
    for bad, where in [("add dns-txt\n", "line 1"), ("ok a <x/>\nadd\n", "line 2"),
                       ("add --bogus=1 dns-txt <x/>", "unknown option"),
                       ("add --parent-index=x dns-txt <x/>", "integer"),
                       ("[1]", "item 1"), ('[{"command": "add"}]', "item 1"),
                       ('[{"command": "add", "section": "a", "xml": "<a/>", "zz": 1}]',
                        "unknown keys"), ("[", "invalid JSON")]:
        with pytest.raises(BatchError, match=where):
            parse_batch(bad)
    assert as_batch([("add", "dns-txt", "<txt name='a' value='1'/>")])[0].line == 1


def test_batch_all_or_nothing_and_one_write(conn):
    before = config(conn)
    lines = [f"add dns-host <host ip='10.81.1.{n}'><hostname>h{n}</hostname></host>"
             for n in range(1, 41)]
    lines[24] = "delete dns-host <host ip='10.99.99.99'/>"
    with pytest.raises(BatchError, match="batch line 25: .*nothing was changed") as caught:
        conn.update_batch("cfg", "\n".join(lines))
    assert caught.value.batch_line == 25
    assert config(conn) == before
    lines[24] = "modify dns-txt <txt name='motd' value='second'/>"
    dry = conn.update_batch("cfg", "\n".join(lines), dry_run=True)
    assert dry.dry_run and config(conn) == before
    result = conn.update_batch("cfg", "\n".join(lines))
    assert result.count == 40 and result.config == "changed" and result.live == "not-running"
    assert result.summary() == ("Updated network cfg persistent config (40 updates, one "
                                "transaction)")
    defs = netupdate.load(config(conn)).defs
    assert len(defs.dns.hosts) == 39 and defs.dns.txts[0].value == "second"
    with pytest.raises(InvalidOperationError, match="no update"):
        conn.update_batch("cfg", "# nothing\n")


def test_ctrl_c_during_a_batch_changes_nothing(conn):
    before = config(conn)
    lines = [f"add dns-host <host ip='10.81.{n // 200 + 2}.{n % 200 + 1}'><hostname>h{n}"
             f"</hostname></host>" for n in range(600)]

    def progress(event):
        if event["event"] == "progress" and event["done"] < event["total"]:
            os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(Interrupted) as caught:
        conn.update_batch("cfg", "\n".join(lines), progress=progress)
    assert restored(caught.value)
    assert config(conn) == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_interrupts_defer_and_restore():
    previous = signal.getsignal(signal.SIGINT)
    with Interrupts() as outer:
        with Interrupts() as inner:
            assert inner is outer
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert outer.pending
        with pytest.raises(Interrupted, match="SIGINT"):
            checkpoint()
    assert signal.getsignal(signal.SIGINT) is previous
    checkpoint()  # outside: nothing pending, nothing raised
    result = {}

    def elsewhere():
        with Interrupts() as other:  # not the main thread: signals cannot be caught
            result["pending"] = other.pending
    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert result == {"pending": False}


# ---------------------------------------------------------------------- reverse plans, checks
def test_reverse_plan_touches_only_what_changed():
    snapshot = netupdate.load(NET).defs
    current = netupdate.load(NET.replace("stp='off'", "stp='on'")
                             .replace("value='first'", "value='second'")).defs
    plan = reverse_plan(current, snapshot)
    assert sorted(plan.kinds) == ["bridge-stp", "dnsmasq-restart"]
    assert dict(plan.actions[0].detail) == {"stp": False}
    assert not reverse_plan(snapshot, snapshot).changes


def test_checks():
    assert parse_hostport("10.0.0.1:22") == ("10.0.0.1", 22)
    assert parse_hostport("[fd00::1]:53") == ("fd00::1", 53)
    for bad in ("10.0.0.1", "host:0", ":22", "[fd00::1]"):
        with pytest.raises(InvalidOperationError):
            parse_hostport(bad)
    with pytest.raises(InvalidOperationError, match="not both"):
        make_check("a:1", "true")
    assert make_check(command="true", timeout=1).kind == "command"
    assert as_check({"tcp": "a:1", "timeout": 2}).timeout == 2
    assert probe(Check("command", "true", 1), None)[0]
    ok, detail = probe(Check("command", "echo nope >&2; exit 4", 0.3), None)
    assert not ok and "exited 4" in detail and "nope" in detail
    with socket.socket() as listener:  # loopback only
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert probe(Check("tcp", f"127.0.0.1:{port}", 1), None)[0]
    ok, detail = probe(Check("tcp", f"127.0.0.1:{port}", 0.3), None)
    assert not ok and "cannot connect" in detail


# ---------------------------------------------------------------------- transactions
def test_change_start_commit_rollback_on_the_config(conn):
    original = config(conn)
    info = conn.change_start("cfg")
    assert info.state == "open" and info.deadline is None
    with pytest.raises(StateError, match="already open on network 'cfg'.*change commit cfg"):
        conn.change_start("cfg")
    conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='second'/>")
    conn.update("cfg", "modify", "bridge", "<bridge name='nubr-cfg' stp='on' delay='0'/>")
    result = conn.change_rollback("cfg")
    assert result.config == "changed" and result.live == "unchanged"
    assert result.summary() == "Rolled back network cfg: persistent config"
    assert config(conn) == original
    assert conn.change_status("cfg").state == "rolled-back"
    with pytest.raises(StateError, match="no change is open.*rolled-back"):
        conn.change_rollback("cfg")
    conn.change_start("cfg")
    conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='kept'/>")
    assert conn.change_commit("cfg").state == "committed"
    assert b"kept" in config(conn)
    assert conn.change_status("cfg").state == "committed"
    assert conn.change_status() == []
    with pytest.raises(StateError, match="not defined"):
        conn.change_start("nothere")


def test_rollback_restores_undefine_and_define(conn):
    original = config(conn)
    conn.set_autostart("cfg")
    conn.change_start("cfg")
    conn.undefine("cfg")
    assert not conn.store.autostart("cfg")
    conn.change_rollback("cfg")
    assert config(conn) == original and conn.store.autostart("cfg")
    # a network that did not exist at start: apply --try style, rolled back = gone again
    info = conn.change_start("newnet", _allow_missing=True)
    conn.define(NET.replace("cfg", "newnet"))
    conn.change_rollback("newnet", token=info.token)
    assert not conn.store.config_path("newnet").exists()


def test_transaction_context_manager(conn):
    with conn.network("cfg").transaction() as info:
        conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='in'/>")
    assert b"'in'" in config(conn) and conn.change_status("cfg").token == info.token
    before = config(conn)
    with pytest.raises(RuntimeError), conn.transaction("cfg"):
        conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='out'/>")
        raise RuntimeError("no")
    assert config(conn) == before
    with pytest.raises(StateError, match="rolled back before the transaction ended"), \
            conn.transaction("cfg") as info:
        conn.change_rollback("cfg", token=info.token, reason="someone else")


def test_detached_timer_rolls_back_on_time(conn):
    original = config(conn)
    info = conn.change_start("cfg", rollback_after=1.0)
    assert info.timer_alive and info.timer_pid
    argv = cmdline(info.timer_pid)
    assert argv[-8:-6] == ["_expire", "cfg"] and info.token in argv
    assert os.getsid(info.timer_pid) == info.timer_pid  # a session of its own
    conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='temporary'/>")
    assert wait_for(lambda: read_snapshot(conn.store, "cfg") is None, 8)
    assert time.time() >= info.deadline
    assert config(conn) == original
    status = conn.change_status("cfg")
    assert status.state == "rolled-back" and status.reason == "timer expired"
    assert wait_for(lambda: not pid_alive(info.timer_pid), 5)
    log = timer_log_path(conn.store, "cfg").read_text()
    assert "deadline reached: rolling back" in log


def test_commit_stops_the_timer(conn):
    info = conn.change_start("cfg", rollback_after=30)
    conn.change_commit("cfg")
    assert wait_for(lambda: not pid_alive(info.timer_pid), 5)
    assert "timer expired" not in timer_log_path(conn.store, "cfg").read_text()


def test_timer_exits_by_itself_when_the_change_is_gone(conn):
    info = conn.change_start("cfg", rollback_after=30)
    drop_snapshot(conn.store, "cfg")  # as if committed by a process that could not kill it
    assert wait_for(lambda: not pid_alive(info.timer_pid), 5)


# ---------------------------------------------------------------------- apply
def test_apply_config_creates_is_idempotent_and_refuses_bad_input(conn):
    result = conn.apply("cfg", NET)
    assert not result.changed and result.summary() == (
        "Network cfg already matches the desired definition: nothing to do")
    other = NET.replace("value='first'", "value='second'")
    dry = conn.apply("cfg", other, dry_run=True)
    assert dry.summary().startswith("Would apply") and b"first" in config(conn)
    assert [c.section for c in dry.changes] == ["dns-txt"]
    assert conn.apply("cfg", other).config == "changed"
    assert config(conn) == other.encode()
    assert not conn.apply("cfg", other).changed
    created = conn.apply("fresh", NET.replace("cfg", "fresh"))
    assert created.config == "changed" and "fresh" in {n.name for n in conn.list()}
    with pytest.raises(InvalidOperationError, match="for network 'cfg', not 'x'"):
        conn.apply("x", NET)
    with pytest.raises(InvalidOperationError, match="invalid"):
        conn.apply("cfg", NET.replace("<forward mode='nat'/>", "<forward mode='bogus'/>"))
    with pytest.raises(InvalidOperationError, match="needs a try window"):
        conn.apply("cfg", NET, check="10.0.0.1:22")


def test_apply_try_opens_a_change(conn):
    original = config(conn)
    result = conn.apply("cfg", NET.replace("first", "tried"), try_seconds=30)
    assert result.change_info.state == "open" and b"tried" in config(conn)
    conn.change_rollback("cfg", token=result.change_info.token)
    assert config(conn) == original
    again = conn.apply("cfg", NET, try_seconds=30)  # already as desired: no change left open
    assert again.change_info is None and "no try window" in again.notes[-1]
    assert read_snapshot(conn.store, "cfg") is None


# ---------------------------------------------------------------------- recover
def test_recover_rolls_back_open_changes_and_undoes_journals(conn, state_dir):
    original = config(conn)
    conn.change_start("cfg")
    conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='open'/>")
    conn.define(NET.replace("cfg", "two"))
    two = conn.store.config_path("two").read_bytes()
    # a config operation killed after it wrote the new file, before it dropped its journal
    write_journal(conn.store, "two", "apply", live=None, config=two, record=None,
                  sides=("config",))
    conn.store.write_config("two", NET.replace("cfg", "two").replace("first", "half"))
    report = conn.recover()
    assert report.ok, report.to_text()
    text = report.to_text()
    assert "cfg: rolled back the change started at" in text
    assert "two: undid an interrupted apply" in text
    assert config(conn) == original
    assert conn.store.config_path("two").read_bytes() == two
    assert conn.recover().to_text() == "recover: nothing to do"
    assert json.loads(cli(state_dir, "recover", "--json").stdout) == {"ok": True,
                                                                       "actions": []}


def test_an_interrupted_operation_is_finished_by_the_next_one(conn):
    original = config(conn)
    write_journal(conn.store, "cfg", "update", live=None, config=original, record=None,
                  sides=("config",))
    conn.store.write_config("cfg", NET.replace("first", "half-done"))
    assert "interrupted update" in conn.status("cfg").problems[0]
    result = conn.update("cfg", "modify", "dns-txt", "<txt name='motd' value='next'/>")
    assert "undid an interrupted update" in result.notes[0]
    assert b"half-done" not in config(conn) and b"next" in config(conn)
    assert read_journal(conn.store, "cfg") is None


# ---------------------------------------------------------------------- command line
def test_cli_change_batch_apply_on_the_config(conn, state_dir, tmp_path):
    original = config(conn)
    out = cli(state_dir, "change", "start", "cfg").stdout
    assert "change open" in out and "no automatic rollback" in out
    again = cli(state_dir, "change", "start", "cfg", check=False)
    assert again.returncode == 1 and "already open" in again.stderr
    batch = tmp_path / "b.txt"
    batch.write_text("modify dns-txt <txt name='motd' value='cli'/>\n"
                     "add dns-host <host ip='10.81.0.9'><hostname>nine</hostname></host>\n")
    events = [json.loads(line) for line in
              cli(state_dir, "update", "cfg", "--batch", str(batch), "--json").stdout
              .splitlines()]
    assert events[0] == {"event": "start", "op": "batch", "network": "cfg", "total": 2}
    assert events[-1]["event"] == "result" and events[-1]["count"] == 2
    status = json.loads(cli(state_dir, "change", "status", "cfg", "--json").stdout)
    assert status["state"] == "open"
    out = cli(state_dir, "change", "rollback", "cfg").stdout
    assert out.startswith("Rolled back network cfg: persistent config")
    assert config(conn) == original
    bad = cli(state_dir, "update", "cfg", "add", "--batch", str(batch), check=False)
    assert bad.returncode == 2 and "give only the network NAME" in bad.stderr
    desired = tmp_path / "d.xml"
    desired.write_text(NET.replace("first", "applied"))
    out = cli(state_dir, "apply", "cfg", str(desired)).stdout
    assert out.startswith("Applied the desired definition to network cfg: persistent config")
    out = cli(state_dir, "apply", "cfg", str(desired)).stdout
    assert out.strip() == "Network cfg already matches the desired definition: nothing to do"
    lines = [json.loads(line) for line in
             cli(state_dir, "apply", "cfg", str(desired), "--json").stdout.splitlines()]
    assert lines[-1]["summary"].endswith("nothing to do")
    assert "no change is open" in cli(state_dir, "change", "status").stdout
    assert "unmarked" in cli(state_dir, "autostart", "cfg", "--disable").stdout


def test_update_result_wording():
    assert UpdateResult("n", "apply", None).summary() == \
        "Network n already matches the desired definition: nothing to do"
    assert UpdateResult("n", "apply", None, live="restarted", config="changed").summary() == \
        ("Applied the desired definition to network n: persistent config and live state "
         "(network restarted)")
    assert UpdateResult("n", "rollback", None, live="started").summary() == \
        "Rolled back network n: live state (network started)"
    assert UpdateResult("n", "batch", None, count=1).summary() == \
        "Network n: nothing to change (1 update, one transaction)"


def test_change_without_a_verb_prints_its_help(state_dir):
    proc = cli(state_dir, "change", check=False)
    assert proc.returncode == 2 and "usage: netupdate change" in proc.stdout


def test_recover_unit_runs_early_at_boot():
    text = (ROOT / "contrib" / "netupdate-recover.service").read_text()
    lines = {line.strip() for line in text.splitlines()}
    assert "ExecStart=/usr/bin/env netupdate recover" in lines
    assert {"Type=oneshot", "DefaultDependencies=no", "Before=network-pre.target",
            "Wants=network-pre.target", "KillMode=process"} <= lines
    assert any(line.startswith("After=local-fs.target") for line in lines)


def test_progress_reporter():
    import io
    from types import SimpleNamespace

    from netupdate.cli.progress import Reporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    events = [{"event": "start", "op": "batch", "total": 4},
              {"event": "progress", "phase": "edit", "done": 1, "total": 4},
              {"event": "step", "step": "apply"}]
    out, err = io.StringIO(), Terminal()
    bar = Reporter(SimpleNamespace(json=False), stream=out, err=err)
    for event in events:
        bar(event)
    bar.done()
    assert "edit [#######-----------------------]  25% 1/4" in err.getvalue()
    assert "apply..." in err.getvalue() and err.getvalue().endswith("\r\x1b[K")
    assert out.getvalue() == ""
    out, err = io.StringIO(), Terminal()
    lines = Reporter(SimpleNamespace(json=True), stream=out, err=err)
    for event in events:
        lines(event)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == events
    assert err.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()  # not a terminal, no --json: quiet
    quiet = Reporter(SimpleNamespace(json=False), stream=out, err=err)
    for event in events:
        quiet(event)
    assert out.getvalue() == err.getvalue() == ""


def test_journal_keeps_the_live_file_by_a_hard_link(tmp_path, monkeypatch):
    store = netupdate.connect(state_dir=tmp_path).store
    old, new = b"<network><name>n</name></network>", b"<network><name>n</name><mtu/></network>"
    store.write_live("n", old)
    write_journal(store, "n", "update", live=old, config=old, record={},
                  sides=("live", "config"))
    raw = json.loads(journal_path(store, "n").read_text())
    assert "link" in raw["live"] and raw["config"] == {"same_as": "live"}
    store.write_live("n", new)                 # replaced by rename: the link keeps the old one
    journal = read_journal(store, "n")
    assert journal["live"] == old and journal["config"] == old
    drop_journal(store, "n")
    assert read_journal(store, "n") is None
    assert sorted(os.listdir(journal_path(store, "n").parent)) == []
    # bytes that are not the file's (or a link across file systems) are kept in the journal
    monkeypatch.setattr(os, "link", lambda *a: (_ for _ in ()).throw(OSError(18, "EXDEV")))
    write_journal(store, "n", "update", live=new, config=None, record={}, sides=("live",))
    raw = json.loads(journal_path(store, "n").read_text())
    assert "link" not in raw["live"] and read_journal(store, "n")["live"] == new


def test_journal_link_trusts_a_matching_stamp_and_checks_a_stale_one(tmp_path, monkeypatch):
    store = netupdate.connect(state_dir=tmp_path).store
    old, new = b"<network><name>n</name></network>", b"<network><name>n</name><mtu/></network>"
    store.write_live("n", old)
    st = os.stat(store.live_path("n"))
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)
    with monkeypatch.context() as patch:     # the stamp says it all: the file is not read
        patch.setattr(journal_module, "read_bytes", lambda path: pytest.fail(f"read {path}"))
        write_journal(store, "n", "update", live=old, config=old, record={},
                      sides=("live", "config"), live_stamp=stamp)
    assert read_journal(store, "n")["live"] == old
    store.write_live("n", new)               # the stamp is stale now, and so are the bytes
    write_journal(store, "n", "update", live=old, config=None, record={},
                  sides=("live",), live_stamp=stamp)
    raw = json.loads(journal_path(store, "n").read_text())
    assert "link" not in raw["live"] and read_journal(store, "n")["live"] == old
    assert not kept_live_path(store, "n").exists()
