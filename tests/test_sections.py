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


# ip-dhcp-host: one normalisation (libvirt's: MAC as an address, name exactly, IP as an address)
_MAC = st.sampled_from(["52:54:00:00:00:0a", "52:54:00:00:00:0A", "52:54:0:0:0:a",
                        "52:54:00:00:00:0b"])
_V4 = st.sampled_from(["192.168.9.10", "192.168.9.11"])
_V6 = st.sampled_from(["2001:db8::10", "2001:DB8:0:0::10", "2001:db8::11"])
_NAME = st.sampled_from([None, "a", "A", "b"])


def _host(attrs: dict) -> str:
    return "<host " + " ".join(f"{k}='{v}'" for k, v in attrs.items() if v is not None) + "/>"


def _v4_host():
    return st.builds(lambda mac, name, ip: {"mac": mac, "name": name, "ip": ip},
                     st.one_of(st.none(), _MAC), _NAME, _V4).filter(
        lambda h: h["mac"] or h["name"])


def _v6_host():
    return st.builds(lambda id_, name, ip: {"id": id_, "name": name, "ip": ip},
                     st.sampled_from([None, "0:1", "00:01", "0:2"]), _NAME, _V6).filter(
        lambda h: h["id"] or h["name"])


_HOST_DOC = ("<network><name>n</name><ip address='{address}' prefix='{prefix}'><dhcp>{hosts}"
             "</dhcp></ip></network>")


@settings(max_examples=120)
@given(data=st.data(), v6=st.booleans())
def test_dhcp_host_add_is_refused_iff_validate_reports_a_duplicate(data, v6):
    """NU-E102/E103/E104: the engine's host index and validate's rules compare the same way
    (different spellings of one MAC or address clash, names only when equal)."""
    hosts = data.draw(st.lists(_v6_host() if v6 else _v4_host(), max_size=3))
    new = data.draw(_v6_host() if v6 else _v4_host())
    address, prefix = ("2001:db8::1", 64) if v6 else ("192.168.9.1", 24)

    def doc(items):
        return _HOST_DOC.format(address=address, prefix=prefix,
                                hosts="".join(_host(h) for h in items))
    # only a document without duplicates can be the starting point
    if any(i.code in ("NU-E102", "NU-E103", "NU-E104")
           for i in V.validate(doc(hosts), schema=None)):
        return
    last = f"/network/ip/dhcp/host[{len(hosts) + 1}]" if hosts else "/network/ip/dhcp/host"
    reported = {i.code for i in V.validate(doc([*hosts, new]), schema=None)
                if i.path == last and i.code in ("NU-E102", "NU-E103", "NU-E104")}
    try:
        netupdate.load(doc(hosts)).update("add-last", "ip-dhcp-host", _host(new))
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported)


@settings(max_examples=60)
@given(v6=st.booleans(), mac=st.sampled_from([None, "52:54:00:00:00:0a"]),
       id_=st.sampled_from([None, "0:1"]), name=_NAME)
def test_dhcp_host_identity_refused_iff_validate_reports_nu_e106(v6, mac, id_, name):
    address, prefix, ip = ("2001:db8::1", 64, "2001:db8::10") if v6 else \
        ("192.168.9.1", 24, "192.168.9.10")
    fragment = _host({"mac": mac, "id": id_, "name": name, "ip": ip})
    empty = _HOST_DOC.replace("<dhcp>{hosts}</dhcp>", "").format(address=address, prefix=prefix)
    reported = {i.code for i in V.validate(_HOST_DOC.format(address=address, prefix=prefix,
                                                            hosts=fragment), schema=None)}
    try:
        netupdate.load(empty).update("add", "ip-dhcp-host", fragment)
        refused = False
    except InvalidFragmentError:
        refused = True
    assert refused == ("NU-E106" in reported)


@settings(max_examples=80)
@given(data=st.data())
def test_a_dhcp_host_modify_never_leaves_a_duplicate_validate_reports(data):
    """The engine's modify re-checks clashes with its index (the host it replaces excluded):
    whatever it accepts, validate finds no NU-E102/E103/E104 in."""
    hosts = data.draw(st.lists(_v4_host(), min_size=1, max_size=3))
    doc = _HOST_DOC.format(address="192.168.9.1", prefix=24,
                           hosts="".join(_host(h) for h in hosts))
    if any(i.code in ("NU-E102", "NU-E103", "NU-E104") for i in V.validate(doc, schema=None)):
        return
    network = netupdate.load(doc)
    try:
        network.update("modify", "ip-dhcp-host", _host(data.draw(_v4_host())))
    except UpdateError:
        return
    assert not {i.code for i in V.validate(network.to_xml(), schema=None)} & {
        "NU-E102", "NU-E103", "NU-E104"}
