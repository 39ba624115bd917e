"""libvirt's own update test table (spec section 2.9), with our fixtures.

Data: fixtures/libvirt-cases/cases.txt (see the README there for the parentIndex quirk of
libvirt's harness and the rows where netupdate deliberately differs).  Expected outputs are
compared semantically: the typed NetworkDef of our result must equal the expected file's.
"""

from pathlib import Path

import pytest

import netupdate
from netupdate.errors import NetupdateError
from netupdate.model import defs as model

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "libvirt-cases"
SECTIONS = {"range": "ip-dhcp-range", "interface": "forward-interface", "portgroup": "portgroup",
            "txt": "dns-txt", "srv": "dns-srv"}


def _rows():
    rows = []
    for line in (CASES / "cases.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            test, command, update, source, expected, index, ours = line.split()
            rows.append(pytest.param(command, update, source, expected, int(index), ours, id=test))
    return rows


def _section(fragment: str) -> str:
    tag = fragment.lstrip().split()[0].lstrip("<").rstrip(">/")
    if tag == "host":
        return "dns-host" if "hostname" in fragment or "protocol=" in fragment else "ip-dhcp-host"
    return SECTIONS[tag]


def _load(name: str) -> model.Network:
    return netupdate.load(CASES / f"{name}.xml")


def _run(command, update, source, index):
    network = _load(source)
    fragment = (CASES / "update" / f"{update}.xml").read_text()
    before = network.to_xml()
    try:
        change = network.update(command, _section(fragment), fragment, parent_index=index)
    except NetupdateError as exc:
        assert network.to_xml() == before, "a refused update changed the document"
        return None, exc
    return (network, change), None


ROWS = _rows()


def test_table_has_every_upstream_row():
    assert len(ROWS) == 47


@pytest.mark.parametrize("command,update,source,expected,index,ours", ROWS)
def test_libvirt_row_with_intended_index(command, update, source, expected, index, ours):
    result, error = _run(command, update, source, index)
    if expected == "FAIL" or ours.startswith("FAIL"):
        assert error is not None, f"expected a refusal, got {result and result[0].to_xml()}"
        assert isinstance(error, netupdate.UpdateError)
        return
    assert error is None, error
    network, change = result
    assert network.defs == _load(expected).defs
    # and it survives a reload (what the CLI writes is what the library holds)
    assert netupdate.load(network.to_xml()).defs == network.defs
    assert change.section == _section((CASES / "update" / f"{update}.xml").read_text())


@pytest.mark.parametrize("command,update,source,expected,index,ours",
                         [r for r in ROWS if r.values[3] != "FAIL" and r.values[4] != 0])
def test_libvirt_row_as_the_harness_ran_it(command, update, source, expected, index, ours):
    """libvirt's harness really used parentIndex 0; rows where that changes nothing or where we
    agree with the harness must give its expected output at index 0 too."""
    result, error = _run(command, update, source, 0)
    if ours == "FAIL:one-interface":
        assert error is not None and "only one is supported" in error.message
        return
    assert error is None, error
    assert result[0].defs == _load(expected).defs


def test_deliberate_differences_are_the_documented_ones():
    differing = {r.id: r.values[5] for r in ROWS if r.values[5] != "same"}
    assert differing == {"append-dhcp-range": "FAIL:family",
                         "insert-forward-interface": "FAIL:one-interface"}
    readme = (CASES / "README.md").read_text()
    assert all(name in readme for name in differing)


def test_append_dhcp_range_intended_index_is_a_family_refusal():
    _, error = _run("add-last", "dhcp-range", "dhcp6host-routed-network", 1)
    assert isinstance(error, netupdate.InvalidOperationError)
    assert "mismatch of address family" in error.message


def test_insert_forward_interface_is_refused_like_the_real_api():
    _, error = _run("add-first", "interface-eth47", "nat-network-dns-srv-record", -1)
    assert isinstance(error, netupdate.InvalidOperationError)
    assert "multiple forwarding interfaces specified for network 'nat-test'" in error.message


@pytest.mark.parametrize("test,kind,words", [
    ("add-host-existing", netupdate.DuplicateError, ["existing dhcp host entry", "'nat-test'",
                                                      "52:54:00:5a:10:01"]),
    ("add-host-incomplete", netupdate.InvalidFragmentError, ["Missing IP address"]),
    ("add-host-new-incomplete", netupdate.InvalidFragmentError, ["Missing IP address"]),
    ("modify-host-missing", netupdate.NotFoundError, ["couldn't locate an existing dhcp host",
                                                       "gamma.example.org"]),
    ("delete-host-missing", netupdate.NotFoundError, ["couldn't locate a matching dhcp host"]),
    ("add-dhcp-range-outside-net", netupdate.InvalidOperationError,
     ["not entirely within network 192.168.150.1/24"]),
    ("delete-dhcp-range-2", netupdate.NotFoundError, ["couldn't locate a matching dhcp range"]),
    ("delete-forward-interface-2", netupdate.NotFoundError, ["<interface dev='eth47'>"]),
    ("append-duplicate-portgroup", netupdate.DuplicateError, ["<portgroup name='alice'>"]),
    ("modify-missing-portgroup", netupdate.NotFoundError, ["<portgroup name='alison'>"]),
    ("delete-missing-portgroup", netupdate.NotFoundError, ["<portgroup name='alice'>"]),
    ("insert-incomplete-host", netupdate.InvalidFragmentError, ["Missing IP address",
                                                                 "DNS HOST record"]),
    ("delete-missing-unparsable-dns-host", netupdate.InvalidFragmentError,
     ["Missing ip and hostname"]),
    ("modify-dns-host-not-existing", netupdate.InvalidFragmentError, ["Invalid IP address"]),
    ("append-duplicate-dns-txt-record", netupdate.DuplicateError, ["name 'example'"]),
    ("delete-missing-dns-txt-record", netupdate.NotFoundError, ["DNS TXT record"]),
    ("modify-missing-dns-txt-record", netupdate.NotFoundError, ["DNS TXT record"]),
    ("add-existing-dns-srv-record", netupdate.DuplicateError, ["DNS SRV record"]),
    ("delete-missing-srv-record-service", netupdate.NotFoundError, ["DNS SRV record"]),
    ("delete-srv-record-invalid", netupdate.NotFoundError, ["DNS SRV record"]),
    ("delete-ambiguous-srv-record-service", netupdate.AmbiguousError, ["multiple DNS SRV"]),
    ("modify-not-existing-srv-record", netupdate.NotFoundError, ["DNS SRV record"]),
])
def test_failing_rows_fail_like_libvirt(test, kind, words):
    row = next(r for r in ROWS if r.id == test)
    command, update, source, _, index, _ = row.values
    _, error = _run(command, update, source, index)
    assert type(error) is kind, error
    for word in words:
        assert word in error.message
