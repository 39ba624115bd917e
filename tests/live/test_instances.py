"""Live tier: several state directories in one namespace, and a namespace that vanished."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from txnhelp import cli

import netupdate
from netupdate.live.embedded.runtime import forwarding as FW
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.txn.journal import read_journal, write_journal

pytestmark = pytest.mark.live

NET = """<network>
  <name>shared</name>
  <forward mode='nat'/>
  <bridge name='{bridge}' stp='off' delay='0'/>
  <ip address='10.{n}.0.1' prefix='24'>
    <dhcp><range start='10.{n}.0.100' end='10.{n}.0.150'/></dhcp>
  </ip>
  <ip family='ipv6' address='fd00:{n}::1' prefix='64'/>
</network>
"""


def sysctl(netns: str, key: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "cat", f"/proc/sys/{key}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def tables(netns: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "tables"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines()]


@pytest.fixture
def two_state_dirs(state_dir, netns):
    other = tempfile.mkdtemp(prefix="nu-state-")
    Path(other).chmod(0o755)
    conns = [netupdate.connect(state_dir=path, netns=netns) for path in (state_dir, other)]
    yield conns
    for conn in conns:
        if conn.store.read_record("shared") is not None:
            conn.stop("shared")
        conn.close()
    subprocess.run(["rm", "-rf", other], check=True)


def test_two_state_dirs_run_a_same_named_network_in_one_namespace(two_state_dirs, netns):
    """Each state directory's network has its own nft table; stopping one leaves the other's
    table and the namespace's forwarding alone; the last one out puts forwarding back."""
    first, second = two_state_dirs
    keys = FW.KEYS
    assert [sysctl(netns, key) for key in keys] == ["0", "0"]
    first.define(NET.format(bridge="nubr-one", n=81))
    second.define(NET.format(bridge="nubr-two", n=82))
    first.start("shared")
    second.start("shared")
    mine = [c.store.read_record("shared")["firewall"]["table"] for c in two_state_dirs]
    assert mine[0] != mine[1] and set(mine) <= set(tables(netns))
    assert all(c.status("shared").state == "active" for c in two_state_dirs)
    assert [sysctl(netns, key) for key in keys] == ["1", "1"]
    lid = first.store.read_record("shared")["sysctls"]
    assert lid == second.store.read_record("shared")["sysctls"] == FW.namespace_id(netns)
    ledger = json.loads((FW.ledger_dir() / f"{lid}.json").read_text())
    assert sorted(ledger["users"]) == sorted(
        [str(Path(c.store.run_dir).resolve()), "shared", list(keys)] for c in two_state_dirs)
    first.stop("shared")
    assert mine[0] not in tables(netns) and mine[1] in tables(netns)
    assert second.status("shared").state == "active"
    assert [sysctl(netns, key) for key in keys] == ["1", "1"]  # the other one still forwards
    second.stop("shared")
    assert mine[1] not in tables(netns)
    assert [sysctl(netns, key) for key in keys] == ["0", "0"]
    assert not (FW.ledger_dir() / f"{lid}.json").exists()


def test_ipv6_forwarding_is_put_back_when_the_last_network_needing_it_stops(
        two_state_dirs, netns):
    """The ledger records which settings each user needs: when the only IPv6 network of the
    namespace stops, IPv6 forwarding goes back while the other state dir's IPv4-only network
    keeps IPv4 forwarding."""
    first, second = two_state_dirs
    ipv4_only = NET.format(bridge="nubr-four", n=84).replace(
        "  <ip family='ipv6' address='fd00:84::1' prefix='64'/>\n", "")
    first.define(NET.format(bridge="nubr-six", n=83))
    second.define(ipv4_only)
    first.start("shared")
    second.start("shared")
    assert [sysctl(netns, key) for key in FW.KEYS] == ["1", "1"]
    first.stop("shared")
    assert [sysctl(netns, key) for key in FW.KEYS] == ["1", "0"]
    second.stop("shared")
    assert [sysctl(netns, key) for key in FW.KEYS] == ["0", "0"]


def test_a_user_whose_state_dir_vanished_is_dropped_from_the_ledger(two_state_dirs, netns):
    """A state directory removed while its network ran does not keep forwarding on forever:
    its entry goes when the ledger is next opened."""
    first, second = two_state_dirs
    first.define(NET.format(bridge="nubr-one", n=83))
    second.define(NET.format(bridge="nubr-two", n=84))
    first.start("shared")
    second.start("shared")
    record = first.store.read_record("shared")
    first.store.delete_record("shared")  # as if its state directory was wiped
    second.stop("shared")
    assert sysctl(netns, FW.KEYS[0]) == "0"
    assert not (FW.ledger_dir() / f"{record['sysctls']}.json").exists()
    first.driver.teardown(record)  # what is left of it (bridge, dnsmasq, table)


