"""Live tier: transactions (change start/commit/rollback), the auto-rollback timer surviving
kill -9, check probes, recover, desired-state apply, batches, Ctrl-C, failures midway.

Every network runs in namespaces made per test (conftest.py); its ``_host_guard`` fails a test that
left anything in the host namespace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from txnhelp import (
    BRIDGE,
    NAME,
    NET,
    ask,
    assert_in_line,
    cli,
    cli_env,
    dnsmasq_pid,
    files,
    json_lines,
    wait_for,
)

import netupdate
from netupdate.edit.batch import BatchError
from netupdate.errors import RuntimeFailure, StateError
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.txn.journal import read_journal
from netupdate.live.txn.recovery import stray_dnsmasqs
from netupdate.live.txn.snapshots import read_snapshot, write_snapshot
from netupdate.live.txn.state import ENV_BOOT_ID, pid_alive, timer_alive, timer_log_path

pytestmark = pytest.mark.live

DNSMASQ_NS = "xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'"


def bridge(netns: str) -> dict:
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import netns as NS
    ipr = NS.iproute(netns)
    try:
        return BR.read(ipr, BRIDGE)
    finally:
        ipr.close()


@pytest.fixture
def net(conn, netns):
    conn.define(NET)
    conn.start(NAME)
    return conn


def desired(**changes) -> str:
    """NET with text replacements (old=new pairs given as tuples)."""
    text = NET
    for old, new in changes.values():
        assert old in text, old
        text = text.replace(old, new)
    return text


TXT2 = ("value='first'", "value='second'")
STP_ON = ("stp='off'", "stp='on'")
HOST42 = ("<host ip='10.71.0.7'>", "<host ip='10.71.0.42'><hostname>answer</hostname></host>\n"
                                   "    <host ip='10.71.0.7'>")


# ---------------------------------------------------------------------- transactions
def test_rollback_applies_only_the_reverse_plan(net, netns):
    config0, live0 = files(net)
    pid = dnsmasq_pid(net)
    net.change_start(NAME)
    with pytest.raises(StateError, match="already open.*change commit"):
        net.change_start(NAME)
    net.update(NAME, "modify", "bridge", f"<bridge name='{BRIDGE}' stp='on' delay='0'/>")
    net.update(NAME, "add", "dns-host", "<host ip='10.71.0.42'><hostname>answer</hostname>"
                                        "</host>")
    assert bridge(netns)["stp"] is True and ask(netns, "answer") == ["10.71.0.42"]
    result = net.change_rollback(NAME)
    # only what changed: STP back through netlink, the DNS host through the host files;
    # dnsmasq is neither restarted nor is anything else touched
    assert sorted(a.kind for a in result.actions) == ["bridge-stp", "dnsmasq-none"]
    assert result.live == "applied" and result.config == "changed"
    assert dnsmasq_pid(net) == pid
    assert bridge(netns)["stp"] is False and ask(netns, "answer") == []
    assert files(net) == (config0, live0)
    assert_in_line(net, netns)
    status = net.change_status(NAME)
    assert status.state == "rolled-back" and status.reason == "requested"
    with pytest.raises(StateError, match="no change is open.*rolled-back"):
        net.change_commit(NAME)


def test_commit_keeps_the_changes_and_a_noop_rollback(net, netns):
    net.change_start(NAME)
    net.update(NAME, "modify", "dns-txt", "<txt name='motd' value='kept'/>")
    info = net.change_commit(NAME)
    assert info.state == "committed"
    assert ask(netns, "motd", "TXT") == ["kept"]
    assert "kept" in net.dumpxml(NAME, inactive=True)
    assert net.change_status(NAME).state == "committed"
    # a change without edits rolls back to nothing
    pid = dnsmasq_pid(net)
    net.change_start(NAME)
    result = net.change_rollback(NAME)
    assert result.summary().endswith("nothing had changed") and dnsmasq_pid(net) == pid


def test_rollback_restores_a_network_stopped_or_undefined_meanwhile(net, netns):
    config0, live0 = files(net)
    net.change_start(NAME)
    net.stop(NAME)
    net.undefine(NAME)
    result = net.change_rollback(NAME)
    assert result.live == "started" and result.config == "changed"
    assert files(net) == (config0, live0)
    assert_in_line(net, netns)


def test_transaction_context_manager(net, netns):
    handle = net.network(NAME)
    with handle.transaction():
        handle.update("modify", "dns-txt", "<txt name='motd' value='in-tx'/>")
    assert ask(netns, "motd", "TXT") == ["in-tx"]
    config1, live1 = files(net)
    with pytest.raises(ValueError, match="boom"), handle.transaction():
        handle.update("modify", "dns-txt", "<txt name='motd' value='lost'/>")
        assert ask(netns, "motd", "TXT") == ["lost"]
        raise ValueError("boom")
    assert ask(netns, "motd", "TXT") == ["in-tx"]
    assert files(net) == (config1, live1)
    assert net.change_status(NAME).reason == "exception in the transaction"


def test_cli_change_verbs(net, netns, state_dir):
    out = cli(state_dir, "change", "start", NAME).stdout
    assert "change open" in out and f"netupdate change commit {NAME}" in out
    again = cli(state_dir, "change", "start", NAME, check=False)
    assert again.returncode == 1 and "already open" in again.stderr
    cli(state_dir, "update", NAME, "modify", "dns-txt", "<txt name='motd' value='cli'/>")
    assert "change open" in cli(state_dir, "change", "status", NAME).stdout
    out = cli(state_dir, "change", "rollback", NAME).stdout
    assert out.startswith(f"Rolled back network {NAME}") and "dnsmasq-restart" in out
    assert ask(netns, "motd", "TXT") == ["first"]
    cli(state_dir, "change", "start", NAME)
    assert "committed" in cli(state_dir, "change", "commit", NAME).stdout
    assert cli(state_dir, "change", "status").stdout.strip() == "no change is open"


# ---------------------------------------------------------------------- the timer
def _pty_cli(state_dir: str, *args: str):
    """The command line with a terminal as its input (as an admin runs it), its output on
    pipes; returns once it asks for the confirmation."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", *args], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(state_dir))
    os.close(slave)
    prompt = proc.stderr.readline()
    assert prompt.startswith("Press ENTER within"), (prompt, proc.stderr.read())
    return proc, master


