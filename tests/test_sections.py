"""One module per section (issue 14): the registry's guards, and one rule set for both engines.

- every registered section lives in ``sections/<name>.py`` with all the hooks, or (until it moves)
  in ``sections/_legacy.py``, never both;
- no rule code is declared twice, and validate's ``RULES`` and the update engine's checks are
  views of the sections' rules (the same objects);
- generated: the update engine refuses exactly what validate reports with the rule's code.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate import sections as S
from netupdate.check import semantic as V
from netupdate.edit import engine as E
from netupdate.errors import InvalidFragmentError, InvalidOperationError, UpdateError
from netupdate.planning import planner as P
from netupdate.sections import _legacy, _spec

SECTIONS_DIR = Path(S.__file__).parent
# what a section module must declare (None is a valid value: "nothing of this kind")
HOOKS = ("SECTION", "RULES", "check_fragment", "RECHECK", "PLAN_ROWS", "DNSMASQ_SLOT")


def test_every_section_has_one_home():
    files = {p.stem for p in SECTIONS_DIR.glob("*.py") if not p.stem.startswith("_")}
    assert {s.name for s in S.SECTIONS} == set(S.ORDER)
    for section in S.SECTIONS:
        module_name = section.name.replace("-", "_")
        if section.name in _legacy.SECTIONS:
            assert module_name not in files, f"{section.name}: both a module and in _legacy"
            continue
        assert module_name in files
        module = S.MODULES[section.name]
        missing = [hook for hook in HOOKS if not hasattr(module, hook)]
        assert missing == [], f"{module.__name__} lacks {missing}"
        assert module.SECTION is section
        if module.DNSMASQ_SLOT is not None:
            assert callable(module.dnsmasq_lines)
        assert all(row.section == section.name for row in module.PLAN_ROWS)
        assert all(isinstance(r, _spec.Rule) and r.check is not None for r in module.RULES)
    assert files - {"__init__"} == {name.replace("-", "_") for name in S.MODULES}


def test_no_rule_code_is_declared_twice():
    declared = re.findall(r'(?:rule|_declare)\(\s*"(NU-[A-Z]\d{3})"',
                          Path(V.__file__).read_text())
    codes = Counter(declared + [r.code for r in S.RULES])
    assert [code for code, count in codes.items() if count > 1] == []
    assert set(codes) == set(V.RULES)


def test_validate_and_edit_run_the_same_rule_objects():
    for rule in S.RULES:
        assert V.RULES[rule.code] is rule               # validate's registry: a view
        if rule.scope is not None:
            assert rule in S.rules_in(rule.scope)        # the engine's: a view
            assert any(rule.scope in kinds for kinds in E._KINDS.values()), rule.scope
    for name, module in S.MODULES.items():
        assert E._KINDS[name] == module.RECHECK
    for row in S.PLAN_ROWS:
        assert row in P.RULES


# ---------------------------------------------------------------------- drift, settled on libvirt
HOSTDEV = """<network><name>pool</name><forward mode='hostdev'>
  <interface dev='eth1'/>
</forward></network>"""


def test_edit_refuses_a_mixed_device_pool_as_validate_does():
    """libvirt's parser: <address>, <interface> and <pf> in one <forward> are exclusive."""
    network = netupdate.load(HOSTDEV)
    with pytest.raises(InvalidOperationError, match="are mutually exclusive"):
        network.update("add", "forward-pf", "<pf dev='eth0'/>")
    assert "<pf" not in network.to_xml()
    mixed = HOSTDEV.replace("<interface", "<pf dev='eth0'/><interface")
    assert [i.code for i in V.validate(mixed, schema=None)] == ["NU-E117"]


def test_a_default_portgroup_is_read_case_insensitively():
    """libvirt compares default='yes' without case (STRCASEEQ): two defaults, whatever case."""
    doc = ("<network><name>n</name><portgroup name='a' default='YES'/>"
           "<portgroup name='b' default='yes'/></network>")
    assert "NU-E112" in {i.code for i in V.validate(doc, schema=None)}
    with pytest.raises(InvalidOperationError, match="already set as the default"):
        netupdate.load(doc.replace("<portgroup name='b' default='yes'/>", "")).update(
            "add", "portgroup", "<portgroup name='b' default='yes'/>")


