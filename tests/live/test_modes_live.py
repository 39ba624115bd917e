"""Live tier (issue 17): changes that used to restart the network are applied in place, and a
restart that cannot be avoided brings the guests back.  Each test plugs a veth "guest" into the
bridge and watches its link (netlink link events): it must never go down or leave the bridge
where the plan has no restart."""

from __future__ import annotations

import subprocess
import time

import kernelview
import pytest
from guests import LinkWatch, plug

from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import ports as PORTS
from netupdate.live.embedded.runtime import shaping as QOS

pytestmark = pytest.mark.live

BASE = """<network>
  <name>modes</name>
  {forward}
  <bridge name='nubr-modes' stp='off' delay='0'{mtm}/>
  {extra}
  <ip address='10.71.0.1' prefix='24'>
    <dhcp><range start='10.71.0.10' end='10.71.0.20'/></dhcp>
  </ip>
</network>
"""


def xml(forward="<forward mode='nat'/>", extra="", mtm=""):
    return BASE.format(forward=forward, extra=extra, mtm=mtm)


def kernel(netns, fn, *args):
    ipr = NS.iproute(netns)
    try:
        return fn(ipr, *args)
    finally:
        ipr.close()


def started(conn, netns, text):
    conn.define(text)
    conn.start("modes")
    return plug(netns, "nubr-modes")


def apply_watched(conn, netns, port, text):
    with LinkWatch(netns, port) as watch:
        result = conn.apply("modes", text)
    kinds = tuple(a.kind for a in result.actions)
    assert "network-restart" not in kinds, kinds
    assert watch.cuts == [], watch.cuts
    return result, kinds


def test_bandwidth_is_shaped_in_place(conn, netns):
    port = started(conn, netns, xml())
    bandwidth = ("<bandwidth><inbound average='1000' peak='5000' burst='1024'/>"
                 "<outbound average='128'/></bandwidth>")
    _result, kinds = apply_watched(conn, netns, port, xml(extra=bandwidth))
    assert "bridge-bandwidth" in kinds
    have = kernel(netns, QOS.read, "nubr-modes")
    assert have["in"] == {"rate": 1_000_000, "ceil": 5_000_000}
    _result, kinds = apply_watched(conn, netns, port, xml(
        extra="<bandwidth><inbound average='2000'/></bandwidth>"))
    assert kernel(netns, QOS.read, "nubr-modes")["in"] == {"rate": 2_000_000, "ceil": 2_000_000}
    apply_watched(conn, netns, port, xml())
    assert kernel(netns, QOS.read, "nubr-modes") == {"in": None, "out": None}


def test_bridge_mac_changes_in_place(conn, netns):
    port = started(conn, netns, xml())
    _result, kinds = apply_watched(conn, netns, port, xml(extra="<mac address='52:54:00:71:00:01'/>"))
    assert kinds == ("bridge-mac",)
    from netupdate.live.embedded.runtime import bridge as BR
    assert kernel(netns, BR.read, "nubr-modes")["mac"] == "52:54:00:71:00:01"


def test_port_isolation_and_mac_table_switch_on_attached_ports(conn, netns):
    port = started(conn, netns, xml())
    _r, kinds = apply_watched(conn, netns, port, xml(extra="<port isolated='yes'/>"))
    assert kinds == ("bridge-port-isolated",)
    assert kernel(netns, PORTS.attached, "nubr-modes")[port]["isolated"] == 1
    _r, kinds = apply_watched(conn, netns, port, xml(extra="<port isolated='yes'/>",
                                                      mtm=" macTableManager='libvirt'"))
    assert kinds == ("bridge-mac-table",)
    settings = kernel(netns, PORTS.attached, "nubr-modes")[port]
    assert (settings["learning"], settings["unicast_flood"]) == (0, 0)
    _r, kinds = apply_watched(conn, netns, port, xml())
    settings = kernel(netns, PORTS.attached, "nubr-modes")[port]
    assert (settings["isolated"], settings["learning"], settings["unicast_flood"]) == (0, 1, 1)


def test_isolated_to_nat_and_back_keeps_the_bridge(conn, netns):
    port = started(conn, netns, xml(forward=""))
    _r, kinds = apply_watched(conn, netns, port, xml())
    assert "firewall-reload" in kinds and "dnsmasq-restart" in kinds
    tables = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"],
                            capture_output=True, text=True, check=True).stdout
    assert "masquerade" in tables
    assert NS.call(netns, NS.sysctl, "net/ipv4/ip_forward") == "1"
    apply_watched(conn, netns, port, xml(forward=""))
    tables = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"],
                            capture_output=True, text=True, check=True).stdout
    assert "masquerade" not in tables


def test_a_restart_reattaches_the_guests_with_their_settings(conn, netns):
    port = started(conn, netns, xml())
    other = plug(netns, "nubr-modes", isolated=True)
    renamed = xml().replace("nubr-modes", "nubr-modes2")
    result = conn.apply("modes", renamed)
    assert "network-restart" in [a.kind for a in result.actions]
    have = kernel(netns, PORTS.attached, "nubr-modes2")
    assert sorted(have) == sorted([port, other])
    assert any(check.startswith("ports re-attached: ") and port in check and other in check
               for check in result.checks), result.checks


