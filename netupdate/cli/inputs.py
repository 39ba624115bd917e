"""What the command line reads: files, fragments and ``-`` (standard input), through the
library's bounded reader (``document.source.read_file``: no file over 32 MiB is read)."""

from __future__ import annotations

import contextlib
import sys

from netupdate.cli.options import Usage

_STDIN_READ: list[bool] = []


def reset() -> None:
    _STDIN_READ.clear()


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of standard input for ``-`` (once per command)."""
    from netupdate.document.source import MAX_BYTES, read_file
    if path == "-":
        if _STDIN_READ:
            raise Usage("'-' (standard input) can be read only once")
        _STDIN_READ.append(True)
        return sys.stdin.buffer.read(MAX_BYTES + 1)
    return read_file(path)


def read_text(path: str) -> str:
    from netupdate.document.source import decode
    text, _encoding, _raw = decode(read_input(path), "<stdin>" if path == "-" else path)
    return text


def fragment(argument: str) -> str:
    """An XML argument: the fragment itself (it starts with ``<``), ``-`` (standard input), or
    the name of a file holding it (as virsh reads it)."""
    if argument.lstrip().startswith("<"):
        return argument
    return read_text(argument)


def read_policy(path: str):
    """The access policy of ``--policy FILE`` (``-``: standard input)."""
    from netupdate.planning.policy import Policy
    return Policy.from_toml(read_input(path), filename=None if path == "-" else path)


@contextlib.contextmanager
def placed_in(path: str):
    """Errors about the definition read from ``path`` (malformed, a bad value, invalid, for
    another network) are named by it, as ``edit`` and ``validate`` name theirs: ``define``'s
    and ``apply``'s library calls take its bytes, not its name.  A conflict with what else
    runs is not placed in the file."""
    from netupdate.errors import ConflictError, InvalidOperationError, ModelError, XMLParseError
    try:
        yield
    except (XMLParseError, ModelError, InvalidOperationError) as exc:
        if exc.file is None and path != "-" and not isinstance(exc, ConflictError):
            exc.file = path
        raise
