"""The backend contract: the same config-only scenarios on both backends of ``netupdate.connect()``.

``embedded`` is the embedded runtime on a fresh state directory; ``libvirt`` is libvirt's test
driver at ``test:///default`` (no daemon; skipped without the libvirt binding, except in CI where
that is an error, as in tests/libvirt/).  Nothing here starts a network: define, list, dumpxml of
the persistent config, update of the persistent config for every section and command (the
section x command matrix of tests/libvirt/test_libvirt_backend.py, on the networks of
fixtures/libvirt/test-driver.xml, plus the ``dns`` and ``network`` pseudo sections and a nodeSpec
edit), refused edits, unknown networks, undefine, and the verbs' signatures and result types.

The oracle of an edit is ``netupdate.update_xml`` on the backend's own persistent config: both
backends must store what the engine computes, and so the same thing.

Where the backends differ today the case is in ``GAPS`` and runs as a strict xfail: it fails the
day the gap closes, so the entry must then be deleted.  The list is the backend interface work of
issue 14 (one interface, one result type, one set of errors).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path

import pytest
from lxml import etree

import netupdate
from netupdate.errors import (
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    NotFoundError,
    StateError,
    UnsupportedError,
    XMLParseError,
)
from netupdate.live.embedded.connection import Connection
from netupdate.live.libvirt.connection import LibvirtConnection

ROOT = Path(__file__).resolve().parent.parent
LIBVIRT_URI = "test:///default"

# ------------------------------------------------------------------------- today's gaps (shrink!)
# (scenario, backend) -> why it fails today; backend "both" marks a comparison of the two.
GAPS = {
    # the verbs: one interface (every verb but status agrees)
    ("signature-status", "both"): "embedded returns a dict, libvirt a NetworkStatus",
    ("define-fills-identity", "both"):
        "libvirt gives a defined network a uuid and a bridge name (virbrN), embedded stores the "
        "definition as given",
    ("define-nu-pool", "libvirt"):
        "libvirt fills <forward dev> from the first <interface> on define (so does the engine "
        "on an edit of the section), embedded stores the definition as given",
    # the edits
    ("bridge-delete-nu-nat", "libvirt"):
        "libvirt gives a NAT network without <bridge> a new bridge name (virbrN) on define",
}


def gap(request, scenario: str, backend: str) -> None:
    reason = GAPS.get((scenario, backend))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def test_every_gap_names_a_scenario():
    scenarios = {f"signature-{verb}" for verb in VERBS} | {case_id(c) for c in CASES} | {
        f"define-{network}" for network in NETWORKS} | {
        "update-result-type", "update-result-json", "live-outcome", "list-entry",
        "no-side-error", "define-fills-identity", "canonical-names", "alias-append",
        "alias-prepend", "malformed-define"}
    assert {scenario for scenario, _backend in GAPS} <= scenarios


# ------------------------------------------------------------------------- the scenarios
def _load_matrix():
    path = ROOT / "tests" / "libvirt" / "test_libvirt_backend.py"
    spec = importlib.util.spec_from_file_location("_libvirt_matrix", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MATRIX = _load_matrix()
Case = MATRIX.Case
CASES = (
    *MATRIX.CASES,
    # the pseudo sections libvirt has no code for, and a nodeSpec edit
    Case("nu-nat", "network", "add-last", "<mtu size='9000'/>"),
    Case("nu-nat", "dns", "modify", "<dns><forwarder addr='192.0.2.53'/></dns>"),
)
NODE_SPEC = ("nu-nat", "delete", "/network/dns/txt[@name='info']")

NETWORKS = {net.findtext("name"): etree.tostring(net, encoding="unicode")
            for net in etree.parse(str(ROOT / "fixtures" / "libvirt" / "test-driver.xml"))
            .getroot().iter("network")}
MINIMAL = "<network><name>nu-minimal</name><ip address='10.152.0.1' prefix='24'/></network>"


def case_id(case) -> str:
    return case.id + ("-v6" if case.parent_index == 1 else "")


def _have_libvirt() -> bool:
    try:
        import libvirt  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and the libvirt binding is missing", pytrace=False)
        return False
    return True


class Backend:
    """One connection and the networks a test defined through it (undefined afterwards)."""

    def __init__(self, name: str, conn):
        self.name, self.conn, self.defined = name, conn, set()

    def define(self, xml: str) -> str:
        name = etree.fromstring(xml).findtext("name")
        self.forget(name)
        self.defined.add(name)
        assert self.conn.define(xml) == name
        return name

    def forget(self, name: str) -> None:
        try:
            self.conn.undefine(name)
        except StateError:
            pass

    def close(self) -> None:
        for name in self.defined:
            self.forget(name)
        self.conn.close()

    def update(self, name: str, command, section, xml, **kwargs):
        return self.conn.update(name, command, section, xml, live=False, config=True, **kwargs)

    def config(self, name: str) -> str:
        return self.conn.dumpxml(name, inactive=True)

    def listed(self) -> dict[str, dict]:
        """Today's list entries as dicts (the entry type itself is the gap ``list-entry``)."""
        return {entry["name"]: entry for entry in
                (e if isinstance(e, dict) else e.to_json() for e in self.conn.list())}


