"""The state directory is trusted only if it deserves it (``netupdate.store.statedir``, the rule in
docs/security.md); state files are never read or written through a symlink; the paths a state
file holds stay the store's own; the modes of what netupdate makes hold under any umask."""

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from asuser import NOBODY, as_user
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate import store as S
from netupdate.cli import main
from netupdate.errors import StateError
from netupdate.live.txn.journal import read_journal, write_journal
from netupdate.live.txn.snapshots import Snapshot, read_snapshot, write_snapshot
from netupdate.live.txn.state import read_bytes, snapshot_path

ROOT = Path(__file__).resolve().parent.parent
NET = (ROOT / "fixtures" / "networks" / "nat-default.xml").read_text()
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="other users' files need root")


@pytest.fixture
def shared():
    """A root-owned sticky directory everyone may write in, reachable by everyone (/tmp's
    kind); removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="nu-shared-"))
    os.chmod(path, 0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def squat(state: Path, netns: str = "X") -> int:
    """What a local user does before root first uses ``state`` (the finding of issue 12)."""
    ledger = state / "run" / "sysctls" / f"netns-{netns}.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text(json.dumps({"users": [], "previous": {"../../tmp/victim": "x"}}))
    ledger.chmod(0o777)
    return 0


@needs_root
def test_a_state_dir_squatted_by_another_user_is_refused(shared, capsys, monkeypatch):
    state = shared / "nu-demo"
    assert as_user(squat, state) == (0, "")
    os.makedirs(state, mode=0o755, exist_ok=True)  # the README's mkdir -p: silently fine
    with pytest.raises(StateError, match=r"nu-demo is owned by nobody \(uid 65534\)"):
        S.Store(state)
    monkeypatch.setenv(S.ENV_STATE_DIR, str(state))
    before = sorted(p.name for p in state.rglob("*"))
    assert main(["define", str(ROOT / "fixtures" / "networks" / "nat-default.xml")]) == 6
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("netupdate: error: refusing state directory:")
    # it points at what pip installs (the help), not at a file of the source tree
    assert "docs/" not in err and "--state-dir in 'netupdate --help'" in err
    assert sorted(p.name for p in state.rglob("*")) == before  # nothing written


@needs_root
def test_a_subdir_left_by_another_user_is_refused(tmp_path):
    """The state dir became root's (chown) but a directory in it is still someone else's."""
    state = tmp_path / "state"
    squat(state)
    os.chown(state / "run" / "sysctls", NOBODY, NOBODY)
    with pytest.raises(StateError, match="sysctls is owned by nobody"):
        S.Store(state)


ANCESTOR_CASES = [  # (mode, owner, refused)
    (0o755, 0, False), (0o700, 0, False), (0o1777, 0, False),   # /tmp's kind
    (0o775, 0, True), (0o757, 0, True),                        # writable, not sticky
    (0o755, NOBODY, True), (0o1777, NOBODY, True),             # someone else's
]


@needs_root
@pytest.mark.parametrize(("mode", "owner", "refused"), ANCESTOR_CASES)
def test_ancestors_rule(tmp_path, mode, owner, refused):
    above = tmp_path / "above"
    above.mkdir()
    os.chown(above, owner, owner)
    os.chmod(above, mode)
    if refused:
        with pytest.raises(StateError, match="refusing state directory: .*above"):
            S.Store(above / "state")
    else:
        S.Store(above / "state").write_config("n", NET)


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777, 0o1777])
def test_a_state_dir_writable_by_others_is_refused(tmp_path, mode):
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, mode)
    with pytest.raises(StateError, match="writable by group or others"):
        S.Store(state)


@given(bits=st.integers(0, 0o7777), owner_is_other=st.booleans(), level=st.integers(0, 2))
@settings(max_examples=60)
def test_the_rule_over_generated_modes(bits, owner_is_other, level):
    """Any mode and owner at any level: trusted exactly when the rule says so (the state dir:
    ours and not group/other writable; above it: root's or ours, and not group/other writable
    unless sticky and root's)."""
    if owner_is_other and os.geteuid() != 0:
        return
    base = Path(tempfile.mkdtemp(prefix="nu-rule-"))
    try:
        chain = [base / "a", base / "a" / "b", base / "a" / "b" / "state"]
        for path in chain:
            path.mkdir(mode=0o755)
        target = chain[level]
        owner = NOBODY if owner_is_other else os.geteuid()
        os.chown(target, owner, owner)
        os.chmod(target, bits)
        group_other_writable = bits & 0o022
        if level == 2:
            trusted = not owner_is_other and not group_other_writable
        else:
            root_owned = owner == 0
            trusted = (root_owned or not owner_is_other) and (
                not group_other_writable or (bits & stat.S_ISVTX and root_owned))
        try:
            S.Store(chain[2])
            assert trusted
        except StateError:
            assert not trusted
    finally:
        for path in [base, *base.rglob("*")]:
            os.chmod(path, 0o700)
        shutil.rmtree(base)


@needs_root
def test_non_root_needs_its_own_state_dir(shared):
    mine, roots = shared / "mine", shared / "roots"
    roots.mkdir(mode=0o755)

    def use(path):
        S.Store(path).write_config("n", NET)
        return 0
    code, err = as_user(use, roots)
    assert code == 99 and "roots is owned by root (uid 0), not by nobody (uid 65534)" in err
    assert as_user(use, mine) == (0, "")
    assert (mine / "config" / "networks" / "n.xml").stat().st_uid == NOBODY


# ---------------------------------------------------------------------- symlinks
def test_state_files_are_not_read_through_symlinks(tmp_path):
    st_ = S.Store(tmp_path / "state")
    st_.write_config("n", NET)
    secret = tmp_path / "secret"
    secret.write_text("{}")
    record = st_.record_path("n")
    record.parent.mkdir(parents=True)
    record.symlink_to(secret)
    with pytest.raises(StateError, match="refusing to follow the symlink"):
        st_.read_record("n")
    with pytest.raises(StateError, match="refusing to follow the symlink"):
        read_bytes(record)


def test_state_files_are_not_written_through_symlinks(tmp_path):
    """A symlink where a state file or its temp file goes is replaced, never followed."""
    st_ = S.Store(tmp_path / "state")
    victim = tmp_path / "victim"
    victim.write_text("root only")
    victim.chmod(0o600)
    live = st_.live_path("n")
    live.parent.mkdir(parents=True)
    live.symlink_to(victim)
    import threading
    temp = live.parent / f".{live.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    temp.symlink_to(victim)  # the temp file's name is predictable
    st_.write_live("n", NET)
    assert victim.read_text() == "root only" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not live.is_symlink() and live.read_text() == NET
    assert stat.S_IMODE(live.stat().st_mode) == 0o600


def test_a_directory_replaced_by_a_symlink_is_refused(tmp_path):
    st_ = S.Store(tmp_path / "state")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "state" / "run").mkdir(parents=True)
    (tmp_path / "state" / "run" / "sysctls").symlink_to(elsewhere)
    with pytest.raises(StateError, match="sysctls is not a directory"):
        S.Store(tmp_path / "state")
    assert os.listdir(elsewhere) == [] and st_.run_dir.is_dir()