def test_auto_rollback_survives_kill_9_of_the_cli(net, netns, state_dir, tmp_path):
    config0, live0 = files(net)
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=("value='first'", "value='tried'"), stp=STP_ON))
    window = 3.0
    proc, master = _pty_cli(state_dir, "apply", NAME, str(target), "--try", str(window))
    try:
        # the CLI applied the change, armed the timer and waits for ENTER on its terminal
        snap = read_snapshot(net.store, NAME)
        assert snap is not None and snap.timer and snap.deadline
        assert ask(netns, "motd", "TXT") == ["tried"]
        assert proc.poll() is None
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait()
    finally:
        os.close(master)
    timer = snap.timer["pid"]
    assert timer_alive(timer, snap.token)
    # still the tried state until the deadline ...
    time.sleep(max(0.0, snap.deadline - time.time() - 0.8))
    assert ask(netns, "motd", "TXT") == ["tried"] and bridge(netns)["stp"] is True
    # ... then rolled back on time by the timer the dead CLI left behind
    assert wait_for(lambda: read_snapshot(net.store, NAME) is None, 8)
    assert time.time() < snap.deadline + 5
    assert ask(netns, "motd", "TXT") == ["first"] and bridge(netns)["stp"] is False
    assert files(net) == (config0, live0)
    last = net.change_status(NAME)
    assert last.state == "rolled-back" and last.reason == "timer expired"
    assert wait_for(lambda: not pid_alive(timer), 5)
    log = timer_log_path(net.store, NAME).read_text()
    assert "deadline reached: rolling back" in log and "rolled back" in log
    assert_in_line(net, netns)


