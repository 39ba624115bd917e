"""The state store: dirs, atomic writes, locks, definitions and runtime records."""

import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from netupdate import store as S
from netupdate.errors import NetupdateError, StateError
from netupdate.store import atomic


@pytest.fixture
def st(tmp_path):
    return S.Store(tmp_path / "state")


def test_state_dir_argument_env_and_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv(S.ENV_STATE_DIR, raising=False)
    explicit = S.Store(tmp_path / "a")
    assert explicit.config_dir == tmp_path / "a" / "config"
    assert explicit.run_dir == tmp_path / "a" / "run"
    monkeypatch.setenv(S.ENV_STATE_DIR, str(tmp_path / "b"))
    assert S.Store().config_dir == tmp_path / "b" / "config"
    assert S.Store(tmp_path / "c").run_dir == tmp_path / "c" / "run"  # argument wins
    monkeypatch.delenv(S.ENV_STATE_DIR)
    if os.geteuid() == 0:
        assert S.default_dirs() == (Path(S.ROOT_CONFIG_DIR), Path(S.ROOT_RUN_DIR))


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f.xml"
    S.atomic_write(path, "one")
    S.atomic_write(path, b"two", mode=0o600)
    assert path.read_text() == "two"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert os.listdir(tmp_path) == ["f.xml"]


def test_atomic_write_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "f"
    S.atomic_write(path, "old")

    def broken(fd):
        raise OSError(5, "I/O error")
    monkeypatch.setattr(S.os, "fsync", broken)
    with pytest.raises(OSError):
        S.atomic_write(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f"]


def test_atomic_write_many(tmp_path):
    (tmp_path / "d").mkdir()
    S.atomic_write_many([(tmp_path / "a", "A"), (tmp_path / "d" / "b", b"B")])
    assert (tmp_path / "a").read_text() == "A" and (tmp_path / "d" / "b").read_text() == "B"
    S.atomic_write_many([(tmp_path / "a", "A2")])
    assert (tmp_path / "a").read_text() == "A2"
    with pytest.raises(OSError):
        S.atomic_write_many([(tmp_path / "a", "A3"), (tmp_path / "missing" / "c", "C")])
    assert (tmp_path / "a").read_text() == "A2"
    assert sorted(os.listdir(tmp_path)) == ["a", "d"]


def test_remove_and_read_text(tmp_path):
    path = tmp_path / "x"
    assert S.read_text(path) is None and S.remove(path) is False
    S.atomic_write(path, "x")
    assert S.read_text(path) == "x" and S.remove(path) is True


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x\0y", " pad", "n" * 201])
def test_bad_names_are_refused(st, name):
    with pytest.raises(NetupdateError, match="invalid network name"):
        st.config_path(name)


def test_names_with_quotes_are_fine(st):
    st.write_config('default"with"quotes"', "<network/>")
    assert st.defined_names() == {'default"with"quotes"'}


def test_config_live_record_autostart_roundtrip(st):
    st.write_config("n1", "<network><name>n1</name></network>")
    st.write_live("n2", "<network><name>n2</name></network>")
    st.write_record("n2", {"bridge": {"name": "b"}, "pid": 5})
    assert st.read_config("n1").startswith("<network>")
    assert st.read_config("n2") is None
    assert st.read_record("n2") == {"bridge": {"name": "b"}, "pid": 5}
    assert st.names() == ["n1", "n2"]
    assert st.defined_names() == {"n1"} and st.running_names() == {"n2"}
    assert oct(st.config_path("n1").stat().st_mode & 0o777) == oct(0o600)
    assert not st.autostart("n1")
    st.set_autostart("n1", True)
    assert st.autostart("n1")
    st.delete_config("n1")
    assert not st.autostart("n1") and st.read_config("n1") is None
    assert st.delete_record("n2") and st.delete_live("n2")
    assert st.names() == []
    assert st.network_dir("n3", create=True).is_dir()


def test_unreadable_record_is_a_state_error(st):
    st.write_record("n", {})
    st.record_path("n").write_text("{broken")
    with pytest.raises(StateError, match="unreadable"):
        st.read_record("n")


def test_lock_serialises_and_times_out(st):
    order = []

    def other():
        with st.lock("n"):
            order.append("other")

    with st.lock("n"):
        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.1)
        order.append("first")
    thread.join(5)
    assert order == ["first", "other"]

    # a second open file description is a different lock holder, so this times out
    with st.lock("n"):
        with pytest.raises(StateError, match="locked"):
            with st.lock("n", timeout=0.05):
                pass
    with st.lock("other-network", timeout=0.05):
        pass


