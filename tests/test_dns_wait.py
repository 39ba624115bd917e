"""The DNS wait of live verification (``runtime/verify.dns_wait``), on a fake clock.

A dnsmasq that was just (re)started reads all its host files before it answers: seconds with
30,000 hosts on a busy machine.  The wait must last while it keeps working (an apply that
restarted it failed with "no answer ... Timeout" and rolled back: issue 12), give up on one that
is idle and silent, end at once on a signal, and, when restoring (``settle``), accept one still
working after ``settle`` seconds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.live.embedded.runtime import verify as V

CHECK = (None, "TXT", None, True)


class World:
    """A fake clock and a server that answers after ``silent`` queries; ``busy()`` is True
    for its first ``working`` calls."""

    def __init__(self, silent: int, working: int, query_cost: float):
        self.now, self.silent, self.working, self.cost = 1000.0, silent, working, query_cost
        self.queries = self.busy_calls = 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def failed(self, server, check, sock=None, stop=None, timeout=0.5, meanwhile=None):
        self.queries += 1
        if meanwhile is not None:   # as dnsquery.exchange: once the query is sent
            meanwhile()
        self.now += min(self.cost, timeout)   # a silent server costs the query's timeout
        return None if self.queries > self.silent else "no answer from x: Timeout"

    def busy(self) -> bool:
        self.busy_calls += 1
        return self.busy_calls <= self.working


def run(world: World, timeout: float, checks=(CHECK,), **kw):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(V, "time", world)
        patch.setattr(V, "_failed", world.failed)
        return V.dns_wait("10.0.0.1", list(checks), timeout, busy=world.busy, **kw)


worlds = st.builds(World, silent=st.integers(0, 60), working=st.integers(0, 80),
                   query_cost=st.sampled_from([0.0, 0.01, 0.5]))


@settings(max_examples=300)
@given(world=worlds, timeout=st.floats(0.01, 3.0))
def test_the_wait_lasts_while_the_server_works_and_ends_when_it_idles(world, timeout):
    start = world.now
    try:
        answered = run(world, timeout)
    except V.VerifyError as exc:
        assert exc.check == "dns" and "no answer" in str(exc)
        # given up only past the timeout, and only on a server that stopped working
        assert world.now - start >= timeout
        assert world.busy_calls > world.working or world.now - start >= V.LOAD_CAP
        assert world.queries <= world.silent
        return
    assert answered is True and world.queries == world.silent + 1
    # never given up on a server still working
    assert world.busy_calls <= world.working + 1


def test_a_server_reading_its_hosts_past_the_timeout_is_waited_for():
    """The exit 1 of issue 12: 3 s passed before a dnsmasq with 30,000 hosts answered."""
    world = World(silent=40, working=10**6, query_cost=0.5)   # 20 s of silence, working
    assert run(world, V.VERIFY_TIMEOUT) is True
    idle = World(silent=40, working=0, query_cost=0.5)        # the same silence, idle
    with pytest.raises(V.VerifyError):
        run(idle, V.VERIFY_TIMEOUT)


@settings(max_examples=100)
@given(world=worlds, timeout=st.floats(0.01, 3.0))
def test_a_signal_ends_the_wait_after_one_round(world, timeout):
    world.silent = max(world.silent, 1)
    assert run(world, timeout, stop=lambda: True) is False
    assert world.queries == 1


@settings(max_examples=100)
@given(working=st.integers(0, 5), settle=st.floats(0.1, 2.0))
def test_restoring_accepts_a_server_still_working_after_settle(working, settle):
    """A rollback does not wait for a dnsmasq that never answers while it keeps working; an
    idle silent one still fails it."""
    world = World(silent=10**9, working=working, query_cost=0.01)
    start = world.now
    try:
        assert run(world, 1.0, settle=settle) is True
        assert working >= 1 and world.now - start < settle + 0.1
    except V.VerifyError:
        assert working == 0 or world.busy_calls > working


@settings(max_examples=100)
@given(world=worlds, pending=st.integers(1, 30))
def test_a_signal_ends_the_wait_after_one_query_however_many_checks_are_pending(world,
                                                                                 pending):
    """At 30,000 hosts a restarted dnsmasq is silent for seconds: each pending check's query
    waits out its timeout, so a signal must not wait for the whole round."""
    world.silent = 10**9
    assert run(world, 3.0, checks=[CHECK] * pending, stop=lambda: True) is False
    assert world.queries == 1


@settings(max_examples=100)
@given(settle=st.floats(0.05, 1.0), working=st.integers(1, 5))
def test_a_settling_wait_asks_no_longer_than_its_settle_time(settle, working):
    """Restoring a busy, silent dnsmasq ends about ``settle`` seconds in, not a whole query
    timeout (0.5 s) later."""
    world = World(silent=10**9, working=working, query_cost=0.5)
    start = world.now
    assert run(world, 3.0, settle=settle) is True
    assert world.now - start <= max(settle, 0.05) + 0.06


@settings(max_examples=100)
@given(world=worlds, timeout=st.floats(0.01, 3.0), checks=st.integers(1, 4))
def test_the_callers_work_runs_once_with_the_first_query(world, timeout, checks):
    """``meanwhile`` (an update's disk writes, done while dnsmasq answers) runs exactly once,
    while the first query is out, however many checks and rounds follow, and whatever the
    outcome."""
    ran = []
    try:
        run(world, timeout, checks=[CHECK] * checks,
            meanwhile=lambda: ran.append(world.queries))
    except V.VerifyError:
        pass
    assert ran == [1]
