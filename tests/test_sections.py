"""One module per section (issue 14): the registry's guards, and one rule set for both engines.

- every registered section lives in ``sections/<name>.py`` with all the hooks;
- no rule code is declared twice, and validate's ``RULES`` and the update engine's checks are
  views of the sections' rules (the same objects);
- generated: the update engine refuses exactly what validate reports with the rule's code.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import netupdate
from netupdate import sections as S
from netupdate.check import rules
from netupdate.check import semantic as V
from netupdate.edit import dispatch
from netupdate.errors import InvalidFragmentError, InvalidOperationError, UpdateError
from netupdate.planning import planner as P
from netupdate.sections import _spec

SECTIONS_DIR = Path(S.__file__).parent
# what a section module must declare (None is a valid value: "nothing of this kind")
HOOKS = ("SECTION", "RULES", "check_fragment", "RECHECK", "PLAN_ROWS", "DNSMASQ_SLOT")


def test_every_section_has_one_home():
    files = {p.stem for p in SECTIONS_DIR.glob("*.py") if not p.stem.startswith("_")}
    assert {s.name for s in S.SECTIONS} == set(S.ORDER)
    for section in S.SECTIONS:
        module_name = section.name.replace("-", "_")
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
                          Path(rules.__file__).read_text())
    from netupdate.check import acrossrules  # a folder's codes (validate DIR)
    codes = Counter(declared + [r.code for r in S.RULES] + [r.code for r in acrossrules.RULES])
    assert [code for code, count in codes.items() if count > 1] == []
    assert set(codes) == set(rules.RULES)


def test_validate_and_edit_run_the_same_rule_objects():
    for rule in S.RULES:
        assert rules.RULES[rule.code] is rule               # validate's registry: a view
        if rule.scope is not None:
            assert rule in S.rules_in(rule.scope)        # the engine's: a view
            assert any(rule.scope in kinds for kinds in dispatch.KINDS.values()), rule.scope
    for name, module in S.MODULES.items():
        assert dispatch.KINDS[name] == module.RECHECK
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


_DNS_MODES = st.sampled_from([None, "nat", "route", "open", "bridge", "private", "hostdev"])
_RECORD = st.sampled_from(["<txt name='a' value='b'/>",
                           "<host ip='192.168.9.5'><hostname>h</hostname></host>",
                           "<srv service='ldap' protocol='tcp'/>",
                           "<forwarder addr='192.0.2.1'/>", "<forwarder port='53'/>"])


@settings(max_examples=80)
@given(mode=_DNS_MODES, enable=st.sampled_from([None, "yes", "no"]),
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


# ---------------------------------------------------------------------- forward, bridge (issue 14)
NAT = """<network><name>n</name><forward mode='{mode}'/>{bridge}{extra}
<ip address='192.168.9.1' prefix='24'/></network>"""


def _forward_doc(mode: str, bridge: str = "", extra: str = "") -> str:
    return NAT.format(mode=mode, bridge=bridge, extra=extra)


def test_an_open_network_takes_no_forward_device():
    """libvirt's parser: "forward dev not allowed for network 'n' with forward mode='open'"
    (the update's round trip runs it); the old engine accepted both edits."""
    network = netupdate.load(_forward_doc("open"))
    with pytest.raises(InvalidOperationError, match="forward dev not allowed"):
        network.update("add", "forward-interface", "<interface dev='eth0'/>")
    with pytest.raises(InvalidOperationError, match="forward dev not allowed"):
        network.update("modify", "forward", "<forward mode='open' dev='eth0'/>")
    assert "eth0" not in network.to_xml()


@pytest.mark.parametrize("attr", ["zone='public'", "macTableManager='kernel'"])
def test_direct_modes_refuse_bridge_zone_and_mac_table_manager(attr):
    """libvirt's parser refuses a bridge zone or macTableManager in private, vepa, passthrough
    and hostdev modes (the old engine refused only the name)."""
    doc = ("<network><name>n</name><forward mode='nat'/><bridge " + attr + "/>"
           "<ip address='192.168.9.1' prefix='24'/></network>")
    network = netupdate.load(doc.replace("<ip address='192.168.9.1' prefix='24'/>", ""))
    with pytest.raises(InvalidOperationError, match="not allowed in passthrough mode"):
        network.update("modify", "forward",
                       "<forward mode='passthrough'><interface dev='eth0'/></forward>")
    assert "passthrough" not in network.to_xml()


def test_a_zero_delay_is_accepted_in_bridge_mode():
    """libvirt's parser tests ``def->delay`` (0 when written as '0'), not the attribute: the
    old engine and validate both refused delay='0'."""
    doc = "<network><name>n</name><forward mode='bridge'/><bridge name='br0' delay='0'/></network>"
    assert V.validate(doc, schema=None) == []
    network = netupdate.load(doc.replace("<forward mode='bridge'/>", ""))
    network.update("add", "forward", "<forward mode='bridge'/>")
    with pytest.raises(InvalidOperationError, match="delay/stp/zone"):
        netupdate.load(doc.replace("<forward mode='bridge'/>", "").replace("'0'", "'2'")).update(
            "add", "forward", "<forward mode='bridge'/>")


@pytest.mark.parametrize("element, words", [
    ("<mtu size='9000'/>", "mtu size only allowed"),
    ("<mac address='52:54:00:00:00:01'/>", "Unsupported <mac> element"),
])
def test_device_modes_refuse_mtu_and_mac(element, words):
    """<mtu> is libvirt's parser, <mac> its bridge driver's define check (like <ip>): the old
    engine let a forward edit to mode bridge keep them; validate reported NU-E119."""
    doc = f"<network><name>n</name><bridge name='br0'/>{element}</network>"
    with pytest.raises(InvalidOperationError, match=re.escape(words)):
        netupdate.load(doc).update("add", "forward", "<forward mode='bridge'/>")
    after = doc.replace("<bridge", "<forward mode='bridge'/><bridge")
    assert {i.code for i in V.validate(after, schema=None)} == {"NU-E119"}


@pytest.mark.parametrize("forward, code", [
    ("<forward mode='route'><nat><port start='1' end='2'/></nat></forward>", "NU-E130"),
    ("<forward mode='hostdev' dev='eth0'><pf dev='eth1'/></forward>", "NU-E115"),
    ("<forward mode='bridge'><interface dev='e'/><interface dev='e'/></forward>", "NU-E131"),
])
def test_validate_reports_what_the_engine_refused_alone(forward, code):
    """Rules only the update engine had (libvirt's parser and duplicate check): validate now
    reports them with a code."""
    ip = "" if "route" not in forward else "<ip address='192.168.9.1' prefix='24'/>"
    doc = f"<network><name>n</name>{forward}{ip}</network>"
    assert code in {i.code for i in V.validate(doc, schema=None)}
    with pytest.raises(UpdateError):
        netupdate.load(f"<network><name>n</name>{ip}</network>").update("add", "forward", forward)


def test_the_runtime_and_the_rule_share_the_bridge_limit():
    from netupdate.errors import RuntimeFailure
    from netupdate.live.embedded.runtime.driver import check_runnable
    from netupdate.sections import bridge as B
    name = "virbr-abcdefghij"   # 16 bytes
    doc = f"<network><name>n</name><bridge name='{name}'/></network>"
    detail = next(i.message for i in V.validate(doc, schema=None) if i.code == "NU-E113")
    with pytest.raises(RuntimeFailure) as info:
        check_runnable(netupdate.load(doc).defs)
    assert info.value.message == detail == B.too_long(name)


# generated: adding a <forward> is refused iff validate reports a forward rule on the result
FORWARD_CODES = {"NU-E114", "NU-E115", "NU-E116", "NU-E117", "NU-E118", "NU-E119", "NU-E120",
                 "NU-E127", "NU-E130", "NU-E131"}
_MODES = st.sampled_from([None, "nat", "route", "open", "bridge", "private", "vepa",
                          "passthrough", "hostdev"])
_BRIDGE_ATTRS = st.fixed_dictionaries({}, optional={
    "name": st.just("br0"), "stp": st.sampled_from(["on", "off"]),
    "delay": st.sampled_from(["0", "2"]), "zone": st.just("public"),
    "macTableManager": st.just("kernel")})
_EXTRAS = st.lists(st.sampled_from([
    "<mtu size='9000'/>", "<mac address='52:54:00:00:00:01'/>", "<domain name='example'/>",
    "<dns><txt name='a' value='b'/></dns>", "<bandwidth><inbound average='10'/></bandwidth>",
    "<ip address='192.168.9.1' prefix='24'/>"]), unique=True)


def _attrs(values: dict) -> str:
    return "".join(f" {k}='{v}'" for k, v in values.items() if v is not None)


@st.composite
def _forwards(draw) -> str:
    mode, dev = draw(_MODES), draw(st.sampled_from([None, "eth0"]))
    inner = "".join(f"<interface dev='{d}'/>" for d in
                    draw(st.lists(st.sampled_from(["eth0", "eth1"]), max_size=2)))
    if draw(st.booleans()):
        inner += "<pf dev='eth9'/>"
    ports = draw(st.sampled_from([None, ("1024", "2000"), ("2000", "1024")]))
    if ports is not None:
        inner = f"<nat><port start='{ports[0]}' end='{ports[1]}'/></nat>" + inner
    return f"<forward{_attrs({'mode': mode, 'dev': dev})}>{inner}</forward>"


@settings(max_examples=150)
@given(forward=_forwards(), bridge=_BRIDGE_ATTRS, extras=_EXTRAS)
def test_forward_add_is_refused_iff_validate_reports_a_forward_rule(forward, bridge, extras):
    body = (f"<bridge{_attrs(bridge)}/>" if bridge else "") + "".join(extras)
    before = f"<network><name>n</name>{body}</network>"
    after = f"<network><name>n</name>{forward}{body}</network>"
    reported = {i.code for i in V.validate(after, schema=None)} & FORWARD_CODES
    try:
        netupdate.load(before).update("add", "forward", forward)
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


@settings(max_examples=80)
@given(mode=_MODES, devs=st.lists(st.sampled_from(["eth0", "eth1", "eth2"]), max_size=2,
                                  unique=True),
       new=st.sampled_from(["eth0", "eth1", "eth2"]), named=st.booleans())
def test_forward_interface_add_is_refused_iff_validate_reports_it(mode, devs, new, named):
    """The interface pool: one device for nat/route, none for open, no bridge name beside it
    in bridge mode, no dev twice (E114, E118, E131)."""
    forward = "<forward{}>{}</forward>"
    bridge = "<bridge name='br0'/>" if named else ""
    ip = "<ip address='192.168.9.1' prefix='24'/>" if mode in (None, "nat", "route", "open") \
        else ""
    attrs = _attrs({"mode": mode})

    def doc(pool):
        inner = "".join(f"<interface dev='{d}'/>" for d in pool)
        return f"<network><name>n</name>{forward.format(attrs, inner)}{bridge}{ip}</network>"

    codes = {"NU-E114", "NU-E118", "NU-E131"}
    before = {i.code for i in V.validate(doc(devs), schema=None)} & codes
    assume(not before)
    reported = {i.code for i in V.validate(doc([*devs, new]), schema=None)} & codes
    try:
        netupdate.load(doc(devs)).update("add-last", "forward-interface",
                                         f"<interface dev='{new}'/>")
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), (reported, doc([*devs, new]))


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
    assert "NU-E132" in _errors(doc)
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


