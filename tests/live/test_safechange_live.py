"""Live tier, issue 13: host edits on networks without DNS records (libvirt's default network and
a DNS-less one) through every path that ends in a full sync of the host files (batch, change
rollback, the auto-rollback timer, deleting the last host), with the status clean afterwards."""

from __future__ import annotations

import pytest
from txnhelp import SHAPES, assert_in_line, cli, files, wait_for

import netupdate
from netupdate.errors import InvalidOperationError
from netupdate.live.txn.snapshots import read_snapshot
from netupdate.live.txn.state import pid_alive
from netupdate.live.txn.timer import run_timer

pytestmark = pytest.mark.live


@pytest.fixture(params=sorted(SHAPES))
def shape(request, conn):
    """(connection, network name, address prefix) of a started network of each shape."""
    xml, prefix = SHAPES[request.param]
    name = conn.define(xml)
    conn.start(name)
    return conn, name, prefix


def dhcp_host(prefix: str, n: int) -> str:
    return f"<host mac='52:54:00:00:13:{n:02x}' name='vm{n}' ip='{prefix}.{n}'/>"


def dns_host(prefix: str, n: int) -> str:
    return f"<host ip='{prefix}.{n}'><hostname>dns{n}</hostname></host>"


def clean(conn, name: str) -> None:
    """The network is exactly its definitions (no journal, no problem, status active)."""
    netns = conn.store.read_record(name)["netns"]
    assert_in_line(conn, netns, name, dns=False)
    status = conn.status(name)
    assert status.state == "active" and status.problems == (), status


def test_batch_of_two_dhcp_hosts(shape, state_dir, tmp_path):
    conn, name, prefix = shape
    batch = tmp_path / "batch"
    batch.write_text(f"add ip-dhcp-host {dhcp_host(prefix, 10)}\n"
                     f"add ip-dhcp-host {dhcp_host(prefix, 11)}\n")
    cli(state_dir, "update", name, "--batch", str(batch))
    config, live = files(conn, name)
    assert b"vm10" in config and b"vm11" in live
    clean(conn, name)


@pytest.mark.parametrize("section", ["ip-dhcp-host", "dns-host"])
def test_change_rollback_after_a_host_add(shape, section):
    conn, name, prefix = shape
    before = files(conn, name)
    conn.change_start(name)
    xml = dhcp_host(prefix, 20) if section == "ip-dhcp-host" else dns_host(prefix, 20)
    if section == "dns-host" and name == "nodns":  # libvirt refuses DNS data there
        with pytest.raises(InvalidOperationError, match="disabled network"):
            conn.update(name, "add", section, xml)
        assert files(conn, name) == before
    else:
        conn.update(name, "add", section, xml)
    clean(conn, name)
    conn.change_rollback(name)
    assert files(conn, name) == before
    clean(conn, name)
    assert conn.change_status(name).state == "rolled-back"


def test_transactions_doc_workflow(shape, state_dir):
    """docs/transactions.md's workflow, through the command line: start, two updates, commit;
    then again with a rollback."""
    conn, name, prefix = shape
    for n, end in ((30, "commit"), (31, "rollback")):
        before = files(conn, name)
        cli(state_dir, "change", "start", name, "--rollback-after", "120")
        cli(state_dir, "update", name, "modify", "bridge",
            f"<bridge name='{conn.store.read_record(name)['bridge']['name']}' stp='on' "
            f"delay='2'/>")
        cli(state_dir, "update", name, "add", "ip-dhcp-host", dhcp_host(prefix, n))
        clean(conn, name)
        cli(state_dir, "change", end, name)
        clean(conn, name)
        if end == "rollback":
            assert files(conn, name) == before
        assert conn.change_status(name).state == ("committed" if end == "commit"
                                                  else "rolled-back")


def test_the_timer_rolls_back_and_status_says_so(shape, state_dir):
    conn, name, prefix = shape
    before = files(conn, name)
    info = conn.change_start(name, rollback_after=1)
    conn.update(name, "add", "ip-dhcp-host", dhcp_host(prefix, 40))
    assert wait_for(lambda: read_snapshot(conn.store, name) is None, 10)
    assert wait_for(lambda: not pid_alive(info.timer_pid), 5)
    status = conn.change_status(name)
    assert status.state == "rolled-back" and status.reason == "timer expired", status
    text = cli(state_dir, "change", "status", name).stdout
    assert "rolled-back" in text and "timer expired" in text and "TIMER NOT RUNNING" not in text
    assert files(conn, name) == before
    clean(conn, name)


def test_deleting_the_last_dhcp_host(shape):
    conn, name, prefix = shape
    conn.update(name, "add", "ip-dhcp-host", dhcp_host(prefix, 50))
    conn.update(name, "delete", "ip-dhcp-host", dhcp_host(prefix, 50))
    clean(conn, name)
    # and every later update still verifies
    conn.update(name, "add", "ip-dhcp-host", dhcp_host(prefix, 51))
    conn.update_batch(name, [("add", "ip-dhcp-host", dhcp_host(prefix, 52)),
                             ("delete", "ip-dhcp-host", dhcp_host(prefix, 51))])
    clean(conn, name)
    assert conn.recover().ok
    clean(conn, name)
    netupdate.load(files(conn, name)[1])  # parses


def test_status_says_when_the_timer_could_not_roll_back(shape, state_dir, monkeypatch):
    """The timer's rollback fails: the change stays open and ``change status`` says when the
    rollback was tried, why, and how it failed (not just that the timer is gone); recover then
    rolls it back."""
    import os
    import signal

    from netupdate.live.embedded.connection import Connection
    conn, name, prefix = shape
    before = files(conn, name)
    info = conn.change_start(name, rollback_after=0.5)
    os.kill(info.timer_pid, signal.SIGKILL)  # the timer body runs in this process instead
    conn.update(name, "add", "ip-dhcp-host", dhcp_host(prefix, 60))
    real = Connection._transition

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Connection, "_transition", broken)
    sigint = signal.getsignal(signal.SIGINT)
    try:
        assert run_timer(conn, name, info.token) == 1
    finally:
        signal.signal(signal.SIGINT, sigint)  # the timer's body ignores Ctrl-C
    status = conn.change_status(name)
    assert status.state == "open" and status.reason == "timer expired", status
    assert "No space left on device" in status.detail
    text = cli(state_dir, "change", "status", name).stdout
    assert "ROLLBACK FAILED at" in text and "timer expired" in text, text
    assert "No space left on device" in text and "TIMER NOT RUNNING" not in text, text
    monkeypatch.setattr(Connection, "_transition", real)
    assert conn.recover().ok
    assert conn.change_status(name).state == "rolled-back"
    assert files(conn, name) == before
    clean(conn, name)
