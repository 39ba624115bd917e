"""Reading a whole document runs no cyclic-GC pass (issue 12: edit and validate scale linearly).

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

import pytest

from netupdate.check import semantic
from netupdate.document.bulk import bulk
from netupdate.document.source import Document
from netupdate.edit.indexes import HostIndex
from netupdate.model import defs as M


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
