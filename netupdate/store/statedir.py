"""Whether a state directory deserves trust, and safe access to what is inside it.

The rule (``docs/security.md``), for a process with effective uid U:

- the state directory itself (``--state-dir``/``$NETUPDATE_STATE_DIR``, or each of the default
  config and run directories) must be a directory owned by U and not writable by group or
  others;
- every directory above it (after resolving symlinks) must be owned by root or by U, and not
  writable by group or others, unless it is a sticky directory owned by root (``/tmp``): there
  nobody else can rename or remove what U owns, and a name someone else took first is refused
  because of its owner;
- every directory netupdate uses below it must be owned by U and not writable by group or
  others (checked once per process, and made with an explicit mode whatever the umask).

Inside a trusted tree only U can add, rename or remove entries, so a path checked once stays
what it was; files are still opened with ``O_NOFOLLOW`` and temp files with ``O_EXCL``.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from netupdate.errors import StateDirRefused, StateError

if TYPE_CHECKING:   # imported where used (``netupdate edit -o`` imports this module)
    from pathlib import Path


def _who(uid: int) -> str:
    try:
        import pwd
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _refuse(path: str, why: str) -> StateError:
    return StateDirRefused(f"refusing state directory: {path} {why} (it and the directories "
                           "above it must not be writable by another user; --state-dir in "
                           "'netupdate --help' names the default)")


def _check_own(path: str, st: os.stat_result, uid: int) -> None:
    """``path`` is a directory owned by ``uid`` and not writable by group or others."""
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "is not a directory")
    if st.st_uid != uid:
        raise _refuse(path, f"is owned by {_who(st.st_uid)}, not by {_who(uid)}")
    if st.st_mode & 0o022:
        raise _refuse(path, f"is writable by group or others (mode {oct(st.st_mode & 0o7777)})")


def _check_ancestor(path: str, st: os.stat_result, uid: int) -> None:
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "is not a directory")
    if st.st_uid not in (0, uid):
        raise _refuse(path, f"is owned by {_who(st.st_uid)}")
    if st.st_mode & 0o022 and not (st.st_mode & stat.S_ISVTX and st.st_uid == 0):
        raise _refuse(path, f"is writable by group or others and not a root-owned sticky "
                            f"directory (mode {oct(st.st_mode & 0o7777)})")


def trusted_root(path: str | os.PathLike) -> str:
    """The real path of the state directory ``path`` once it and every directory above it
    pass the rule (a missing state directory passes: netupdate makes it)."""
    real = os.path.realpath(path)
    uid = os.geteuid()
    current = "/"
    for part in [p for p in real.split("/") if p]:
        try:
            _check_ancestor(current, os.lstat(current), uid)
        except FileNotFoundError:
            return real
        current = os.path.join(current, part)
    try:
        _check_own(real, os.lstat(real), uid)
    except FileNotFoundError:
        pass
    return real


def trusted_dirs(config_dir, run_dir) -> tuple[Path, Path, dict[str, Path]]:
    """(config dir, run dir, the state directory of each) once they pass the rule: DIR/config
    and DIR/run are checked as DIR, other pairs each on its own."""
    from pathlib import Path
    config_dir, run_dir = Path(config_dir), Path(run_dir)
    if config_dir.parent == run_dir.parent and (config_dir.name, run_dir.name) \
            == ("config", "run"):
        base = Path(trusted_root(config_dir.parent))
        return base / "config", base / "run", {"config": base, "run": base}
    config_dir, run_dir = Path(trusted_root(config_dir)), Path(trusted_root(run_dir))
    return config_dir, run_dir, {"config": config_dir, "run": run_dir}


def check_record(record, directory: Path, where) -> dict | None:
    """``record`` (a runtime record read back from ``where``) when the paths it holds are the
    network's own (``directory``, its conf) and its namespace is a plain name."""
    if record is None:
        return None
    if not isinstance(record, dict):
        raise StateError(f"runtime record in {where} is not an object")
    dq = record.get("dnsmasq")
    wanted = {"dir": (record.get("dir"), str(directory)),
              "dnsmasq.conf": (dq.get("conf") if isinstance(dq, dict) else None,
                               str(directory / "dnsmasq.conf"))}
    netns = record.get("netns")
    if netns is not None and (not isinstance(netns, str) or not netns or "/" in netns
                              or netns in (".", "..") or "\0" in netns):
        raise StateError(f"runtime record in {where}: bad namespace name {netns!r}")
    for key, (value, path) in wanted.items():
        if value is not None and value != path:
            raise StateError(f"runtime record in {where}: {key} is {value!r}, not the "
                             f"network's own {path}; refusing to use it")
    return record


def make_dir(path: str | os.PathLike, mode: int) -> None:
    """Make ``path`` (its parent exists and is trusted) with exactly ``mode`` whatever the
    umask, or check the directory already there."""
    path = os.fspath(path)
    try:
        os.mkdir(path, 0o700)
        made = True
    except FileExistsError:
        made = False
    fd = _open_dir(path)
    try:
        _check_own(path, os.fstat(fd), os.geteuid())
        if made:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _open_dir(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise _refuse(path, f"cannot be opened as a directory without following a symlink "
                            f"({exc.strerror})") from None


def check_dir(path: str | os.PathLike, mode: int | None) -> bool:
    """``path`` (in a trusted directory) passes the rule; a missing one is made with ``mode``
    (with its missing parents, 0755) or, when ``mode`` is None, reported missing (False)."""
    path = os.fspath(path)
    try:
        _check_own(path, os.lstat(path), os.geteuid())
        return True
    except FileNotFoundError:
        if mode is None:
            return False
    parent = os.path.dirname(path)
    if parent != path and not os.path.lexists(parent):
        check_dir(parent, 0o755)
    make_dir(path, mode)
    return True


def open_file(path: str | os.PathLike, *, owned: bool = False) -> int | None:
    """A read-only descriptor on the regular file ``path``, never through a symlink (None
    when it is missing).  ``owned``: the file must belong to this process's user."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symlink
            raise StateError(f"refusing to follow the symlink {os.fspath(path)}") from None
        raise
    st = os.fstat(fd)
    problem = ("is not a regular file" if not stat.S_ISREG(st.st_mode) else
               f"is owned by {_who(st.st_uid)}" if owned and st.st_uid != os.geteuid() else None)
    if problem:
        os.close(fd)
        raise StateError(f"refusing to read {os.fspath(path)}: it {problem}")
    return fd


def read_file(path: str | os.PathLike, *, owned: bool = False) -> bytes | None:
    """The bytes of the regular file ``path`` (``open_file``; None when missing), read with
    ``os.read``: a live update reads several small files and /proc files, and a Python file
    object costs more than the reading."""
    fd = open_file(path, owned=owned)
    if fd is None:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class Unreadable(StateError):
    """A state file that is not JSON."""


def read_json(path: Path, name: str, directory: Path) -> dict | None:
    """The state file ``path`` of network ``name`` (a snapshot, journal, outcome), checked:
    JSON, an object of that network, and a runtime record in it that only names the network's
    own ``directory``.  None when missing."""
    raw = read_file(path, owned=True)
    if raw is None:
        return None
    try:
        import json
        data = json.loads(raw)
    except ValueError as exc:
        raise Unreadable(f"{path} is unreadable: {exc}") from None
    if not isinstance(data, dict) or data.get("network", name) != name:
        raise StateError(f"{path} is not a state file of network {name!r}")
    check_record(data.get("record"), directory, path)
    return data