def test_apply_try_confirmed_on_the_terminal(net, netns, state_dir, tmp_path):
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=TXT2))
    proc, master = _pty_cli(state_dir, "apply", NAME, str(target), "--try", "20")
    try:
        snap = read_snapshot(net.store, NAME)
        assert snap is not None
        assert ask(netns, "motd", "TXT") == ["second"]
        os.write(master, b"\n")
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert "committed" in out
    assert read_snapshot(net.store, NAME) is None
    assert wait_for(lambda: not timer_alive(snap.timer["pid"], snap.token), 5)
    assert ask(netns, "motd", "TXT") == ["second"]
    assert net.change_status(NAME).state == "committed"


def test_ctrl_c_in_the_try_window_rolls_back_now(net, netns, state_dir, tmp_path):
    before = files(net)
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=TXT2, stp=STP_ON))
    proc, master = _pty_cli(state_dir, "apply", NAME, str(target), "--try", "60")
    try:
        assert ask(netns, "motd", "TXT") == ["second"]
        assert read_snapshot(net.store, NAME) is not None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 130, (out, err)
    assert "interrupted: Rolled back network" in err
    assert files(net) == before and bridge(netns)["stp"] is False
    assert net.change_status(NAME).reason == "interrupted (Ctrl-C)"
    assert_in_line(net, netns)


def test_change_start_with_rollback_after_then_commit_in_time(net, netns, state_dir):
    cli(state_dir, "change", "start", NAME, "--rollback-after", "30")
    snap = read_snapshot(net.store, NAME)
    cli(state_dir, "update", NAME, "modify", "dns-txt", "<txt name='motd' value='keep'/>")
    cli(state_dir, "change", "commit", NAME)
    assert wait_for(lambda: not timer_alive(snap.timer["pid"], snap.token), 5)
    assert ask(netns, "motd", "TXT") == ["keep"]


def test_apply_try_without_a_terminal_leaves_the_change_open(net, netns, state_dir, tmp_path):
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=TXT2))
    proc = cli(state_dir, "apply", NAME, str(target), "--try", "30", "--json",
               stdin=subprocess.DEVNULL)
    events = json_lines(proc.stdout)
    assert events[-1]["event"] == "open" and events[-1]["state"] == "open"
    assert any(e["event"] == "armed" for e in events)
    assert ask(netns, "motd", "TXT") == ["second"]
    cli(state_dir, "change", "commit", NAME)
    assert net.change_status(NAME).state == "committed"


