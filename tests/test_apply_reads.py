"""``apply`` of a big definition parses and reads each definition once (issue 12: work is
bounded; at 100,000 hosts an apply parsed the desired and the current definition four times
and read the typed model three times).

The work is counted, never timed: whole-document parses (``Document`` and ``parse_element``),
typed reads of a whole network (``Def.read_lenient``, which ``from_element`` and ``validate``
go through) and MAC addresses checked again (``MAC.__new__``) while a config-only
``Connection.apply`` runs, at N and 4N hosts.  A constant count proves no per-host re-reading.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from netshapes import network_shapes

import netupdate
from netupdate.check import semantic
from netupdate.document import source as xmlsrc
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.model.record import Def
from netupdate.planning.differ import diff


def network(hosts: int, *, uuid: bool = True, extra: str = "", oui: str = "52:54:00") -> bytes:
    body = "\n".join(f"      <host mac='{oui}:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                     f"{n & 255:02x}' name='vm{n}' ip='10.{n >> 16 & 255}.{n >> 8 & 255}."
                     f"{n & 255}'/>" for n in range(1, hosts + 1))
    ident = "  <uuid>6f1c3a52-1d0b-4c59-9a0e-3f3b1a2b4c5d</uuid>\n" if uuid else ""
    return ("<network>\n  <name>big</name>\n" + ident + "  <forward mode='nat'/>\n"
            "  <bridge name='virbr7'/>\n"
            "  <ip address='10.255.255.1' netmask='255.0.0.0'>\n    <dhcp>\n"
            f"{body}\n{extra}    </dhcp>\n  </ip>\n</network>\n").encode()


COUNTED = {"parse": (xmlsrc.Document.__init__.__code__, xmlsrc.parse_element.__code__),
           "typed read": (Def.read_lenient.__func__.__code__,),
           "MAC checked": (T.MAC.__new__.__code__,)}


def count(work) -> dict[str, int]:
    """How often each kind of ``COUNTED`` work ran during ``work()``: whole documents parsed,
    typed reads of a whole ``<network>``, MAC addresses checked."""
    found = dict.fromkeys(COUNTED, 0)
    codes = {code: kind for kind, codes in COUNTED.items() for code in codes}

    def seen(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            kind = codes[frame.f_code]
            if kind != "typed read" or frame.f_locals.get("cls") is M.NetworkDef:
                found[kind] += 1

    sys.setprofile(seen)
    try:
        work()
    finally:
        sys.setprofile(None)
    return found


@pytest.mark.parametrize("uuid", [True, False], ids=["with-uuid", "identity-kept"])
def test_apply_parses_and_reads_each_definition_once(tmp_path, uuid):
    """Without a uuid the desired definition gets the network's (edited in place), else it is
    taken as given; either way it and the current definition are each parsed once and read
    once, whatever N (were 4 parses and 3 typed reads of the whole network)."""
    for hosts in (1500, 6000):
        state = tmp_path / f"state-{hosts}"
        state.mkdir(mode=0o755)
        conn = netupdate.connect(state_dir=state)
        conn.define(network(hosts))
        extra = "      <host mac='52:54:00:ff:ff:ff' name='new' ip='10.255.0.9'/>\n"
        desired = network(hosts, uuid=uuid, extra=extra)
        done = count(lambda: conn.apply("big", desired, config=True, live=False))  # noqa: B023
        assert (done["parse"], done["typed read"]) == (2, 2), (hosts, done)
        assert not conn.diff("big", desired).changes
        assert conn.dumpxml("big", inactive=True).count("<host ") == hosts + 1


@pytest.mark.parametrize("hosts", [2000, 8000])
def test_diff_of_big_networks_checks_no_mac_again(hosts):
    """The differ normalises each read MAC without checking it again (it did, through a cache
    by spelling that thrashed past 65,536 hosts); ``oui``: MACs no other test cached."""
    oui = f"52:54:{hosts >> 8 & 255:02x}"
    before, after = (M.load(network(n, oui=oui)).defs for n in (hosts, hosts + 1))
    done = count(lambda: diff(before, after))
    assert done["MAC checked"] == 0
    new = hosts + 1
    assert [c.describe() for c in diff(before, after).changes] == [
        f"ip-dhcp-host IPv4 mac={oui}:{new >> 16 & 255:02x}:{new >> 8 & 255:02x}:"
        f"{new & 255:02x} added"]


@settings(max_examples=25)
@given(shape=network_shapes())
def test_validating_a_read_network_reports_what_validating_its_text_does(shape):
    """``validate`` of a ``Network`` whose typed definitions were read uses them: the same
    issues as validating its text, with no typed read."""
    loaded = M.load(shape)
    assert count(lambda: semantic.validate(loaded))["typed read"] == 0
    assert semantic.validate(loaded) == semantic.validate(shape)


def test_a_cached_definition_edited_in_place_still_reads_its_bytes(tmp_path):
    """The connection's cached ``Doc.defs`` are those of the file's bytes: read from the parsed
    tree when it is unedited (no second parse), parsed again when it was edited in place."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    conn = netupdate.connect(state_dir=state)
    conn.define(network(3))
    path = conn.store.config_path("big")
    doc = conn._load(path)
    assert count(lambda: doc.defs)["parse"] == 0
    assert len(doc.defs.ips[0].dhcp.hosts) == 3
    edited = conn._load(path)
    edited._defs = None
    dhcp = edited.network.root.find("ip/dhcp")
    dhcp.remove(dhcp[0])
    assert count(lambda: edited.defs)["parse"] == 1
    assert len(edited.defs.ips[0].dhcp.hosts) == 3


def test_list_and_start_parse_no_definition_again(tmp_path, monkeypatch):
    """``list`` reads each definition only as far as its ``<uuid>`` (it parsed and mapped the
    whole of each), and ``start`` parses the definition once: the live definition shares its
    tree (it was serialised and parsed again).  The runtime itself is stubbed here."""
    from netupdate.live.embedded import lifecycle, world
    from netupdate.store import atomic_write
    monkeypatch.setattr(world, "preflight_start", lambda *args: None)
    monkeypatch.setattr(lifecycle.LifecycleVerbs, "_start_with",   # writes the live definition
                        lambda self, name, defs, data, netns, writes:
                        self.store.live_path(name).parent.mkdir(parents=True, exist_ok=True)
                        or atomic_write(self.store.live_path(name), data))
    for hosts in (1500, 6000):
        state = tmp_path / f"state-{hosts}"
        state.mkdir(mode=0o755)
        conn = netupdate.connect(state_dir=state)
        conn.define(network(hosts))
        conn._docs.clear()
        listed = count(conn.list)
        assert [(e.name, e.uuid) for e in conn.list()] == [
            ("big", "6f1c3a52-1d0b-4c59-9a0e-3f3b1a2b4c5d")]
        assert listed["parse"] == 0
        started = count(lambda: conn.start("big"))  # noqa: B023
        assert (started["parse"], started["typed read"]) == (1, 1), (hosts, started)
        live, config = (conn._load(path) for path in (conn.store.live_path("big"),
                                                      conn.store.config_path("big")))
        assert live.network is config.network and live.data == config.data
