"""An interrupted ``netupdate`` command ends as soon as it has rolled back and released its
lock, without freeing what it read object by object (issue 12: at 30,000 hosts that teardown
was a second of the time from SIGTERM to the exit).

Counted, not timed: when the program ends (``os._exit``, stubbed here), the documents it parsed
must still be alive (nothing was freed one by one), the network lock free and stdout flushed,
at N and 4N hosts; ``main([...])`` called by a program still just returns the code.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import weakref

import pytest
from test_apply_reads import network

import netupdate
from netupdate import cli
from netupdate.document.source import Document
from netupdate.live.embedded import world

NEW = "      <host mac='52:54:00:ff:ff:ff' name='new' ip='10.255.0.9'/>\n"


class Ended(BaseException):
    pass


def _interrupted_apply(tmp_path, monkeypatch, hosts: int, argv=None, signum=signal.SIGTERM):
    """Run ``netupdate apply`` that gets ``signum`` (a real one) once it holds the
    lock; returns (what the program's end saw, or None, main's result)."""
    state = tmp_path / f"state-{hosts}"
    state.mkdir(mode=0o755)
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(state))
    conn = netupdate.connect(state_dir=state)
    conn.define(network(hosts))
    desired = tmp_path / f"desired-{hosts}.xml"
    desired.write_bytes(network(hosts, extra=NEW))
    alive: weakref.WeakSet = weakref.WeakSet()
    real_init = Document.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        alive.add(self)

    def lock_free() -> bool:
        with open(state / "run" / "locks" / "big.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

    seen = []

    def end(code):
        seen.append((code, len(alive), lock_free()))
        raise Ended

    monkeypatch.setattr(Document, "__init__", init)
    monkeypatch.setattr(world, "preflight_apply",   # SIGTERM arrives here
                        lambda *args: signal.raise_signal(signum))
    monkeypatch.setattr(os, "_exit", end)
    monkeypatch.setattr(sys, "argv", ["netupdate", "apply", "big", str(desired)])
    handler = signal.getsignal(signal.SIGTERM)
    try:
        result = cli.main(argv)
    except Ended:
        result = None
    finally:
        signal.signal(signal.SIGTERM, handler)
        cli._CLI_PID.clear()
    return (seen[0] if seen else None), result


@pytest.mark.parametrize("hosts", [1000, 4000])
def test_the_program_ends_without_freeing_what_it_read(tmp_path, monkeypatch, capsys, hosts):
    seen, result = _interrupted_apply(tmp_path, monkeypatch, hosts)
    # ended with 143, the desired and the current definition still in memory, the lock free
    assert (seen, result) == ((143, 2, True), None)
    assert capsys.readouterr().err == \
        "netupdate: interrupted: the network is as it was before the operation\n"


def test_main_called_by_a_program_returns(tmp_path, monkeypatch):
    desired = tmp_path / "desired-1000.xml"   # Ctrl-C: a program's main([...]) has no SIGTERM
    seen, result = _interrupted_apply(tmp_path, monkeypatch, 1000, signum=signal.SIGINT,
                                      argv=["apply", "big", str(desired)])
    assert (seen, result) == (None, 130)
