"""``bulk()``: no cyclic garbage collection while a whole document is read.

Reading a network with 100,000 hosts creates millions of small objects that live on (source
records, typed definitions, index entries) and form no reference cycles.  CPython's collector
runs a pass every few hundred allocations and a full pass, over every tracked object, each time
the survivors grew by a quarter: with a large document already in memory those passes were a
third of the CPU time of ``netupdate edit`` or ``validate`` at 100,000 hosts, and more the
larger the network.  Inside ``bulk()`` the collector waits; it resumes (as it was) at the end,
so any cycles made meanwhile are found by its next pass.  Nested uses are free.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    if not gc.isenabled():   # an enclosing bulk() (or the program) already paused it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
