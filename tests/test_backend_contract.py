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

Every scenario runs on both backends with the same assertions (issue 14: one interface, one
result type, one set of errors); tests/live/test_backend_contract_live.py is the live tier.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from lxml import etree

import netupdate
from netupdate.errors import (
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    NetupdateError,
    NotFoundError,
    StateError,
    UnsupportedError,
    XMLParseError,
)
from netupdate.live.backend import Backend as BackendABC
from netupdate.live.connect import EMBEDDED_URIS, connect
from netupdate.live.embedded.connection import Connection
from netupdate.live.libvirt.connection import LibvirtConnection
from netupdate.live.results import NetworkInfo, NetworkStatus

ROOT = Path(__file__).resolve().parent.parent
LIBVIRT_URI = "test:///default"

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
NETWORK_UUIDS = {name: etree.fromstring(xml).findtext("uuid") for name, xml in NETWORKS.items()}
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
        """The list entries as their JSON."""
        return {entry.name: entry.to_json() for entry in self.conn.list()}


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
def _verbs(cls) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_") and
            callable(getattr(cls, name))}


VERBS = sorted(_verbs(BackendABC))


def test_both_backends_have_exactly_the_interface_verbs():
    assert _verbs(Connection) == _verbs(LibvirtConnection) == set(VERBS)


@pytest.mark.parametrize("verb", VERBS)
def test_verb_has_one_signature(verb):
    """Parameters, defaults and annotated result types as the interface declares them."""
    declared = inspect.signature(getattr(BackendABC, verb))
    assert inspect.signature(getattr(Connection, verb)) == declared
    assert inspect.signature(getattr(LibvirtConnection, verb)) == declared


def test_connect_picks_the_backend_by_uri(tmp_path):
    assert netupdate.connect is connect
    for uri in EMBEDDED_URIS:
        assert isinstance(connect(uri, state_dir=tmp_path), Connection)
    with pytest.raises(UnsupportedError):
        connect(LIBVIRT_URI, state_dir=tmp_path)


@pytest.mark.libvirt
def test_connect_opens_libvirt_for_any_other_uri():
    if _have_libvirt():
        with connect(LIBVIRT_URI) as conn:
            assert isinstance(conn, LibvirtConnection) and conn.backend_name == "libvirt"


