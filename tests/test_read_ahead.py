"""A command server reads the definitions of a store ahead (``cache.read_ahead``), with their host
indexes, and the connection of its next command starts from them: that connection must update
exactly as one that reads the files itself, over generated networks and update sequences."""

from __future__ import annotations

import contextlib
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from netshapes import NAME, network_shapes, updates

import netupdate
from netupdate.errors import NetupdateError
from netupdate.live.embedded import cache


def _outcomes(state: str, steps) -> list:
    """What each update of ``steps`` did (its error, or the stored definition after it)."""
    conn = netupdate.connect(state_dir=state)
    found = _outcomes_on(conn, state, steps)
    conn.close()
    return found


def _outcomes_on(conn, state: str, steps) -> list:
    found = []
    for command, section, body in steps:
        try:
            conn.update(NAME, command, section, body, live=False, config=True)
            found.append(conn.dumpxml(NAME, inactive=True))
        except NetupdateError as exc:
            found.append(type(exc).__name__ + ": " + str(exc).replace(state, "STATE"))
    return found


@contextlib.contextmanager
def _defined(xml: str):
    """Two fresh state directories, each with ``xml`` defined."""
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        for state in (one, two):
            with netupdate.connect(state_dir=state) as conn:
                conn.define(xml)
        yield one, two


def _steps(data, xml: str, fewest: int, most: int) -> list:
    """Updates drawn for the network ``xml`` (command, section, fragment)."""
    defs = netupdate.load(xml).defs
    return [data.draw(updates(defs))[:3] for _ in range(data.draw(st.integers(fewest, most)))]


@settings(max_examples=30)
@given(network_shapes(), st.data())
def test_updates_from_a_read_ahead_are_those_from_the_files(xml, data):
    steps = _steps(data, xml, 1, 3)
    with _defined(xml) as (fresh, ahead):
        expected = _outcomes(fresh, steps)
        cache.read_ahead(ahead)
        (doc,) = {id(doc.network): doc for doc in cache.SEED.values()}.values()
        assert doc.network.to_xml() == xml
        assert bool(doc.network._indexes) == ("<dhcp>" in xml or "<dns>" in xml)
        got = _outcomes(ahead, steps)
        assert cache.SEED == {}   # taken by the connection
        assert got == expected


@settings(max_examples=30)
@given(network_shapes(), st.data())
def test_a_kept_document_answers_as_its_file(xml, data):
    """A connection keeps each definition it wrote, already parsed: its next updates, errors
    with their lines included, are those of a connection that reads the files afresh."""
    steps = _steps(data, xml, 2, 5)
    with _defined(xml) as (fresh, kept):
        expected = [_outcomes(fresh, [step])[0] for step in steps]   # a connection each
        assert _outcomes(kept, steps) == expected

@settings(max_examples=25)
@given(network_shapes(), st.data(), st.integers(0, 3))
def test_a_document_past_its_edit_marks_is_parsed_again(xml, data, limit):
    """A written document that carries more than ``COMPACT_AFTER`` edit marks is not kept (the
    next update parses the file afresh): no kept document carries more, and the updates are
    still those of a fresh connection per step."""
    from unittest import mock
    steps = _steps(data, xml, 2, 6)
    with _defined(xml) as (fresh, compacted), mock.patch.object(cache, "COMPACT_AFTER", limit):
        expected = [_outcomes(fresh, [step])[0] for step in steps]
        conn = netupdate.connect(state_dir=compacted)
        got = []
        for command, section, body in steps:
            got += _outcomes_on(conn, compacted, [(command, section, body)])
            assert all(doc.network.source.edits <= limit for doc in conn._docs.values())
        conn.close()
        assert got == expected