# ---------------------------------------------------------------------- one rule set, generated
_DEFAULTS = st.sampled_from([None, "yes", "YES", "no"])
_GROUP = st.tuples(st.sampled_from("abc"), _DEFAULTS)


def _portgroup(name: str, default: str | None) -> str:
    return f"<portgroup name='{name}'" + (f" default='{default}'" if default else "") + "/>"


@settings(max_examples=60)
@given(existing=st.lists(_GROUP, max_size=4), new=_GROUP)
def test_portgroup_add_is_refused_iff_validate_reports_it_on_the_new_one(existing, new):
    doc = "<network><name>n</name>{}</network>"
    before = doc.format("".join(_portgroup(*g) for g in existing))
    fragment = _portgroup(*new)
    after = doc.format("".join(_portgroup(*g) for g in (*existing, new)))
    last = f"/network/portgroup[{len(existing) + 1}]" if existing else "/network/portgroup"
    reported = {i.code for i in V.validate(after, schema=None)
                if i.path == last and i.code in ("NU-E112", "NU-E129")}
    try:
        netupdate.load(before).update("add-last", "portgroup", fragment)
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported)


_NUMBER = st.sampled_from([None, "0", "1", "80"])


@settings(max_examples=60)
@given(target=st.sampled_from([None, "t.example"]), port=_NUMBER, priority=_NUMBER,
       weight=_NUMBER)
def test_srv_fields_refused_iff_validate_reports_nu_e123(target, port, priority, weight):
    attrs = {"service": "ldap", "protocol": "tcp", "target": target, "port": port,
             "priority": priority, "weight": weight}
    fragment = "<srv " + " ".join(f"{k}='{v}'" for k, v in attrs.items() if v) + "/>"
    doc = f"<network><name>n</name><dns>{fragment}</dns></network>"
    reported = {i.code for i in V.validate(doc, schema=None)} & {"NU-E123"}
    try:
        netupdate.load("<network><name>n</name></network>").update("add", "dns-srv", fragment)
        refused = False
    except InvalidFragmentError:
        refused = True
    assert refused == bool(reported)


# ---------------------------------------------------------------------- ip and ip-dhcp-range
V4NET = "<network><name>n</name><ip address='192.168.9.1' prefix='24'>{}</ip></network>"
V6NET = ("<network><name>n</name><ip family='ipv6' address='fd00::1' prefix='64'>{}</ip>"
         "</network>")


def _errors(xml: str) -> set[str]:
    return {i.code for i in V.validate(xml, schema=None) if i.severity == "error"}


def test_an_ipv6_range_may_start_at_the_subnet_address_as_in_libvirt():
    """libvirt checks the network and broadcast addresses for IPv4 only (prefix < 31)."""
    fragment = "<range start='fd00::' end='fd00::20'/>"
    assert "NU-E109" not in _errors(V6NET.format(f"<dhcp>{fragment}</dhcp>"))
    network = netupdate.load(V6NET.format(""))
    network.update("add", "ip-dhcp-range", fragment)
    assert "fd00::20" in network.to_xml()


def test_an_ipv6_address_needs_its_family_in_validate_as_in_edit():
    """libvirt: "no family specified for non-IPv4 address"."""
    assert "NU-E125" in _errors("<network><name>n</name><ip address='fd00::1' prefix='64'/>"
                                "</network>")
    with pytest.raises(InvalidOperationError, match="no family specified"):
        netupdate.load(V4NET.format("")).update("add", "ip", "<ip address='fd00::1' prefix='64'/>")


