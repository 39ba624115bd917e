"""The rule table and the plans it makes: data-driven cases in fixtures/plans/<case>/."""

import dataclasses
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import netupdate
from netupdate.model import defs as model
from netupdate.planning import changes as C
from netupdate.planning import differ as D
from netupdate.planning import kinds as K
from netupdate.planning import planner as P
from netupdate.planning.changes import SectionChange
from netupdate.planning.planner import CONF, RULES, Action, Plan, PlanContext, plan, plan_change
from netupdate.sections._spec import ADDED, ALL_OPS, MODIFIED, REMOVED

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted(p for p in (ROOT / "fixtures" / "plans").iterdir() if p.is_dir())


def _expected(case: Path) -> dict:
    return json.loads((case / "expected.json").read_text())


def _plan(case: Path) -> Plan:
    return plan(case / "before.xml", case / "after.xml")


# ---------------------------------------------------------------------- data-driven cases
def test_there_are_enough_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case(case):
    expected = _expected(case)
    result = _plan(case)
    assert list(result.kinds) == expected["kinds"], result.to_text()
    text = result.to_text() + "\n" + "\n".join(a.reason for a in result.actions)
    assert expected["reason"] in text
    for kind, detail in expected.get("details", {}).items():
        assert detail in [dict(a.detail) for a in result.actions if a.kind == kind]
    if "changes" in expected:
        assert [[c.section, c.op] for c in result.changes] == expected["changes"]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_files_are_well_formed(case):
    expected = _expected(case)
    assert set(expected) <= {"description", "kinds", "reason", "details", "changes"}
    assert expected["description"] and expected["reason"]
    assert all(kind in K.KINDS for kind in expected["kinds"])
    for name in ("before.xml", "after.xml"):
        netupdate.load(case / name)


def test_every_rule_is_exercised_by_a_case():
    used = set()
    for case in CASES:
        used.update(_plan(case).rules)
    missing = [rule.id for rule in RULES if rule.id not in used]
    assert not missing, f"rules without a fixtures/plans case: {missing}"
    assert P.FALLBACK.id not in used


def test_every_section_appears_in_a_case():
    seen = {change.section for case in CASES for change in _plan(case).changes}
    assert seen == set(C.SECTION_ORDER)


# ---------------------------------------------------------------------- the table itself
def test_rule_ids_are_unique():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_well_formed(rule):
    assert rule.section == "*" or rule.section in C.SECTION_CLASS
    assert rule.ops and set(rule.ops) <= set(ALL_OPS)
    assert rule.do and all(kind in K.KINDS and why.strip() for kind, why in rule.do)
    assert len(set(rule.kinds)) == len(rule.kinds)
    assert all(name in P.CONDITIONS for name in rule.when)
    assert rule.libvirt
    if rule.field != "*":
        owner = C.SECTION_CLASS[rule.section]
        first = rule.field.split(".")[0]
        assert first in {f.name for f in model.fields_of(owner)}, rule.field
        assert first not in _split_fields(rule.section)
    # kinds with details only come from sections that can fill them
    needs = {"address-add": "ip", "address-remove": "ip", "route-add": "route",
             "route-remove": "route", "bridge-stp": "bridge", "bridge-delay": "bridge",
             "bridge-mtu": "network"}
    for kind in rule.kinds:
        if kind in needs:
            assert rule.section == needs[kind], (rule.id, kind)


def _split_fields(section: str) -> set[str]:
    if section == "network":
        return set(D.NETWORK_SECTIONS)
    return {path for path in D.SUBSECTIONS.get(section, {}) if "." not in path}


def _own_fields(section: str) -> list[str]:
    cls = C.SECTION_CLASS[section]
    if cls is None:
        return []
    skip = _split_fields(section)
    keyish = {"ip": {"address", "prefix", "family", "netmask"},
              "route": {"address", "prefix", "gateway", "netmask"}}.get(section, set())
    return [f.name for f in model.fields_of(cls)
            if f.compare and f.name not in skip and f.name not in keyish]


CONTEXTS = [
    PlanContext(mode, mode, {4: b, 6: b}, {4: a, 6: a})
    for mode in (None, "nat", "route", "open", "bridge", "private", "hostdev")
    for b, a in ((True, True), (False, True), (True, False))
]


