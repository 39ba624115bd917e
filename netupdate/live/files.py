"""Network XML files on disk: one update applied to a file offline (``netupdate edit``), the
result written to another file (atomically) or back in place (locked, ``store.inplace``).

``edit_file`` is the public ``netupdate.edit_file``: the command line only parses its arguments
and prints the ``FileEdit`` it returns.
"""

from __future__ import annotations

import os
from typing import Any

from netupdate.errors import InvalidOperationError, NetupdateError
from netupdate.model.record import Frozen, record


@record   # a frozen dataclass without generated code (start-up time)
class FileEdit(Frozen):
    """One edited file: the ``network`` (an ``EditableNetwork`` after the update), its XML text
    before (``original``) and after (``edited``), and the ``change`` the update made."""

    network: Any
    original: str
    edited: str
    change: Any

    @property
    def changed(self) -> bool:
        return self.original != self.edited

    def encoded(self) -> bytes:
        """The edited document in the file's own encoding."""
        return self.network.source.encode(self.edited)


def edit_file(source: str | os.PathLike | bytes, command, section=None, xml=None, *,
              parent_index: int = -1, node_spec: str | None = None, policy=None,
              filename: str | None = None, output: str | os.PathLike | None = None,
              in_place: bool = False, **values) -> FileEdit:
    """Apply one update (libvirt's net-update semantics, like ``EditableNetwork.update``) to the
    network XML file ``source`` (a path, or the bytes of a document: then ``filename`` names it
    in errors).  ``policy`` (a ``Policy``, TOML text or a path) must allow the change.

    ``in_place`` rewrites ``source`` under its lock (a symlink's target; owner and mode kept);
    ``output`` writes the result to another file atomically, with the mode of ``source`` (of
    ``output`` when ``source`` is bytes).  Nothing is written when the update or the policy
    refuses it; a file that cannot be written raises ``NetupdateError`` naming it.  The
    fragment may be given as typed keyword arguments (``mac=``, ``ip=``, ...), as to
    ``EditableNetwork.update``."""
    if values:
        from netupdate.edit.shortcuts import typed
        xml = typed(section, xml, values)
    update = (command, section, xml, parent_index, node_spec, policy)
    if in_place:
        if isinstance(source, bytes):
            raise InvalidOperationError("an in-place edit needs a file, not a document's bytes")
        return _edit_in_place(source, update)
    result = _edit(source, update, filename)
    if output is not None:
        like = output if isinstance(source, bytes) else source
        write_file(output, result.encoded(), mode=_mode_of(like))
    return result


def write_file(path: str | os.PathLike, data: bytes, *, mode: int | None = None) -> None:
    """Replace the file at ``path`` with ``data`` atomically (``mode``: its permission bits, by
    default those of the file there now or the umask's).  A device, FIFO or socket there
    (``-o /dev/null``, ``-o /dev/stdout`` on a pipe) is written to, never replaced."""
    from netupdate.store import atomic_write
    try:
        if _special(path):
            with open(path, "wb") as handle:
                handle.write(data)
        else:
            atomic_write(path, data, mode=_mode_of(path) if mode is None else mode)
    except OSError as exc:
        raise NetupdateError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from exc


def _edit(source, update, filename: str | None) -> FileEdit:
    from netupdate.document.source import read_file
    from netupdate.edit.engine import load
    command, section, xml, parent_index, node_spec, policy = update
    if isinstance(source, str | os.PathLike):   # a path, never XML text (no pathlib: start-up)
        filename = filename or os.fspath(source)
        source = read_file(source, filename)
    network = load(source, filename=filename)
    original = network.source.text   # what serializing the unedited document gives
    change = network.update(command, section, xml, parent_index=parent_index,
                            node_spec=node_spec)
    edited = network.to_xml(tracked=True)   # edited only through update: its marks hold
    if policy is not None:
        from netupdate.live.backend import load_policy
        from netupdate.planning.policy import enforce
        enforce(load_policy(policy), original, network, command=change.command)
    return FileEdit(network, original, edited, change)


def _edit_in_place(path, update) -> FileEdit:
    """The edit under the file's lock, written back safely (``netupdate.store.inplace``)."""
    from netupdate.store import inplace
    try:
        with inplace.locked(path) as target:
            result = _edit(target.source, update, os.fspath(path))
            target.replace(result.encoded())
    except OSError as exc:
        raise NetupdateError(f"cannot edit {os.fspath(path)} in place: "
                             f"{exc.strerror or exc}") from exc
    return result


def _special(path) -> bool:
    """Whether ``path`` (its symlinks followed) exists and is not a regular file."""
    import stat
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _mode_of(path) -> int:
    """The file's permission bits without setuid/setgid/sticky (the default for a new file
    when it cannot be read)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
