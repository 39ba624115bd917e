"""The generated network shapes (tests/netshapes.py) are valid and runnable, and the generated
updates are accepted or refused by the engine as they are labelled, leaving valid definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from netshapes import network_shapes, updates

import netupdate
from netupdate.errors import NetupdateError
from netupdate.live.embedded.runtime.driver import check_runnable


def _errors(xml: str) -> list:
    return [i for i in netupdate.validate(xml) if i.is_error]


@settings(max_examples=100)
@given(network_shapes())
def test_shapes_are_valid_and_runnable(xml):
    assert _errors(xml) == []
    check_runnable(netupdate.load(xml).defs)


@settings(max_examples=100)
@given(network_shapes(), st.data())
def test_updates_do_what_their_label_says(xml, data):
    network = netupdate.load(xml)
    want = data.draw(st.sampled_from([None, True, False]))
    command, section, body, refused = data.draw(updates(network.defs, refused=want))
    assert want is None or refused == want
    try:
        network.update(command, section, body)
    except NetupdateError:
        assert refused, (command, section, body)
        return
    assert not refused, (command, section, body)
    assert _errors(network.to_xml()) == [], network.to_xml()