@pytest.mark.parametrize("section", C.SECTION_ORDER)
def test_every_field_and_op_has_a_rule(section):
    """No change of any field in any context falls through to the fallback."""
    fields = _own_fields(section)
    records = []
    for family in (4, 6):
        key = (family, "x", "y") if section in C.FAMILY_KEYED else ("k",)
        if section == "network":
            for name in fields:
                records += [SectionChange(section, op, (name,), None, None, (name,))
                            for op in ALL_OPS]
            continue
        records += [SectionChange(section, op, key) for op in (ADDED, REMOVED)]
        records += [SectionChange(section, MODIFIED, key, None, None, (name,))
                    for name in fields]
        if not fields:
            records.append(SectionChange(section, MODIFIED, key))
    for record in records:
        for ctx in CONTEXTS:
            for path in P.change_paths(record):
                assert P.rule_for(record, path, ctx) is not P.FALLBACK, (record, ctx)


def test_unknown_section_falls_back_to_a_restart():
    record = SectionChange("something-new", MODIFIED, ())
    assert P.rules_for(record) == (P.FALLBACK,)
    assert plan_change(SimpleNamespace(section="something-new", command="modify",
                                       before=None, after=None)).kinds == ("network-restart",)


def test_docs_embed_the_rules_table():
    text = (ROOT / "docs" / "plan.md").read_text()
    assert P.rules_markdown() in text, "docs/plan.md is stale: paste plan.rules_markdown()"


def test_rules_markdown_lists_every_rule():
    table = P.rules_markdown()
    for rule in RULES:
        assert f"`{rule.id}`" in table
    assert "{state}" not in table


# ---------------------------------------------------------------------- "done when"
NAT = (ROOT / "fixtures" / "plans" / "bridge-stp-off" / "before.xml").read_text()


def test_stp_toggle_plans_bridge_stp_and_nothing_else():
    result = plan(NAT, NAT.replace("stp='on'", "stp='off'"))
    assert result.kinds == ("bridge-stp",)
    assert dict(result.actions[0].detail) == {"stp": False}
    assert result.actions[0].section == "bridge"


def test_dhcp_host_added_plans_no_dnsmasq_restart():
    after = NAT.replace("<host mac='52:54:00:10:00:0b'",
                        "<host mac='52:54:00:10:00:99' name='new' ip='192.168.100.99'/>\n"
                        "      <host mac='52:54:00:10:00:0b'")
    result = plan(NAT, after)
    assert "dnsmasq-restart" not in result.kinds
    assert "dnsmasq-sighup" not in result.kinds
    assert result.kinds == ("dnsmasq-none",)
    assert "--dhcp-hostsdir" in result.actions[0].reason
    assert not result.live


def test_txt_change_plans_a_restart_and_says_why():
    result = plan(NAT, NAT.replace("value='lab network'", "value='changed'"))
    assert result.kinds == ("dnsmasq-restart",)
    assert CONF in result.actions[0].reason
    assert "dns-txt 'info' modified (value)" in result.actions[0].reason
    assert result.reasons_for("dnsmasq-restart") == (result.actions[0].reason,)


# ---------------------------------------------------------------------- merging and order
def test_one_restart_for_many_reasons():
    after = (NAT.replace("value='lab network'", "value='x'").replace("port='389'", "port='1'")
             .replace("nat0.example'/>", "other.example'/>"))
    result = plan(NAT, after)
    assert result.kinds == ("dnsmasq-restart",)
    reasons = result.reasons_for("dnsmasq-restart")
    assert len(reasons) == 3
    assert {"domain", "dns-txt", "dns-srv"} == set(result.actions[0].section.split(","))


def test_network_restart_alone_supersedes_everything():
    after = NAT.replace("virbr10", "virbr99").replace("stp='on'", "stp='off'")
    result = plan(NAT, after)
    assert result.kinds == ("network-restart",)
    assert "bridge-stp" in [a.kind for a in result.superseded]
    assert "also covers: bridge-stp" in result.actions[0].reason