SAMPLE = 24   # the corpus has 22 distinct plans on runnable networks today


def sample_pairs(generate, plan) -> list:
    """One pair per distinct plan (its action kinds), seeded, at most ``SAMPLE``: every kind of
    live step gets exercised, not just the most frequent."""
    import random
    rng = random.Random(17)
    groups: dict[tuple, list] = {}
    for pair in generate():
        if _runnable(pair):
            groups.setdefault(plan(pair.before_defs, pair.after_defs).kinds, []).append(pair)
    keys = sorted(groups, key=lambda kinds: (-len(set(kinds) - {"none"}), kinds))
    return [rng.choice(groups[kinds]) for kinds in keys[:SAMPLE]]


def _runnable(pair) -> bool:
    from netupdate.model import values as T
    return all(defs.forward_mode in T.MANAGED_MODES and not defs.dnsmasq_options
               for defs in (pair.before_defs, pair.after_defs))


def _plug_as_libvirt(netns: str, bridge: str, xml_text: str) -> str:
    """A veth guest plugged the way libvirt plugs one into this network: isolated with
    ``<port isolated='yes'>``, not learning or flooding with macTableManager='libvirt'."""
    want = kernelview.expect(xml_text)
    port = plug(netns, bridge, isolated=want["isolated"])
    if not want["learning"]:
        _ip(netns, "link", "set", port, "type", "bridge_slave", "learning", "off", "flood",
            "off")
    return port


def test_a_sample_of_the_corpus_applies_live_without_cutting_the_guest(conn, netns):
    """A seeded sample of the generated corpus (``restartcorpus``): each pair's 'before' runs
    with a veth guest on its bridge, 'after' is applied; then an independent look
    (``kernelview``: the XML through lxml against netlink, nft, dnsmasq's files and its DNS
    answers; nothing of the runtime's verification) finds the 'after' state, which differs
    from the 'before' one where the pair changes something visible; where the plan has no
    restart the guest's link never goes down or leaves the bridge (netlink link events)."""
    import restartcorpus as C

    from netupdate.live.embedded.runtime import driver as D
    from netupdate.planning.planner import plan
    refused = []
    for pair in sample_pairs(C.generate, plan):
        name = pair.before_defs.name
        conn.define(pair.before)
        conn.start(name)
        port = _plug_as_libvirt(netns, D.bridge_name(pair.before_defs), pair.before)
        bridge = D.bridge_name(pair.before_defs)
        before = kernelview.expect(pair.before)
        assert kernelview.observe(netns, bridge, port, before, pair.before) == before, pair.id
        with LinkWatch(netns, port) as watch:
            try:
                result = conn.apply(name, pair.after)
            except RuntimeFailure as exc:   # the kernel refused it: all of it rolled back
                assert "rolled back" in str(exc) and watch.cuts == [], (pair.id, str(exc))
                assert kernelview.observe(netns, bridge, port, before, pair.before) == before
                refused.append(f"{pair.id}: {exc}")
                conn.stop(name)
                conn.undefine(name)
                continue
        kinds = [a.kind for a in result.actions]
        assert result.live in ("applied", "restarted", "unchanged"), (pair.id, result.live)
        if "network-restart" not in kinds:
            assert watch.cuts == [], (pair.id, kinds, watch.cuts)
        else:   # the guest is back on the new bridge
            bridge = D.bridge_name(pair.after_defs)
            assert port in kernel(netns, PORTS.attached, bridge), (pair.id, bridge)
        after = kernelview.expect(pair.after)
        seen = kernelview.observe(netns, bridge, port, after, pair.after)
        assert seen == after, (pair.id, kinds, {k: (seen.get(k), after.get(k)) for k in after
                                                if seen.get(k) != after.get(k)})
        conn.stop(name)
        conn.undefine(name)
    # refused and rolled back, for reasons outside the plan: validate passes an IPv4 <route>
    # address with family='ipv6' (libvirt refuses it at define) and the kernel refuses the
    # route; a fixture's <tftp root> does not exist here and dnsmasq refuses its conf (libvirt's
    # dnsmasq would not start either)
    assert all("cannot add route" in line or "TFTP directory" in line for line in refused), \
        refused