def test_atomic_write_many_in_bulk(tmp_path, monkeypatch):
    synced = []
    from netupdate.store import atomic
    real = atomic._syncfs
    monkeypatch.setattr(atomic, "_syncfs", lambda path: (synced.append(path), real(path)))
    items = [(tmp_path / f"f{i}", f"{i}\n") for i in range(S.BULK + 5)]
    S.atomic_write_many(items, mode=0o644)
    assert synced == [str(tmp_path)]
    assert sorted(os.listdir(tmp_path)) == sorted(f"f{i}" for i in range(S.BULK + 5))
    assert (tmp_path / "f7").read_text() == "7\n"


def test_runtime_files_skip_fsync_but_config_files_do_not(st, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(
        f"/proc/self/fd/{fd}")), real(fd)))
    st.write_live("net", "<network><name>net</name></network>")
    st.write_record("net", {"name": "net"})
    assert not [p for p in synced if p.startswith(str(st.run_dir))]
    st.write_config("net", "<network><name>net</name></network>")
    assert any(p.startswith(str(st.config_dir)) for p in synced)
    assert st.read_live("net") and st.read_record("net") == {"name": "net"}


def test_pending_writes_commit_and_abort(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"old")
    pending = S.PendingWrites([(target, b"new")], 0o600)
    assert target.read_bytes() == b"old"    # written aside, not yet in place
    pending.commit()
    assert pending.placed and target.read_bytes() == b"new" and os.listdir(tmp_path) == ["f"]
    assert pending.abort() is True          # in place already: the caller restores
    late = S.PendingWrites([(target, b"never")], 0o600)
    assert late.abort() is False            # never put in place: the temps are gone
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["f"]


# ---------------------------------------------------------------------- replaced files
@settings(max_examples=40, deadline=None)
@given(steps=st_.lists(st_.tuples(st_.sets(st_.sampled_from(["a.xml", "b.xml"]), min_size=1),
                                  st_.sampled_from([10, atomic.BIG, 3 * atomic.BIG]),
                                  st_.booleans(), st_.booleans()), min_size=1, max_size=6),
       durable=st_.booleans())
def test_replaced_files_leave_nothing_behind(tmp_path_factory, steps, durable):
    """Writes of small and big files, over a spare or not, committed or aborted, in a durable
    or a volatile (runtime) directory: each file holds its last committed contents, its spare
    what the last spare write left there, and once the background unlinks settled nothing
    else is left."""
    folder = tmp_path_factory.mktemp("replaced")
    if not durable:
        atomic.volatile(folder)
    last, spares = {}, {}
    for number, (names, size, spare, keep) in enumerate(steps):
        data = {name: bytes([65 + number % 26]) * (size + number) for name in sorted(names)}
        pending = S.PendingWrites([(folder / name, body) for name, body in data.items()], 0o600,
                                  spare=spare)
        if not keep:
            assert pending.abort() is False
            if spare:   # written over the spare, which stays one
                spares.update(data)
            continue
        pending.commit()
        for name, body in data.items():
            if spare and name in last:
                spares[name] = last[name]      # swapped: the file replaced is the spare
            elif spare:
                spares.pop(name, None)         # nothing to swap with: the spare became the file
            last[name] = body
    atomic.settle()
    left = {name: (folder / name).read_bytes() for name in os.listdir(folder)}
    assert {name: body for name, body in left.items() if not name.startswith(".")} == last
    assert {name[1:-len(".spare")]: body for name, body in left.items()
            if name.startswith(".")} == spares


def test_a_spare_write_swaps_the_files_and_frees_nothing(tmp_path, monkeypatch):
    """The persistent definition of a live update goes over its spare and is swapped with it:
    the file replaced keeps its inode as the next spare (nothing freed, nothing unlinked)."""
    target = tmp_path / "n.xml"
    S.atomic_write(target, b"one" * atomic.BIG)
    first = os.stat(target).st_ino
    unlinked = []
    monkeypatch.setattr(atomic, "free_soon", lambda paths: unlinked.extend(p for p in paths if p))
    S.PendingWrites([(target, b"two")], 0o600, spare=True).commit()
    spare = Path(atomic.spare_path(target))
    assert target.read_bytes() == b"two" and spare.read_bytes() == b"one" * atomic.BIG
    assert os.stat(spare).st_ino == first and unlinked == []
    second = os.stat(target).st_ino
    S.PendingWrites([(target, b"three")], 0o600, spare=True).commit()
    assert target.read_bytes() == b"three" and spare.read_bytes() == b"two"
    assert {os.stat(target).st_ino, os.stat(spare).st_ino} == {first, second}
    assert (os.stat(target).st_mode & 0o777, os.stat(spare).st_mode & 0o777) == (0o600, 0o600)
    assert sorted(os.listdir(tmp_path)) == [".n.xml.spare", "n.xml"]


