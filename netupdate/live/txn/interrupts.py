"""Ctrl-C and SIGTERM during a long operation, and how an operation that ended early says
whether it put the network back (``netupdate.errors.restored``).

An operation runs inside ``Interrupts``: a signal is noted, and the operation looks at it at its
safe points (``checkpoint``), where it can still put everything back, and raises
``Interrupted``.  An operation that computes for long before it changes anything (``apply``)
starts with ``immediate=True``: until its first change (``defer_interrupts``: the journal, a
write, a change snapshot) a signal stops it at once, as if there were no ``Interrupts``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

from netupdate.errors import mark_restored


@contextlib.contextmanager
def untouched():
    """Mark an exception raised in the block as "the network was not changed" (the block
    changes nothing: reading, editing copies, planning)."""
    try:
        yield
    except BaseException as exc:
        mark_restored(exc)
        raise


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a long operation, after the network was put back; ``signum``
    says which (the CLI exits 130 or 143)."""

    signum = signal.SIGINT



_INTERRUPTS = threading.local()


class Interrupts:
    """Defer SIGINT/SIGTERM during a long operation: the operation looks at ``check()`` at safe
    points and rolls back when one arrived.  Only the main thread can catch signals; elsewhere
    this does nothing.  Nested uses share the outermost one.

    ``immediate=True`` is for an operation that computes for long before it changes anything
    (``apply`` parses, validates and plans a whole definition first): a signal stops it at once
    until its first change (``defer_interrupts``: the journal, a write) makes it wait for the
    safe points."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, *, immediate: bool = False):
        self.immediate = immediate
        self._pid = os.getpid()
        self.signum: int | None = None
        self._old: dict = {}
        self._outer: Interrupts | None = None

    def _handler(self, signum, frame) -> None:
        if os.getpid() != self._pid:  # a forked helper inherited the handler: it just ends
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        if self.immediate and callable(self._old.get(signum)):
            self.immediate = False  # once: what the exception sets off is not cut short
            with untouched():       # nothing changed yet: raise as without us (Ctrl-C, the
                return self._old[signum](signum, frame)  # CLI's SIGTERM)
        self.signum = signum

    def __enter__(self) -> Interrupts:
        outer = getattr(_INTERRUPTS, "current", None)
        if outer is not None:
            self._outer = outer
            return outer
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                try:
                    self._old[signum] = signal.signal(signum, self._handler)
                except (ValueError, OSError):
                    pass
        _INTERRUPTS.current = self
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._outer is not None:
            return
        _INTERRUPTS.current = None
        for signum, old in self._old.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, old)
        self._old.clear()
        # a SIGTERM that came too late to undo the operation still ends the process; a late
        # Ctrl-C is dropped: the operation completed and its result is reported
        if self.signum == signal.SIGTERM and not isinstance(exc, Interrupted):
            signal.raise_signal(signal.SIGTERM)

    @property
    def pending(self) -> bool:
        return self.signum is not None

    def check(self) -> None:
        """Raise ``Interrupted`` for a pending signal (once: the exception carries it, so the
        rollback that follows is not stopped by it again)."""
        if self.signum is not None:
            exc = Interrupted(f"interrupted ({signal.Signals(self.signum).name})")
            exc.signum, self.signum = self.signum, None
            raise exc


def current_interrupts() -> Interrupts | None:
    return getattr(_INTERRUPTS, "current", None)


def defer_interrupts() -> None:
    """The current operation is about to change something: from now on a signal waits for
    its safe points (a no-op outside ``Interrupts`` or when already deferring)."""
    current = current_interrupts()
    if current is not None:
        current.immediate = False


def checkpoint() -> None:
    """Raise ``Interrupted`` when Ctrl-C arrived during the current long operation."""
    current = current_interrupts()
    if current is not None:
        current.check()
