"""libvirtd tier: a real libvirtd inside a network namespace (tests/live/libvirtdaemon.py, the
fixture ``daemon`` of tests/live/conftest.py), driven through netupdate.

Each test defines and starts a NAT network, changes it through ``LibvirtConnection`` and checks
the result with dnspython queries to that network's dnsmasq (run inside the namespace).

Skips when not root or a prerequisite is missing, except in CI (``CI=true``): there it fails.
CI needs: apt-get install libvirt-daemon dnsmasq-base iptables iproute2 util-linux, and
pip install 'netupdate[libvirt,live]'.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from libvirtdaemon import Daemon, ip, resolves, tool

pytestmark = [pytest.mark.live, pytest.mark.libvirt]


@pytest.fixture
def conn(daemon):
    from netupdate.live.libvirt.connection import LibvirtConnection
    connection = LibvirtConnection(daemon.uri, netns=daemon.netns)
    yield connection
    connection.close()


NAT = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <bridge name='{bridge}' stp='on' delay='0'/>
  <domain name='lv.test' localOnly='yes'/>
  <dns>
    <txt name='motd' value='hello'/>
    <host ip='10.{n}.0.50'><hostname>alpha</hostname></host>
  </dns>
  <ip address='10.{n}.0.1' prefix='24'>
    <dhcp>
      <range start='10.{n}.0.100' end='10.{n}.0.199'/>
      <host mac='52:54:00:21:{n:02x}:10' name='vm10' ip='10.{n}.0.10'/>
    </dhcp>
  </ip>
</network>
"""

_counter = iter(range(200, 250))


@pytest.fixture
def network(conn):
    """A running NAT network of the daemon: (name, server address, subnet prefix)."""
    n = next(_counter)
    name = f"nu-lv-net{n}"
    conn.define(NAT.format(name=name, bridge=f"nulvbr{n}", n=n))
    conn.start(name)
    yield name, f"10.{n}.0.1", f"10.{n}.0"
    try:
        conn.stop(name)
    except Exception:  # noqa: BLE001 - the test may have stopped it
        pass
    conn.undefine(name)


