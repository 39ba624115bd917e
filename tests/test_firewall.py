"""nftables ruleset generation (pure text; loading it is covered by the live tests)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.render import nftables as firewall


def _defs(xml: str):
    return netupdate.load(xml).defs


NAT = """<network><name>n</name><forward mode='nat'/><bridge name='br-n'/>
<ip address='192.168.50.1' prefix='24'/><ip family='ipv6' address='fd00:50::1' prefix='64'/>
</network>"""


def test_table_name_is_an_nft_identifier_and_stable():
    assert firewall.table_name("default", "0a1b2c3d") == "netupdate_default_0a1b2c3d"
    odd = firewall.table_name('a-b"c d', "0a1b2c3d")
    assert odd.startswith("netupdate_a_b_c_d_") and odd == firewall.table_name('a-b"c d',
                                                                                "0a1b2c3d")
    assert odd != firewall.table_name("a_b_c_d", "0a1b2c3d")
    with pytest.raises(ValueError):
        firewall.table_name("default", "../x")


@settings(max_examples=200)
@given(name=st.text(min_size=1, max_size=200), owners=st.lists(
    st.text("0123456789abcdef", min_size=8, max_size=8), min_size=2, max_size=2, unique=True))
def test_table_names_are_valid_and_distinct_per_state_dir(name, owners):
    """Two state directories (owner ids) running a same-named network in one namespace get
    two tables; every name is an unquoted nft identifier within nft's limit."""
    first, second = (firewall.table_name(name, owner) for owner in owners)
    assert first != second
    for table in (first, second):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", table) and len(table) <= 68


def test_table_owner_is_the_resolved_run_dir(tmp_path):
    from netupdate.live.embedded.runtime.driver import Driver
    from netupdate.store import Store
    (tmp_path / "a").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    same = {Driver(Store(tmp_path / "a")).owner, Driver(Store(tmp_path / "link")).owner}
    assert len(same) == 1 and Driver(Store(tmp_path / "b")).owner not in same


def test_nat_masquerades_ipv4_and_routes_ipv6():
    text = firewall.ruleset(_defs(NAT), "netupdate_n", "br-n")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "table inet netupdate_n {"
    assert 'iifname "br-n" ip saddr 192.168.50.0/24 accept' in lines
    assert ('oifname "br-n" ip daddr 192.168.50.0/24 ct state established,related accept'
            in lines)
    assert 'oifname "br-n" ip6 daddr fd00:50::/64 accept' in lines
    assert ("ip saddr 192.168.50.0/24 ip daddr != 192.168.50.0/24 meta l4proto { tcp, udp } "
            "masquerade to :1024-65535") in lines
    assert "ip saddr 192.168.50.0/24 ip daddr != 192.168.50.0/24 masquerade" in lines
    assert not any("ip6 saddr" in line and "masquerade" in line for line in lines)
    assert lines[-1] == "}"


def test_nat_with_dev_address_and_ports_and_ipv6():
    defs = _defs("""<network><name>n</name>
      <forward mode='nat' dev='eth9'><nat ipv6='yes'><address start='203.0.113.1' end='203.0.113.4'/>
      <port start='2000' end='3000'/></nat></forward><bridge name='b'/>
      <ip address='10.1.0.1' prefix='16'/><ip family='ipv6' address='fd00:1::1' prefix='64'/>
      </network>""")
    text = firewall.ruleset(defs, "t", "b")
    assert ('ip saddr 10.1.0.0/16 ip daddr != 10.1.0.0/16 oifname "eth9" meta l4proto '
            '{ tcp, udp } snat ip to 203.0.113.1-203.0.113.4:2000-3000') in text
    assert 'iifname "b" oifname "eth9" ip saddr 10.1.0.0/16 accept' in text
    assert "ip6 saddr fd00:1::/64 ip6 daddr != fd00:1::/64 oifname \"eth9\" masquerade" in text


def test_route_forwards_both_ways_without_nat():
    defs = _defs("<network><name>r</name><forward mode='route'/><bridge name='b'/>"
                 "<ip address='10.2.0.1' prefix='24'/></network>")
    text = firewall.ruleset(defs, "t", "b")
    assert 'oifname "b" ip daddr 10.2.0.0/24 accept' in text
    assert "postrouting" not in text and "masquerade" not in text


def test_isolated_only_allows_bridge_to_bridge():
    defs = _defs("<network><name>i</name><bridge name='b'/>"
                 "<ip address='10.3.0.1' prefix='24'/></network>")
    text = firewall.ruleset(defs, "t", "b")
    forward = text.split("chain forward")[1]
    assert "saddr" not in forward and "daddr" not in forward
    assert 'iifname "b" oifname "b" accept' in forward
    assert 'iifname "b" reject' in forward and 'oifname "b" reject' in forward


def test_open_has_no_table_and_bridge_mode_is_refused():
    assert firewall.ruleset(_defs("<network><name>o</name><forward mode='open'/>"
                                  "<bridge name='b'/></network>"), "t", "b") is None
    assert firewall.replace_script(_defs("<network><name>o</name><forward mode='open'/>"
                                         "</network>"), "t", "b") is None
    with pytest.raises(netupdate.UnsupportedError):
        firewall.ruleset(_defs("<network><name>x</name><forward mode='bridge'/></network>"),
                         "t", "b")


def test_replace_script_is_one_transaction():
    script = firewall.replace_script(_defs(NAT), "tbl", "br-n")
    head = script.splitlines()[:3]
    assert head == ["table inet tbl", "delete table inet tbl", "table inet tbl {"]
    assert firewall.delete_script("tbl") == "table inet tbl\ndelete table inet tbl\n"
