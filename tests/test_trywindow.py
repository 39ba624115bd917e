"""The try window of ``apply --try`` as a library verb (``Backend.try_window``): keep the change
when confirmed, roll back on Ctrl-C, report what the timer did at the deadline, leave it open
without a way to confirm.  A generated test runs the window on a fake clock and backend against
a model; the others run it on the embedded store (config only)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.errors import EXIT_INTERRUPTED, StateError
from netupdate.live.connect import connect
from netupdate.live.txn import trywindow
from netupdate.live.txn.snapshots import ChangeInfo
from tests.test_txn import NET, config


# ---------------------------------------------------------------------- a fake clock and backend
class Clock:
    def __init__(self):
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeBackend:
    """change_commit / change_rollback / change_status of one open change; the "timer" rolls
    it back once the clock passes the deadline."""

    def __init__(self, clock, deadline, *, commit_fails=False, timer_fails=False):
        self.clock, self.deadline = clock, deadline
        self.commit_fails, self.timer_fails = commit_fails, timer_fails
        self.calls: list[str] = []

    def change_commit(self, name, *, token=None):
        self.calls.append("commit")
        if self.commit_fails:
            raise StateError("no change is open on network 'n'")
        return ChangeInfo(name, "committed", token)

    def change_rollback(self, name, *, token=None, reason="requested"):
        self.calls.append("rollback")

        class Result:
            def summary(self):
                return "Rolled back network n: persistent config"
        return Result()

    def change_status(self, name):
        if self.clock.now < self.deadline:
            return ChangeInfo(name, "open", "tok", timer_alive=True)
        if self.timer_fails:   # the timer tried, failed, and left the change open
            return ChangeInfo(name, "open", "tok", timer_alive=False, reason="timer expired",
                              detail="dnsmasq would not restart")
        return ChangeInfo(name, "rolled-back", "tok", reason="timer expired")


@settings(max_examples=60)
@given(answers=st.lists(st.sampled_from([False, None, True]), max_size=12),
       window=st.floats(min_value=0.05, max_value=2.0),
       commit_fails=st.booleans(), timer_fails=st.booleans())
def test_the_window_follows_the_answers(answers, window, commit_fails, timer_fails):
    clock = Clock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trywindow, "time", clock)
        _window_follows(clock, answers, window, commit_fails, timer_fails)


def _window_follows(clock, answers, window, commit_fails, timer_fails):
    deadline = clock.now + window
    conn = FakeBackend(clock, deadline, commit_fails=commit_fails, timer_fails=timer_fails)
    asked = []

    def confirm(timeout):
        assert 0 < timeout <= trywindow.POLL
        said = answers[len(asked)] if len(asked) < len(answers) else False
        asked.append(said)
        if said is False:
            clock.sleep(timeout)
        return said

    info = ChangeInfo("n", "open", "tok", deadline=deadline)
    outcome = trywindow.try_window(conn, "n", info, confirm)
    # the model: answers are asked until the first True (keep) or None (no more asking)
    assert None not in asked[:-1] and True not in asked[:-1]
    if asked and asked[-1] is True:
        assert conn.calls == ["commit"]
        assert (outcome.state, outcome.exit_code) == (("failed", 1) if commit_fails else
                                                      ("committed", 0))
        return
    assert clock.now >= deadline and outcome.state == "expired" and outcome.exit_code == 1
    if timer_fails:   # the timer's failure is reported, then we roll back ourselves
        assert conn.calls == ["rollback"]
    else:
        assert conn.calls == [] and "was rolled-back (timer expired)" in outcome.message


def test_a_failed_timer_rollback_is_reported_from_the_status():
    info = ChangeInfo("n", "open", "tok", reason="timer expired", detail="boom")
    assert "NOT rolled back" in trywindow.expired_message("n", trywindow._outcome(info, "tok"))
    assert trywindow._outcome(info, "other") == {}
    assert trywindow._outcome(ChangeInfo("n", "open", "tok"), "tok") == {}


# ---------------------------------------------------------------------- the embedded store
@pytest.fixture
def conn(tmp_path):
    with connect(state_dir=str(tmp_path / "state")) as connection:
        connection.define(NET)
        yield connection


def _tried(conn, seconds: float):
    result = conn.apply("cfg", NET.replace("first", "tried"), try_seconds=seconds)
    assert b"tried" in config(conn)
    return result.change_info


def test_confirmed_in_time_keeps_the_change(conn):
    info = _tried(conn, 30)
    answers = iter([False, None])   # ENTER after one poll; None is never asked for
    outcome = conn.try_window("cfg", info, confirm=lambda timeout: next(answers) or True)
    assert (outcome.state, outcome.exit_code) == ("committed", 0)
    assert conn.change_status("cfg").state == "committed" and b"tried" in config(conn)


def test_without_confirmation_the_timer_rolls_back(conn):
    original = config(conn)
    info = _tried(conn, 1.0)

    def nothing(timeout):
        time.sleep(timeout)
        return False
    outcome = conn.try_window("cfg", info, confirm=nothing)
    assert outcome.state == "expired" and outcome.exit_code == 1
    assert outcome.message == ("No confirmation within the try window: the change was "
                               "rolled-back (timer expired)")
    assert config(conn) == original


def test_ctrl_c_in_the_window_rolls_back_at_once(conn):
    original = config(conn)
    info = _tried(conn, 30)
    sent = []

    def interrupt(timeout):
        if not sent:
            sent.append(os.kill(os.getpid(), signal.SIGINT))
        time.sleep(0.01)
        return False
    outcome = conn.try_window("cfg", info, confirm=interrupt)
    assert outcome.state == "interrupted" and outcome.exit_code == EXIT_INTERRUPTED
    assert outcome.message == "interrupted: " + outcome.result.summary()
    assert config(conn) == original and conn.change_status("cfg").state == "rolled-back"


def test_without_a_way_to_confirm_the_change_stays_open(conn):
    info = _tried(conn, 30)
    outcome = conn.try_window("cfg", info)
    assert outcome.state == "open" and outcome.exit_code == 0
    assert "'netupdate change commit cfg' runs within" in outcome.message
    assert conn.change_status("cfg").state == "open"
    conn.change_rollback("cfg")