def test_connect_imports_only_the_backend_it_picks(tmp_path):
    code = ("import sys, netupdate; netupdate.connect(state_dir=sys.argv[1]).close(); "
            "print(sorted(m for m in sys.modules if m.startswith('netupdate.live.')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "netupdate.live.embedded.connection" in out.stdout
    assert "netupdate.live.libvirt" not in out.stdout


# ------------------------------------------------------------------------- definitions
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_define_list_dumpxml_undefine(backend, network):
    xml = NETWORKS[network]
    assert backend.define(xml) == network
    entry = backend.listed()[network]
    assert (entry["active"], entry["persistent"], entry["autostart"]) == (False, True, False)
    # an inactive network's entry names the bridge its definition names (libvirt's
    # bridgeName() does; the embedded list showed none)
    bridge = netupdate.load(backend.config(network)).defs.bridge   # none: a pool of devices
    assert entry["bridge"] == (bridge.name if bridge is not None else None)
    assert same(xml, backend.config(network)) == []
    backend.conn.undefine(network)
    assert network not in backend.listed()
    with pytest.raises(StateError, match=network):
        backend.config(network)


def _identity_free(xml: str) -> str:
    """The definition without its uuid and bridge name (the values each backend made)."""
    root = etree.fromstring(xml)
    for element in root.findall("uuid"):
        root.remove(element)
    for bridge in root.findall("bridge"):
        bridge.attrib.pop("name", None)
    return etree.tostring(root, encoding="unicode")


def test_define_fills_identity(both):
    """A definition without a uuid gets a random one (libvirt's parser, every driver); a bridge
    libvirt manages gets a free ``virbrN`` (libvirtd's ``networkValidate``, which the test
    driver does not run: the live tier compares that with libvirtd)."""
    configs = {one.name: one.config(one.define(MINIMAL)) for one in both}
    uuids = {name: netupdate.load(xml).defs.uuid for name, xml in configs.items()}
    assert None not in uuids.values() and uuids["embedded"] != uuids["libvirt"]
    assert re.fullmatch(r"virbr\d+", netupdate.load(configs["embedded"]).defs.bridge.name)
    assert same(_identity_free(configs["embedded"]), _identity_free(configs["libvirt"])) == []
    assert same(MINIMAL, _identity_free(configs["libvirt"])) == []


def test_redefinition_keeps_the_identity(backend):
    name = backend.define(MINIMAL)
    first = netupdate.load(backend.config(name)).defs
    assert backend.conn.define(MINIMAL.replace("prefix='24'", "prefix='25'")) == name
    again = netupdate.load(backend.config(name)).defs
    assert (again.uuid, again.bridge, str(again.ips[0].prefix)) == (first.uuid, first.bridge,
                                                                    "25")
    other = MINIMAL.replace("</name>", f"</name><uuid>{uuid.uuid4()}</uuid>")
    with pytest.raises(NetupdateError, match="uuid"):
        backend.conn.define(other)
    assert netupdate.load(backend.config(name)).defs.uuid == first.uuid


def test_status_is_one_type(both):
    statuses = [one.conn.status(one.define(NETWORKS["nu-nat"])) for one in both]
    assert [type(status) for status in statuses] == [NetworkStatus, NetworkStatus]
    assert sorted(statuses[0].to_json()) == sorted(statuses[1].to_json())
    assert {(s.state, s.active, s.persistent, s.uuid, s.diverged, s.problems)
            for s in statuses} == {("inactive", False, True, NETWORK_UUIDS["nu-nat"], False, ())}
    assert [s.to_text().splitlines()[1] for s in statuses] == ["  state:      inactive"] * 2


def test_malformed_definition(backend):
    with pytest.raises(XMLParseError):
        backend.conn.define("<network><name>nu-broken</name>")
    assert "nu-broken" not in backend.listed()


def test_list_entries(both):
    entries = []
    for one in both:
        name = one.define(MINIMAL)
        entries.append(next(e for e in one.conn.list() if e.name == name))
    assert [type(entry) for entry in entries] == [NetworkInfo, NetworkInfo]
    assert sorted(entries[0].to_json()) == sorted(entries[1].to_json())
    assert all(entry.uuid and entry.state == "inactive" for entry in entries)


# ------------------------------------------------------------------------- updates
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_update_config(backend, case):
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


def test_an_edit_to_the_same_network_is_unchanged(backend):
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    value = netupdate.load(before).defs.dns.txts[0].value
    result = backend.update(name, "modify", "dns-txt", f"<txt name='info' value='{value}'/>")
    assert (result.config, result.changed) == ("unchanged", False)
    assert backend.config(name) == before


def test_dry_run_changes_nothing(backend):
    """A dry run of update, update_batch or apply changes nothing and never says it did: its
    outcome words say what would be (``would-change``), on both backends, and ``changed``
    says there is something to do."""
    from netupdate.live.results import WOULD
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    txt = "<txt name='dry' value='run'/>"
    desired = netupdate.update_xml(before, "add-last", "dns-txt", txt)
    for result in (backend.update(name, "add-last", "dns-txt", txt, dry_run=True),
                   backend.conn.update_batch(name, [("add-last", "dns-txt", txt)],
                                             config=True, dry_run=True),
                   backend.conn.apply(name, desired, config=True, dry_run=True)):
        assert result.dry_run and result.changed and result.config == WOULD["changed"]
        assert not {result.live, result.config} & set(WOULD), result.to_text()
        assert result.summary().startswith("Would "), result.summary()
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
    with pytest.raises(error) as refused:
        backend.conn.update(name, *args, **{"live": False, "config": True, **flags})
    assert backend.config(name) == before
    # placed by its XPath alone: no file or line of the backend's own copy
    assert (refused.value.file, refused.value.line) == (None, None), str(refused.value)


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
def test_command_aliases(backend, alias, meaning):
    name = backend.define(NETWORKS["nu-nat"])
    before = backend.config(name)
    fragment = "<txt name='alias' value='one'/>"
    backend.update(name, alias, "dns-txt", fragment)
    assert same(netupdate.update_xml(before, meaning, "dns-txt", fragment),
                backend.config(name)) == []


@pytest.mark.parametrize("command, section", [("add", "dns_txt"), (3, 11)])
def test_results_name_the_canonical_command_and_section(backend, command, section):
    name = backend.define(NETWORKS["nu-nat"])
    result = backend.update(name, command, section, "<txt name='spelled' value='x'/>")
    assert (result.command, result.section) == ("add-last", "dns-txt")


def _one_update(both):
    return [one.update(one.define(NETWORKS["nu-nat"]), "add-last", "dns-txt",
                       "<txt name='both' value='x'/>") for one in both]


def test_one_update_result_type(both):
    embedded, libvirt = _one_update(both)
    assert type(embedded) is type(libvirt)


def test_update_result_json_keys(both):
    embedded, libvirt = _one_update(both)
    assert sorted(embedded.to_json()) == sorted(libvirt.to_json())


def test_config_outcome_agrees(both):
    embedded, libvirt = _one_update(both)
    assert embedded.config == libvirt.config == "changed"
    assert embedded.network == libvirt.network == "nu-nat"


def test_live_outcome_agrees(both):
    embedded, libvirt = _one_update(both)
    assert embedded.live == libvirt.live


def test_no_side_selected(both):
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
    with pytest.raises(netupdate.errors.NetupdateError, match="batch item 2: "):
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
                                "running": False, "notes": [], "ok": True}
    assert result.to_text() == f"network {name}: not running (nothing to compare)"