def test_vanished_namespace_update_refuses_without_journal_and_recover_clears(
        state_dir, netns, tmp_path):
    xml = tmp_path / "net.xml"
    xml.write_text(NET.format(bridge="nubr-van", n=85))
    cli(state_dir, "define", str(xml))
    cli(state_dir, "start", "shared", "--netns", netns)
    conn = netupdate.connect(state_dir=state_dir)
    record = conn.store.read_record("shared")
    NS.forget(netns)
    subprocess.run(["ip", "netns", "del", netns], check=True)
    proc = cli(state_dir, "update", "shared", "add", "dns-host",
               "<host ip='10.85.0.5'><hostname>x</hostname></host>", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"netupdate: error: network 'shared': namespace {netns} is gone; nothing was changed "
        "(clear its record with 'netupdate recover' or 'netupdate stop shared')"]
    assert read_journal(conn.store, "shared") is None
    out = cli(state_dir, "recover").stdout.strip().splitlines()
    assert out == [f"shared: namespace {netns} is gone: cleared the runtime record of network "
                   "'shared' (it no longer runs)"]
    assert conn.store.read_record("shared") is None
    assert not Path(record["dir"]).exists()
    assert not (FW.ledger_dir() / f"{record['sysctls']}.json").exists()
    subprocess.run(["ip", "netns", "add", netns], check=True)  # for the fixture's cleanup
    conn.close()


def test_list_and_status_report_a_vanished_namespace(state_dir, netns, tmp_path):
    xml = tmp_path / "net.xml"
    xml.write_text(NET.format(bridge="nubr-lst", n=87))
    cli(state_dir, "define", str(xml))
    cli(state_dir, "start", "shared", "--netns", netns)
    assert json.loads(cli(state_dir, "list", "--json").stdout)[0]["state"] == "active"
    NS.forget(netns)
    subprocess.run(["ip", "netns", "del", netns], check=True)
    listed = json.loads(cli(state_dir, "list", "--json").stdout)
    assert [(row["name"], row["state"], row["netns"]) for row in listed] == [
        ("shared", "vanished", netns)]
    assert "vanished" in cli(state_dir, "list").stdout.splitlines()[2].split()
    status = json.loads(cli(state_dir, "status", "shared", "--json", check=False).stdout)
    assert status["state"] == "vanished" and status["netns"] == netns
    assert status["problems"] == [f"namespace {netns} is gone: the network no longer runs; "
                                  "clear its record with 'netupdate recover'"]
    cli(state_dir, "recover")
    assert json.loads(cli(state_dir, "list", "--json").stdout)[0]["state"] == "inactive"
    subprocess.run(["ip", "netns", "add", netns], check=True)   # for the fixture's cleanup


@pytest.mark.parametrize("verb", ["recover", "undefine"])
def test_vanished_namespace_with_a_journal_left_is_cleared(state_dir, netns, tmp_path, verb):
    """A journal left by an update whose namespace then vanished (or by an older netupdate)
    no longer blocks: recover and undefine clear the record and say so in one line."""
    xml = tmp_path / "net.xml"
    xml.write_text(NET.format(bridge="nubr-jrn", n=86))
    cli(state_dir, "define", str(xml))
    cli(state_dir, "start", "shared", "--netns", netns)
    conn = netupdate.connect(state_dir=state_dir)
    record = conn.store.read_record("shared")
    live = conn.store.live_path("shared").read_bytes()
    write_journal(conn.store, "shared", "update", live=live, config=live, record=record,
                  sides=("live", "config"), kinds=("dnsmasq-sighup",))
    NS.forget(netns)
    subprocess.run(["ip", "netns", "del", netns], check=True)
    proc = cli(state_dir, verb, "shared")  if verb == "undefine" else cli(state_dir, verb)
    lines = proc.stdout.strip().splitlines()
    cleared = (f"namespace {netns} is gone: cleared the runtime record of network 'shared' "
               "(it no longer runs)")
    assert any(cleared in line for line in lines), lines
    assert read_journal(conn.store, "shared") is None
    assert conn.store.read_record("shared") is None
    assert (conn.store.config_path("shared").exists()) == (verb == "recover")
    assert "Traceback" not in proc.stderr
    subprocess.run(["ip", "netns", "add", netns], check=True)
    conn.close()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "x" * 256, "a\nb", "tab\there"])
def test_bad_netns_names_are_one_line_before_anything(state_dir, tmp_path, name):
    xml = tmp_path / "net.xml"
    xml.write_text(NET.format(bridge="nubr-bad", n=87))
    cli(state_dir, "define", str(xml))
    proc = cli(state_dir, "start", "shared", "--netns", name, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"netupdate: error: invalid network namespace name {name!r}: it must be 1 to 255 "
        "bytes, not '.' or '..', without '/' or control characters"]
    conn = netupdate.connect(state_dir=state_dir)
    assert conn.store.read_record("shared") is None
    conn.close()
