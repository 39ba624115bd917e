"""``<network ipv6='yes'>`` as libvirt reads it (issue 17 review): only its firewall uses it,
to add, on a network without IPv6 addresses, the IPv6 rules that reject forwarding to and from
the bridge and accept guest-to-guest traffic.  Our ``inet`` table holds those rules for both
families on every managed network, so toggling the attribute renders the same table and plans
no live step."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from netupdate.model import values as T
from netupdate.model.defs import load
from netupdate.planning.planner import plan
from netupdate.render import nftables

NETWORKS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "networks").glob("*.xml"))


def _with_ipv6(xml: bytes, value: str | None) -> str:
    root = etree.fromstring(xml)
    if value is None:
        root.attrib.pop("ipv6", None)
    else:
        root.set("ipv6", value)
    return etree.tostring(root, encoding="unicode")


def _managed(path: Path):
    try:
        network = load(path.read_bytes())
    except Exception:   # the odd fixtures the model refuses are validate's business
        return None
    mode = network.defs.forward_mode
    return network if mode in T.MANAGED_MODES and mode != T.ForwardMode.OPEN else None


# the fixtures with a firewall table of ours (not open, bridge, macvtap or hostdev mode)
MANAGED = [path for path in NETWORKS if _managed(path) is not None]


def test_the_fixtures_have_managed_networks():
    assert len(MANAGED) >= 20


@pytest.mark.parametrize("path", MANAGED, ids=lambda p: p.stem)
def test_ipv6_yes_renders_the_same_table_and_plans_nothing(path):
    data = path.read_bytes()
    off, on = (load(_with_ipv6(data, v)).defs for v in ("no", "yes"))
    assert on.ipv6 is True and off.ipv6 is False
    table = nftables.ruleset(off, "t", "br0")
    assert table == nftables.ruleset(on, "t", "br0")
    # libvirt's ipv6='yes' rules, for IPv6 too: the table is family inet
    assert table.startswith(f"table {nftables.FAMILY} t") and nftables.FAMILY == "inet"
    for rule in ('iifname "br0" oifname "br0" accept', 'iifname "br0" reject',
                 'oifname "br0" reject'):
        assert rule in table
    assert set(plan(off, on).kinds) <= {"none"} and set(plan(on, off).kinds) <= {"none"}