def test_leases_of_a_network_that_does_not_run(backend):
    name = backend.define(NETWORKS["nu-nat"])
    with pytest.raises(StateError, match="not running"):
        backend.conn.leases(name)


HOST = "<host mac='52:54:00:4e:55:99' name='vm99' ip='192.168.150.99'/>"


def test_release_conflicting_is_part_of_update(backend):
    """Issue 16: both backends take ``release_conflicting``; with no lease at stake (nothing
    runs) it changes nothing about the edit."""
    name = backend.define(NETWORKS["nu-nat"])
    expected = netupdate.update_xml(backend.config(name), "add-last", "ip-dhcp-host", HOST)
    dry = backend.update(name, "add", "ip-dhcp-host", HOST, dry_run=True,
                         release_conflicting=True)
    assert dry.impact == () and not any("lease" in note for note in dry.notes)
    result = backend.update(name, "add", "ip-dhcp-host", HOST, release_conflicting=True)
    assert result.config == "changed" and result.impact == ()
    assert same(expected, backend.config(name)) == []


@pytest.fixture
def running_libvirt(tmp_path):
    """nu-nat running on the test driver (in memory: no bridge, no dnsmasq, no leases)."""
    one = _open("libvirt", tmp_path)
    name = one.define(NETWORKS["nu-nat"])
    one.conn.start(name)
    yield one, name
    one.conn.stop(name)
    one.close()


@pytest.mark.libvirt
def test_libvirt_live_update_reports_guest_impact_and_unchecked_leases(running_libvirt):
    """The lease pre-flight and impact lines on a driver that reports no leases: the update
    goes through, says what it does to the guests (nothing: a host is added), and that the
    reservations could not be checked against leases."""
    one, name = running_libvirt
    unchecked = "libvirt reports no leases on test:///default"
    for dry_run in (True, False):
        result = one.conn.update(name, "add", "ip-dhcp-host", HOST, dry_run=dry_run)
        live = "would-change" if dry_run else "changed"   # a dry run says what it would do
        assert result.via == "virNetworkUpdate" and result.live == live, result.to_text()
        assert [e.kind for e in result.impact] == ["none"], result.to_text()
        assert any(note.startswith(unchecked) for note in result.notes), result.notes
        assert ("impact: none" in result.to_text()) and result.to_json()["impact"]
    assert "vm99" in one.conn.dumpxml(name)
    txt = one.conn.update(name, "add", "dns-txt", "<txt name='t' value='v'/>")
    assert not any(note.startswith(unchecked) for note in txt.notes)   # no reservation changed


PERSISTENT_ONLY = [  # (edit of the running definition, made persistent only; live-appliable)
    ("<dns>", "<dns><txt name='later' value='v'/>"),
    ("<dhcp>", "<dhcp><host mac='52:54:00:4e:55:42' name='vm42' ip='192.168.150.42'/>"),
]


