"""Output that cannot change an outcome.

The command line writes to stdout and stderr while it works (``--json`` progress lines, the
progress bar) and after (the result).  A reader that goes away (``netupdate ... | head -3``: a
closed pipe, EPIPE) or any other failing write must not abort an operation, let alone roll it
back: ``guard()`` wraps both streams so that a failed write only marks the output as lost and
drops the rest.  The wrappers stay ``sys.stdout`` and ``sys.stderr`` until the process ends, so
the interpreter's final flush goes through them too (no "Exception ignored ... BrokenPipeError"
at exit).  ``main`` then exits ``EXIT_OUTPUT_LOST`` (141, 128 + SIGPIPE, what git and the shells
report) when the command itself succeeded, and the command's own code when it failed.
"""

from __future__ import annotations

import os
import sys

EXIT_OUTPUT_LOST = 141
MAX_HELP_COLUMNS = 100   # wider terminals get help text this wide (long lines read badly)


def help_width() -> int:
    """The width of help text: argparse's (``shutil.get_terminal_size().columns - 2``) for a
    terminal up to ``MAX_HELP_COLUMNS`` wide, found without importing shutil, which argparse
    would do for every formatter it makes (start-up time)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return min(columns or 80, MAX_HELP_COLUMNS) - 2

_lost: list[str] = []


class Guarded:
    """A text stream whose write and flush never raise (see the module docstring)."""

    def __init__(self, inner, name: str):
        self.inner = inner
        self.name = name
        self.dead = False

    def write(self, text: str) -> int:
        if not self.dead:
            try:
                return self.inner.write(text)
            except (OSError, ValueError):  # EPIPE, EIO, ENOSPC, or a closed file
                self.lose()
        return len(text)

    def flush(self) -> None:
        if not self.dead:
            try:
                self.inner.flush()
            except (OSError, ValueError):
                self.lose()

    def lose(self) -> None:
        if not self.dead:
            self.dead = True
            _lost.append(self.name)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def guard() -> None:
    """Wrap sys.stdout and sys.stderr, afresh for each command (``main`` may run many times in
    one process)."""
    _lost.clear()
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, Guarded):
            stream = stream.inner
        if stream is not None:
            setattr(sys, name, Guarded(stream, name))


def lose_stdout() -> None:
    """A BrokenPipeError escaped a direct write to stdout's buffer: the output is lost."""
    if isinstance(sys.stdout, Guarded):
        sys.stdout.lose()
    else:
        _lost.append("stdout")


def exit_code(code: int) -> int:
    """The command's code, or ``EXIT_OUTPUT_LOST`` for a success whose output was lost."""
    return EXIT_OUTPUT_LOST if code == 0 and _lost else code
