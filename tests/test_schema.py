"""The grammars (rng/network.rng, rng/network.xsd) and netupdate.check.grammar.

* every network fixture is valid under both grammars; the deliberately odd one is not;
* every mutation of the fixtures (tests/mutations.py) is invalid, with located issues;
* the RelaxNG grammar and its XSD twin give the same verdict on every case;
* libvirt's own grammar gives the same verdict too, apart from DELIBERATE_DIFFERENCES;
* update fragments: strict and partial (delete pattern) forms.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path

import mutations
import pytest
from lxml import etree

from netupdate.check import grammar as schema
from netupdate.check import rnggrammar, xsdgrammar
from netupdate.check.grammar import SchemaIssue, check_document, check_fragment
from netupdate.document.source import element_path, parse_element

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "fixtures" / "networks"
FRAGMENTS = ROOT / "fixtures" / "fragments"
LIBVIRT_RNG = Path("/usr/share/libvirt/schemas/network.rng")
GRAMMARS = ("rng", "xsd")
MIN_FIXTURES = 25
INVALID_FIXTURES = {"odd-unknown-elements.xml"}  # unknown elements and attributes, on purpose

FIXTURES = sorted(p for p in NETWORKS.glob("*.xml") if p.name not in INVALID_FIXTURES)
FIXTURE_NAMES = [p.name for p in FIXTURES]
MUTATIONS = mutations.generate(FIXTURES)


# --------------------------------------------------------------------------- shared helpers

@dataclass(frozen=True)
class Case:
    """A document to judge: a fixture or a mutation of one."""

    id: str
    root: etree._Element


CASES = ([Case(p.name, mutations.parse_fixture(p)) for p in FIXTURES]
         + [Case(m.id, m.tree.getroot()) for m in MUTATIONS])
CASE_BY_ID = {case.id: case for case in CASES}


def cases_of(fixture: str) -> list[Case]:
    """A fixture and its mutations (tests over them are grouped by fixture, to stay fast)."""
    return [CASE_BY_ID[fixture]] + [CASE_BY_ID[m.id] for m in MUTATIONS if m.fixture == fixture]


@functools.cache
def issues_of(case_id: str, grammar: str) -> list[SchemaIssue]:
    """check_document of a case, computed once per grammar for all the tests below."""
    return check_document(CASE_BY_ID[case_id].root, grammar=grammar)


# ----------------------------------------------------------------------------------- fixtures

def test_there_are_enough_fixtures():
    assert len(FIXTURES) >= MIN_FIXTURES, f"only {len(FIXTURES)} network fixtures"


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_fixture_is_valid(fixture, grammar):
    assert issues_of(fixture, grammar) == []


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize("fixture", sorted(INVALID_FIXTURES))
def test_odd_fixture_is_invalid(fixture, grammar):
    issues = check_document(mutations.parse_fixture(NETWORKS / fixture), grammar=grammar)
    assert issues
    assert all(issue.line and issue.path for issue in issues)
    assert {issue.code for issue in issues} == {schema.UNEXPECTED_ELEMENT,
                                                schema.UNKNOWN_ATTRIBUTE}


# ---------------------------------------------------------------------------------- mutations

def test_mutations_are_many_deterministic_and_of_every_kind():
    assert len(MUTATIONS) >= 300
    assert {m.kind for m in MUTATIONS} == set(mutations.MUTATORS)
    again = mutations.generate(FIXTURES[:3])
    assert [m.id for m in again] == [m.id for m in MUTATIONS if m.fixture in FIXTURE_NAMES[:3]]


def _unlocated(issue: SchemaIssue) -> bool:
    return not (isinstance(issue.line, int) and issue.line >= 1
                and (issue.path or "").startswith("/network")
                and re.fullmatch(r"NU-S00[1-7]", issue.code) and "\n" not in issue.message)


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_mutations_are_invalid_with_located_issues(fixture, grammar):
    unnoticed, unlocated = [], []
    for case in cases_of(fixture)[1:]:
        issues = issues_of(case.id, grammar)
        if not issues:
            unnoticed.append(case.id)
        unlocated += [f"{case.id}: {issue!r}" for issue in issues if _unlocated(issue)]
    assert not unnoticed, "mutations that went unnoticed:\n" + "\n".join(unnoticed)
    assert not unlocated, "issues without line, path or code:\n" + "\n".join(unlocated)


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_rng_and_xsd_agree(fixture):
    disagree = [case.id for case in cases_of(fixture)
                if bool(issues_of(case.id, "rng")) != bool(issues_of(case.id, "xsd"))]
    assert not disagree, "\n".join(disagree)


# ------------------------------------------------------------------ agreement with libvirt 9.0

@dataclass(frozen=True)
class Difference:
    """Where our grammar deliberately judges otherwise than libvirt 9.0's (docs/schema.md).

    ``ours_valid`` is our verdict on documents where the two differ (None: either way);
    ``neutralise`` rewrites a document to the common ground, where the verdicts must agree.
    """

    name: str
    ours_valid: bool | None
    applies: Callable[[etree._Element], bool]
    neutralise: Callable[[etree._Element], None]


NEWER_LIBVIRT = "/network/title | /network/description | /network/domain/@register | " \
                "/network/dns/forwarder/@port"
PLAIN_METADATA = "/network/metadata/*[namespace-uri() = '']"
ADDRESSES = "//@address | //@ip | //@start | //@end | //@gateway | //@addr | //@netmask"


def _drop(root: etree._Element, xpath: str) -> None:
    for found in root.xpath(xpath):
        if isinstance(found, etree._Element):
            found.getparent().remove(found)
        else:
            del found.getparent().attrib[found.attrname]


def _embedded_ipv4(value: str) -> bool:
    return ":" in value and "." in value


def _replace_embedded_ipv4(root: etree._Element) -> None:
    for value in root.xpath(ADDRESSES):
        if _embedded_ipv4(value):
            value.getparent().set(value.attrname, "::1")


def _signed(value: str) -> bool:
    return re.fullmatch(r"\s*[+-][0-9]+\s*", value) is not None


def _unsign(root: etree._Element) -> None:
    for value in root.xpath("//@*"):
        if _signed(value):
            value.getparent().set(value.attrname, value.strip().lstrip("+-"))


DELIBERATE_DIFFERENCES = (
    Difference("newer-libvirt", True, lambda root: bool(root.xpath(NEWER_LIBVIRT)),
               lambda root: _drop(root, NEWER_LIBVIRT)),
    Difference("namespaced-metadata", False, lambda root: bool(root.xpath(PLAIN_METADATA)),
               lambda root: _drop(root, PLAIN_METADATA)),
    Difference("ipv6-embedded-ipv4", None,
               lambda root: any(_embedded_ipv4(v) for v in root.xpath(ADDRESSES)),
               _replace_embedded_ipv4),
    Difference("unsigned-numbers", False,
               lambda root: any(_signed(v) for v in root.xpath("//@*")), _unsign),
)


@functools.cache
def _libvirt_grammar() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(LIBVIRT_RNG)))


@pytest.fixture(scope="module")
def libvirt_grammar():
    if not LIBVIRT_RNG.exists():
        message = f"{LIBVIRT_RNG} is missing (apt-get install libvirt-clients)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return _libvirt_grammar()


def _libvirt_disagreement(case: Case, libvirt_grammar) -> str | None:
    """Why our verdict on a case differs from libvirt's in an undocumented way, or None."""
    ours, theirs = not issues_of(case.id, "rng"), libvirt_grammar.validate(case.root)
    applicable = [d for d in DELIBERATE_DIFFERENCES if d.applies(case.root)]
    if ours != theirs and not any(d.ours_valid in (None, ours) for d in applicable):
        return (f"{case.id}: ours says {'valid' if ours else 'invalid'}, libvirt's grammar "
                f"says otherwise ({libvirt_grammar.error_log.last_error})")
    if applicable:
        common = copy.deepcopy(case.root)
        for difference in applicable:
            difference.neutralise(common)
        if (not check_document(common)) != libvirt_grammar.validate(common):
            return f"{case.id}: the verdicts differ once {applicable} are set aside"
    return None


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_libvirt_grammar_agrees(fixture, libvirt_grammar):
    found = [_libvirt_disagreement(case, libvirt_grammar) for case in cases_of(fixture)]
    assert not any(found), "\n".join(filter(None, found))