@pytest.mark.libvirt
@pytest.mark.parametrize("old,new", PERSISTENT_ONLY)
def test_libvirt_check_repair_brings_live_to_persistent(running_libvirt, old, new):
    """Issue 16: a persistent definition changed behind the running network (defineXML on
    an active network) is drift; ``--repair`` applies it live through the live plan."""
    one, name = running_libvirt
    changed = one.conn.dumpxml(name).replace(old, new, 1)
    one.conn.define(changed)
    drift = one.conn.check(name)
    assert drift.drift and drift.exit_code == 1, drift.to_text()
    result = one.conn.check(name, repair=True)
    assert result.remaining == [] and result.exit_code == 0 and result.notes == [], \
        result.to_text()
    assert [r.split(" (")[0] for r in result.repaired] == \
        ["live definition: set to the persistent definition through the live plan"]
    assert same(changed, one.conn.dumpxml(name)) == []
    assert one.conn.check(name).drift == []


@pytest.mark.libvirt
def test_libvirt_check_repair_leaves_what_needs_a_restart(running_libvirt):
    """A difference only a restart applies (a bridge rename) is left, exit 1, with a note."""
    one, name = running_libvirt
    live = one.conn.dumpxml(name)
    one.conn.define(live.replace("nubr0", "nubr9"))
    result = one.conn.check(name, repair=True)
    assert result.exit_code == 1 and result.repaired == [], result.to_text()
    assert result.remaining == result.drift != []
    assert any("only a network restart" in note for note in result.notes), result.notes
    assert "note: the live definition was not set" in result.to_text()
    assert same(live, one.conn.dumpxml(name)) == []


@pytest.mark.libvirt
def test_libvirt_restart_and_diff_name_the_guests_they_cut_off(running_libvirt):
    one, name = running_libvirt
    renamed = one.conn.dumpxml(name).replace("nubr0", "nubr9")
    diff = one.conn.diff(name, renamed)
    assert diff.restart_needed and [e.kind for e in diff.impact] == ["network-restart"]
    assert "impact: network restart: 0 attached interfaces lose their link" in diff.to_text()
    pending = one.conn.update(name, "modify", "bridge", "<bridge name='nubr9'/>", dry_run=True)
    assert pending.live == "restart-needed" and pending.impact == ()   # nothing done live
    done = one.conn.apply(name, renamed, restart=True)
    assert done.live == "restarted" and [e.kind for e in done.impact] == ["network-restart"]
    assert "lost their link" in done.impact[0].text


# ------------------------------------------------------------------- conflict pre-flight
# nu-other runs beside nu-nat: the same subnet (a conflict from the start, which must not block
# an unrelated update of nu-nat) and one reservation of its own.
OTHER = ("<network><name>nu-other</name><forward mode='nat'/><bridge name='nubr-other'/>"
         "<ip address='192.168.150.2' prefix='24'><dhcp>"
         "<host mac='52:54:00:aa:00:01' ip='192.168.150.70'/></dhcp></ip></network>")
TAKEN_MAC = "<host mac='52:54:00:aa:00:01' ip='192.168.150.60'/>"
TAKEN_IP = "<host mac='52:54:00:00:15:99' ip='192.168.150.70'/>"
FREE = "<host mac='52:54:00:00:15:98' ip='192.168.150.71'/>"


def run_other(backend: Backend, xml: str = OTHER) -> str:
    """Define and run ``xml`` beside the network under test.  libvirt's test driver starts it
    in memory; the embedded config tier cannot start one (no kernel here), so it marks it
    running in its store as a start does (a runtime record and the live definition): that is
    all the pre-flight reads of it."""
    name = etree.fromstring(xml).findtext("name")
    backend.defined.add(name)
    backend.conn.define(xml, force=True)     # nu-nat may run already
    if backend.name == "libvirt":
        backend.conn.start(name, force=True)
    else:
        store = backend.conn.store
        store.live_path(name).parent.mkdir(parents=True, exist_ok=True)
        store.live_path(name).write_text(backend.conn.dumpxml(name))
        store.write_record(name, {"netns": None, "bridge": {"name": "nubr-other"}})
    return name


def stop_other(backend: Backend, name: str) -> None:
    if backend.name == "libvirt":
        backend.conn.stop(name)
    else:
        backend.conn.store.delete_record(name)
        backend.conn.store.live_path(name).unlink()