# ---------------------------------------------------------------------- checks
def test_failing_check_rolls_back_at_once(net, netns, state_dir, tmp_path):
    config0, live0 = files(net)
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=TXT2))
    started = time.monotonic()
    proc = cli(state_dir, "apply", NAME, str(target), "--try", "60", "--check",
               f"{'10.71.0.1'}:9", "--check-timeout", "1", check=False,
               stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "check 10.71.0.1:9 failed" in proc.stderr
    assert time.monotonic() - started < 15  # at once, not after the 60 s window
    assert files(net) == (config0, live0) and ask(netns, "motd", "TXT") == ["first"]
    assert read_snapshot(net.store, NAME) is None
    assert "check 10.71.0.1:9 failed" in net.change_status(NAME).reason
    # a check on a change opened with 'change start', probed after each update
    cli(state_dir, "change", "start", NAME, "--check-command", "exit 3", "--check-timeout",
        "0.5")
    bad = cli(state_dir, "update", NAME, "modify", "dns-txt",
              "<txt name='motd' value='never'/>", check=False)
    assert bad.returncode == 1 and "exited 3" in bad.stderr and "rolled back" in bad.stderr
    assert files(net) == (config0, live0) and ask(netns, "motd", "TXT") == ["first"]
    assert_in_line(net, netns)


def test_passing_check_keeps_the_change(net, netns):
    info = net.change_start(NAME, check=f"{'10.71.0.1'}:53")
    result = net.update(NAME, "modify", "dns-txt", "<txt name='motd' value='ok'/>")
    assert "check 10.71.0.1:53" in result.checks
    assert net.change_status(NAME).token == info.token
    net.change_commit(NAME)


def test_check_that_breaks_with_the_change(net, netns):
    # the change itself cuts the probed service off: DNS disabled -> port 53 closed
    config0, live0 = files(net)
    net.change_start(NAME, check={"tcp": "10.71.0.1:53", "timeout": 1})
    with pytest.raises(RuntimeFailure, match="check 10.71.0.1:53 failed.*rolled back"):
        net.apply(NAME, desired(dns=("<dns>", "<dns enable='no'>"),
                                txt=("<txt name='motd' value='first'/>", ""),
                                host=("<host ip='10.71.0.7'><hostname>seven</hostname></host>",
                                      "")))
    assert files(net) == (config0, live0)
    assert_in_line(net, netns)


# ---------------------------------------------------------------------- recover
def test_recover_after_a_simulated_reboot(make_netns, state_dir, monkeypatch):
    ns_a, ns_b = make_netns(), make_netns()
    conn = netupdate.connect(state_dir=state_dir, netns=ns_a)
    other = NET.replace(NAME, "othernet").replace(BRIDGE, "nubr-oth").replace("10.71.", "10.72.")
    conn.define(NET)
    conn.define(other)
    conn.start(NAME)
    conn.start("othernet", netns=ns_b)
    conn.set_autostart(NAME)                     # defaults to the namespace it runs in
    assert conn.autostart_netns(NAME) == ns_a
    config0 = files(conn)[0]
    conn.change_start(NAME)                      # open, never committed
    conn.update(NAME, "modify", "dns-txt", "<txt name='motd' value='uncommitted'/>")
    dirs = [conn.store.read_record(n)["dir"] for n in (NAME, "othernet")]
    # the "reboot": every process and device of the networks is gone, the files stay
    for name, ns in ((NAME, ns_a), ("othernet", ns_b)):
        os.kill(dnsmasq_pid(conn, name), signal.SIGKILL)
        subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "ruleset"], check=True)
    subprocess.run(["ip", "-n", ns_a, "link", "del", BRIDGE], check=True)
    subprocess.run(["ip", "-n", ns_b, "link", "del", "nubr-oth"], check=True)
    conn.close()
    monkeypatch.setenv(ENV_BOOT_ID, "another-boot")
    conn = netupdate.connect(state_dir=state_dir)
    try:
        report = conn.recover()
        text = report.to_text()
        assert report.ok, text
        assert "cleaned up a network that was no longer running" in text
        assert "rolled back the change" in text and f"started (autostart) in namespace {ns_a}" \
            in text
        # the uncommitted change is gone from the config, the autostart network runs it
        assert files(conn)[0] == config0
        assert conn.store.read_record(NAME)["netns"] == ns_a
        assert_in_line(conn, ns_a)
        assert ask(ns_a, "motd", "TXT") == ["first"]
        # the other network is not autostarted: nothing of it is left
        assert conn.store.read_record("othernet") is None
        assert not os.path.exists(dirs[1])
        assert "nubr-oth" not in subprocess.run(["ip", "-n", ns_b, "link"],
                                                capture_output=True, text=True).stdout
        assert conn.recover().to_text() == "recover: nothing to do"
    finally:
        for row in conn.list():
            if row.active:
                conn.stop(row.name)
        conn.close()


def test_recover_rolls_back_when_the_timer_died(net, netns):
    config0, live0 = files(net)
    info = net.change_start(NAME, rollback_after=1)
    net.update(NAME, "modify", "dns-txt", "<txt name='motd' value='orphan'/>")
    os.kill(info.timer_pid, signal.SIGKILL)
    time.sleep(1.5)
    assert ask(netns, "motd", "TXT") == ["orphan"]  # nobody rolled it back
    status = net.change_status(NAME)
    assert status.state == "open" and status.timer_alive is False
    assert "TIMER NOT RUNNING" in status.to_text()
    report = net.recover()
    assert "rolled back the change" in report.to_text()
    assert files(net) == (config0, live0) and ask(netns, "motd", "TXT") == ["first"]
    assert_in_line(net, netns)


