"""Reading a whole document runs no cyclic-GC pass, and the first host add parses no address
again (issue 12: edit and validate scale linearly).

CPython's collector passes over every tracked object each time the survivors grew by a
quarter, and a young pass every few hundred allocations: reading 100,000 hosts made those a
third of the CPU time of ``edit`` and ``validate``.  ``document.bulk.bulk()`` pauses the
collector while a document is parsed and mapped, its typed definitions read, a DHCP host index
built and a document validated.  The work is counted, not timed: the collector's passes
(``gc.callbacks``) while each of those runs, at N and 4N hosts, must stay at most one (the
young pass due when it resumes), where they were hundreds and grew with N.
"""

from __future__ import annotations

import gc
import sys

import pytest

import netupdate
from netupdate.check import semantic
from netupdate.document.bulk import bulk
from netupdate.document.source import Document
from netupdate.edit.indexes import HostIndex
from netupdate.model import defs as M
from netupdate.model.values import parse_ip
from netupdate.sections import ip_dhcp_host as HOST


def network(hosts: int) -> str:
    body = "\n".join(f"      <host mac='52:54:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                     f"{n & 255:02x}' name='vm{n}' ip='10.{n >> 16 & 255}.{n >> 8 & 255}."
                     f"{n & 255}'/>" for n in range(1, hosts + 1))
    return ("<network>\n  <name>big</name>\n  <forward mode='nat'/>\n"
            "  <ip address='10.255.255.1' netmask='255.0.0.0'>\n    <dhcp>\n"
            f"{body}\n    </dhcp>\n  </ip>\n</network>\n")


def passes(work) -> tuple[int, object]:
    """The collector's passes while ``work()`` runs, and its result."""
    count = 0

    def seen(phase, info):
        nonlocal count
        count += phase == "start"

    gc.collect()
    gc.callbacks.append(seen)
    try:
        result = work()
    finally:
        gc.callbacks.remove(seen)
    return count, result


@pytest.mark.parametrize("hosts", [3000, 12000])
def test_reading_a_large_network_runs_no_gc_passes(hosts):
    text = network(hosts)
    assert gc.isenabled()
    parsed, document = passes(lambda: Document(text))
    read, defs = passes(lambda: M.Network(document).defs)
    assert len(defs.ips[0].dhcp.hosts) == hosts
    dhcp = document.root.find("ip/dhcp")
    indexed, index = passes(lambda: HostIndex(dhcp))
    assert index.count == hosts
    validated, issues = passes(lambda: semantic.validate(text))
    assert issues == []
    # at most the one young pass the allocations made meanwhile start once it resumes
    assert max(parsed, read, indexed, validated) <= 1, (parsed, read, indexed, validated)
    assert gc.isenabled()   # resumed afterwards


def test_bulk_resumes_the_collector_as_it_was():
    with bulk():
        assert not gc.isenabled()
        with bulk():
            assert not gc.isenabled()
        assert not gc.isenabled()   # the inner one leaves the outer pause alone
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()   # a program that turned it off keeps it off
    finally:
        gc.enable()
    with pytest.raises(ValueError), bulk():
        raise ValueError
    assert gc.isenabled()


def parses_during(work) -> int:
    """Addresses parsed (calls of ``parse_ip``, every address goes through it) by ``work()``."""
    count = 0

    def seen(frame, event, arg):
        nonlocal count
        count += event == "call" and frame.f_code is parse_ip.__code__

    HOST.norm_ip.cache_clear()
    sys.setprofile(seen)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("hosts", [2000, 8000])
def test_first_host_add_reuses_the_addresses_load_parsed(hosts):
    """The first add builds the host index from the typed hosts ``load`` read (issue 12:
    the index re-parsed every host's address): a handful of parses, whatever N."""
    loaded = netupdate.load(network(hosts))
    new = "<host mac='52:54:00:ff:ff:ff' name='new' ip='10.255.0.9'/>"
    assert parses_during(lambda: loaded.update("add", "ip-dhcp-host", new)) <= 5
    assert loaded.root.find("ip/dhcp")[-1].get("name") == "new"
    duplicate = "<host mac='52:54:00:ff:ff:fe' name='other' ip='10.0.0.1'/>"
    with pytest.raises(netupdate.NetupdateError, match="existing dhcp host"):
        loaded.update("add", "ip-dhcp-host", duplicate)   # the index still finds addresses