def _open(name: str, tmp_path: Path) -> Backend:
    if name == "libvirt":
        if not _have_libvirt():
            pytest.skip("the libvirt binding is not installed: pip install 'netupdate[libvirt]'")
        return Backend(name, netupdate.connect(LIBVIRT_URI))
    return Backend(name, netupdate.connect(state_dir=tmp_path / "state"))


BACKENDS = ["embedded", pytest.param("libvirt", marks=pytest.mark.libvirt)]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    opened = _open(request.param, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def both(tmp_path):
    opened = [_open("embedded", tmp_path), _open("libvirt", tmp_path)]
    yield opened
    for one in opened:
        one.close()


def same(a: str, b: str) -> list[str]:
    """What differs semantically from ``a`` to ``b`` (nothing: the same network)."""
    return [change.describe() for change in netupdate.diff(a, b).changes]


# ------------------------------------------------------------------------- the interface
VERBS = sorted({name for cls in (Connection, LibvirtConnection) for name, value in
                vars(cls).items() if not name.startswith("_") and callable(value)})


@pytest.mark.parametrize("verb", VERBS)
def test_verb_has_one_signature(request, verb):
    gap(request, f"signature-{verb}", "both")
    embedded, libvirt = getattr(Connection, verb, None), getattr(LibvirtConnection, verb, None)
    assert embedded is not None and libvirt is not None, "a verb of one backend only"
    assert inspect.signature(embedded) == inspect.signature(libvirt)


def test_connect_picks_the_backend_by_uri(tmp_path):
    assert isinstance(netupdate.connect(state_dir=tmp_path), Connection)
    with pytest.raises(UnsupportedError):
        netupdate.connect(LIBVIRT_URI, state_dir=tmp_path)


# ------------------------------------------------------------------------- definitions
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_define_list_dumpxml_undefine(request, backend, network):
    gap(request, f"define-{network}", backend.name)
    xml = NETWORKS[network]
    assert backend.define(xml) == network
    entry = backend.listed()[network]
    assert (entry["active"], entry["persistent"], entry["autostart"]) == (False, True, False)
    assert same(xml, backend.config(network)) == []
    backend.conn.undefine(network)
    assert network not in backend.listed()
    with pytest.raises(StateError, match=network):
        backend.config(network)


def test_define_fills_identity(request, both):
    gap(request, "define-fills-identity", "both")
    embedded, libvirt = (one.config(one.define(MINIMAL)) for one in both)
    assert same(embedded, libvirt) == []


def test_malformed_definition(request, backend):
    gap(request, "malformed-define", backend.name)
    with pytest.raises(XMLParseError):
        backend.conn.define("<network><name>nu-broken</name>")
    assert "nu-broken" not in backend.listed()


def test_list_entries(request, both):
    gap(request, "list-entry", "both")
    entries = []
    for one in both:
        name = one.define(MINIMAL)
        entries.append(next(e for e in one.conn.list() if
                            (e["name"] if isinstance(e, dict) else e.name) == name))
    assert type(entries[0]) is type(entries[1])


# ------------------------------------------------------------------------- updates
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_update_config(request, backend, case):
    gap(request, case_id(case), backend.name)
    name = backend.define(NETWORKS[case.network])
    for command, section, xml in case.setup:
        backend.update(name, command, section, xml)
    before = backend.config(name)
    expected = netupdate.update_xml(before, case.command, case.section, case.xml,
                                    parent_index=case.parent_index)
    result = backend.update(name, case.command, case.section, case.xml,
                            parent_index=case.parent_index)
    assert same(expected, backend.config(name)) == []
    assert result.network == name
    assert result.config == ("changed" if same(before, expected) else "unchanged")


def test_update_by_node_spec(backend):
    network, command, node_spec = NODE_SPEC
    name = backend.define(NETWORKS[network])
    before = backend.config(name)
    expected = netupdate.update_xml(before, command, None, None, node_spec=node_spec)
    assert same(before, expected) != []
    result = backend.update(name, command, None, None, node_spec=node_spec)
    assert result.config == "changed"
    assert same(expected, backend.config(name)) == []


def test_dry_run_changes_nothing(backend):
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    result = backend.update(name, "add-last", "dns-txt", "<txt name='dry' value='run'/>",
                            dry_run=True)
    assert result.dry_run
    assert backend.config(name) == before


REFUSED = {
    "duplicate": (("add-last", "dns-txt", "<txt name='info' value='again'/>"), {},
                  DuplicateError),
    "missing": (("delete", "dns-txt", "<txt name='absent'/>"), {}, NotFoundError),
    "malformed-fragment": (("add-last", "dns-txt", "<txt name='x' value='y'"), {},
                           InvalidFragmentError),
    "unknown-section": (("add-last", "dns-record", "<txt name='x' value='y'/>"), {},
                        UnsupportedError),
    "unknown-command": (("replace", "dns-txt", "<txt name='x' value='y'/>"), {},
                        UnsupportedError),
    "live-of-inactive": (("add-last", "dns-txt", "<txt name='x' value='y'/>"),
                         {"live": True}, StateError),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_refused_update_changes_nothing(backend, what):
    args, flags, error = REFUSED[what]
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    with pytest.raises(error):
        backend.conn.update(name, *args, **{"live": False, "config": True, **flags})
    assert backend.config(name) == before


VERB_CALLS = {
    "dumpxml": lambda conn, name: conn.dumpxml(name, inactive=True),
    "undefine": lambda conn, name: conn.undefine(name),
    "status": lambda conn, name: conn.status(name),
    "start": lambda conn, name: conn.start(name),
    "update": lambda conn, name: conn.update(name, "add-last", "dns-txt",
                                             "<txt name='x' value='y'/>", config=True),
    "leases": lambda conn, name: conn.leases(name),
    "check": lambda conn, name: conn.check(name),
}


@pytest.mark.parametrize("verb", sorted(VERB_CALLS))
def test_unknown_network(backend, verb):
    with pytest.raises(StateError, match="nu-nowhere"):
        VERB_CALLS[verb](backend.conn, "nu-nowhere")


# ------------------------------------------------------------------------- names and results
@pytest.mark.parametrize("alias, meaning", [("append", "add-last"), ("prepend", "add-first")])
def test_command_aliases(request, backend, alias, meaning):
    gap(request, f"alias-{alias}", backend.name)
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    fragment = "<txt name='alias' value='one'/>"
    backend.update(name, alias, "dns-txt", fragment)
    assert same(netupdate.update_xml(before, meaning, "dns-txt", fragment),
                backend.config(name)) == []


@pytest.mark.parametrize("command, section", [("add", "dns_txt"), (3, 11)])
def test_results_name_the_canonical_command_and_section(request, backend, command, section):
    gap(request, "canonical-names", backend.name)
    name = backend.define(NETWORKS["nu-nat"])
    result = backend.update(name, command, section, "<txt name='spelled' value='x'/>")
    assert (result.command, result.section) == ("add-last", "dns-txt")


def _one_update(both):
    return [one.update(one.define(NETWORKS["nu-nat"]), "add-last", "dns-txt",
                       "<txt name='both' value='x'/>") for one in both]


def test_one_update_result_type(request, both):
    gap(request, "update-result-type", "both")
    embedded, libvirt = _one_update(both)
    assert type(embedded) is type(libvirt)


def test_update_result_json_keys(request, both):
    gap(request, "update-result-json", "both")
    embedded, libvirt = _one_update(both)
    assert sorted(embedded.to_json()) == sorted(libvirt.to_json())


def test_config_outcome_agrees(both):
    embedded, libvirt = _one_update(both)
    assert embedded.config == libvirt.config == "changed"
    assert embedded.network == libvirt.network == "nu-nat"


def test_live_outcome_agrees(request, both):
    gap(request, "live-outcome", "both")
    embedded, libvirt = _one_update(both)
    assert embedded.live == libvirt.live


def test_no_side_selected(request, both):
    gap(request, "no-side-error", "both")
    errors = []
    for one in both:
        name = one.define(NETWORKS["nu-nat"])
        with pytest.raises((StateError, InvalidOperationError)) as caught:
            one.conn.update(name, "add-last", "dns-txt", "<txt name='x' value='y'/>",
                            live=False, config=False)
        errors.append(type(caught.value))
    assert errors[0] is errors[1]


# ------------------------------------------------------------------------- the shared verbs
UNSUPPORTED_ON_LIBVIRT = {
    "change_start": lambda conn, name: conn.change_start(name),
    "change_commit": lambda conn, name: conn.change_commit(name),
    "change_rollback": lambda conn, name: conn.change_rollback(name),
    "change_status": lambda conn, name: conn.change_status(name),
    "transaction": lambda conn, name: conn.transaction(name),
    "recover": lambda conn, name: conn.recover(),
    "apply-try": lambda conn, name: conn.apply(name, conn.dumpxml(name, inactive=True),
                                               try_seconds=5),
}


@pytest.mark.libvirt
@pytest.mark.parametrize("what", sorted(UNSUPPORTED_ON_LIBVIRT))
def test_what_libvirt_cannot_do_names_the_backend(tmp_path, what):
    one = _open("libvirt", tmp_path)
    try:
        name = one.define(NETWORKS["nu-nat"])
        with pytest.raises(UnsupportedError, match="the libvirt backend does not support"):
            UNSUPPORTED_ON_LIBVIRT[what](one.conn, name)
    finally:
        one.close()


def test_autostart(backend):
    name = backend.define(NETWORKS["nu-nat"])
    backend.conn.set_autostart(name, True)
    assert backend.listed()[name]["autostart"] is True
    backend.conn.set_autostart(name, False)
    assert backend.listed()[name]["autostart"] is False


BATCH = [("add-last", "dns-txt", "<txt name='b1' value='one'/>"),
         ("add-last", "dns-txt", "<txt name='b2' value='two'/>"),
         ("delete", "dns-txt", "<txt name='info'/>")]


def test_update_batch(backend):
    name = backend.define(NETWORKS["nu-nat"])
    expected = before = backend.config(name)
    for command, section, xml in BATCH:
        expected = netupdate.update_xml(expected, command, section, xml)
    result = backend.conn.update_batch(name, BATCH, live=False, config=True)
    assert (result.command, result.count, result.config) == ("batch", 3, "changed")
    assert same(expected, backend.config(name)) == []
    with pytest.raises(netupdate.errors.NetupdateError, match="batch line 2"):
        backend.conn.update_batch(name, [("add-last", "dns-txt", "<txt name='b3' value='3'/>"),
                                         BATCH[2]], config=True)   # info is gone
    assert same(expected, backend.config(name)) == [] and same(before, expected) != []


def test_apply_config(backend):
    name = backend.define(NETWORKS["nu-nat"])
    desired = netupdate.update_xml(backend.config(name), "add-last", "dns-txt",
                                   "<txt name='applied' value='x'/>")
    result = backend.conn.apply(name, desired, config=True)
    assert result.config == "changed" and result.changes
    assert same(desired, backend.config(name)) == []
    assert backend.conn.apply(name, desired, config=True).config == "unchanged"


def test_diff_agrees(both):
    results = []
    for one in both:
        name = one.define(NETWORKS["nu-nat"])
        other = netupdate.update_xml(one.config(name), "delete", "dns-txt", "<txt name='info'/>")
        results.append(one.conn.diff(name, other))
        assert one.conn.diff(name).base == "live" and not one.conn.diff(name)
    assert [r.base for r in results] == ["config", "config"]
    assert [c.describe() for c in results[0].changes] == \
        [c.describe() for c in results[1].changes] != []


def test_check_of_a_network_that_does_not_run(backend):
    """Issue 16: nothing runs, nothing drifts (both backends, one result type)."""
    name = backend.define(NETWORKS["nu-nat"])
    result = backend.conn.check(name)
    assert result.drift == [] and result.exit_code == 0
    assert result.to_json() == {"network": name, "drift": [], "repaired": [], "remaining": [],
                                "running": False, "ok": True}
    assert result.to_text() == f"network {name}: not running (nothing to compare)"


def test_leases_of_a_network_that_does_not_run(backend):
    name = backend.define(NETWORKS["nu-nat"])
    with pytest.raises(StateError, match="not running"):
        backend.conn.leases(name)
