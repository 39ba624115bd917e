"""Hypothesis settings shared by every generated test.

Each generated test sets its own budget (``max_examples`` or ``stateful_step_count``) with
``@settings``; this file fixes what they share: no per-example deadline (live steps take as long as
the kernel takes), and one example database stored in the repository (``tests/hypothesis-db``), so
a failure found anywhere replays first everywhere.  CI (``CI=true``) reads that database and never
writes it, so a run is reproducible from the committed tree; other runs add what they find to it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).parent / "hypothesis-db"))

settings.register_profile(
    "ci", database=ReadOnlyDatabase(DATABASE), deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "dev", database=DATABASE, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

# Ctrl-C as Python sets it up, even in a suite started as a shell's background job (which
# inherits SIGINT ignored, and would pass that on to every command the tests run)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True, scope="session")
def _command_servers(tmp_path_factory):
    """A command server a test starts (``bin/netupdate``, netupdate/cmdserver) has its socket in
    a folder of this session's, never in the machine's, and is stopped when the session ends."""
    folder = tmp_path_factory.mktemp("command-servers")
    folder.chmod(0o700)
    os.environ["NETUPDATE_SERVER_DIR"] = str(folder)
    yield
    from netupdate.cmdserver.control import ask
    for path in folder.glob("*.sock"):
        ask(str(path), "stop")
