"""Conflict pre-flight of an update (issue 16), generated: network ``a`` gets a DHCP host while
network ``b`` runs beside it, on both backends (the embedded store, libvirt's test driver).
The update is refused iff the host takes a MAC or an IP that ``b`` reserves (a brute-force
model, and ``conflicts.between`` reporting a conflict it did not report before); a subnet
overlap that was there before never blocks it; ``force`` lets it through; a refusal changes
nothing."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.errors import ConflictError
from netupdate.model.defs import load
from netupdate.planning import conflicts as C

MACS = [f"52:54:00:00:00:0{i}" for i in range(1, 5)]
IPS = list(range(2, 6))   # the last octet: a host's address is inside its network's subnet
hosts = st.lists(st.tuples(st.sampled_from(MACS), st.sampled_from(IPS)), max_size=3,
                 unique_by=(lambda h: h[0], lambda h: h[1]))


def net_xml(name: str, subnet: int, reserved) -> str:
    dhcp = "".join(f"<host mac='{mac}' ip='10.0.{subnet}.{ip}'/>" for mac, ip in reserved)
    return (f"<network><name>{name}</name><bridge name='nubr-{name}'/>"
            f"<ip address='10.0.{subnet}.1' prefix='24'>"
            + (f"<dhcp>{dhcp}</dhcp>" if dhcp else "") + "</ip></network>")


def _have_libvirt() -> bool:
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return False
    return True


def _open(backend: str):
    """A connection with ``b`` running: libvirt's test driver starts it in memory; the
    embedded store is told it runs as a start does (its record and live definition)."""
    if backend == "libvirt":
        return netupdate.connect("test:///default"), None
    state = tempfile.mkdtemp(prefix="nu-conflicts-")   # removed by the caller
    return netupdate.connect(state_dir=state), state


def _run(conn, backend: str, xml: str) -> None:
    conn.define(xml)
    if backend == "libvirt":
        conn.start("b")
        return
    conn.store.live_path("b").parent.mkdir(parents=True, exist_ok=True)
    conn.store.live_path("b").write_text(conn.dumpxml("b"))
    conn.store.write_record("b", {"netns": None, "bridge": {"name": "nubr-b"}})


@pytest.mark.parametrize("backend", ["embedded", pytest.param("libvirt", marks=pytest.mark.libvirt)])
@settings(max_examples=40)
@given(st.integers(0, 1), hosts, st.integers(0, 1), hosts, st.sampled_from(MACS),
       st.sampled_from(IPS), st.booleans())
def test_an_added_host_is_refused_iff_it_brings_a_new_conflict(backend, mine_net, mine, their_net,
                                                               theirs, mac, ip, force):
    if backend == "libvirt" and not _have_libvirt():
        pytest.skip("the libvirt binding is not installed")
    if mac in {m for m, _ in mine} or ip in {i for _, i in mine}:
        return                                 # a duplicate inside ``a``: validate's business
    a_xml, b_xml = net_xml("a", mine_net, mine), net_xml("b", their_net, theirs)
    host = f"<host mac='{mac}' ip='10.0.{mine_net}.{ip}'/>"
    takes = mac in {m for m, _ in theirs} or \
        (mine_net == their_net and ip in {i for _, i in theirs})
    b_defs = load(b_xml).defs
    old = set(C.between("a", load(a_xml).defs, "b", b_defs))
    new = set(C.between("a", load(netupdate.update_xml(a_xml, "add", "ip-dhcp-host", host))
                        .defs, "b", b_defs)) - old
    assert bool(new) == takes
    conn, state = _open(backend)
    try:
        conn.define(a_xml)
        _run(conn, backend, b_xml)
        before = conn.dumpxml("a", inactive=True)
        if takes and not force:
            with pytest.raises(ConflictError) as info:
                conn.update("a", "add", "ip-dhcp-host", host, config=True)
            assert "network a" in str(info.value) and "network b" in str(info.value)
            assert conn.dumpxml("a", inactive=True) == before
        else:
            result = conn.update("a", "add", "ip-dhcp-host", host, config=True, force=force)
            assert result.config == "changed"
    finally:
        if backend == "libvirt":       # test:///default is one driver for the whole process
            for name, stop in (("b", True), ("a", False), ("b", False)):
                try:
                    conn.stop(name) if stop else conn.undefine(name)
                except netupdate.errors.NetupdateError:
                    pass
        conn.close()
        if state is not None:
            shutil.rmtree(state)