def test_a_changed_file_is_read_again(tmp_path):
    xml = "<network><name>gen</name><bridge name='nubr-gen'/></network>"
    with netupdate.connect(state_dir=tmp_path) as conn:
        conn.define(xml)
        cache.read_ahead(tmp_path)
        first = dict(cache.SEED)
        cache.read_ahead(tmp_path)
        assert cache.SEED == first   # unchanged: the same parsed documents
        conn.update("gen", "add", "dns-host", "<host ip='10.0.0.9'><hostname>a</hostname></host>",
                    live=False, config=True)
    cache.read_ahead(tmp_path)
    (doc,) = cache.SEED.values()
    assert doc is not next(iter(first.values()))
    assert "<hostname>a</hostname>" in doc.network.to_xml()
    cache.SEED.clear()


def _child_records(state: str, steps) -> list:
    """The updates a command server's child records (``cache.RECORD``) while it runs ``steps``
    (in a forked process, as the server runs a command)."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            cache.RECORD = []
            _outcomes(state, steps)
            os.write(write, json.dumps(cache.RECORD).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@settings(max_examples=30)
@given(network_shapes(), st.data())
def test_a_replayed_update_is_the_file_it_wrote(xml, data):
    """The server replays what its child recorded on its own parsed definitions: each kept
    document is exactly the file on disk, with its new stamp, and the next connection updates
    from it as from the file."""
    first, then = _steps(data, xml, 1, 3), _steps(data, xml, 1, 1)
    with _defined(xml) as (fresh, ahead):
        expected = _outcomes(fresh, first + then)
        cache.read_ahead(ahead)
        edits = _child_records(ahead, first)
        writes, previous = 0, xml   # the updates that changed the definition wrote it
        for out in expected[:len(first)]:
            if out.startswith("<"):
                writes, previous = writes + (out != previous), out
        assert len(edits) == writes
        cache.replay(edits)
        for path, doc in cache.SEED.items():
            with open(path, "rb") as handle:
                assert doc.network.to_bytes() == handle.read() == doc.data
            assert doc.stamp == cache.file_stamp(path)
        assert len(cache.SEED) == 1   # kept: nothing to read again
        got = _outcomes(ahead, then)
        assert got == expected[len(first):]
        cache.SEED.clear()


@settings(max_examples=30)
@given(network_shapes(), st.data())
def test_a_replay_keeps_no_document_its_file_does_not_hold(xml, data):
    """A running network's live and persistent definitions, read ahead as one shared document
    while their bytes agree, then written apart (an update of one side, ``--live`` or
    ``--config``) or together: after the replay every kept document is exactly its file."""
    from netupdate.edit.engine import apply_update
    from netupdate.model.defs import load
    defs = netupdate.load(xml).defs
    with tempfile.TemporaryDirectory() as state:
        with netupdate.connect(state_dir=state) as conn:
            conn.define(xml)
            store = conn.store
        live, config = str(store.live_path(NAME)), str(store.config_path(NAME))
        os.makedirs(os.path.dirname(live), exist_ok=True)
        with open(config, "rb") as source, open(live, "wb") as target:   # as if running
            target.write(source.read())
        cache.read_ahead(state)
        edits = []
        for _ in range(data.draw(st.integers(1, 4))):
            command, section, body = data.draw(updates(defs))[:3]
            paths = data.draw(st.sampled_from([[live], [config], [live, config]]))
            for path in paths:   # what the child writes: each side edited from its file
                with open(path, "rb") as handle:
                    network = load(handle.read(), check=False)
                try:
                    apply_update(network, command, section, body)
                except NetupdateError:
                    break
                with open(path, "wb") as handle:
                    handle.write(network.to_bytes(tracked=True))
            else:
                edits.append([paths, command, section, body, -1, None])
        cache.replay(edits)
        for path, doc in cache.SEED.items():
            with open(path, "rb") as handle:
                assert doc.network.to_bytes(tracked=True) == handle.read() == doc.data
        cache.read_ahead(state)
        for path, doc in cache.SEED.items():
            with open(path, "rb") as handle:
                assert doc.network.to_bytes(tracked=True) == handle.read()
        cache.SEED.clear()
