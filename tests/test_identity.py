"""The identity a stored definition gets (live/identity.py): made on define as libvirt makes it,
kept on redefine, apply and diff; generated over the network shapes of tests/netshapes.py."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netshapes import BRIDGE, UUID, network_shapes

import netupdate
from netupdate.errors import InvalidOperationError
from netupdate.live import identity
from netupdate.model.defs import load

TAKEN = st.sets(st.integers(0, 6).map(lambda n: f"virbr{n}"), max_size=5)
UNNAMED = {"no-bridge": lambda xml: re.sub(r"\n  <bridge [^>]*/>", "", _no_uuid(xml)),
           "no-name": lambda xml: _no_uuid(xml).replace(f"name='{BRIDGE}' ", "")}


def _no_uuid(xml: str) -> str:
    return xml.replace(f"\n  <uuid>{UUID}</uuid>", "")


def _changes(before: str, after: str) -> list[str]:
    return [change.describe() for change in netupdate.diff(before, after).changes]


@settings(max_examples=60)
@given(shape=network_shapes(), how=st.sampled_from(sorted(UNNAMED)), taken=TAKEN)
def test_generate_adds_a_uuid_and_a_free_bridge_name_and_nothing_else(shape, how, taken):
    given_xml = UNNAMED[how](shape)
    document = load(given_xml)
    assert identity.generate(document, lambda: taken)
    made = document.defs
    assert made == load(document.to_xml()).defs      # the typed definitions it wrote are right
    assert made.uuid is not None
    assert made.bridge.name == identity.free_bridge_name(taken)
    assert made.bridge.name not in taken and re.fullmatch(r"virbr\d+", made.bridge.name)
    text = document.to_xml()
    changes = _changes(given_xml, text)   # a defaults-only <bridge> is none (the differ)
    assert changes[0] == "network uuid added" and changes[1:] in (
        ["bridge added"], ["bridge modified (name)"]) and (how == "no-name" or
                                                          changes[1] == "bridge added")
    # the rest is byte-for-byte: only the new elements (or the bridge name) were inserted
    inserted = [f"\n  <uuid>{made.uuid}</uuid>", f"\n  <bridge name='{made.bridge.name}'/>",
                f" name='{made.bridge.name}'"]
    for piece in inserted:
        text = text.replace(piece, "", 1)
    assert text == given_xml
    text = document.to_xml()
    again = load(text)
    assert not identity.generate(again, lambda: taken) and again.to_xml() == text
    # a redefinition without them keeps them
    redefined = load(given_xml)
    assert identity.keep(redefined, again, [])
    assert _changes(text, redefined.to_xml()) == []
    assert redefined.defs == load(redefined.to_xml()).defs


@settings(max_examples=30)
@given(shape=network_shapes())
def test_keep_refuses_another_uuid(shape):
    one = load(_no_uuid(shape))
    identity.generate(one, set)
    other = load(shape)
    with pytest.raises(InvalidOperationError, match="uuid cannot change"):
        identity.keep(other, one, [])


def test_the_embedded_define_names_bridges_apart(tmp_path):
    with netupdate.connect(state_dir=tmp_path) as conn:
        names = []
        for n in range(3):
            conn.define(f"<network><name>nu-id{n}</name><ip address='10.9.{n}.1' "
                        "prefix='24'/></network>")
            names.append(netupdate.load(conn.dumpxml(f"nu-id{n}")).defs.bridge.name)
        assert len(set(names)) == 3 and all(re.fullmatch(r"virbr\d+", n) for n in names)
        # a network applied into being gets them too; a host bridge (mode bridge) gets no name
        conn.apply("nu-id3", "<network><name>nu-id3</name><ip address='10.9.3.1' "
                             "prefix='24'/></network>")
        made = netupdate.load(conn.dumpxml("nu-id3")).defs
        assert made.uuid is not None and made.bridge.name not in names
        conn.define("<network><name>nu-host</name><forward mode='bridge'/>"
                    "<bridge name='br0'/></network>")
        assert netupdate.load(conn.dumpxml("nu-host")).defs.bridge.name == "br0"
