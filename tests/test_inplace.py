"""``edit --in-place`` in shared directories and under concurrency (``netupdate.store.inplace``)."""

import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from asuser import NOBODY, as_user

from netupdate.cli import main
from netupdate.store import inplace

ROOT = Path(__file__).resolve().parent.parent
WIDE = """<network>
  <name>wide</name>
  <bridge name='virbr9'/>
  <ip address='10.9.0.1' prefix='16'>
    <dhcp>
      <range start='10.9.200.1' end='10.9.200.254'/>
    </dhcp>
  </ip>
</network>
"""


def host(worker: int, i: int) -> str:
    return (f"<host mac='52:54:00:00:{worker:02x}:{i:02x}' name='w{worker}h{i}' "
            f"ip='10.9.{worker + 1}.{i + 1}'/>")


def edit(path, *argv) -> int:
    return main(["edit", str(path), *argv, "--in-place"])


@pytest.fixture
def shared_dir():
    """A directory everyone may write in (mode 0777), reachable by every user."""
    path = Path(tempfile.mkdtemp(prefix="nu-shared-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")

# One worker process: ``count`` in-place edits through the CLI, each adding its own host.
WORKER = """
import sys
import tempfile
from netupdate.cli import main
path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    host = (f"<host mac='52:54:00:00:{worker:02x}:{i:02x}' name='w{worker}h{i}' "
            f"ip='10.9.{worker + 1}.{i + 1}'/>")
    code = main(["edit", path, "add", "ip-dhcp-host", host, "--in-place"])
    if code:
        sys.exit(f"edit {i} of worker {worker} exited {code}")
"""


def test_concurrent_in_place_edits_keep_every_host(tmp_path):
    """8 processes x 50 edits, each adding a different DHCP host: every one of the 400 lands
    (the read-modify-write holds the file's lock; a writer that waited starts again on the
    file renamed into place meanwhile)."""
    path = tmp_path / "wide.xml"
    path.write_text(WIDE)
    workers, count = 8, 50
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(w), str(count)],
                              env=env, stderr=subprocess.PIPE, text=True)
             for w in range(workers)]
    errors = [proc.communicate(timeout=600)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * workers, errors
    names = set(re.findall(r"name='(w\d+h\d+)'", path.read_text()))
    assert names == {f"w{w}h{i}" for w in range(workers) for i in range(count)}
    assert [e for e in os.listdir(tmp_path) if e != "wide.xml"] == []  # no temp left


@needs_root
def test_in_place_keeps_owner_group_and_mode_without_setuid(tmp_path):
    path = tmp_path / "net.xml"
    path.write_text(WIDE)
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o6664)
    assert edit(path, "add", "ip-dhcp-host", host(0, 0)) == 0
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    assert stat.S_IMODE(st.st_mode) == 0o664  # setuid and setgid dropped, the rest kept
    assert "w0h0" in path.read_text()


def test_in_place_edits_a_symlinks_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "net.xml"
    real.parent.mkdir()
    real.write_text(WIDE)
    os.chmod(real, 0o640)
    link = tmp_path / "link.xml"
    link.symlink_to(real)
    assert edit(link, "add", "ip-dhcp-host", host(0, 1)) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "w0h1" in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(os.listdir(real.parent)) == ["net.xml"]


def test_in_place_leaves_other_hard_links_with_the_old_contents(tmp_path):
    path, other = tmp_path / "net.xml", tmp_path / "other.xml"
    path.write_text(WIDE)
    os.link(path, other)
    assert edit(path, "add", "ip-dhcp-host", host(0, 2)) == 0
    assert "w0h2" in path.read_text() and other.read_text() == WIDE  # documented
    assert os.stat(path).st_nlink == 1


def test_in_place_temp_file_never_follows_a_planted_symlink(tmp_path, monkeypatch, capsys):
    """Someone sharing the directory plants a symlink where the temp file goes: the edit
    refuses (O_EXCL|O_NOFOLLOW) and the symlink's target keeps its contents and mode."""
    victim = tmp_path / "victim"
    victim.write_text("secret")
    os.chmod(victim, 0o600)
    path = tmp_path / "net.xml"
    path.write_text(WIDE)
    os.chmod(path, 0o666)
    monkeypatch.setattr(secrets, "token_hex", lambda n: "planted")
    (tmp_path / ".net.xml.planted.tmp").symlink_to(victim)
    assert edit(path, "add", "ip-dhcp-host", host(0, 3)) == 1
    err = capsys.readouterr().err
    assert err.startswith("netupdate: error: cannot edit") and err.count("\n") == 1
    assert victim.read_text() == "secret" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert path.read_text() == WIDE


@needs_root
def test_in_place_refuses_what_it_cannot_keep_the_owner_of(tmp_path, shared_dir):
    """A user who may write a root-owned file but not chown: refused, file unchanged."""
    warm = tmp_path / "warm.xml"  # the child cannot read root's site-packages: import now
    warm.write_text(WIDE)
    assert edit(warm, "add", "ip-dhcp-host", host(0, 4)) == 0
    tmp_path = shared_dir
    path = tmp_path / "net.xml"
    path.write_text(WIDE)
    os.chmod(path, 0o666)
    code, err = as_user(main, ["edit", str(path), "add", "ip-dhcp-host", host(0, 4),
                               "--in-place"])
    assert code == 1 and "cannot keep the owner" in err, err
    assert err.count("\n") == 1 and path.read_text() == WIDE
    assert os.stat(path).st_uid == 0 and os.listdir(tmp_path) == ["net.xml"]


def test_in_place_refuses_a_fifo(tmp_path, capsys):
    path = tmp_path / "net.xml"
    os.mkfifo(path)
    assert edit(path, "add", "ip-dhcp-host", host(0, 5)) == 1
    assert "not a regular file" in capsys.readouterr().err


def test_locked_waits_for_the_holder(tmp_path):
    """The lock is the file's own flock: a second locker waits until the first is done."""
    path = tmp_path / "f"
    path.write_text("one")
    with inplace.locked(path) as target:
        target.replace(b"two")
        probe = subprocess.run([sys.executable, "-c",
                                "import fcntl, os, sys\n"
                                "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
                                "try:\n fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                                "except BlockingIOError:\n sys.exit(3)\n",
                                f"/proc/{os.getpid()}/fd/{target.fd}"])
        assert probe.returncode == 3
    assert path.read_text() == "two"


def test_output_gets_the_inputs_mode_without_setuid(tmp_path):
    src, out = tmp_path / "net.xml", tmp_path / "out.xml"
    src.write_text(WIDE)
    os.chmod(src, 0o4750)
    assert main(["edit", str(src), "add", "ip-dhcp-host", host(0, 6), "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o750 and "w0h6" in out.read_text()
