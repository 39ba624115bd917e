"""Live tier: one focused test per bug the generated tests (test_generated.py) found."""

from __future__ import annotations

import pytest

from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.driver import query

pytestmark = pytest.mark.live

IPV6_ONLY = """<network>
  <name>six</name>
  <bridge name='nubr-six' stp='on' delay='0'/>
  <dns><host ip='fd00:66::5'><hostname>five</hostname></host></dns>
  <ip family='ipv6' address='fd00:66::1' prefix='64'/>
</network>
"""


def test_an_ipv6_only_network_answers_dns_and_takes_dns_updates(conn, netns):
    """A bridge without ports has no carrier, so the kernel never runs duplicate address
    detection and an IPv6 address stayed tentative: dnsmasq could not answer on it, and every
    verified DNS update (and its rollback) failed on an IPv6-only network."""
    conn.define(IPV6_ONLY)
    conn.start("six")
    assert NS.call(netns, query, "fd00:66::1", "five", "AAAA")[1] == ["fd00:66::5"]
    result = conn.update("six", "add-last", "dns-host",
                         "<host ip='fd00:66::6'><hostname>six</hostname></host>")
    assert result.live == "applied" and "dns" in result.checks
    assert NS.call(netns, query, "fd00:66::1", "six", "AAAA")[1] == ["fd00:66::6"]
    assert conn.status("six").problems == ()


ROUTED = """<network>
  <name>routed</name>
  <forward mode='route'/>
  <bridge name='nubr-rt' stp='off' delay='0'/>
  <ip address='10.66.0.1' prefix='24'/>{ipv6}
</network>
"""
WITH_IPV6 = ROUTED.format(ipv6="\n  <ip family='ipv6' address='fd00:66::1' prefix='64'/>")
WITHOUT_IPV6 = ROUTED.format(ipv6="")


def _forwarding(netns: str) -> tuple[str, str]:
    def read():
        return tuple(open(f"/proc/sys/net/{key}").read().strip()
                     for key in ("ipv4/ip_forward", "ipv6/conf/all/forwarding"))
    return NS.call(netns, read)


def test_ipv6_forwarding_follows_the_address_families_of_a_running_network(conn, netns):
    """Forwarding was switched on only at start: an IPv6 address added live was not routed,
    and IPv6 forwarding stayed on after the last IPv6 address went (a fresh start of the same
    definition differs in both cases); a rollback puts it back too."""
    assert _forwarding(netns) == ("0", "0")
    conn.define(WITHOUT_IPV6)
    conn.start("routed")
    assert _forwarding(netns) == ("1", "0")
    conn.apply("routed", WITH_IPV6)
    assert _forwarding(netns) == ("1", "1")
    conn.apply("routed", WITHOUT_IPV6)
    assert _forwarding(netns) == ("1", "0")
    conn.change_start("routed")
    conn.apply("routed", WITH_IPV6)
    assert _forwarding(netns) == ("1", "1")
    conn.change_rollback("routed")
    assert _forwarding(netns) == ("1", "0")
    conn.stop("routed")
    assert _forwarding(netns) == ("0", "0")


DNSMASQ_NET = """<network>
  <name>noip</name>
  <bridge name='nubr-noip' stp='off' delay='0'/>
  <dns><host ip='10.67.0.5'><hostname>five</hostname></host></dns>
  <ip address='10.67.0.1' prefix='24'>
    <dhcp><host mac='52:54:00:67:00:05' name='five' ip='10.67.0.5'/></dhcp>
  </ip>
</network>
"""
NO_IP = """<network>
  <name>noip</name>
  <bridge name='nubr-noip' stp='off' delay='0'/>
</network>
"""


def _run_files(conn, name: str) -> list[str]:
    directory = conn.store.network_dir(name)
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")) \
        if directory.exists() else []


def test_a_network_that_no_longer_needs_dnsmasq_keeps_none_of_its_files(conn, netns):
    """An apply that drops the last <ip> stopped dnsmasq but left its conf and host files (with
    the old hosts' names) behind, where a fresh start of the new definition has none."""
    conn.define(NO_IP)
    conn.start("noip")
    fresh = _run_files(conn, "noip")
    conn.stop("noip")
    conn.define(DNSMASQ_NET)
    conn.start("noip")
    assert "dnsmasq.conf" in _run_files(conn, "noip")
    conn.apply("noip", NO_IP)
    assert _run_files(conn, "noip") == fresh
    assert conn.status("noip").problems == ()


WITH_ROUTE = """<network>
  <name>rt</name>
  <forward mode='nat'/>
  <bridge name='nubr-rt2' stp='off' delay='0'/>
  <ip address='10.67.0.1' prefix='24'/>{route}
</network>
"""


def test_reconcile_removes_a_route_a_killed_operation_added(conn, netns):
    """An apply killed after it added a route but before it wrote the record left the route
    in the kernel: rolling back to the old definition (recover) compared the old record with
    the old definition and kept it.  Reconcile now also removes gateway routes through the
    bridge that the definition does not want, and keeps the ones it does (whatever metric
    the kernel shows)."""
    import subprocess

    from netupdate.live.embedded.runtime.bridge import routes

    def kernel_routes():
        return NS.call(netns, lambda: routes(conn.driver.ipr(netns), "nubr-rt2"))

    route = "\n  <route address='10.203.0.0' prefix='24' gateway='10.67.0.254'/>"
    conn.define(WITH_ROUTE.format(route=route))
    conn.start("rt")
    subprocess.run(["ip", "netns", "exec", netns, "ip", "route", "add", "10.202.0.0/24",
                    "via", "10.67.0.253", "dev", "nubr-rt2"], check=True)
    assert len(kernel_routes()) == 2
    record = conn.store.read_record("rt")
    conn.driver.reconcile("rt", record, conn._defs(conn.store.live_path("rt")))
    assert [r["address"] for r in kernel_routes()] == ["10.203.0.0/24"]