DIFFERENCE_EXAMPLES = [
    ("newer-libvirt", "<title>Lab</title><domain name='lab' register='yes'/>", True),
    ("namespaced-metadata", "<metadata><note>plain</note></metadata>", False),
    ("ipv6-embedded-ipv4", "<ip address='1::ffff:192.0.2.1' prefix='64'/>", True),
    ("ipv6-embedded-ipv4", "<ip address=':192.0.2.1' prefix='64'/>", False),
    ("unsigned-numbers", "<mtu size='+1500'/>", False),
]


@pytest.mark.parametrize(("name", "xml", "ours_valid"), DIFFERENCE_EXAMPLES,
                         ids=[f"{name}:{xml}" for name, xml, _ in DIFFERENCE_EXAMPLES])
def test_deliberate_difference_is_real(name, xml, ours_valid, libvirt_grammar):
    root = parse_element(f"<network><name>n</name>{xml}</network>")
    [difference] = [d for d in DELIBERATE_DIFFERENCES if d.name == name]
    assert difference.applies(root) and difference.ours_valid in (None, ours_valid)
    assert (not check_document(root), libvirt_grammar.validate(root)) == (ours_valid,
                                                                         not ours_valid)


def test_every_deliberate_difference_is_exercised_and_documented():
    exercised = {d.name for case in CASES for d in DELIBERATE_DIFFERENCES if d.applies(case.root)}
    assert {"newer-libvirt", "namespaced-metadata"} <= exercised
    docs = (ROOT / "docs" / "schema.md").read_text()
    assert all(f"`{d.name}`" in docs for d in DELIBERATE_DIFFERENCES)