def test_an_ipv6_address_added_live_is_advertised(conn, netns, make_netns):
    """A new IPv6 <ip> goes onto the running bridge (netlink) and into dnsmasq's conf (a
    dnsmasq restart, the bridge stays): dnsmasq advertises the prefix as libvirt configures it
    (ra-only without DHCPv6), seen by rdisc6 from a client namespace on the bridge."""
    conn.define(xml())
    conn.start("modes")
    client = make_netns()
    port = plug(netns, "nubr-modes", client=client)
    peer = "vp" + port[2:]
    v6 = xml().replace("</network>", "  <ip family='ipv6' address='fd00:71::1' prefix='64'/>\n"
                                      "</network>")
    _r, kinds = apply_watched(conn, netns, port, v6)
    assert set(kinds) == {"bridge-ipv6", "address-add", "firewall-reload", "dnsmasq-restart"}
    seen = ""
    for _attempt in range(10):   # the client's link-local address may still be tentative
        seen = subprocess.run(["ip", "netns", "exec", client, "rdisc6", "-1", "-r", "3",
                               "-w", "1500", peer], capture_output=True, text=True)
        if "fd00:71::/64" in seen.stdout:
            break
        time.sleep(1)
    assert "Prefix                   : fd00:71::/64" in seen.stdout, (seen.stdout, seen.stderr)


def test_forwarders_change_with_a_sighup_and_dnsmasq_asks_the_new_one(conn, netns):
    """Forwarders live in dnsmasq's servers-file: a change is the file and a SIGHUP (same
    dnsmasq process, no restart), and the next query goes to the new upstream."""
    from guests import upstream

    from netupdate.live.embedded.runtime.driver import query
    servers = [upstream(netns, "127.0.0.2", "192.0.2.1"), upstream(netns, "127.0.0.3", "192.0.2.2")]
    try:
        fwd = "<dns><forwarder addr='{}'/></dns>"
        port = started(conn, netns, xml(extra=fwd.format("127.0.0.2")))
        pid = conn.store.read_record("modes")["dnsmasq"]["pid"]
        assert NS.call(netns, query, "10.71.0.1", "a.example", "A")[1] == ["192.0.2.1"]
        _r, kinds = apply_watched(conn, netns, port, xml(extra=fwd.format("127.0.0.3")))
        assert kinds == ("dnsmasq-sighup",)
        assert conn.store.read_record("modes")["dnsmasq"]["pid"] == pid
        assert NS.call(netns, query, "10.71.0.1", "b.example", "A")[1] == ["192.0.2.2"]
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=10)


def _ip(netns, *args):
    subprocess.run(["ip", "-n", netns, *args], check=True)


def test_bridge_mode_uses_the_host_bridge_and_creates_nothing(conn, netns):
    _ip(netns, "link", "add", "nuhost0", "type", "bridge")
    _ip(netns, "link", "add", "nuhost1", "type", "bridge")
    text = ("<network><name>hb</name><forward mode='bridge'/><bridge name='nuhost0'/>"
            "</network>")
    conn.define(text)
    conn.start("hb")
    record = conn.store.read_record("hb")
    assert record["pool"]["bridge"] == "nuhost0" and record["dnsmasq"] is None
    assert record["firewall"] is None and not record["bridge"]["created"]
    assert conn.status("hb").problems == ()
    result = conn.apply("hb", text.replace("nuhost0", "nuhost1"))
    assert [a.kind for a in result.actions] == ["device-pool"]
    assert conn.store.read_record("hb")["pool"]["bridge"] == "nuhost1"
    with pytest.raises(Exception, match="nuhost9 does not exist"):
        conn.apply("hb", text.replace("nuhost0", "nuhost9"))
    assert conn.store.read_record("hb")["pool"]["bridge"] == "nuhost1"   # rolled back
    conn.stop("hb")
    assert kernel(netns, lambda ipr: ipr.link_lookup(ifname="nuhost1")) != []   # left alone


def test_macvtap_pool_is_tracked_and_changes_live(conn, netns):
    for dev in ("nud0", "nud1", "nud2"):   # veth: this kernel has no dummy module
        _ip(netns, "link", "add", dev, "type", "veth", "peer", "name", dev + "p")
    text = ("<network><name>mv</name><forward mode='vepa'><interface dev='nud0'/>"
            "<interface dev='nud1'/></forward></network>")
    conn.define(text)
    conn.start("mv")
    assert conn.store.read_record("mv")["pool"]["interfaces"] == ["nud0", "nud1"]
    result = conn.update("mv", "add", "forward-interface", "<interface dev='nud2'/>")
    assert [a.kind for a in result.actions] == ["device-pool"]
    assert conn.store.read_record("mv")["pool"]["interfaces"] == ["nud0", "nud1", "nud2"]
    _ip(netns, "link", "del", "nud0")
    assert any("nud0 does not exist" in p for p in conn.status("mv").problems)
    conn.stop("mv")


def test_hostdev_pool_from_a_recorded_sysfs_tree(conn, monkeypatch):
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs" / "sriov"
    monkeypatch.setenv("NETUPDATE_SYSFS", str(root))
    conn.define("<network><name>vf</name><forward mode='hostdev' managed='yes'>"
                "<pf dev='enp4s0f0'/></forward></network>")
    conn.start("vf")
    assert conn.store.read_record("vf")["pool"]["pci"] == ["0000:04:10.0", "0000:04:10.2"]
    assert conn.status("vf").problems == ()
    conn.stop("vf")
