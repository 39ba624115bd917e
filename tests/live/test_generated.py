"""Live tier, generated: a Hypothesis state machine runs random operations on a network of a
random shape (tests/netshapes.py) and checks the invariants after every step.

- An operation that does not happen changes nothing: a refused update (library or CLI), a batch
  with a refused line: everything exactly as before, to the byte (livestate.exact).  A change
  rolled back (``change rollback``, the auto-rollback timer expiring, the rollback after a failed
  verification): the network is what it was (livestate.same).
- An operation that happens (update, batch, apply, commit) leaves exactly what a fresh ``start``
  of the new definition makes: the same definition is started in a second namespace under a
  fresh state directory and both are compared (livestate.fresh).
- ``recover`` after a SIGKILL at a random point (of a library operation in the kill-point fork
  server, or of the real command line) converges to the old or the new state.
- After every step ``status`` is clean: active, no problem, no journal, nothing diverged.

Budget: ``NETUPDATE_SOAK_STEPS`` steps in all (default 150, about 3.5 minutes on 2 cores),
``STEPS_PER_RUN`` per network; ``tox -e soak`` runs a longer one.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from unittest import mock

import livestate as LS
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from netshapes import NAME, network_shapes, shape, updates
from txnhelp import ForkServer, cli, cli_env, kill_group, wait_for

import netupdate
from netupdate.errors import NetupdateError

pytestmark = pytest.mark.live

STEPS = int(os.environ.get("NETUPDATE_SOAK_STEPS", "150"))
STEPS_PER_RUN = 15
TIMER_SECONDS = 1.0
STATS: Counter = Counter()      # steps by kind and outcome
COVER: Counter = Counter()      # (network shape, step) pairs


def _netns() -> str:
    import secrets
    name = f"nu-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return name


def _state_dir() -> str:
    path = tempfile.mkdtemp(prefix="nu-state-")
    os.chmod(path, 0o755)  # dnsmasq runs as nobody and reads the host files under it
    return path


def _offline(xml: bytes, edits) -> bytes | None:
    """The definition ``edits`` (command, section, xml) make of ``xml``; None when refused."""
    network = netupdate.load(xml)
    try:
        for command, section, body in edits:
            network.update(command, section, body)
    except NetupdateError:
        return None
    return network.to_bytes()


class GeneratedNetwork(RuleBasedStateMachine):
    server: ForkServer  # set by the test

    def __init__(self):
        super().__init__()
        self.netns, self.fresh_ns = _netns(), _netns()
        self.dirs = [_state_dir(), _state_dir()]
        self.conn = netupdate.connect(state_dir=self.dirs[0], netns=self.netns)
        self.fresh_conn = netupdate.connect(state_dir=self.dirs[1], netns=self.fresh_ns)
        self.change = None        # the network (livestate.same) when the open change started
        self.timer_done = False   # one timer expiry per network: each waits for a process
        self.shape = None         # netshapes.shape() of the network before the step

    def teardown(self):
        from conftest import _kill_namespace

        from netupdate.live.embedded.runtime import netns as NS
        for conn in (self.conn, self.fresh_conn):
            for row in conn.list():
                if row.active:
                    try:
                        conn.stop(row.name)
                    except Exception:  # noqa: BLE001 - the namespace goes away anyway
                        pass
            conn.close()
        for name in (self.netns, self.fresh_ns):
            NS.forget(name)
            _kill_namespace(name)
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def note(self, what: str) -> None:
        STATS[what] += 1
        if self.shape is not None:
            COVER[(self.shape, what.split(" refused")[0])] += 1

    def observe(self) -> dict:
        return LS.observe(self.conn, NAME)

    def config(self) -> bytes:
        return self.conn.store.config_path(NAME).read_bytes()

    def defs(self):
        return netupdate.load(self.config()).defs

    def fresh_start(self, xml: bytes) -> dict:
        self.fresh_conn.define(xml)
        self.fresh_conn.start(NAME)
        try:
            return LS.observe(self.fresh_conn, NAME)
        finally:
            self.fresh_conn.stop(NAME)

    def assert_view(self, view, expected: dict, actual: dict, what: str) -> None:
        a, b = view(expected), view(actual)
        assert a == b, f"{what}:\n" + "\n".join(LS.diff(a, b))

    def assert_fresh(self, what: str) -> None:
        """The network is exactly what a fresh start of its definition makes."""
        now = self.observe()
        assert now["live"] == now["config"], f"{what}: live and persistent definitions differ"
        self.assert_view(LS.fresh, self.fresh_start(now["config"]), now,
                         f"{what}: not what a fresh start makes")

    def outcome(self, before: dict, expected: bytes | None, raised, what: str) -> None:
        """``expected`` None: refused, nothing changed; else: done, as a fresh start."""
        if expected is None:
            assert raised is not None, f"{what}: accepted, the engine refuses it"
            self.assert_view(LS.exact, before, self.observe(), f"{what}: refused but changed")
            STATS["refused"] += 1
            return
        assert raised is None, f"{what}: failed: {raised}"
        assert self.config() == expected, f"{what}: not the engine's definition"
        self.assert_fresh(what)
        STATS["done"] += 1

    # ------------------------------------------------------------------ rules
    @initialize(xml=network_shapes())
    def start(self, xml):
        self.conn.define(xml)
        self.conn.start(NAME)
        STATS["networks"] += 1
        self.assert_fresh("start")

    @rule(data=st.data())
    def update(self, data):
        command, section, body, _refused = data.draw(updates(self.defs()))
        before = self.observe()
        expected = _offline(before["config"], [(command, section, body)])
        raised = None
        try:
            self.conn.update(NAME, command, section, body)
        except NetupdateError as exc:
            raised = exc
        self.note(f"update {section} {command}{' refused' if expected is None else ''}")
        self.outcome(before, expected, raised, f"update {command} {section} {body}")

    @rule(data=st.data())
    def update_cli(self, data):
        command, section, body, _refused = data.draw(updates(self.defs()))
        before = self.observe()
        expected = _offline(before["config"], [(command, section, body)])
        proc = cli(self.dirs[0], "update", NAME, command, section, body, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        raised = proc.stderr.strip() if proc.returncode else None
        if raised:
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        self.note("cli update" + (" refused" if expected is None else ""))
        self.outcome(before, expected, raised, f"CLI update {command} {section} {body}")

    @rule(data=st.data(), refused=st.booleans())
    def batch(self, data, refused):
        before = self.observe()
        network = netupdate.load(before["config"])
        edits = []
        for _ in range(data.draw(st.integers(1, 4))):
            command, section, body, bad = data.draw(updates(network.defs))
            if bad:
                continue
            network.update(command, section, body)
            edits.append((command, section, body))
        if refused or not edits:
            command, section, body, _ = data.draw(updates(network.defs, refused=True))
            edits.insert(data.draw(st.integers(0, len(edits))), (command, section, body))
        text = "".join(f"{c} {s} {b}\n" for c, s, b in edits)
        expected = _offline(before["config"], edits)
        raised = None
        try:
            self.conn.update_batch(NAME, text)
        except NetupdateError as exc:
            raised = exc
        self.note("batch" + (" refused" if expected is None else ""))
        self.outcome(before, expected, raised, f"batch\n{text}")

    @rule(xml=network_shapes(), use_cli=st.booleans())
    def apply(self, xml, use_cli):
        before = self.observe()
        if use_cli:
            path = os.path.join(self.dirs[0], "desired.xml")
            with open(path, "w") as handle:
                handle.write(xml)
            proc = cli(self.dirs[0], "apply", NAME, path, check=False)
            raised = proc.stderr if proc.returncode else None
        else:
            raised = None
            try:
                self.conn.apply(NAME, xml)
            except NetupdateError as exc:
                raised = exc
        self.note("apply" + (" (CLI)" if use_cli else ""))
        self.outcome(before, xml.encode(), raised, f"apply\n{xml}")

    # ------------------------------------------------------------------ changes
    @precondition(lambda self: self.change is None)
    @rule(use_cli=st.booleans())
    def change_start(self, use_cli):
        self.change = self.observe()
        if use_cli:
            cli(self.dirs[0], "change", "start", NAME)
        else:
            self.conn.change_start(NAME)
        self.note("change start")

    @precondition(lambda self: self.change is not None)
    @rule(use_cli=st.booleans())
    def change_commit(self, use_cli):
        if use_cli:
            cli(self.dirs[0], "change", "commit", NAME)
        else:
            self.conn.change_commit(NAME)
        self.change = None
        self.note("change commit")
        self.assert_fresh("change commit")

    @precondition(lambda self: self.change is not None)
    @rule(use_cli=st.booleans())
    def change_rollback(self, use_cli):
        if use_cli:
            cli(self.dirs[0], "change", "rollback", NAME)
        else:
            self.conn.change_rollback(NAME)
        before, self.change = self.change, None
        self.note("change rollback")
        self.assert_view(LS.same, before, self.observe(), "change rollback")

    @precondition(lambda self: self.change is None and not self.timer_done)
    @rule(data=st.data())
    def timer_expires(self, data):
        """A change with a short ``rollback_after`` and one update is rolled back by the timer."""
        self.timer_done = True
        before = self.observe()
        self.conn.change_start(NAME, rollback_after=TIMER_SECONDS)
        command, section, body, _ = data.draw(updates(self.defs(), refused=False))
        try:
            self.conn.update(NAME, command, section, body)
        except NetupdateError as exc:  # the timer may have rolled back first (a slow update)
            assert "lock" in str(exc) or "change" in str(exc), exc
        assert wait_for(lambda: self.conn.change_status(NAME).state == "rolled-back", 30), \
            self.conn.change_status(NAME)
        assert self.conn.change_status(NAME).reason == "timer expired"
        self.note("timer expired")
        self.assert_view(LS.same, before, self.observe(), "timer rollback")

    @precondition(lambda self: self.change is None)
    @rule(data=st.data())
    def failed_verify(self, data):
        """Every verification of the update fails: it is rolled back, and is as never made."""
        from netupdate.live.embedded.runtime import driver as D
        command, section, body, _ = data.draw(updates(self.defs(), refused=False))
        before = self.observe()
        real = D.Driver.verify

        def verify(driver, name, record, defs, **kwargs):
            if kwargs.get("before") is not None:
                raise D.VerifyError("injected", "a failed check")
            return real(driver, name, record, defs, **kwargs)

        def host_change(*args, **kwargs):
            raise D.VerifyError("injected", "a failed check")

        raised = None
        with mock.patch.object(D.Driver, "verify", verify), \
                mock.patch.object(D.Driver, "verify_host_change", host_change):
            try:
                self.conn.update(NAME, command, section, body)
            except NetupdateError as exc:
                raised = exc
        if raised is None:  # nothing to verify (no live action): the update is done
            self.note("failed verify: nothing verified")
            self.outcome(before, _offline(before["config"], [(command, section, body)]), None,
                         f"update {command} {section} {body}")
            return
        assert "injected" in str(raised) and "rolled back" in str(raised), raised
        self.note(f"failed verify {section}")
        assert self.config() == before["config"] and \
            self.observe()["live"] == before["live"], "definitions changed"
        self.assert_view(LS.same, before, self.observe(), "rollback after a failed verify")

    # ------------------------------------------------------------------ kill -9 + recover
    @rule(data=st.data(), op=st.sampled_from(["update", "batch", "apply", "cli", "commit",
                                              "rollback"]))
    def kill_and_recover(self, data, op):
        if op in ("commit", "rollback") and self.change is None:
            op = "update"
        rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
        before = self.observe()
        old = before["config"]
        new, pid = self._spawn(data, op, old, rng)
        kill_group(pid)
        config = self.config()
        netupdate.load(config)
        assert config in (old, new), f"{op}: the killed operation left another definition"
        report = self.conn.recover()
        assert report.ok, report.to_text()
        assert self.conn.change_status(NAME).state != "open"
        self.note(f"kill {op}")
        if self.change is not None:  # recover rolls back an uncommitted change
            start, self.change = self.change, None
            if op == "commit" and self.config() == old and \
                    self.conn.change_status(NAME).state == "committed":
                self.assert_fresh("kill commit + recover")
                return
            self.assert_view(LS.same, start, self.observe(), f"kill {op} + recover: rollback")
            return
        config = self.config()
        assert config in (old, new), f"{op}: recover left another definition"
        if config == old:
            self.assert_view(LS.same, before, self.observe(), f"kill {op} + recover: old")
        else:
            self.assert_fresh(f"kill {op} + recover: new")

    def _spawn(self, data, op: str, old: bytes, rng: random.Random) -> tuple[bytes | None, int]:
        """Start ``op``, killed after a random delay: (the definition it makes, its pid)."""
        req = {"op": op, "state_dir": self.dirs[0], "netns": self.netns, "name": NAME,
               "out": os.path.join(self.dirs[0], "outcome.json")}
        defs = netupdate.load(old).defs
        if op in ("update", "cli"):
            command, section, body, _ = data.draw(updates(defs, refused=False))
            req.update(command=command, section=section, xml=body)
            new = _offline(old, [(command, section, body)])
        elif op == "batch":
            network, edits = netupdate.load(old), []
            for _ in range(data.draw(st.integers(1, 4))):
                edit = data.draw(updates(network.defs, refused=False))[:3]
                network.update(*edit)
                edits.append(edit)
            req["text"] = "".join(f"{c} {s} {b}\n" for c, s, b in edits)
            new = network.to_bytes()
        elif op == "apply":
            req["xml"] = data.draw(network_shapes())
            new = req["xml"].encode()
        else:
            new = old if op == "commit" else self.change["config"]
        if op == "cli":
            proc = subprocess.Popen([sys.executable, "-m", "netupdate", "update", NAME,
                                     req["command"], req["section"], req["xml"]],
                                    env=cli_env(self.dirs[0]), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(rng.uniform(0.2, 1.2))
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            return new, proc.pid
        pid = self.server.spawn(req)
        time.sleep(rng.uniform(0, 0.4))
        return new, pid

    # ------------------------------------------------------------------ after every step
    @invariant()
    def status_is_clean(self):
        if self.conn.store.read_record(NAME) is None:
            return  # before start
        self.shape = shape(self.defs())
        status = self.conn.status(NAME)
        assert status.state == "active" and status.problems == (), status
        assert status.diverged is False, status
        from netupdate.live.txn.journal import read_journal
        from netupdate.live.txn.recovery import live_problems
        assert read_journal(self.conn.store, NAME) is None
        record = self.conn.store.read_record(NAME)
        assert live_problems(self.conn, NAME, record, self.defs()) == []


@pytest.fixture
def server():
    srv = ForkServer()
    yield srv
    srv.close()


def test_generated_operations_keep_the_invariants(server):
    GeneratedNetwork.server = server
    STATS.clear()
    started = time.monotonic()
    runs = max(1, -(-STEPS // STEPS_PER_RUN))
    run_state_machine_as_test(GeneratedNetwork, settings=settings(
        max_examples=runs, stateful_step_count=STEPS_PER_RUN))
    print(f"{runs} networks x {STEPS_PER_RUN} steps in {time.monotonic() - started:.0f} s: "
          f"{dict(sorted(STATS.items()))}")
    print(f"{len(COVER)} (shape, step) pairs:")
    for (kind, step), count in sorted(COVER.items()):
        print(f"  {kind:40} {step:40} {count}")