def test_restart_supersedes_sighup_and_none():
    after = (NAT.replace("value='lab network'", "value='x'")
             .replace("name='beta' ip='192.168.100.11'", "name='beta' ip='192.168.100.50'")
             .replace("<hostname>files</hostname>", "<hostname>nas</hostname>"))
    result = plan(NAT, after)
    assert result.kinds == ("dnsmasq-restart",)
    assert {a.kind for a in result.superseded} == {"dnsmasq-sighup", "dnsmasq-none"}


def test_actions_are_ordered_and_deterministic():
    case = ROOT / "fixtures" / "plans" / "combo-ordered"
    first, second = _plan(case), _plan(case)
    assert first.kinds == second.kinds
    assert [a.to_json() for a in first.actions] == [a.to_json() for a in second.actions]
    order = [P.KIND_ORDER.index(kind) for kind in first.kinds]
    assert order == sorted(order)


def test_addresses_are_sorted_within_a_kind():
    after = NAT.replace("</ip>\n  <route",
                        "</ip>\n  <ip address='10.9.0.1' prefix='24'/>\n"
                        "  <ip address='10.8.0.1' prefix='24'/>\n  <route")
    result = plan(NAT, after)
    adds = [a.detail["address"] for a in result.actions if a.kind == "address-add"]
    assert adds == ["10.8.0.1/24", "10.9.0.1/24"]


def test_empty_plan_says_no_changes():
    result = plan(NAT, NAT)
    assert not result and result.kinds == () and not result.changes
    assert result.to_text() == "no changes"
    assert result.to_json() == {"changes": [], "actions": []}


def test_json_shape():
    result = plan(NAT, NAT.replace("stp='on'", "stp='off'").replace("delay='0'", "delay='3'"))
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {"changes", "actions"}
    for action in data["actions"]:
        assert {"kind", "reason", "section", "detail"} <= set(action)
    assert [a["kind"] for a in data["actions"]] == ["bridge-stp", "bridge-delay"]
    assert data["actions"][1]["detail"] == {"delay": 3}
    change = data["changes"][0]
    assert change == {"section": "bridge", "op": "modified", "key": [],
                      "fields": ["stp", "delay"],
                      "before": {"name": "virbr10", "stp": True, "delay": 0},
                      "after": {"name": "virbr10", "stp": False, "delay": 3}}


def test_text_output():
    result = plan(NAT, NAT.replace("stp='on'", "stp='off'"))
    text = result.to_text()
    assert text.startswith("plan: 1 live action")
    assert "1. bridge-stp (stp=off)" in text and "why: bridge modified (stp)" in text
    assert "\x1b[" not in text and "\x1b[" in result.to_text(color=True)


def test_action_is_frozen():
    action = plan(NAT, NAT.replace("stp='on'", "stp='off'")).actions[0]
    assert isinstance(action, Action)
    with pytest.raises(dataclasses.FrozenInstanceError):
        action.kind = "x"


def test_plan_accepts_networks_and_defs():
    before, after = netupdate.load(NAT), netupdate.load(NAT.replace("stp='on'", "stp='off'"))
    assert plan(before, after).kinds == ("bridge-stp",)
    assert plan(before.defs, after.defs).kinds == ("bridge-stp",)
    assert netupdate.plan(before, after).kinds == ("bridge-stp",)


# ---------------------------------------------------------------------- one edit
def _host(xml: str):
    from netupdate.document.source import parse_element
    return model.DhcpHost.from_element(parse_element(xml))


def _change(section, command, before=None, after=None, **context):
    return SimpleNamespace(network="nat0", command=command, section=section, path="/x",
                           before=before, after=after, before_xml=None, after_xml=None,
                           context=context)


def test_plan_change_host_added():
    host = _host("<host mac='52:54:00:00:00:01' name='a' ip='192.168.100.5'/>")
    change = _change("ip-dhcp-host", "add-last", after=host, ip_version=4,
                     dhcp_active_before=True, dhcp_active_after=True, forward_mode="nat")
    assert plan_change(change).kinds == ("dnsmasq-none",)


