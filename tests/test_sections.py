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


_MODES = st.sampled_from([None, "nat", "route", "open", "bridge", "private", "hostdev"])
_RECORD = st.sampled_from(["<txt name='a' value='b'/>",
                           "<host ip='192.168.9.5'><hostname>h</hostname></host>",
                           "<srv service='ldap' protocol='tcp'/>",
                           "<forwarder addr='192.0.2.1'/>", "<forwarder port='53'/>"])


@settings(max_examples=80)
@given(mode=_MODES, enable=st.sampled_from([None, "yes", "no"]),
       records=st.lists(_RECORD, min_size=1, max_size=3))
def test_dns_change_refused_iff_validate_reports_nu_e120_or_e133(mode, enable, records):
    """Replacing the whole <dns> (the ``dns`` section) is refused exactly when validate reports
    NU-E120 (records the mode cannot serve, or data under enable='no') or NU-E133 (a forwarder
    with neither addr nor domain) on the result."""
    device = mode in ("bridge", "private", "hostdev")
    forward = f"<forward mode='{mode}'/>" if mode else ""
    body = ("<bridge name='br0'/>" if mode == "bridge" else "") if device else \
        "<ip address='192.168.9.1' prefix='24'/>"
    dns = "<dns" + (f" enable='{enable}'" if enable else "") + ">" + "".join(records) + "</dns>"
    before = f"<network><name>n</name>{forward}{body}</network>"
    after = f"<network><name>n</name>{forward}{dns}{body}</network>"
    reported = {i.code for i in V.validate(after, schema=None)} & {"NU-E120", "NU-E133"}
    try:
        netupdate.load(before).update("add", "dns", dns)
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), (reported, after)


@settings(max_examples=30)
@given(text=st.sampled_from(["", " ", "\t", "web", " web "]))
def test_name_change_refused_iff_validate_reports_it(text):
    doc = "<network><name>{}</name><bridge name='br0'/></network>"
    # an empty name is NU-E126; one with white space is the text check's (NU-E021)
    reported = {i.code for i in V.validate(doc.format(text), schema=None)} & {"NU-E126",
                                                                               "NU-E021"}
    try:
        netupdate.load(doc.format("n")).update("modify", "network", f"<name>{text}</name>")
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), reported
