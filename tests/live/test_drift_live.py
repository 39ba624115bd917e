"""Issue 16 live: ``check`` finds what was changed behind netupdate's back, one line each,
and ``--repair`` puts it back; the live definition's drift from the persistent one too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.live.conftest import ip

NET = """<network>
  <name>driftnet</name>
  <forward mode='nat'/>
  <bridge name='nubr-drift' stp='on' delay='2'/>
  <mtu size='1400'/>
  <ip address='10.91.0.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.91.0.100' end='10.91.0.150'/>
      <host mac='52:54:00:91:00:0a' name='guesta' ip='10.91.0.10'/>
    </dhcp>
  </ip>
</network>"""
BR = "nubr-drift"


def _nft_delete(conn, netns):
    subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet",
                    conn.driver.table_name("driftnet")], check=True)


def _kill_dnsmasq(conn, netns):
    os.kill(conn.status("driftnet").dnsmasq["pid"], signal.SIGKILL)


TAMPER = {
    "stp": (lambda conn, netns: ip("-n", netns, "link", "set", BR, "type", "bridge",
                                   "stp_state", "0"), f"bridge {BR} stp: expected on, actual off"),
    "hosts": (lambda conn, netns: os.unlink(conn.driver.layout("driftnet").dhcp_hostsdir
                                            / "base"), "dnsmasq host files"),
    "nft": (_nft_delete, "nft table inet"),
    "dnsmasq": (_kill_dnsmasq, "dnsmasq: expected running, actual not running"),
    "address": (lambda conn, netns: ip("-n", netns, "addr", "add", "10.99.0.1/24", "dev", BR),
                f"bridge {BR} address 10.99.0.1/24: expected absent, actual present"),
    "mtu": (lambda conn, netns: ip("-n", netns, "link", "set", BR, "mtu", "1300"),
            f"bridge {BR} mtu: expected 1400, actual 1300"),
}


@pytest.mark.parametrize("what", sorted(TAMPER))
def test_each_change_behind_our_back_is_detected_and_repaired(conn, netns, what):
    conn.define(NET)
    conn.start("driftnet")
    assert conn.check("driftnet").drift == []
    tamper, line = TAMPER[what]
    tamper(conn, netns)
    found = conn.check("driftnet")
    assert found.exit_code == 1
    assert any(line in d.to_text() for d in found.drift), found.to_text()
    repaired = conn.check("driftnet", repair=True)
    assert repaired.repaired and repaired.remaining == [] and repaired.exit_code == 0
    assert conn.check("driftnet").drift == []
    assert conn.status("driftnet").problems == ()


def test_cli_check_reports_definition_drift_and_kernel_drift(conn, netns, state_dir):
    conn.define(NET)
    conn.start("driftnet")
    conn.update("driftnet", "add", "ip-dhcp-host",
                "<host mac='52:54:00:91:00:0b' name='later' ip='10.91.0.11'/>", config=True,
                live=False)
    ip("-n", netns, "link", "set", BR, "mtu", "1300")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}

    def run(*extra):
        return subprocess.run([sys.executable, "-m", "netupdate", "check", "driftnet",
                               "--state-dir", state_dir, *extra], capture_output=True,
                              text=True, env=env, timeout=120)
    out = run()
    assert out.returncode == 1, out.stderr
    assert f"  bridge {BR} mtu: expected 1400, actual 1300" in out.stdout.splitlines()
    assert any(line.startswith("  live definition: ip-dhcp-host") and "expected" in line
               for line in out.stdout.splitlines()), out.stdout
    data = json.loads(run("--json").stdout)
    assert {"what": f"bridge {BR} mtu", "expected": "1400", "actual": "1300"} in data["drift"]
    repair = run("--repair")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "  repaired: live definition: set to the persistent definition through the live " \
        "plan (dnsmasq-" in repair.stdout, repair.stdout
    assert run().returncode == 0 and conn.check("driftnet").drift == []
    assert "ip='10.91.0.11'" in conn.dumpxml("driftnet")   # the live definition


def _bridge_and_port(netns: str, port: str) -> tuple[str, str]:
    """(the bridge's ifindex, the port's master): a restart makes a new bridge, and the old
    bridge's ports are left without one until re-attached."""
    bridge = ip("-n", netns, "-o", "link", "show", BR).stdout.split(":")[0]
    master = ip("-n", netns, "-o", "link", "show", port).stdout.partition(" master ")[2]
    return bridge, master.split()[0] if master else ""


def test_repair_applies_the_persistent_definition_live_without_a_restart(conn, netns):
    """libvirt's meaning: the persistent definition is what the next start uses, the live one
    what runs; --repair brings the running network to the persistent one by the live plan."""
    conn.define(NET)
    conn.start("driftnet")
    ip("-n", netns, "link", "add", "vguest", "type", "veth", "peer", "name", "vguestp")
    ip("-n", netns, "link", "set", "vguest", "master", BR, "up")
    was = _bridge_and_port(netns, "vguest")
    conn.define(NET.replace("<mtu size='1400'/>", "<mtu size='1450'/>"))   # persistent only
    found = conn.check("driftnet")
    assert [d.to_text() for d in found.drift] == [
        "live definition: network mtu mtu: expected 1450, actual 1400"], found.to_text()
    fixed = conn.check("driftnet", repair=True)
    assert fixed.exit_code == 0 and fixed.remaining == [] and fixed.notes == []
    assert len(fixed.repaired) == 1 and fixed.repaired[0].startswith(
        "live definition: set to the persistent definition through the live plan ("), fixed.repaired
    kinds = fixed.repaired[0].split("(", 1)[1].split(";")[0].split(", ")
    assert "bridge-mtu" in kinds and "network-restart" not in kinds, fixed.repaired
    assert "mtu 1450" in ip("-n", netns, "link", "show", BR).stdout
    assert _bridge_and_port(netns, "vguest") == was == (was[0], BR)   # no restart
    assert conn.check("driftnet").drift == []


def test_repair_leaves_a_difference_only_a_restart_applies(conn, netns):
    conn.define(NET)
    conn.start("driftnet")
    conn.define(NET.replace("nubr-drift", "nubr-drift2"))   # a bridge rename: a restart
    fixed = conn.check("driftnet", repair=True)
    assert fixed.exit_code == 1 and fixed.repaired == []
    assert [d.what for d in fixed.remaining] == [d.what for d in fixed.drift]
    assert fixed.notes and "only a network restart applies" in fixed.notes[0]
    assert "note: the live definition was not set" in fixed.to_text()
    assert ip("-n", netns, "link", "show", BR, check=False).returncode == 0   # still runs
