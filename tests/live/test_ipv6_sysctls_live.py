"""Live tier (issue 17): the bridge's IPv6 sysctls as libvirt's networkSetIPv6Sysctls sets them
(disable_ipv6 1 without an IPv6 <ip>, 0 with one; accept_ra and autoconf 0), at start, through
live <ip> changes (no restart, the guest's link stays up), rollback, ``check`` and ``--repair``."""

from __future__ import annotations

import subprocess

import pytest
from guests import LinkWatch, plug

from tests.live.conftest import ip

pytestmark = pytest.mark.live

BR = "nubr-v6sys"
V4 = """<network>
  <name>v6sys</name>
  <forward mode='nat'/>
  <bridge name='nubr-v6sys' stp='off' delay='0'/>
  <ip address='10.73.0.1' prefix='24'>
    <dhcp><range start='10.73.0.10' end='10.73.0.20'/></dhcp>
  </ip>
</network>
"""
V6_IP = "<ip family='ipv6' address='fd00:73::1' prefix='64'/>"
BOTH = V4.replace("</network>", f"  {V6_IP}\n</network>")
OFF = {"disable_ipv6": "1", "accept_ra": "0", "autoconf": "0"}
ON = {"disable_ipv6": "0", "accept_ra": "0", "autoconf": "0"}


def sysctls(netns: str) -> dict[str, str]:
    """The bridge's three settings, read by ``cat`` inside the namespace."""
    return {field: subprocess.run(["ip", "netns", "exec", netns, "cat",
                                   f"/proc/sys/net/ipv6/conf/{BR}/{field}"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            for field in ON}


def _write(netns: str, field: str, value: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "sh", "-c",
                    f"echo {value} > /proc/sys/net/ipv6/conf/{BR}/{field}"], check=True)


def _v6_addresses(netns: str) -> str:
    return ip("-n", netns, "-6", "addr", "show", "dev", BR, "scope", "global").stdout


@pytest.mark.parametrize(("text", "want"), [(V4, OFF), (BOTH, ON)], ids=["ipv4", "ipv6"])
def test_start_sets_them(conn, netns, text, want):
    conn.define(text)
    conn.start("v6sys")
    assert sysctls(netns) == want
    assert ("fd00:73::1/64" in _v6_addresses(netns)) == (want is ON)
    assert conn.check("v6sys").drift == []


def test_the_first_ipv6_ip_live_enables_and_the_last_disables_without_a_restart(conn, netns):
    conn.define(V4)
    conn.start("v6sys")
    port = plug(netns, BR)
    index = ip("-n", netns, "-o", "link", "show", BR).stdout.split(":")[0]
    with LinkWatch(netns, port) as watch:
        added = conn.update("v6sys", "add", "ip", V6_IP)
    kinds = {a.kind for a in added.actions}
    assert "address-add" in kinds and "network-restart" not in kinds, kinds
    assert [dict(a.detail) for a in added.actions if a.kind == "bridge-ipv6"] == \
        [{"disable_ipv6": 0}]   # the step is in the result
    assert watch.cuts == [], watch.cuts
    assert sysctls(netns) == ON and "fd00:73::1/64" in _v6_addresses(netns)
    assert conn.check("v6sys").drift == []
    with LinkWatch(netns, port) as watch:
        removed = conn.update("v6sys", "delete", "ip", V6_IP)
    assert "network-restart" not in {a.kind for a in removed.actions}
    assert [dict(a.detail) for a in removed.actions if a.kind == "bridge-ipv6"] == \
        [{"disable_ipv6": 1}]
    assert watch.cuts == [], watch.cuts
    assert sysctls(netns) == OFF and "fd00:73" not in _v6_addresses(netns)
    assert ip("-n", netns, "-o", "link", "show", BR).stdout.split(":")[0] == index


def test_rollback_puts_them_back(conn, netns):
    conn.define(V4)
    conn.start("v6sys")
    conn.change_start("v6sys")
    conn.update("v6sys", "add", "ip", V6_IP)
    assert sysctls(netns) == ON
    conn.change_rollback("v6sys")
    assert sysctls(netns) == OFF
    assert conn.check("v6sys").drift == []


@pytest.mark.parametrize(("text", "field", "value"), [
    (V4, "disable_ipv6", "0"), (V4, "accept_ra", "1"), (BOTH, "autoconf", "1"),
    (BOTH, "accept_ra", "2")], ids=["v4-disable", "v4-accept_ra", "v6-autoconf", "v6-accept_ra"])
def test_check_reports_a_changed_one_and_repair_fixes_it(conn, netns, text, field, value):
    conn.define(text)
    conn.start("v6sys")
    want = sysctls(netns)
    _write(netns, field, value)
    found = conn.check("v6sys")
    assert found.exit_code == 1
    line = f"sysctl net.ipv6.conf.{BR}.{field}: expected {want[field]}, actual {value}"
    assert any(line in d.to_text() for d in found.drift), found.to_text()
    repaired = conn.check("v6sys", repair=True)
    assert repaired.repaired and repaired.remaining == [] and repaired.exit_code == 0
    assert sysctls(netns) == want
    assert conn.check("v6sys").drift == []