def test_recover_repairs_drift_and_stray_dnsmasq(net, netns):
    pid = dnsmasq_pid(net)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not DQ.alive(pid, net.store.read_record(NAME)["dnsmasq"]["conf"]), 5)
    report = net.recover()
    assert "repaired" in report.to_text() and report.ok
    assert_in_line(net, netns)
    # a dnsmasq with our conf the record does not know about (a killed start left it)
    record = net.store.read_record(NAME)
    layout = DQ.Layout(net.store.network_dir(NAME))
    subprocess.run(["ip", "netns", "exec", netns, DQ.require_binary(),
                    f"--conf-file={layout.conf}", "--port=5353", "--pid-file=",
                    "--dhcp-range=10.71.0.200,10.71.0.201", "--dhcp-alternate-port=1067,1068"],
                   check=True)
    assert stray_dnsmasqs(layout.conf, record["dnsmasq"]["pid"])
    report = net.recover()
    assert "stray" in report.to_text()
    assert stray_dnsmasqs(layout.conf, record["dnsmasq"]["pid"]) == []
    assert_in_line(net, netns)


# ---------------------------------------------------------------------- apply
def test_apply_is_idempotent_and_says_so(net, netns, state_dir, tmp_path):
    target = tmp_path / "desired.xml"
    target.write_text(desired(txt=TXT2, stp=STP_ON, host=HOST42))
    out = cli(state_dir, "apply", NAME, str(target)).stdout
    assert out.startswith(f"Applied the desired definition to network {NAME}")
    assert "bridge-stp" in out and "dnsmasq-restart" in out
    assert files(net) == (target.read_bytes(), target.read_bytes())
    assert ask(netns, "motd", "TXT") == ["second"] and ask(netns, "answer") == ["10.71.0.42"]
    assert bridge(netns)["stp"] is True
    pid = dnsmasq_pid(net)
    again = cli(state_dir, "apply", NAME, str(target)).stdout
    assert again.strip() == (f"Network {NAME} already matches the desired definition: "
                             "nothing to do")
    assert dnsmasq_pid(net) == pid
    result = net.apply(NAME, target.read_text())
    assert not result.changed and result.actions == ()
    # dry run: shows the plan, changes nothing
    dry = cli(state_dir, "apply", NAME, "--dry-run", "/dev/stdin", input=NET).stdout
    assert dry.startswith("Would apply") and "bridge-stp" in dry
    assert files(net)[0] == target.read_bytes()
    assert_in_line(net, netns)


def test_apply_plans_against_what_really_runs(net, netns):
    # dnsmasq died behind our back: the files say all is well, the running network does not
    pid = dnsmasq_pid(net)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not DQ.alive(pid, net.store.read_record(NAME)["dnsmasq"]["conf"]), 5)
    result = net.apply(NAME, NET)
    assert result.live == "repaired" and any("drifted" in n for n in result.notes)
    assert_in_line(net, netns)
    # the bridge lost its STP setting behind our back
    subprocess.run(["ip", "-n", netns, "link", "set", BRIDGE, "type", "bridge", "stp_state",
                    "1"], check=True)
    assert net.apply(NAME, NET).live == "repaired"
    assert bridge(netns)["stp"] is False
    assert net.apply(NAME, NET).summary().endswith("nothing to do")


def test_apply_config_only_creates_and_starts(conn, netns):
    result = conn.apply(NAME, NET)
    assert result.config == "changed" and result.live == "not-requested"
    assert conn.store.read_record(NAME) is None
    assert conn.apply(NAME, NET).summary().endswith("nothing to do")
    started = conn.apply(NAME, desired(txt=TXT2), live=True, config=False)
    assert started.live == "started" and started.config == "not-requested"
    assert conn.store.read_record(NAME)["netns"] == netns
    assert ask(netns, "motd", "TXT") == ["second"]
    assert_in_line(conn, netns, same=False)
    with pytest.raises(netupdate.NetupdateError, match="is for network 'txnnet', not 'x'"):
        conn.apply("x", NET)