@pytest.mark.parametrize("durable", [True, False], ids=["config dir", "run dir"])
@pytest.mark.parametrize("planted", ["symlink", "hard link", "directory"])
def test_a_spare_that_is_not_a_plain_file_of_ours_is_never_written(tmp_path, planted, durable):
    """A symlink, a second link or a directory at the spare's name, beside a persistent or a
    running (volatile) definition: the write goes to a fresh temp file instead, and what was
    planted is left as it was."""
    if not durable:
        atomic.volatile(tmp_path)
    target, victim = tmp_path / "n.xml", tmp_path / "victim"
    target.write_bytes(b"old")
    victim.write_bytes(b"victim")
    spare = Path(atomic.spare_path(target))
    if planted == "symlink":
        spare.symlink_to(victim)
    elif planted == "hard link":
        os.link(victim, spare)
    else:
        spare.mkdir()
    S.PendingWrites([(target, b"new")], 0o600, spare=True).commit()
    assert target.read_bytes() == b"new" and victim.read_bytes() == b"victim"
    assert spare.is_dir() if planted == "directory" else os.path.lexists(spare)


def test_without_a_name_swap_a_spare_write_still_replaces_the_file(tmp_path, monkeypatch):
    """Where ``renameat2`` cannot swap (an old kernel, a file system without it), the spare is
    renamed over the file: the file still changes atomically."""
    target = tmp_path / "n.xml"
    target.write_bytes(b"old")
    from netupdate import libc
    real = libc.function
    monkeypatch.setattr(libc, "function", lambda name, *types: None if name == "renameat2"
                        else real(name, *types))
    S.PendingWrites([(target, b"new")], 0o600, spare=True).commit()
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["n.xml"]


def test_deleting_a_definition_deletes_its_spare(tmp_path):
    store = S.Store(tmp_path)
    store.write_config("n", "<network><name>n</name></network>")
    S.PendingWrites([(store.config_path("n"), "<network/>")], 0o600, spare=True).commit()
    assert os.path.exists(atomic.spare_path(store.config_path("n")))
    assert store.delete_config("n")
    assert os.listdir(store.config_path("n").parent) == []


def test_a_big_replaced_file_is_unlinked_off_the_callers_path(tmp_path, monkeypatch):
    """The old inode of a big file is still linked, under a temp name of this process, when
    the write returns; the background unlinks it, and ``clean_temps`` would remove what a dead
    process left behind."""
    from netupdate.live.txn.state import clean_temps
    store = S.Store(tmp_path)
    target = store.config_path("n")
    store.write_config("n", "<network>" + " " * atomic.BIG + "</network>")
    old = os.stat(target).st_ino
    later = []
    monkeypatch.setattr(atomic, "free_soon", later.extend)
    S.PendingWrites([(target, "<network/>")], 0o600).commit()
    (kept,) = [path for path in later if path]
    assert os.stat(kept).st_ino == old and target.read_text() == "<network/>"
    assert Path(kept).name.startswith(".n.xml.old.") and Path(kept).parent == target.parent
    dead = Path(kept).with_name(f".n.xml.old.{2 ** 22 + 7}.0.tmp")   # no such pid
    os.rename(kept, dead)
    assert clean_temps(store) == 1 and os.listdir(target.parent) == ["n.xml"]




def test_a_directory_made_volatile_is_volatile_at_once(tmp_path, monkeypatch):
    """Whether a directory is durable is remembered per directory (a live update asks ten
    times), and forgotten when a store counts a new runtime directory as volatile."""
    monkeypatch.setattr(atomic, "VOLATILE", set())
    monkeypatch.setattr(atomic, "_DURABLE", {})
    inside = str(tmp_path / "run" / "networks" / "f")
    assert atomic._durable(inside) and atomic._durable(str(tmp_path / "elsewhere"))
    atomic.volatile(tmp_path / "run")
    assert not atomic._durable(inside) and atomic._durable(str(tmp_path / "elsewhere"))
    assert atomic._durable("relative/f") is True   # not remembered: cwd-dependent