@pytest.fixture
def beside(backend):
    """(backend, nu-nat defined, nu-other running beside it)."""
    name = backend.define(NETWORKS["nu-nat"])
    other = run_other(backend)
    yield backend, name
    stop_other(backend, other)


def _refused(call, config_of, *words):
    before = config_of()
    with pytest.raises(netupdate.errors.ConflictError) as info:
        call()
    line = str(info.value)
    assert "\n" not in line and "--force" in line and all(w in line for w in words), line
    assert config_of() == before


def test_update_taking_a_reservation_of_a_running_network_is_refused(beside):
    backend, name = beside
    config = lambda: backend.config(name)   # noqa: E731
    _refused(lambda: backend.update(name, "add", "ip-dhcp-host", TAKEN_MAC), config,
             "MAC 52:54:00:aa:00:01", "network nu-nat", "network nu-other")
    _refused(lambda: backend.update(name, "add", "ip-dhcp-host", TAKEN_IP), config,
             "IP 192.168.150.70", "network nu-nat", "network nu-other")
    # a dry run only says what would be done
    assert backend.update(name, "add", "ip-dhcp-host", TAKEN_MAC, dry_run=True).dry_run
    expected = netupdate.update_xml(config(), "add", "ip-dhcp-host", TAKEN_MAC)
    assert backend.update(name, "add", "ip-dhcp-host", TAKEN_MAC, force=True).config == \
        "changed"
    assert same(expected, config()) == []
    # the subnet overlap and the forced MAC were there before: an unrelated host goes through
    assert backend.update(name, "add", "ip-dhcp-host", FREE).config == "changed"
    assert backend.update(name, "delete", "ip-dhcp-host", FREE).config == "changed"


def test_apply_and_batch_taking_a_reservation_are_refused(beside):
    backend, name = beside
    config = lambda: backend.config(name)   # noqa: E731
    desired = netupdate.update_xml(config(), "add", "ip-dhcp-host", TAKEN_IP)
    _refused(lambda: backend.conn.apply(name, desired, config=True), config,
             "IP 192.168.150.70", "network nu-other")
    batch = [("add", "ip-dhcp-host", FREE), ("add", "ip-dhcp-host", TAKEN_MAC)]
    _refused(lambda: backend.conn.update_batch(name, batch, live=False, config=True), config,
             "MAC 52:54:00:aa:00:01", "network nu-other")
    assert backend.conn.apply(name, desired, config=True, force=True).config == "changed"
    assert same(desired, config()) == []
    # an apply that leaves the old conflicts as they are goes through
    unrelated = netupdate.update_xml(desired, "add-last", "dns-txt", "<txt name='x' value='y'/>")
    assert backend.conn.apply(name, unrelated, config=True).config == "changed"
    result = backend.conn.update_batch(name, batch, live=False, config=True, force=True)
    assert result.config == "changed"


def test_a_network_that_does_not_run_is_no_conflict(backend):
    name = backend.define(NETWORKS["nu-nat"])
    backend.define(OTHER)     # defined only: it may never run beside nu-nat
    assert backend.update(name, "add", "ip-dhcp-host", TAKEN_MAC).config == "changed"


@pytest.mark.libvirt
def test_libvirt_live_update_of_two_running_networks(tmp_path):
    """Both networks run on the test driver: the live update is refused before libvirt
    changes anything, and goes through with ``force``."""
    one = _open("libvirt", tmp_path)
    name = one.define(NETWORKS["nu-nat"])
    one.conn.start(name)
    other = run_other(one)
    try:
        live = lambda: one.conn.dumpxml(name)   # noqa: E731
        _refused(lambda: one.conn.update(name, "add", "ip-dhcp-host", TAKEN_MAC), live,
                 "MAC 52:54:00:aa:00:01", "network nu-other")
        assert one.conn.update(name, "add", "ip-dhcp-host", TAKEN_MAC, force=True).live == \
            "changed"
        assert one.conn.update(name, "add", "ip-dhcp-host", FREE).live == "changed"
        assert "52:54:00:00:15:98" in live()
    finally:
        stop_other(one, other)
        one.conn.stop(name)
        one.close()
