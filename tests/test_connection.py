"""The library connection without a live network (the live tier is tests/live/)."""

import pytest

import netupdate
from netupdate.errors import NetupdateError, PermissionFailure, RuntimeFailure, StateError
from netupdate.live.connect import connect
from netupdate.live.embedded.connection import Connection
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.results import UpdateResult

UUID = "3f0e0c2a-7d1b-4c55-9a43-2f6c8e5b1d01"
NET = f"""<network>
  <name>lib</name>
  <uuid>{UUID}</uuid>
  <forward mode='nat'/>
  <bridge name='nubr-lib'/>
  <ip address='10.80.0.1' prefix='24'/>
</network>
"""


@pytest.fixture
def conn(tmp_path):
    with connect(state_dir=tmp_path / "state") as connection:
        yield connection


def test_connect_embedded_and_state_dir(tmp_path, monkeypatch):
    assert isinstance(netupdate.connect(state_dir=tmp_path), Connection)
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "env"))
    assert netupdate.connect().store.config_dir == tmp_path / "env" / "config"
    with pytest.raises(NetupdateError):
        connect("qemu:///system", state_dir=tmp_path)


def test_define_list_dumpxml_undefine(conn):
    assert conn.define(NET) == "lib"
    assert [entry.to_json() for entry in conn.list()] == [
        {"name": "lib", "active": False, "state": "inactive", "persistent": True,
         "autostart": False, "bridge": "nubr-lib", "netns": None, "uuid": UUID}]
    assert conn.dumpxml("lib") == NET and conn.dumpxml("lib", inactive=True) == NET
    status = conn.status("lib")
    assert status.state == "inactive" and status.problems == ()
    conn.undefine("lib")
    assert conn.list() == []
    with pytest.raises(StateError, match="not defined"):
        conn.undefine("lib")
    with pytest.raises(StateError, match="not defined"):
        conn.status("lib")


def test_define_refuses_bad_names_and_missing_name(conn):
    with pytest.raises(NetupdateError, match="/network/name: .*network name 'a/b'"):
        conn.define("<network><name>a/b</name></network>")
    with pytest.raises(NetupdateError, match="no <name>"):
        conn.define("<network/>")


def test_start_stop_need_privileges_and_state(conn, monkeypatch):
    conn.define(NET)
    monkeypatch.setattr(NS, "has_net_admin", lambda: False)
    with pytest.raises(PermissionFailure, match="CAP_NET_ADMIN"):
        conn.start("lib")
    assert conn.store.read_record("lib") is None
    with pytest.raises(StateError, match="not running"):
        conn.stop("lib")
    with pytest.raises(StateError, match="not defined"):
        conn.start("other")


@pytest.mark.parametrize("dropped", [False, True])
@pytest.mark.parametrize("capget", [True, False])
def test_cap_net_admin_is_read_as_the_kernel_reports_it(dropped, capget):
    """``has_net_admin`` (capget, or /proc/self/status where there is no capget) says what
    /proc/self/status says, in a process that has CAP_NET_ADMIN and in one whose bounding set
    dropped it (setpriv)."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path
    if dropped and (shutil.which("setpriv") is None or not NS.has_net_admin()):
        pytest.skip("needs setpriv and CAP_NET_ADMIN to drop")
    code = ("import sys\nfrom netupdate import libc\n"
            "from netupdate.live.embedded.runtime import netns as NS\n"
            f"real = libc.function\nif not {capget}:\n"
            "    libc.function = lambda name, *t: None if name == 'capget' else real(name, *t)\n"
            "line = next(l for l in open('/proc/self/status') if l.startswith('CapEff:'))\n"
            "print(NS.has_net_admin(), bool(int(line.split()[1], 16) >> 12 & 1))\n")
    argv = ["setpriv", "--bounding-set", "-net_admin"] if dropped else []
    out = subprocess.run([*argv, sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent).stdout.split()
    assert out[0] == out[1] and (out[0] == "False" if dropped else True), out


def test_start_refuses_a_bridge_mode_network_without_its_host_bridge(conn):
    """Bridge mode runs (issue 17), on a host bridge that exists: a missing one is a clear
    error and nothing is left running."""
    conn.define("<network><name>br</name><forward mode='bridge'/>"
                "<bridge name='nu-nosuch0'/></network>")
    with pytest.raises(NetupdateError, match="host bridge nu-nosuch0 does not exist"):
        conn.start("br")
    assert conn.store.read_record("br") is None


def test_update_result_wording():
    result = UpdateResult("n", "add", "dns-host", live="applied", config="changed")
    assert result.summary() == "Updated network n persistent config and live state"
    assert UpdateResult("n", "add", "x", live="not-running", config="changed").summary() == \
        "Updated network n persistent config"
    assert UpdateResult("n", "add", "x", config="changed").summary().startswith(
        "Updated network n persistent config; live state not updated (persistent config only)")
    dry = UpdateResult("n", "add", "x", live="applied", dry_run=True)
    assert dry.summary() == "Would update network n live state"
    assert dry.to_json()["summary"] == dry.summary()


def test_cli_registers_live_verbs():
    from netupdate.cli import build_parser
    text = build_parser().format_help()
    for verb in ("define", "start", "stop", "destroy", "undefine", "list", "dumpxml",
                 "status", "update"):
        assert verb in text


def test_rollback_of_a_restart_keeps_what_it_could_not_undo(conn, monkeypatch):
    """A failed network restart is rolled back by a teardown and a fresh start; when the
    teardown cannot undo everything, the stored record keeps exactly what is left (what a later
    'stop' or 'recover' retries) and nothing is started over it."""
    from netupdate.live import txn

    class Driver:
        def teardown(self, record):
            record["bridge"] = None                  # removed; dnsmasq would not go
            return ["dnsmasq 4242: still running"]

        def start(self, *args, **kwargs):
            pytest.fail("started over what could not be torn down")

        def close(self):
            pass
    conn._driver = Driver()
    monkeypatch.setattr(txn, "kill_strays", lambda *args: None)
    conf = str(conn.store.network_dir("x") / "dnsmasq.conf")  # not there
    record = {"netns": None, "bridge": {"name": "nubr-x", "created": True},
              "dnsmasq": {"pid": 4242, "conf": conf}}
    conn.store.write_record("x", record)
    with pytest.raises(RuntimeFailure, match="dnsmasq 4242: still running"):
        conn._rollback("x", None, ("network-restart",), record, netns=None)
    assert conn.store.read_record("x") == {
        "netns": None, "bridge": None,
        "dnsmasq": {"pid": 4242, "conf": conf}}
