"""Live tier, issue 13: a start that fails at any step leaves nothing listed active and nothing
behind; when even undoing it fails, the next start (or recover) repairs the network completely
(lo up, forwarding on, live definition written), as a fresh start would have made it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ip
from txnhelp import assert_in_line, files

import netupdate
from netupdate.errors import RuntimeFailure
from netupdate.live.embedded import common
from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import nft as NFT
from netupdate.live.txn.recovery import stray_dnsmasqs

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = (ROOT / "fixtures/networks/nat-default.xml").read_text()
NAME, BRIDGE = "default", "virbr0"


def _fail(*args, **kwargs):
    raise RuntimeFailure("injected failure")


def _fail_on(name: str, real):
    def step(ipr, ifname, *args, **kwargs):
        if ifname == name:
            _fail()
        return real(ipr, ifname, *args, **kwargs)
    return step


# every step of a start, in order: (module, attribute, replacement factory)
STEPS = {
    "lo-up": (BR, "set_up", lambda: _fail_on("lo", BR.set_up)),
    "bridge": (BR, "create", lambda: _fail),
    "firewall": (NFT, "replace", lambda: _fail),
    "address": (BR, "add_address", lambda: _fail),
    "bridge-up": (BR, "set_up", lambda: _fail_on(BRIDGE, BR.set_up)),
    "forwarding": (NS, "sysctl", lambda: _fail),
    "dnsmasq-conf": (DQ, "write_conf", lambda: _fail),
    "host-files": (DQ, "full_sync", lambda: _fail),
    "dnsmasq": (DQ, "start", lambda: _fail),
    "live-definition": (common, "atomic_write_many", lambda: _fail),
}


@pytest.fixture
def fresh(conn, netns):
    """The connection, with libvirt's default network defined and a namespace as 'ip netns
    add' makes it (lo down)."""
    ip("-n", netns, "link", "set", "lo", "down")
    conn.define(DEFAULT)
    return conn


def lo_up(netns: str) -> bool:
    return "UP" in ip("-n", netns, "-o", "link", "show", "lo").stdout.split(">")[0]


def forwarding(netns: str) -> str:
    return ip("netns", "exec", netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()


def assert_nothing_left(conn, netns: str) -> None:
    row, = [r for r in conn.list() if r.name == NAME]
    assert not row.active, row
    assert conn.status(NAME).state == "inactive"
    assert NS.link_index(netns, BRIDGE) is None
    assert not NFT.exists("netupdate-default", netns=netns) and \
        not NFT.exists(f"netupdate_{NAME}", netns=netns)
    layout = DQ.Layout(conn.store.network_dir(NAME))
    assert stray_dnsmasqs(layout.conf, None) == []
    assert not layout.dir.exists()
    assert conn.store.read_record(NAME) is None and files(conn, NAME)[1] is None
    assert forwarding(netns) == "0"


def assert_fresh(conn, netns: str) -> None:
    """What a fresh start makes: in line with its definitions, lo up, forwarding on."""
    assert_in_line(conn, netns, NAME, dns=False)
    assert conn.status(NAME).state == "active" and conn.status(NAME).problems == ()
    assert lo_up(netns) and forwarding(netns) == "1"
    conn.update(NAME, "add", "ip-dhcp-host",
                "<host mac='52:54:00:00:13:01' name='after' ip='192.168.122.77'/>")
    assert_in_line(conn, netns, NAME, dns=False)


@pytest.mark.parametrize("step", list(STEPS))
def test_a_start_failing_at_any_step_leaves_nothing(fresh, netns, monkeypatch, step):
    module, attr, make = STEPS[step]
    with monkeypatch.context() as patch:
        patch.setattr(module, attr, make())
        with pytest.raises(RuntimeFailure, match="injected failure"):
            fresh.start(NAME)
    assert_nothing_left(fresh, netns)
    fresh.start(NAME)
    assert_fresh(fresh, netns)


@pytest.mark.parametrize("repair", ["start", "recover"])
@pytest.mark.parametrize("step", ["bridge-up", "forwarding", "dnsmasq", "live-definition"])
def test_when_undoing_a_failed_start_fails_too_the_next_start_repairs(fresh, netns, monkeypatch,
                                                                      step, repair):
    module, attr, make = STEPS[step]
    with monkeypatch.context() as patch:
        patch.setattr(module, attr, make())
        patch.setattr(BR, "delete", _fail)  # the bridge stays: the record must stay too
        with pytest.raises(RuntimeFailure, match="injected failure"):
            fresh.start(NAME)
    assert fresh.status(NAME).state == "degraded"
    ip("-n", netns, "link", "set", "lo", "down")  # as a fresh namespace had it
    if repair == "start":
        fresh.start(NAME)
    else:
        report = fresh.recover()
        assert report.ok, report.to_text()
    assert files(fresh, NAME)[1] == files(fresh, NAME)[0]
    assert_fresh(fresh, netns)


def test_a_start_without_pyroute2_changes_nothing(fresh, netns, state_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyroute2", None)  # import pyroute2 raises ImportError
    with netupdate.connect(state_dir=state_dir, netns=netns) as conn:
        with pytest.raises(RuntimeFailure, match="pyroute2"):
            conn.start(NAME)
        monkeypatch.delitem(sys.modules, "pyroute2")
        assert_nothing_left(conn, netns)
        conn.start(NAME)
        assert_fresh(conn, netns)
