"""Output that cannot change an outcome.

The command line writes to stdout and stderr while it works (``--json`` progress lines, the
progress bar) and after (the result).  A reader that goes away (``netupdate ... | head -3``: a
closed pipe, EPIPE) or any other failing write must not abort an operation, let alone roll it
back: ``guard()`` wraps both streams so that a failed write only marks the output as lost and
sends the rest to /dev/null (which also spares the interpreter its flush error at exit).
``main`` then exits ``EXIT_OUTPUT_LOST`` (141, 128 + SIGPIPE, what git and the shells report)
when the command itself succeeded, and the command's own code when it failed.
"""

from __future__ import annotations

import os
import sys

EXIT_OUTPUT_LOST = 141

_lost: list[str] = []


class _Guarded:
    """A text stream whose write and flush never raise (see the module docstring)."""

    def __init__(self, stream, name: str):
        self._stream = stream
        self._name = name
        self._dead = False

    def write(self, text: str) -> int:
        if not self._dead:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self._lose()
        return len(text)

    def flush(self) -> None:
        if not self._dead:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._lose()

    def _lose(self) -> None:
        """The reader is gone: everything else goes to /dev/null, pending bytes included."""
        self._dead = True
        _lost.append(self._name)
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a file descriptor (tests' StringIO): nothing to flush at exit

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def guard() -> None:
    """Wrap sys.stdout and sys.stderr, afresh for each command (``main`` may run many times in
    one process)."""
    _lost.clear()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _Guarded):
            stream = stream._stream
        if stream is not None:
            setattr(sys, name, _Guarded(stream, name))


def lost() -> bool:
    """Whether some output could not be written."""
    return bool(_lost)


def lose_stdout() -> None:
    """A BrokenPipeError escaped a direct write to stdout's buffer: treat it as lost output."""
    stream = sys.stdout
    if isinstance(stream, _Guarded):
        if not stream._dead:
            stream._lose()
    else:
        _lost.append("stdout")


def exit_code(code: int) -> int:
    """The command's code, or ``EXIT_OUTPUT_LOST`` for a success whose output was lost."""
    return EXIT_OUTPUT_LOST if code == 0 and lost() else code