def test_bootp_in_ipv6_is_reported_but_not_refused():
    """libvirt's parser skips <bootp> in an IPv6 <ip> without an error (and refuses <tftp>):
    validate reports both as NU-E128, the update engine refuses only <tftp>."""
    bootp = "<dhcp><range start='fd00::10' end='fd00::20'/><bootp file='pxe'/></dhcp>"
    assert "NU-E128" in _errors(V6NET.format(bootp))
    network = netupdate.load(V4NET.format(""))
    network.update("add", "ip", f"<ip family='ipv6' address='fd00::1' prefix='64'>{bootp}</ip>")
    with pytest.raises(InvalidOperationError, match="Unsupported <tftp>"):
        network.update("add", "ip", "<ip family='ipv6' address='fd01::1' prefix='64'>"
                       "<tftp root='/srv'/></ip>")


def test_a_duplicate_ip_address_is_one_rule_for_both_engines():
    doc = ("<network><name>n</name><ip address='192.168.9.1' prefix='24'/>"
           "<ip address='192.168.9.1' prefix='25'/></network>")
    assert "NU-E130" in _errors(doc)
    with pytest.raises(UpdateError, match="existing <ip> element with address"):
        netupdate.load(V4NET.format("")).update("add", "ip",
                                                "<ip address='192.168.9.1' prefix='25'/>")


_V4 = st.sampled_from(["192.168.9.0", "192.168.9.1", "192.168.9.10", "192.168.9.200",
                       "192.168.9.255", "192.168.10.5", "fd00::5"])
_LEASE = st.sampled_from([None, ("1", "minutes"), ("119", "seconds"), ("2", "minutes"),
                          ("0", "hours")])


def _range(start: str, end: str, lease) -> str:
    if lease is None:
        return f"<range start='{start}' end='{end}'/>"
    return (f"<range start='{start}' end='{end}'><lease expiry='{lease[0]}' "
            f"unit='{lease[1]}'/></range>")


@settings(max_examples=80)
@given(start=_V4, end=_V4, lease=_LEASE)
def test_range_add_is_refused_iff_validate_reports_it(start, end, lease):
    fragment = _range(start, end, lease)
    reported = _errors(V4NET.format(f"<dhcp>{fragment}</dhcp>"))
    try:
        netupdate.load(V4NET.format("")).update("add", "ip-dhcp-range", fragment)
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), reported


_ADDRESS = st.sampled_from(["192.168.9.1", "192.168.10.1", "fd00::1"])


@settings(max_examples=80)
@given(address=_ADDRESS, family=st.sampled_from([None, "ipv4", "ipv6"]),
       prefix=st.sampled_from([None, "24", "64"]),
       netmask=st.sampled_from([None, "255.255.255.0"]),
       child=st.sampled_from(["", "tftp", "range"]))
def test_ip_add_is_refused_iff_validate_reports_it(address, family, prefix, netmask, child):
    attrs = {"address": address, "family": family, "prefix": prefix, "netmask": netmask}
    inner = ""
    if child == "tftp":
        inner = "<tftp root='/srv'/>"
    elif child == "range":
        low, high = ((f"{address[:-1]}10", f"{address[:-1]}20") if ":" not in address
                     else ("fd00::10", "fd00::20"))
        inner = f"<dhcp><range start='{low}' end='{high}'/></dhcp>"
    fragment = ("<ip " + " ".join(f"{k}='{v}'" for k, v in attrs.items() if v) + f">{inner}"
                "</ip>")
    before = V4NET.format("<dhcp><range start='192.168.9.10' end='192.168.9.20'/></dhcp>")
    reported = _errors(before.replace("</network>", fragment + "</network>"))
    try:
        netupdate.load(before).update("add-last", "ip", fragment)
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), reported


def test_a_dhcp_host_of_the_other_family_is_refused_and_reported():
    """libvirt: "the address family of a host entry IP must match ..." (NU-E105 for validate)."""
    dhcp = "<dhcp><host mac='52:54:00:00:00:01' ip='fd00::5'/></dhcp>"
    assert "NU-E105" in _errors(V4NET.format(dhcp))
    with pytest.raises(InvalidOperationError, match="address family of a host entry IP"):
        netupdate.load("<network><name>n</name></network>").update(
            "add", "ip", f"<ip address='192.168.9.1' prefix='24'>{dhcp}</ip>")
