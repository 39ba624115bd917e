"""Namespace names and the per-namespace forwarding ledger (no live network: the ledger lives
in a temporary directory, and nothing here writes a real sysctl)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.errors import NetupdateError, StateError
from netupdate.live.embedded.runtime import forwarding as FW
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.driver import Driver
from netupdate.store import Store


@pytest.fixture
def ledgers(tmp_path, monkeypatch):
    directory = tmp_path / "forwarding"
    monkeypatch.setattr(FW, "ledger_dir", lambda: directory)
    return directory


def _hostile(directory: Path, lid: str, ledger: dict) -> bytes:
    directory.mkdir(mode=0o700, exist_ok=True)
    data = json.dumps(ledger).encode()
    (directory / f"{lid}.json").write_bytes(data)
    return data


def test_a_hostile_ledger_key_is_refused_and_never_written(ledgers, tmp_path):
    """The reported attack: a ledger saying the previous value of '../../tmp/victim' was 'x'.
    Releasing it refuses with one line; no file is written (the real ``set_sysctl`` runs)."""
    victim = tmp_path / "victim"
    victim.write_text("orig")
    key = "../.." + str(victim)
    lid = FW.namespace_id(None)
    for ledger in ({"previous": {key: "x"}}, {"users": [], "previous": {key: "x"}},
                   {"users": [], "previous": {"net/ipv4/ip_forward": "x"}}):
        data = _hostile(ledgers, lid, ledger)
        with pytest.raises(StateError) as caught:
            FW.release(lid, None, ["/nowhere", "n"])
        assert "\n" not in str(caught.value) and "nothing was changed" in str(caught.value)
        assert victim.read_text() == "orig"
        assert (ledgers / f"{lid}.json").read_bytes() == data


def test_teardown_reports_a_hostile_ledger_in_one_line(ledgers, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("orig")
    lid = FW.namespace_id(None)
    _hostile(ledgers, lid, {"users": [], "previous": {"../.." + str(victim): "1"}})
    store = Store(tmp_path / "state")
    # the old per-store ledger of the report is not read at all any more
    old = store.run_dir / "sysctls"
    old.mkdir(parents=True)
    (old / "host.json").write_text(json.dumps({"users": [], "previous": {
        "../.." + str(victim): "x"}}))
    record = {"name": "n", "netns": None, "sysctls": lid, "bridge": None}
    problems = Driver(store).teardown(record)
    assert len(problems) == 1 and problems[0].startswith("sysctls: ")
    assert "refusing sysctl" in problems[0] and victim.read_text() == "orig"
    assert record["sysctls"] == lid  # kept for another try once the ledger is fixed


def test_set_sysctl_refuses_anything_but_the_forwarding_keys(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("orig")
    for key, value in (("../.." + str(victim), "1"), ("kernel/hostname", "1"),
                       (FW.KEYS[0], "2"), (FW.KEYS[0], "1\n0")):
        with pytest.raises(StateError, match="refusing sysctl"):
            FW.set_sysctl(key, value)
    assert victim.read_text() == "orig"


KEY = st.one_of(st.sampled_from(FW.KEYS), st.text(max_size=30))
VALUE = st.one_of(st.sampled_from(FW.VALUES), st.text(max_size=5))
USER = st.one_of(st.lists(st.text(max_size=10), min_size=2, max_size=2), st.integers(),
                 st.text(max_size=5))


@settings(max_examples=150)
@given(previous=st.dictionaries(KEY, VALUE, max_size=3), users=st.lists(USER, max_size=3))
def test_only_checked_values_are_ever_written_back(previous, users):
    """Whatever a ledger holds, releasing it writes only forwarding keys with 0 or 1, or
    refuses and leaves the file as it was."""
    lid = FW.namespace_id(None)
    written: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        directory = Path(tmp) / "forwarding"
        mp.setattr(FW, "ledger_dir", lambda: directory)
        mp.setattr(FW, "set_sysctl", lambda key, value: written.append((key, value)) or "0")
        data = _hostile(directory, lid, {"users": users, "previous": previous})
        valid = all(k in FW.KEYS and v in FW.VALUES for k, v in previous.items()) and all(
            isinstance(u, list) and all(isinstance(p, str) for p in u) for u in users)
        try:
            FW.release(lid, None, ["/nowhere", "n"])
        except StateError:
            assert not valid and not written
            assert (directory / f"{lid}.json").read_bytes() == data
            return
        assert valid and sorted(written) == sorted(previous.items())
        assert not (directory / f"{lid}.json").exists()  # the users had no record: dropped


def test_a_ledger_directory_others_can_write_is_refused(ledgers):
    ledgers.mkdir(mode=0o700)
    os.chmod(ledgers, 0o777)
    with pytest.raises(StateError, match="closed to others"):
        FW.release(FW.namespace_id(None), None, ["/nowhere", "n"])


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/abs", "x" * 256, "é" * 128, "a\nb",
                                  "a\0b", "del\x7f"])
def test_bad_namespace_names_are_refused(name):
    with pytest.raises(NetupdateError, match="invalid network namespace name"):
        NS.path(name)
    with pytest.raises(NetupdateError, match="invalid network namespace name"):
        NS.exists(name)


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=300))
def test_an_accepted_namespace_name_is_one_file_in_run_netns(name):
    try:
        path = NS.path(name)
    except NetupdateError:
        return
    assert os.path.dirname(os.path.normpath(path)) == NS.NETNS_DIR
    assert os.path.basename(path) == name and "\n" not in name and "\0" not in name
    assert len(name.encode(errors="surrogateescape")) <= 255


def test_a_namespace_that_cannot_be_entered_is_one_error(tmp_path, monkeypatch):
    """/run/netns/NAME that is not a namespace (setns fails): a RuntimeFailure, not a broken
    thread pool."""
    from netupdate.errors import RuntimeFailure
    monkeypatch.setattr(NS, "NETNS_DIR", str(tmp_path))
    (tmp_path / "plain").write_text("")
    with pytest.raises(RuntimeFailure, match="cannot enter network namespace 'plain'"):
        NS.call("plain", os.getpid)
    with pytest.raises(RuntimeFailure, match="cannot enter network namespace 'plain'"):
        NS.call("plain", os.getpid)  # the broken worker was dropped: same error again


def test_a_user_whose_record_is_hostile_is_dropped_without_blocking(ledgers, tmp_path):
    """Users' records live in their state directories: a FIFO there must not block the
    ledger, deeply nested JSON must not blow up."""
    run = tmp_path / "run"
    (run / "networks").mkdir(parents=True)
    os.mkfifo(run / "networks" / "n.json")
    (run / "networks" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    lid = FW.namespace_id(None)
    _hostile(ledgers, lid, {"users": [[str(run), "n"], [str(run), "deep"]], "previous": {}})
    with FW.ledger(lid) as data:
        assert data["users"] == []
    assert not (ledgers / f"{lid}.json").exists()