# ---------------------------------------------------------------------------------- fragments

SECTION_ROOTS = {
    "bridge": "bridge", "domain": "domain", "ip": "ip", "ip-dhcp-host": "host",
    "ip-dhcp-range": "range", "forward": "forward", "forward-interface": "interface",
    "forward-pf": "pf", "portgroup": "portgroup", "dns-host": "host", "dns-txt": "txt",
    "dns-srv": "srv",
}

# Good fragments that are delete patterns: valid only in the partial form.
DELETE_PATTERNS = {
    "ip-dhcp-host/host-delete-by-mac.xml", "ip-dhcp-host/host-delete-by-name.xml",
    "dns-host/dns-host-by-hostname.xml", "dns-host/dns-host-ambiguous.xml",
    "dns-txt/txt-delete-name-only.xml", "dns-srv/srv-service-only.xml",
}

# Bad fragments that the grammar accepts: the defect depends on the network the fragment goes
# into, or on a rule of libvirt's parser; netupdate.validate and the update engine refuse them.
SEMANTIC_DEFECTS = {
    "bridge/bad-long-name.xml": "the kernel's 15-byte limit is checked when the bridge starts",
    "dns-srv/bad-port-without-target.xml": "parser rule: port needs a target",
    "dns-srv/bad-port-zero.xml": "parser rule: an SRV port is 1..65535",
    "dns-srv/bad-service-dot.xml": "parser rule on service characters",
    "forward/bad-dev-mismatch.xml": "dev must name the first interface",
    "forward/bad-nat-in-route.xml": "<nat> only means something in mode nat",
    "ip/bad-family-mismatch.xml": "family against the address",
    "ip/bad-ipv6-netmask.xml": "netmask against an IPv6 address",
    "ip-dhcp-host/bad-mac-on-ipv6.xml": "depends on the parent <ip>",
    "ip-dhcp-host/bad-name-dash.xml": "parser rule on the first character of the name",
    "ip-dhcp-host/bad-short-lease.xml": "minimum lease time",
    "ip-dhcp-range/bad-broadcast.xml": "depends on the parent <ip>",
    "ip-dhcp-range/bad-family.xml": "depends on the parent <ip>",
    "ip-dhcp-range/bad-network-address.xml": "depends on the parent <ip>",
    "ip-dhcp-range/bad-outside.xml": "depends on the parent <ip>",
    "ip-dhcp-range/bad-reversed.xml": "start after end",
    "ip-dhcp-range/bad-too-large.xml": "more than 65535 addresses",
    "portgroup/bad-bandwidth-no-average.xml": "parser rule: average (or floor) is mandatory",
}

FRAGMENT_FILES = sorted(FRAGMENTS.glob("*/*.xml"))
GOOD_FRAGMENTS = [p for p in FRAGMENT_FILES if not p.name.startswith("bad-")]
BAD_FRAGMENTS = [p for p in FRAGMENT_FILES if p.name.startswith("bad-")]


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _fragment_verdicts(path: Path, partial: bool) -> dict[str, bool]:
    element = mutations.parse_fixture(path)
    return {grammar: not check_fragment(path.parent.name, element, partial=partial,
                                        grammar=grammar) for grammar in GRAMMARS}


def test_section_roots_match_libvirt_sections():
    assert schema.section_roots() == SECTION_ROOTS


def test_fragment_lists_name_existing_files():
    existing = {_key(p) for p in FRAGMENT_FILES}
    assert DELETE_PATTERNS <= existing and set(SEMANTIC_DEFECTS) <= existing