def test_apply_restart_path(net, netns):
    """A bridge rename restarts (nat <-> isolated no longer does: issue 17)."""
    renamed = desired(br=(f"name='{BRIDGE}'", f"name='{BRIDGE}x'"))
    result = net.apply(NAME, renamed)
    assert result.live == "restarted"
    assert_in_line(net, netns)
    assert net.apply(NAME, NET).live == "restarted"
    assert_in_line(net, netns)
    isolated = desired(fwd=("<forward mode='nat'/>", ""))
    assert net.apply(NAME, isolated).live == "applied"
    assert_in_line(net, netns)


# ---------------------------------------------------------------------- batches
def _count_dnsmasq(monkeypatch) -> dict:
    counts = {"start": 0, "sighup": 0}
    real_start, real_sighup = DQ.start, DQ.sighup

    def start(*args, **kwargs):
        counts["start"] += 1
        return real_start(*args, **kwargs)

    def sighup(*args, **kwargs):
        counts["sighup"] += 1
        return real_sighup(*args, **kwargs)
    monkeypatch.setattr(DQ, "start", start)
    monkeypatch.setattr(DQ, "sighup", sighup)
    return counts


def _hosts(first: int, count: int) -> list[str]:
    return [f"add ip-dhcp-host <host mac='52:54:00:72:{n // 256:02x}:{n % 256:02x}' "
            f"name='h{n}' ip='10.71.{n // 250 + 1}.{n % 250 + 1}'/>"
            for n in range(first, first + count)]


WIDE = ("prefix='24'", "prefix='16'")


def test_batch_is_one_plan_and_one_dnsmasq_action(net, netns, monkeypatch):
    net.apply(NAME, desired(ip=WIDE))
    pid = dnsmasq_pid(net)
    counts = _count_dnsmasq(monkeypatch)
    lines = [f"add dns-host <host ip='10.71.9.{n}'><hostname>d{n}</hostname></host>"
             for n in range(1, 101)]
    lines += _hosts(0, 200)
    result = net.update_batch(NAME, "\n".join(lines))
    assert result.count == 300 and [a.kind for a in result.actions] == ["dnsmasq-none"]
    assert counts == {"start": 0, "sighup": 1} and dnsmasq_pid(net) == pid
    # modifies and deletes need dnsmasq to drop records: one SIGHUP for all of them
    counts.update(start=0, sighup=0)
    lines = [f"modify ip-dhcp-host <host mac='52:54:00:72:00:{n:02x}' name='h{n}' "
             f"ip='10.71.5.{n + 1}'/>" for n in range(0, 100)]
    lines += [f"delete dns-host <host ip='10.71.9.{n}'/>" for n in range(1, 51)]
    result = net.update_batch(NAME, "\n".join(lines))
    assert [a.kind for a in result.actions] == ["dnsmasq-sighup"]
    assert counts == {"start": 0, "sighup": 1} and dnsmasq_pid(net) == pid
    assert ask(netns, "d1") == [] and ask(netns, "d51") == ["10.71.9.51"]
    # a conf change among hundreds of host changes: one restart, no SIGHUP
    counts.update(start=0, sighup=0)
    lines = [f"delete ip-dhcp-host <host mac='52:54:00:72:00:{n:02x}'/>" for n in range(0, 50)]
    lines.insert(25, "modify dns-txt <txt name='motd' value='batched'/>")
    result = net.update_batch(NAME, "\n".join(lines))
    assert [a.kind for a in result.actions] == ["dnsmasq-restart"]
    assert counts == {"start": 1, "sighup": 0}
    assert ask(netns, "motd", "TXT") == ["batched"]
    assert_in_line(net, netns)


