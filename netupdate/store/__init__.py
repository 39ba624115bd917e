"""Where networks live on disk: persistent definitions, live definitions, runtime records.

Layout (``--state-dir DIR`` or ``NETUPDATE_STATE_DIR`` puts both under DIR/config and DIR/run):

```
<config>/networks/<name>.xml          persistent definition
<config>/networks/autostart/<name>    autostart flag (empty file)
<run>/networks/<name>.xml             live definition (only while running)
<run>/networks/<name>.json            runtime record: everything start created
<run>/networks/<name>/                the network's dnsmasq files (conf, pid, leases, hostsdirs)
<run>/locks/<name>.lock               per-network lock (fcntl.flock)
```

Every write is atomic: a temp file in the same directory, fsync, rename, fsync of the directory.
The state directory must pass the rule of ``statedir`` (owner, modes, parents); files in it
are opened without following symlinks and temp files exclusively (the rule: docs/security.md).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from netupdate.errors import NetupdateError, StateError
from netupdate.store.atomic import (  # noqa: F401  (the store's writes, re-exported)
    BULK,
    PendingWrites,
    atomic_write,
    atomic_write_many,
    remove,
    spare_path,
    volatile,
)
from netupdate.store.statedir import check_dir, check_record, read_file, trusted_dirs

if TYPE_CHECKING:   # pathlib and json are imported where used: ``edit -o`` needs atomic_write
    from pathlib import Path

ENV_STATE_DIR = "NETUPDATE_STATE_DIR"
ROOT_CONFIG_DIR = "/var/lib/netupdate"
ROOT_RUN_DIR = "/run/netupdate"
MAX_NAME = 200


def check_name(name: str) -> str:
    """A network name usable as a file name (anything but '/', NUL, and a leading '.')."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or "/" in name \
            or "\0" in name or name.startswith(".") or name != name.strip():
        raise NetupdateError(f"invalid network name {name!r}: it must be 1 to {MAX_NAME} "
                             "characters, without '/', NUL, surrounding spaces or a leading '.'")
    return name


