"""Live tier of the Ansible collection (issue 18): ``ansible-playbook`` against three hosts, each
the local connection with its own state dir and its own network namespace (made by the test,
removed after), where the embedded runtime runs the network.

One rollout, as an admin would run it: the network started (check mode first, then for real,
then again: nothing to do), a reservation and a DNS name added live (check mode, diff, real,
again), DNS answering inside each namespace, a conflicting reservation failing one host only
(that host unchanged), and a safe change (``try_seconds`` + ``check``) rolled out with
``serial: 1`` where the check fails on one host: that host is rolled back (live and config) and
failed, the others commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests import ansiblehelp as A

pytestmark = pytest.mark.live
FIXTURE = A.ROOT / "fixtures" / "networks" / "nat-default.xml"
HOSTS = ("hv1", "hv2", "hv3")


@pytest.fixture
def fleet(make_netns, tmp_path):
    """host -> (state dir, namespace); every network is stopped afterwards."""
    import netupdate
    A.require_ansible()
    hosts = {}
    for host in HOSTS:
        state = tempfile.mkdtemp(prefix="nu-state-")
        os.chmod(state, 0o755)   # dnsmasq runs as nobody and reads the host files under it
        hosts[host] = (state, make_netns())
    yield hosts
    for state, _ns in hosts.values():
        with netupdate.connect(state_dir=state) as conn:
            for row in conn.list():
                if row.active:
                    try:
                        conn.stop(row.name)
                    except Exception:  # noqa: BLE001 - the namespace goes away anyway
                        pass
        shutil.rmtree(state, ignore_errors=True)


def _conn(state):
    import netupdate
    return netupdate.connect(state_dir=state)


def _lookup(netns: str, name: str, rdtype: str = "A") -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "busybox", "nslookup",
                           f"-type={rdtype.lower()}", name, "192.168.122.1"],
                          capture_output=True, text=True, timeout=30).stdout


def _play(tasks: str, serial: str = "") -> str:
    return f"""
- hosts: all
  gather_facts: false
  {serial}
  environment:
    NETUPDATE_STATE_DIR: "{{{{ nu_state_dir }}}}"
  tasks:
{tasks}
"""


STARTED = f"""
    - netupdate.netupdate.network:
        name: default
        src: {FIXTURE}
        state: started
        netns: "{{{{ nu_netns }}}}"
"""
ENTRIES = """
    - netupdate.netupdate.dhcp_host:
        network: default
        mac: "52:54:00:00:00:42"
        name: web1
        ip: 192.168.122.42
    - netupdate.netupdate.dns_host:
        network: default
        ip: 192.168.122.42
        hostnames: [web1]
"""


def test_fleet_rollout_live(fleet, tmp_path):
    inv = A.inventory(tmp_path, {h: {"nu_state_dir": s, "nu_netns": ns}
                                 for h, (s, ns) in fleet.items()})
    started = _play(STARTED)
    A.playbook(tmp_path, started, inv, "--check")
    for state, _ns in fleet.values():
        with _conn(state) as conn:
            assert conn.list() == []
    run = A.playbook(tmp_path, started, inv)
    assert all(run.changed(h) == 1 for h in HOSTS)
    for state, ns in fleet.values():
        with _conn(state) as conn:
            assert conn.status("default").state == "active"
            assert conn.list()[0].netns == ns
    assert all(A.playbook(tmp_path, started, inv).changed(h) == 0 for h in HOSTS)

    with _conn(fleet["hv2"][0]) as conn:   # hv2: .42 is another machine's reservation
        conn.update("default", "add", "ip-dhcp-host",
                    "<host mac='52:54:00:00:00:99' name='db' ip='192.168.122.42'/>")
        held = conn.dumpxml("default"), conn.dumpxml("default", inactive=True)
    entries = _play(ENTRIES)
    check = A.playbook(tmp_path, entries, inv, "--check", "--diff", check_rc=2)
    assert check.changed("hv1") == 2 and check.failed("hv2") == 1
    assert "+      <host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>" in check.out
    assert "192.168.122.42" not in _lookup(fleet["hv1"][1], "web1")
    run = A.playbook(tmp_path, entries, inv, check_rc=2)
    assert run.changed("hv1") == run.changed("hv3") == 2 and run.failed("hv2") == 1
    for host in ("hv1", "hv3"):
        assert "192.168.122.42" in _lookup(fleet[host][1], "web1")
    with _conn(fleet["hv2"][0]) as conn:
        assert (conn.dumpxml("default"), conn.dumpxml("default", inactive=True)) == held
        assert conn.status("default").problems == ()
    again = A.playbook(tmp_path, entries, inv, check_rc=2)
    assert again.changed("hv1") == again.changed("hv3") == 0

    _safe_change(fleet, tmp_path, inv)


def _safe_change(fleet, tmp_path, inv):
    """A desired definition with a TXT record, applied with a try window and a check, one host
    at a time; hv3's check probes a port nothing listens on."""
    import netupdate
    desired = {}
    for host, (state, _ns) in fleet.items():
        with _conn(state) as conn:
            net = netupdate.load(conn.dumpxml("default", inactive=True))
        net.update("add", "dns-txt", "<txt name='motd' value='rollout'/>")
        desired[host] = net.to_xml()
        Path(tmp_path, f"desired-{host}.xml").write_text(desired[host])
    with _conn(fleet["hv3"][0]) as conn:
        held = conn.dumpxml("default"), conn.dumpxml("default", inactive=True)
    play = _play(f"""
    - netupdate.netupdate.network:
        name: default
        src: "{tmp_path}/desired-{{{{ inventory_hostname }}}}.xml"
        try_seconds: 120
        check: "192.168.122.1:{{{{ nu_port }}}}"
      vars:
        nu_port: "{{{{ 9 if inventory_hostname == 'hv3' else 53 }}}}"
    - netupdate.netupdate.network:
        name: default
        change: commit
""", serial="serial: 1")
    run = A.playbook(tmp_path, play, inv, check_rc=2)
    assert run.changed("hv1") == run.changed("hv2") == 2 and run.failed("hv3") == 1
    fatal, = [ln for ln in run.out.splitlines() if ln.startswith("fatal: [hv3]")]
    assert "192.168.122.1:9" in fatal and "Traceback" not in run.out
    for host in ("hv1", "hv2"):
        with _conn(fleet[host][0]) as conn:
            assert conn.dumpxml("default", inactive=True) == desired[host]
            assert conn.change_status("default").state == "committed"
        assert "rollout" in _lookup(fleet[host][1], "motd", "TXT")
    with _conn(fleet["hv3"][0]) as conn:
        assert (conn.dumpxml("default"), conn.dumpxml("default", inactive=True)) == held
        assert conn.change_status("default").state == "rolled-back"
    assert "rollout" not in _lookup(fleet["hv3"][1], "motd", "TXT")