@pytest.mark.parametrize("fragment", GOOD_FRAGMENTS, ids=_key)
def test_good_fragment(fragment):
    assert _fragment_verdicts(fragment, partial=True) == {"rng": True, "xsd": True}
    strict = _key(fragment) not in DELETE_PATTERNS
    assert _fragment_verdicts(fragment, partial=False) == {"rng": strict, "xsd": strict}


@pytest.mark.parametrize("fragment", BAD_FRAGMENTS, ids=_key)
def test_bad_fragment(fragment):
    valid = _key(fragment) in SEMANTIC_DEFECTS
    assert _fragment_verdicts(fragment, partial=False) == {"rng": valid, "xsd": valid}
    partial = _fragment_verdicts(fragment, partial=True)
    assert partial["rng"] == partial["xsd"]


HOST_BY_MAC = "<host mac='52:54:00:00:00:01'/>"

INLINE_FRAGMENTS = [
    # (section, xml, strict codes, partial codes)
    ("ip-dhcp-host", "<host mac='52:54:00:00:00:01' ip='10.0.0.2'/>", [], []),
    ("ip-dhcp-host", HOST_BY_MAC, [schema.MISSING], []),
    ("ip-dhcp-host", "<host mac='01:00:5e:00:00:01'/>", [schema.MISSING, schema.BAD_VALUE],
     [schema.BAD_VALUE]),
    ("ip-dhcp-host", "<host mac='52:54:00:00:00:01' id='0:3:0:1:52:54:00:00:00:01' "
                     "ip='10.0.0.2'/>", [schema.CONFLICT], [schema.CONFLICT]),
    ("ip-dhcp-host", "<host name='a' ip='10.0.0.2' colour='red'/>",
     [schema.UNKNOWN_ATTRIBUTE], [schema.UNKNOWN_ATTRIBUTE]),
    ("ip-dhcp-host", "<host name='a' ip='10.0.0.2'><lease expiry='60' unit='days'/></host>",
     [schema.BAD_VALUE], [schema.BAD_VALUE]),
    ("ip-dhcp-host", "<host ip='10.0.0.2'><hostname>a</hostname></host>",
     [schema.MISSING, schema.UNEXPECTED_ELEMENT], [schema.UNEXPECTED_ELEMENT]),
    ("dns-host", "<host ip='10.0.0.2'><hostname>a</hostname></host>", [], []),
    ("dns-host", "<host><hostname>a</hostname></host>", [schema.MISSING], []),
    ("dns-host", "<host ip='10.0.0.2'/>", [schema.MISSING], []),
    ("dns-host", "<host ip='10.0.0.2'><hostname>a_b</hostname></host>", [schema.BAD_VALUE],
     [schema.BAD_VALUE]),
    ("ip-dhcp-range", "<range start='10.0.0.2' end='10.0.0.9'><lease expiry='0'/></range>",
     [], []),
    ("ip-dhcp-range", "<range start='10.0.0.2'/>", [schema.MISSING], []),
    ("dns-txt", "<txt name='a' value='b'/>", [], []),
    ("dns-srv", "<srv service='ldap' protocol='sctp'/>", [schema.BAD_VALUE],
     [schema.BAD_VALUE]),
    ("portgroup", "<portgroup name='pg'><vlan><tag id='4095'/></vlan><vlan><tag id='1'/>"
                  "</vlan></portgroup>", [schema.UNEXPECTED_ELEMENT],
     [schema.UNEXPECTED_ELEMENT]),
    ("portgroup", "<portgroup name='pg'><virtualport type='midonet'/></portgroup>",
     [schema.MISSING], []),
    ("forward", "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>",
     [], []),
    ("forward", "<forward mode='bridge'><interface dev='eth0'/>"
                "<address type='pci' domain='0' bus='0' slot='1' function='0'/></forward>",
     [schema.CONFLICT], [schema.CONFLICT]),
    ("forward-interface", "<pf dev='eth0'/>", [schema.WRONG_ROOT], [schema.WRONG_ROOT]),
    ("bridge", "<bridge name='virbr0' stp='on' delay='0'>text</bridge>",
     [schema.UNEXPECTED_ELEMENT], [schema.UNEXPECTED_ELEMENT]),
]


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize(("section", "xml", "strict", "partial"), INLINE_FRAGMENTS,
                         ids=[f"{s}:{x}" for s, x, *_ in INLINE_FRAGMENTS])