def test_plan_change_first_host_switches_dhcp_on():
    host = _host("<host mac='52:54:00:00:00:01' name='a' ip='192.168.100.5'/>")
    change = _change("ip-dhcp-host", "add-first", after=host, ip_version=4,
                     dhcp_active_before=False, dhcp_active_after=True, forward_mode="nat")
    result = plan_change(change)
    assert result.kinds == ("dnsmasq-restart",)
    assert "switched on" in result.actions[0].reason
    change = _change("ip-dhcp-host", "delete", before=host, ip_version=6,
                     dhcp_active_before=True, dhcp_active_after=False, forward_mode="nat")
    result = plan_change(change)
    assert result.kinds == ("dnsmasq-restart",)
    assert "switched off" in result.actions[0].reason


def test_plan_change_host_modified_and_deleted():
    old = _host("<host mac='52:54:00:00:00:01' name='a' ip='192.168.100.5'/>")
    new = _host("<host mac='52:54:00:00:00:01' name='a' ip='192.168.100.6'/>")
    ctx = dict(ip_version=4, dhcp_active_before=True, dhcp_active_after=True,
               forward_mode="nat")
    assert plan_change(_change("ip-dhcp-host", "modify", old, new, **ctx)).kinds == \
        ("dnsmasq-sighup",)
    assert plan_change(_change("ip-dhcp-host", "delete", old, None, **ctx)).kinds == \
        ("dnsmasq-sighup",)


def test_plan_change_reads_xml_when_defs_are_missing():
    change = SimpleNamespace(section="dns-txt", command="modify", before=None, after=None,
                             before_xml="<txt name='a' value='1'/>",
                             after_xml="<txt name='a' value='2'/>", context={})
    result = plan_change(change)
    assert result.kinds == ("dnsmasq-restart",)
    assert result.changes.changes[0].fields == ("value",)


def test_plan_change_forward_mode_switch():
    nat, route = model.ForwardDef(mode="nat"), model.ForwardDef(mode="route")
    change = _change("forward", "modify", nat, route, forward_mode="route")
    assert plan_change(change).kinds == ("firewall-reload",)
    bridge = model.ForwardDef(mode="bridge")
    assert plan_change(_change("forward", "modify", nat, bridge, forward_mode="bridge")).kinds \
        == ("network-restart",)


def test_plan_change_bridge_on_unmanaged_network():
    old, new = model.BridgeDef(name="br0"), model.BridgeDef(name="br0", stp=False)
    assert plan_change(_change("bridge", "modify", old, new, forward_mode="nat")).kinds == \
        ("bridge-stp",)
    assert plan_change(_change("bridge", "modify", old, new, forward_mode="bridge")).kinds == \
        ("none",)


def _single_changes():
    """Fixture cases whose ChangeSet is one change of a leaf section."""
    leaf = {"bridge", "domain", "dns-host", "dns-txt", "dns-srv", "ip-dhcp-range",
            "ip-dhcp-host", "forward-interface", "forward-pf", "portgroup", "route"}
    for case in CASES:
        changes = D.diff(case / "before.xml", case / "after.xml").changes
        if len(changes) == 1 and changes[0].section in leaf:
            yield case


@pytest.mark.parametrize("case", list(_single_changes()), ids=lambda p: p.name)
def test_plan_change_uses_the_same_table_as_plan(case):
    """A Change-like record of the one touched element plans what the full diff plans."""
    before, after = netupdate.load(case / "before.xml").defs, \
        netupdate.load(case / "after.xml").defs
    record = D.diff(before, after).changes[0]
    ctx = PlanContext.from_defs(before, after)
    command = {ADDED: "add-last", REMOVED: "delete", MODIFIED: "modify"}[record.op]
    family = record.family if record.section in C.FAMILY_KEYED else None
    change = _change(record.section, command, record.before, record.after,
                     ip_version=family, forward_mode=ctx.mode_after,
                     dhcp_active_before=ctx.dhcp_before.get(family),
                     dhcp_active_after=ctx.dhcp_after.get(family))
    assert plan_change(change).kinds == plan(before, after).kinds


# ---------------------------------------------------------------------- with update.py
ISO = (ROOT / "fixtures" / "plans" / "dhcp-range-first-v4" / "before.xml").read_text()
OPTIONS = ("<dnsmasq:options xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>"
           "<dnsmasq:option value='x=1'/></dnsmasq:options>")