# ---------------------------------------------------------------------- values read back
BAD_RECORDS = [
    {"dir": "/etc"},
    {"dir": "{net}/../../../etc"},
    {"dnsmasq": {"conf": "/tmp/evil.conf", "pid": 1}},
    {"netns": "../../proc/1/ns/net"},
]


@pytest.mark.parametrize("bad", BAD_RECORDS)
def test_paths_read_back_from_state_files_stay_the_stores_own(tmp_path, bad):
    st_ = S.Store(tmp_path / "state")
    net = str(st_.network_dir("n"))
    record = {"name": "n", "netns": None, "dir": net,
              "dnsmasq": {"conf": f"{net}/dnsmasq.conf", "pid": None}}
    st_.write_record("n", record)
    assert st_.read_record("n") == record
    bad = json.loads(json.dumps(bad).replace("{net}", net))
    st_.write_record("n", {**record, **bad})
    with pytest.raises(StateError, match="refusing to use it|bad namespace name"):
        st_.read_record("n")
    snap = Snapshot(network="n", token="t", created=0.0, boot_id="", config=None,
                    live=None, record={**record, **bad})
    write_snapshot(st_, snap)
    with pytest.raises(StateError):
        read_snapshot(st_, "n")
    write_journal(st_, "n", "update", live=None, config=None, record={**record, **bad},
                  sides=("live",))
    with pytest.raises(StateError):
        read_journal(st_, "n")


def test_a_snapshot_of_another_network_is_refused(tmp_path):
    st_ = S.Store(tmp_path / "state")
    write_snapshot(st_, Snapshot(network="a", token="t", created=0.0, boot_id="",
                                 config=None, live=None, record=None))
    os.rename(snapshot_path(st_, "a"), snapshot_path(st_, "b"))
    with pytest.raises(StateError, match="not a state file of network .b."):
        read_snapshot(st_, "b")


# ---------------------------------------------------------------------- modes
MODES = {  # path below the state dir: mode (docs/security.md)
    ".": 0o755, "config": 0o700, "config/networks": 0o700, "config/networks/n.xml": 0o600,
    "config/networks/autostart": 0o700, "config/networks/autostart/n": 0o600,
    "config/transactions": 0o700, "config/transactions/n.json": 0o600,
    "run": 0o755, "run/networks": 0o755, "run/networks/n.xml": 0o600,
    "run/networks/n.json": 0o600, "run/networks/n": 0o755, "run/locks": 0o700,
    "run/locks/n.lock": 0o600,
    "run/journal": 0o700, "run/journal/n.json": 0o600,
}


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_modes_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        state = tmp_path / "a" / "state"   # its parent is missing too
        st_ = S.Store(state)
        st_.write_config("n", NET)
        st_.set_autostart("n", True)
        st_.write_live("n", NET)
        st_.write_record("n", {"name": "n"})
        st_.network_dir("n", create=True)
        with st_.lock("n"):
            pass
        write_snapshot(st_, Snapshot(network="n", token="t", created=0.0, boot_id="",
                                     config=None, live=None, record=None))
        write_journal(st_, "n", "update", live=None, config=None, record=None,
                      sides=("live",))
    finally:
        os.umask(old)
    found = {rel: stat.S_IMODE(os.lstat(state / rel).st_mode) for rel in MODES}
    assert {k: oct(v) for k, v in found.items()} == {k: oct(v) for k, v in MODES.items()}
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o755