@contextlib.contextmanager
def _flock(path: Path, timeout: float | None, busy: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (waits up to ``timeout`` seconds)."""
    import time
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline else 0))
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise StateError(f"{busy} (waited {timeout:g} s for {path})") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def system_errors(what: str, *, undo=None) -> Iterator[None]:
    """An ``OSError`` of the block (disk full, ...) becomes one ``SystemFailure`` line,
    ``what: FILE: reason; nothing was changed``, once ``undo()`` cleaned up."""
    from netupdate.errors import SystemFailure, describe_os_error
    try:
        yield
    except OSError as exc:
        if undo is not None:
            undo()
        raise SystemFailure(f"{what}: {describe_os_error(exc)}; nothing was changed") from exc


def read_text(path: str | os.PathLike, *, owned: bool = False) -> str | None:
    """The text of a file (None when missing), never read through a symlink; ``owned``: it
    must belong to this process's user (a state file)."""
    data = read_file(path, owned=owned)
    return None if data is None else data.decode("utf-8")


# ---------------------------------------------------------------------- the store
def default_dirs(state_dir: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """(config dir, run dir): ``state_dir`` or $NETUPDATE_STATE_DIR, else the system dirs for
    root, else the user's XDG dirs."""
    from pathlib import Path
    chosen = state_dir if state_dir is not None else os.environ.get(ENV_STATE_DIR) or None
    if chosen is not None:
        base = Path(chosen).absolute()
        return base / "config", base / "run"
    if os.geteuid() == 0:
        return Path(ROOT_CONFIG_DIR), Path(ROOT_RUN_DIR)
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    run = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(data, "run")
    return Path(data) / "netupdate", Path(run) / "netupdate"


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# The store's own directories below DIR/config and DIR/run (txn.py adds the last three).
KNOWN_DIRS = ("config/networks/autostart", "config/transactions", "run/networks", "run/locks",
              "run/sysctls", "run/journal", "run/transactions")


class Store:
    """The persistent and runtime state of every network."""

    def __init__(self, state_dir: str | os.PathLike | None = None):
        self.use_dirs(*default_dirs(state_dir))

    def use_dirs(self, config_dir: str | os.PathLike, run_dir: str | os.PathLike) -> None:
        """Use these directories, once they pass the rule of ``statedir`` (a state directory
        DIR/config + DIR/run is checked as DIR)."""
        config_dir, run_dir, self._roots = trusted_dirs(config_dir, run_dir)
        self.config_dir, self.run_dir = config_dir, run_dir
        self._made: set[str] = set()
        self._paths: dict[tuple[str, str], Path] = {}   # (folder, file name) -> path: ``path``
        volatile(self.run_dir)
        for sub in KNOWN_DIRS:  # those already there pass the rule too (a few lstat calls)
            top, _, rest = sub.partition("/")
            self._dir((self.config_dir if top == "config" else self.run_dir) / rest, None)

    def __repr__(self) -> str:
        return f"<Store config={self.config_dir} run={self.run_dir}>"

    def _dir(self, path: Path, mode: int | None = 0o755) -> Path:
        """``path``, a directory of the store, once every directory from the state directory
        down to it passed the rule of ``statedir``.  Missing ones are made (0755 in the run
        tree, which dnsmasq must traverse as ``nobody``, 0700 in the config tree; ``mode`` for
        ``path`` itself), or left missing when ``mode`` is None."""
        text, run = str(path), str(self.run_dir)
        if text in self._made:
            return path
        in_run = _under(text, run)
        root = str(self._roots["run" if in_run else "config"])
        if not _under(text, root):
            raise StateError(f"{path} is outside the state directory {root}")
        step = root
        for part in ["", *text[len(root):].split(os.sep)]:
            step = os.path.join(step, part) if part else step
            if step in self._made:
                continue
            between = 0o755 if step == root or _under(step, run) else 0o700
            try:
                if not check_dir(step, None if mode is None else
                                 mode if step == text else between):
                    return path  # missing, and only checking
            except PermissionError as exc:
                from netupdate.errors import PermissionFailure, describe_os_error
                raise PermissionFailure(
                    f"cannot make the state directory {root}: {describe_os_error(exc)} (choose "
                    f"one with --state-dir DIR or ${ENV_STATE_DIR})") from exc
            self._made.add(step)
        return path

    def ensure_dir(self, path: str | os.PathLike, *, private: bool | None = None) -> Path:
        """Make (or check) a directory of the store: 0700 when ``private``, 0755 when not;
        by default 0755 in the run tree and 0700 in the config tree."""
        from pathlib import Path
        path = Path(path)
        if private is None:
            private = not path.is_relative_to(self.run_dir)
        return self._dir(path, 0o700 if private else 0o755)

    def read_state(self, path: Path) -> str | None:
        """A state file's text: its directories pass the rule, it is no symlink and it is
        ours (None when missing)."""
        self._dir(path.parent, None)
        return read_text(path, owned=True)

    # paths
    def path(self, folder: str, name: str, suffix: str = "") -> Path:
        """``<folder>/<name><suffix>`` of the store (``folder``: "config/networks", "run/journal",
        ...) for the network ``name``, made once (a live update asks for its paths dozens of
        times)."""
        key = (folder, name + suffix)
        found = self._paths.get(key)
        if found is None:
            top, _, rest = folder.partition("/")
            found = self._paths[key] = (self.config_dir if top == "config" else self.run_dir) \
                / rest / f"{check_name(name)}{suffix}"
        return found

    def config_path(self, name: str) -> Path:
        return self.path("config/networks", name, ".xml")

    def autostart_path(self, name: str) -> Path:
        return self.config_dir / "networks" / "autostart" / check_name(name)

    def live_path(self, name: str) -> Path:
        return self.path("run/networks", name, ".xml")

    def record_path(self, name: str) -> Path:
        return self.path("run/networks", name, ".json")

    def network_dir(self, name: str, *, create: bool = False) -> Path:
        path = self.path("run/networks", name)
        if create:
            self._dir(path, 0o755)
        return path

    # locking
    def lock(self, name: str, *, timeout: float | None = 30.0):
        """Hold the network's lock (exclusive ``flock``; waits up to ``timeout`` seconds)."""
        path = self.path("run/locks", name, ".lock")
        self._dir(path.parent, 0o700)
        return _flock(path, timeout, f"network '{name}' is locked by another operation")

    # persistent definitions
    def read_config(self, name: str) -> str | None:
        return self.read_state(self.config_path(name))

    def write_config(self, name: str, xml: str | bytes) -> None:
        self._dir(self.config_dir / "networks", 0o700)
        atomic_write(self.config_path(name), xml, mode=0o600)

    def delete_config(self, name: str) -> bool:
        self.set_autostart(name, False)
        remove(spare_path(self.config_path(name)))   # the version before, kept by updates
        return remove(self.config_path(name))

    def autostart(self, name: str) -> bool:
        return self.autostart_path(name).exists()

    def set_autostart(self, name: str, value: bool) -> None:
        path = self.autostart_path(name)
        if value:
            self._dir(path.parent, 0o700)
            atomic_write(path, b"", mode=0o600)
        elif path.parent.exists():
            remove(path)

    # live definitions and runtime records
    def read_live(self, name: str) -> str | None:
        return self.read_state(self.live_path(name))

    def write_live(self, name: str, xml: str | bytes) -> None:
        self._dir(self.run_dir / "networks")
        atomic_write(self.live_path(name), xml, mode=0o600)

    def delete_live(self, name: str) -> bool:
        remove(spare_path(self.live_path(name)))   # the version before, kept by updates
        return remove(self.live_path(name))

    def read_record(self, name: str) -> dict | None:
        text = self.read_state(self.record_path(name))
        if text is None:
            return None
        try:
            import json
            record = json.loads(text)
        except ValueError as exc:
            raise StateError(f"runtime record {self.record_path(name)} is unreadable: {exc}") \
                from None
        return self.check_record(name, record, self.record_path(name))

    def check_record(self, name: str, record, where) -> dict | None:
        """``record`` (a runtime record read back from ``where``) when the paths it holds are
        the ones the store gives network ``name``: a state file never points elsewhere."""
        return check_record(record, self.network_dir(name), where)

    def write_record(self, name: str, record: dict) -> None:
        import json
        self._dir(self.run_dir / "networks")
        atomic_write(self.record_path(name), json.dumps(record, indent=2, sort_keys=True) + "\n",
                     mode=0o600)

    def delete_record(self, name: str) -> bool:
        return remove(self.record_path(name))

    # listing
    def _names_in(self, directory: Path, suffix: str) -> set[str]:
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return set()
        return {e[: -len(suffix)] for e in entries
                if e.endswith(suffix) and not e.startswith(".")}

    def defined_names(self) -> set[str]:
        return self._names_in(self.config_dir / "networks", ".xml")

    def running_names(self) -> set[str]:
        """Networks with a runtime record (started and not yet torn down)."""
        return self._names_in(self.run_dir / "networks", ".json")

    def names(self) -> list[str]:
        return sorted(self.defined_names() | self.running_names()
                      | self._names_in(self.run_dir / "networks", ".xml"))