def netns_read(daemon: Daemon, path: str) -> str:
    return subprocess.run([tool("ip"), "netns", "exec", daemon.netns, "cat", path],
                          capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------------- the tests
def test_libvirtd_runs_the_network_inside_its_namespace(daemon, conn, network):
    name, server, _ = network
    info = {row.name: row for row in conn.list()}[name]
    assert info.active and info.persistent and info.bridge.startswith("nulvbr")
    assert ip("-n", daemon.netns, "link", "show", info.bridge, check=False).returncode == 0
    assert ip("link", "show", info.bridge, check=False).returncode != 0   # not on the host
    assert resolves(daemon, server, "alpha.lv.test", ["10.{}.0.50".format(
        server.split(".")[1])])["answers"]
    assert (daemon.tmp / "lib" / "dnsmasq" / f"{name}.conf").exists()
    assert not conn.status(name).diverged


def test_dns_host_add_goes_through_virnetworkupdate(daemon, conn, network):
    from netupdate.live import results as R
    name, server, net = network
    result = conn.update(name, "add", "dns-host",
                         f"<host ip='{net}.51'><hostname>beta</hostname></host>")
    assert result.via == R.VIA_LIBVIRT
    assert (result.config, result.live) == (R.CHANGED, R.CHANGED)
    assert resolves(daemon, server, "beta.lv.test", [f"{net}.51"])["answers"] == [f"{net}.51"]
    assert "beta" in conn.dumpxml(name, inactive=True)
    assert not conn.status(name).diverged


def test_dns_host_modify_works_on_libvirt_9(daemon, conn, network):
    """libvirt 9.0 refuses modify of DNS records: netupdate defines the config and replaces
    the record live by delete + add through virNetworkUpdate."""
    from netupdate.live import results as R
    name, server, net = network
    result = conn.update(name, "modify", "dns-host",
                         f"<host ip='{net}.50'><hostname>alpha</hostname>"
                         f"<hostname>alpha2</hostname></host>")
    assert result.ok and result.live in (R.CHANGED, R.APPLIED), result.to_text()
    assert resolves(daemon, server, "alpha2.lv.test", [f"{net}.50"])["answers"] == [f"{net}.50"]
    assert "alpha2" in conn.dumpxml(name, inactive=True)
    assert not conn.status(name).diverged


def test_dns_host_delete(daemon, conn, network):
    name, server, net = network
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    conn.update(name, "delete", "dns-host", f"<host ip='{net}.50'/>")
    assert resolves(daemon, server, "alpha.lv.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"


def test_dns_txt_add_and_modify(daemon, conn, network):
    name, server, _ = network
    conn.update(name, "add", "dns-txt", "<txt name='build' value='v1'/>")
    assert resolves(daemon, server, "build", ['"v1"'], "TXT")["answers"] == ['"v1"']
    conn.update(name, "modify", "dns-txt", "<txt name='build' value='v2'/>")
    assert resolves(daemon, server, "build", ['"v2"'], "TXT")["answers"] == ['"v2"']


def test_dhcp_host_reaches_dnsmasq_hostsfile(daemon, conn, network):
    name, _, net = network
    conn.update(name, "add", "ip-dhcp-host",
                f"<host mac='52:54:00:aa:bb:01' name='vm77' ip='{net}.77'/>")
    hosts = (daemon.tmp / "lib" / "dnsmasq" / f"{name}.hostsfile").read_text()
    assert f"52:54:00:aa:bb:01,{net}.77,vm77" in hosts


def test_bridge_stp_is_set_through_netlink_in_the_namespace(daemon, conn, network):
    from netupdate.live import results as R
    name, server, net = network
    bridge = conn.status(name).bridge
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "1"
    result = conn.update(name, "modify", "bridge", f"<bridge name='{bridge}' stp='off' "
                                                   "delay='5'/>")
    assert result.via == R.VIA_NETUPDATE and result.live == R.APPLIED, result.to_text()
    assert {a.kind for a in result.actions} == {"bridge-stp", "bridge-delay"}
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "0"
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/forward_delay") == "500"
    assert "stp='off'" in conn.dumpxml(name, inactive=True)
    # libvirt's own view of the live network keeps the old value, and status says so
    status = conn.status(name)
    assert status.diverged and any("bridge" in line for line in status.drift)
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    # --restart only restarts when needed: netlink is still enough
    result = conn.update(name, "modify", "bridge", f"<bridge name='{bridge}' stp='off' "
                                                   "delay='5'/>", restart=True)
    assert result.live == R.APPLIED and result.config == R.UNCHANGED
    # a restart makes libvirt's view and the kernel agree
    conn.stop(name)
    conn.start(name)
    assert not conn.status(name).diverged
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "0"


def test_domain_change_needs_a_restart_and_restart_applies_it(daemon, conn, network):
    from netupdate.live import results as R
    name, server, net = network
    result = conn.update(name, "modify", "domain", "<domain name='moved.test' localOnly='yes'/>")
    assert result.restart_needed and result.exit_code == R.EXIT_RESTART_NEEDED
    assert "dnsmasq-restart" in {a.kind for a in result.pending}
    assert "moved.test" in conn.dumpxml(name, inactive=True)
    assert "moved.test" not in conn.dumpxml(name)
    assert conn.status(name).diverged
    # the live network still serves the old domain: nothing half-done
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    result = conn.update(name, "modify", "domain", "<domain name='moved.test' localOnly='yes'/>",
                         restart=True)
    assert result.restarted and result.config == R.UNCHANGED
    assert resolves(daemon, server, "alpha.moved.test", [f"{net}.50"])["answers"] == [
        f"{net}.50"]
    assert not conn.status(name).diverged


def test_apply_reconciles_the_running_network(daemon, conn, network):
    from netupdate.edit.engine import update_xml
    from netupdate.live import results as R
    name, server, net = network
    desired = conn.dumpxml(name, inactive=True)
    for command, section, xml in (
            ("add", "dns-host", f"<host ip='{net}.60'><hostname>gamma</hostname></host>"),
            ("delete", "dns-host", f"<host ip='{net}.50'/>"),
            ("modify", "dns-txt", "<txt name='motd' value='applied'/>"),
            ("add", "ip-dhcp-host", f"<host mac='52:54:00:aa:bb:02' name='vm78' "
                                    f"ip='{net}.78'/>")):
        desired = update_xml(desired, command, section, xml)
    plan = conn.diff(name, desired)
    assert not plan.restart_needed and len(plan.changes) == 4
    result = conn.apply(name, desired)
    assert result.ok and (result.config, result.live) == (R.CHANGED, R.APPLIED)
    assert resolves(daemon, server, "gamma.lv.test", [f"{net}.60"])["answers"] == [f"{net}.60"]
    assert resolves(daemon, server, "alpha.lv.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"
    assert resolves(daemon, server, "motd", ['"applied"'], "TXT")["answers"] == ['"applied"']
    assert not conn.status(name).diverged
    assert not conn.diff(name, desired)


def test_cli_update_with_connect(daemon, network):
    name, server, net = network
    env = dict(os.environ, NETUPDATE_CONNECT="")
    out = subprocess.run([sys.executable, "-m", "netupdate", "update", "--connect", daemon.uri,
                          name, "add", "dns-host",
                          f"<host ip='{net}.70'><hostname>cli</hostname></host>"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "persistent config and live state" in out.stdout
    assert resolves(daemon, server, "cli.lv.test", [f"{net}.70"])["answers"] == [f"{net}.70"]