def test_inline_fragment(section, xml, strict, partial, grammar):
    element = parse_element(xml)
    for loose, expected in ((False, strict), (True, partial)):
        issues = check_fragment(section, element, partial=loose, grammar=grammar)
        assert sorted({issue.code for issue in issues}) == sorted(expected), issues
        assert all(issue.line == 1 and issue.path.startswith("/") for issue in issues)


def test_fragment_inside_a_document_keeps_its_document_path():
    root = parse_element("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp>"
                  "<host name='a' ip='10.0.0.2'/>\n<host mac='zz' ip='10.0.0.3'/>"
                  "</dhcp></ip></network>")
    host = root.find("ip/dhcp/host[2]")
    for grammar in GRAMMARS:
        [issue] = check_fragment("ip-dhcp-host", host, grammar=grammar)
        assert (issue.line, issue.path, issue.code) == (2, element_path(host), schema.BAD_VALUE)


def test_unknown_section_and_grammar_are_refused():
    with pytest.raises(ValueError, match="unknown update section 'ip-dhcp'"):
        check_fragment("ip-dhcp", parse_element(HOST_BY_MAC))
    with pytest.raises(ValueError, match="unknown grammar 'dtd'"):
        check_document(parse_element("<network><name>n</name></network>"), grammar="dtd")


# -------------------------------------------------------------------------------- documents

@pytest.mark.parametrize("grammar", GRAMMARS)
def test_all_issues_are_reported_in_document_order(grammar):
    root = parse_element("""<network ipv6='maybe'>
  <name>n</name>
  <bridge name='a b'/>
  <bridge/>
  <ip address='10.0.0.1' prefix='24'>
    <dhcp>
      <host name='a' ip='10.0.0.300'/>
      <host ip='10.0.0.4'/>
    </dhcp>
  </ip>
  <frob/>
</network>""")
    issues = check_document(root, grammar=grammar)
    assert [(i.line, i.path, i.code) for i in issues] == [
        (1, "/network", schema.BAD_VALUE),
        (3, "/network/bridge[1]", schema.BAD_VALUE),
        (4, "/network/bridge[2]", schema.UNEXPECTED_ELEMENT),
        (7, "/network/ip/dhcp/host[1]", schema.BAD_VALUE),
        (8, "/network/ip/dhcp/host[2]", schema.MISSING),
        (11, "/network/frob", schema.UNEXPECTED_ELEMENT),
    ]
    assert issues[0].message.startswith("invalid value 'maybe' for attribute 'ipv6'")
    assert issues[4].message == "<host> needs one of the attributes 'mac', 'id', 'name'"


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_wrong_root_element(grammar):
    [issue] = check_document(parse_element("<domain type='kvm'/>"), grammar=grammar)
    assert (issue.code, issue.path) == (schema.WRONG_ROOT, "/domain")
    assert issue.message == "expected <network>, found <domain>"


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_edited_elements_without_source_line(grammar):
    root = parse_element("<network><name>n</name></network>")
    etree.SubElement(root, "frob")
    [issue] = check_document(root, grammar=grammar)
    assert (issue.line, issue.path) == (None, "/network/frob")


def test_schema_issue_is_a_frozen_one_liner():
    issue = SchemaIssue(3, "/network/mtu", "invalid value 'x' for attribute 'size' of <mtu>",
                        schema.BAD_VALUE)
    assert str(issue) == ("3: /network/mtu: invalid value 'x' for attribute 'size' of <mtu> "
                          "[NU-S004]")
    with pytest.raises(FrozenInstanceError):
        issue.line = 4


def test_grammars_are_compiled_once():
    root = mutations.parse_fixture(FIXTURES[0])
    for grammar in GRAMMARS:
        check_document(root, grammar=grammar)
    caches = (rnggrammar.rng_acceptor, rnggrammar.rng_validator, xsdgrammar.xsd_schema)
    before = [cache.cache_info().misses for cache in caches]
    for grammar in GRAMMARS:
        check_document(root, grammar=grammar)
    assert [cache.cache_info().misses for cache in caches] == before


def test_grammar_files_are_package_data():
    directory = rnggrammar.grammar_dir()
    assert {"__init__.py", "network.rng", "types.rng", "network.xsd", "dnsmasq.xsd"} <= {
        p.name for p in directory.iterdir()}


def test_issue_codes_are_documented():
    docs = (ROOT / "docs" / "schema.md").read_text()
    codes = [getattr(schema, name) for name in schema.__all__ if name.isupper()]
    assert len(codes) == 7 and all(f"`{code}`" in docs for code in codes)