_MACS = st.sampled_from(["52:54:00:00:00:01", "01:00:5e:00:00:01", "33:33:00:00:00:01",
                         "03:00:00:00:00:01", "fe:54:00:00:00:01"])


@settings(max_examples=40)
@given(mac=_MACS, where=st.sampled_from(["bridge", "host"]))
def test_a_multicast_mac_is_refused_iff_validate_reports_nu_e124(mac, where):
    """NU-E124 is one rule (sections/network.py) for the bridge <mac> and a DHCP host's MAC."""
    body = "<ip address='192.168.9.1' prefix='24'><dhcp>{}</dhcp></ip>"
    if where == "bridge":
        section, fragment = "network", f"<mac address='{mac}'/>"
        after = f"<network><name>n</name>{fragment}{body.format('')}</network>"
    else:
        section, fragment = "ip-dhcp-host", f"<host mac='{mac}' ip='192.168.9.5'/>"
        after = f"<network><name>n</name>{body.format(fragment)}</network>"
    reported = {i.code for i in V.validate(after, schema=None)} & {"NU-E124"}
    try:
        netupdate.load(f"<network><name>n</name>{body.format('')}</network>").update(
            "add", section, fragment)
        refused = False
    except UpdateError:
        refused = True
    assert refused == bool(reported), (reported, after)