def test_batch_is_all_or_nothing(net, netns, state_dir, tmp_path, monkeypatch):
    net.apply(NAME, desired(ip=WIDE))
    before = files(net)
    pid = dnsmasq_pid(net)
    counts = _count_dnsmasq(monkeypatch)
    lines = _hosts(0, 100)
    lines[56] = "add ip-dhcp-host <host mac='52:54:00:71:00:05' name='dup' ip='10.71.0.5'/>"
    with pytest.raises(BatchError, match="batch line 57") as caught:
        net.update_batch(NAME, "\n".join(lines))
    assert caught.value.batch_line == 57 and "nothing was changed" in str(caught.value)
    assert files(net) == before and dnsmasq_pid(net) == pid
    assert counts == {"start": 0, "sighup": 0}
    # the same through the command line, as a JSON list
    batch = tmp_path / "batch.json"
    import json
    batch.write_text(json.dumps([{"command": "modify", "section": "dns-txt",
                                  "xml": "<txt name='motd' value='x'/>"},
                                 ["delete", "dns-host", "<host ip='10.99.9.9'/>"]]))
    proc = cli(state_dir, "update", NAME, "--batch", str(batch), check=False)
    assert proc.returncode == 1
    assert f"{batch}: batch item 2: " in proc.stderr and "nothing was changed" in proc.stderr
    assert files(net) == before
    assert_in_line(net, netns)


def test_ctrl_c_during_a_long_batch_rolls_back(net, netns, state_dir, tmp_path):
    before = files(net)
    pid = dnsmasq_pid(net)
    batch = tmp_path / "big.txt"
    lines = [f"add dns-host <host ip='10.71.{n // 250 + 10}.{n % 250 + 1}'><hostname>n{n}"
             f"</hostname></host>" for n in range(6000)]
    lines.append("modify dns-txt <txt name='motd' value='never'/>")
    batch.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", "update", NAME, "--batch",
                             str(batch), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(state_dir))
    seen = []
    for line in proc.stdout:
        seen.append(line)
        event = __import__("json").loads(line)
        if event["event"] == "progress" and 0 < event["done"] < event["total"]:
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    events = json_lines("".join(seen) + rest)
    assert proc.returncode == 130, err
    assert events[-1] == {"event": "interrupted", "restored": True,
                          "message": "interrupted: the network is as it was before the "
                                     "operation"}
    assert files(net) == before and dnsmasq_pid(net) == pid
    assert ask(netns, "motd", "TXT") == ["first"]
    # Ctrl-C while the plan runs on the live network: put back too
    batch.write_text("modify dns-txt <txt name='motd' value='never'/>\n"
                     "add dns-host <host ip='10.71.0.99'><hostname>late</hostname></host>\n")
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", "update", NAME, "--batch",
                             str(batch), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(state_dir))
    for line in proc.stdout:
        if '"step": "apply"' in line:
            proc.send_signal(signal.SIGINT)
            break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (rest, err)
    assert '"restored": true' in rest
    assert files(net) == before and ask(netns, "late") == []
    assert ask(netns, "motd", "TXT") == ["first"]
    assert_in_line(net, netns)


# ---------------------------------------------------------------------- failures midway
def _dnsmasq_refuses() -> str:
    return desired(ns=("<network>", f"<network {DNSMASQ_NS}>"),
                   opt=("</network>", "  <dnsmasq:options><dnsmasq:option "
                                      "value='no-such-option=1'/></dnsmasq:options>\n"
                                      "</network>"),
                   txt=TXT2, stp=STP_ON)


MTU = ("<domain", "<mtu size='1400'/>\n  <domain")


def _netlink_fails(monkeypatch):
    """The first STP switch really happens, then the netlink call reports a failure."""
    from netupdate.live.embedded.runtime import bridge as BR
    real = BR.set_stp
    fired = []

    def broken(ipr, name, stp):
        real(ipr, name, stp)
        if not fired:
            fired.append(1)
            raise RuntimeFailure("netlink: injected failure")
    monkeypatch.setattr(BR, "set_stp", broken)
    return desired(txt=TXT2, stp=STP_ON, mtu=MTU)