UPDATE_EDITS = [
    (NAT, "add-last", "ip-dhcp-host",
     "<host mac='52:54:00:10:00:0c' name='gamma' ip='192.168.100.12'/>", {}),
    (NAT, "modify", "ip-dhcp-host",
     "<host mac='52:54:00:10:00:0b' name='beta' ip='192.168.100.21'/>", {}),
    (NAT, "delete", "ip-dhcp-host", "<host mac='52:54:00:10:00:0b'/>", {}),
    (NAT, "add-last", "ip-dhcp-host",
     "<host id='00:03:00:01:52:54:00:10:00:0a' name='alpha' ip='fd00:100::10'/>",
     {"parent_index": 1}),
    (ISO, "add-last", "ip-dhcp-host",
     "<host mac='52:54:00:20:00:0a' name='solo' ip='10.20.0.10'/>", {}),
    (NAT, "add-last", "ip-dhcp-range",
     "<range start='192.168.100.200' end='192.168.100.220'/>", {}),
    (NAT, "delete", "ip-dhcp-range",
     "<range start='192.168.100.100' end='192.168.100.199'/>", {}),
    (ISO, "add-first", "ip-dhcp-range", "<range start='10.20.0.100' end='10.20.0.199'/>", {}),
    (NAT, "modify", "dns-txt", "<txt name='info' value='x'/>", {}),
    (NAT, "modify", "dns-srv", "<srv service='ldap' protocol='tcp' domain='nat0.example' "
     "target='dc1.nat0.example' port='390'/>", {}),
    (NAT, "add-last", "dns-host", "<host ip='192.168.100.30'><hostname>p</hostname></host>", {}),
    (NAT, "delete", "dns-host", "<host ip='192.168.100.20'/>", {}),
    (NAT, "add-last", "portgroup", "<portgroup name='x'/>", {}),
    (NAT, "modify", None, "<bridge name='virbr10' stp='off' delay='0'/>",
     {"node_spec": "/network/bridge"}),
    (NAT, "modify", None, "<bridge name='virbr10' stp='on' delay='3'/>",
     {"node_spec": "/network/bridge"}),
    (NAT, "modify", None, "<domain name='x.example'/>", {"node_spec": "/network/domain"}),
    (NAT, "delete", None, None, {"node_spec": "/network/domain"}),
    (NAT, "delete", None, None, {"node_spec": "/network/route"}),
    (NAT, "add-last", None, "<route address='10.200.0.0' prefix='16' gateway='192.168.100.3'/>",
     {"node_spec": "/network"}),
    (NAT, "add-last", None, "<mtu size='9000'/>", {"node_spec": "/network"}),
    (NAT, "modify", None, "<mac address='52:54:00:10:00:09'/>", {"node_spec": "/network/mac"}),
    (NAT, "modify", None, "<name>renamed</name>", {"node_spec": "/network/name"}),
    (NAT, "modify", None, "<forward mode='route'/>", {"node_spec": "/network/forward"}),
    (NAT, "add-last", None, "<tftp root='/srv'/>", {"node_spec": "/network/ip[1]"}),
    (NAT, "add-last", None, "<ip address='10.9.0.1' prefix='24'/>", {"node_spec": "/network"}),
    (NAT, "delete", None, None, {"node_spec": "/network/ip[2]"}),
    (NAT, "add-last", None, "<lease expiry='2' unit='hours'/>",
     {"node_spec": "/network/ip/dhcp/host[1]"}),
    (NAT, "add-last", None, "<forwarder addr='1.1.1.1'/>", {"node_spec": "/network/dns"}),
    (NAT, "add-last", None, OPTIONS, {"node_spec": "/network"}),
]


@pytest.mark.parametrize("base,command,section,xml,extra", UPDATE_EDITS)
def test_update_change_plan_matches_full_plan(base, command, section, xml, extra):
    """``plan_change(netupdate.load(x).update(...))`` plans what ``plan(before, after)`` plans."""
    network = netupdate.load(base)
    change = network.update(command, section, xml, **extra)
    full = plan(base, network.to_xml())
    assert full.changes, "the edit changed nothing"
    assert plan_change(change).kinds == full.kinds


def test_reason_mentions_the_change_and_the_why():
    result = plan(NAT, NAT.replace("delay='0'", "delay='4'"))
    assert re.match(r"bridge modified \(delay\): the forward delay is set", result.actions[0].reason)