def _verify_fails(monkeypatch):
    """Everything is applied (a dnsmasq restart, STP, MTU, a DNS host), then the first
    verification fails."""
    from netupdate.live.embedded.runtime import driver as D
    real = D.Driver.verify
    fired = []

    def broken(self, name, record, defs, **kwargs):
        if not fired and kwargs.get("before") is not None:
            fired.append(1)
            raise D.VerifyError("dns", "injected failure")
        return real(self, name, record, defs, **kwargs)
    monkeypatch.setattr(D.Driver, "verify", broken)
    return desired(txt=TXT2, stp=STP_ON, host=HOST42, mtu=MTU)


@pytest.mark.parametrize("failure", ["dnsmasq-refuses", "netlink", "verify"])
@pytest.mark.parametrize("how", ["apply", "batch", "rollback"])
def test_a_live_step_failing_midway_restores_and_verifies(net, netns, monkeypatch, failure,
                                                          how):
    if how == "rollback":  # the change made first, then its rollback fails midway
        net.change_start(NAME)
        net.apply(NAME, {"dnsmasq-refuses": desired(txt=TXT2, stp=STP_ON),
                         "netlink": desired(txt=TXT2, stp=STP_ON, mtu=MTU),
                         "verify": desired(txt=TXT2, stp=STP_ON, host=HOST42, mtu=MTU)}
                  [failure])
        if failure == "dnsmasq-refuses":
            # make the snapshot's definition one dnsmasq refuses (an upgraded dnsmasq, say)
            snap = read_snapshot(net.store, NAME)
            snap.live = _dnsmasq_refuses().replace("second", "first").replace(
                "stp='on'", "stp='off'").encode()
            write_snapshot(net.store, snap)
    before = files(net)
    pid = dnsmasq_pid(net)
    stp = bridge(netns)["stp"]
    target = {"dnsmasq-refuses": _dnsmasq_refuses,
              "netlink": lambda: _netlink_fails(monkeypatch),
              "verify": lambda: _verify_fails(monkeypatch)}[failure]()
    with pytest.raises(RuntimeFailure, match="rolled back") as caught:
        if how == "apply":
            net.apply(NAME, target)
        elif how == "batch":
            net.update_batch(NAME, [{"command": "modify", "section": "dns-txt",
                                     "xml": "<txt name='motd' value='second'/>"},
                                    {"command": "modify", "section": "bridge",
                                     "xml": f"<bridge name='{BRIDGE}' stp='{'off' if stp else 'on'}' "
                                            "delay='0'/>"}]
                             + ([{"command": "add", "section": "dns-host",
                                  "xml": "<host ip='10.71.0.42'><hostname>answer</hostname>"
                                         "</host>"}] if failure == "verify" else [])
                             if failure != "dnsmasq-refuses" else
                             [{"command": "modify", "section": "dns-txt",
                               "xml": "<txt name='motd' value='second'/>"},
                              {"command": "add", "section": None, "node_spec": "/network",
                               "xml": "<dnsmasq:options " + DNSMASQ_NS + "><dnsmasq:option "
                                      "value='no-such-option=1'/></dnsmasq:options>"}])
        else:
            net.change_rollback(NAME)
    assert caught.value.netupdate_restored
    monkeypatch.undo()
    assert files(net) == before
    assert bridge(netns)["stp"] is stp
    assert read_journal(net.store, NAME) is None
    if how == "rollback":
        assert read_snapshot(net.store, NAME) is not None  # still open: try again later
        net.change_commit(NAME)
    if how != "rollback":
        assert bridge(netns)["mtu"] == 1500
    else:
        assert bridge(netns)["mtu"] == (1500 if failure == "dnsmasq-refuses" else 1400)
    if failure != "dnsmasq-refuses" or how != "rollback":
        assert DQ.alive(dnsmasq_pid(net), net.store.read_record(NAME)["dnsmasq"]["conf"])
    assert_in_line(net, netns)
    del pid
