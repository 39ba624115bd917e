"""The command server's watch on its own modules (netupdate/cmdserver/watch.py): after any
sequence of changes in their folders, it reports a change exactly when a module file itself was
written, touched, replaced or removed, through inotify and through its stat fallback."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from netupdate.cmdserver import watch

MODULES = ("a.py", "sub/b.py")
OTHERS = ("notes.txt", "__pycache__/a.cpython-311.pyc", "sub/.b.py.swp")


class Folders(RuleBasedStateMachine):
    inotify = True

    @initialize()
    def start(self):
        self.top = tempfile.mkdtemp(prefix="nu-watch-")
        for name in MODULES:
            self._write(name, b"x = 1\n")
        files = {}
        for name in MODULES:
            st_ = os.stat(self._path(name))
            files[self._path(name)] = (st_.st_ino, st_.st_mtime_ns, st_.st_size)
        if not self.inotify:
            real, watch._watch = watch._watch, lambda folders: (None, {})
        try:
            self.watch = watch.Watch(files)
        finally:
            if not self.inotify:
                watch._watch = real
        assert (self.watch.fd is not None) == self.inotify
        self.expected = False

    def _path(self, name: str) -> str:
        return os.path.join(self.top, name)

    def _write(self, name: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(self._path(name)), exist_ok=True)
        with open(self._path(name), "wb") as handle:
            handle.write(data)

    @rule(name=st.sampled_from(OTHERS), data=st.binary(max_size=8))
    def write_another_file(self, name, data):
        self._write(name, data)

    @rule(name=st.sampled_from(OTHERS))
    def remove_another_file(self, name):
        if os.path.exists(self._path(name)):
            os.unlink(self._path(name))

    @rule(name=st.sampled_from(MODULES), data=st.binary(min_size=1, max_size=8))
    def edit_a_module(self, name, data):   # longer each time: the stat fallback sees it even
        with open(self._path(name), "ab") as handle:   # within one tick of the clock
            handle.write(data)
        self.expected = True

    @rule(name=st.sampled_from(MODULES))
    def replace_a_module(self, name):   # as editors and pip do: a new file renamed onto it
        self._write(name + ".tmp", b"y = 2\n")
        os.replace(self._path(name + ".tmp"), self._path(name))
        self.expected = True

    @rule(name=st.sampled_from(MODULES))
    def touch_a_module(self, name):
        st_ = os.stat(self._path(name))
        os.utime(self._path(name), ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
        self.expected = True

    @invariant()
    def reports_exactly_a_module_change(self):
        if hasattr(self, "watch"):
            assert self.watch.changed() == self.expected

    def teardown(self):
        if hasattr(self, "watch"):
            self.watch.close()
            import shutil
            shutil.rmtree(self.top, ignore_errors=True)


class StatFolders(Folders):
    inotify = False


@pytest.mark.parametrize("machine", [Folders, StatFolders], ids=["inotify", "stat"])
def test_the_watch_reports_exactly_module_changes(machine):
    runner = machine.TestCase()
    runner.settings = settings(max_examples=40, stateful_step_count=12, deadline=None)
    runner.runTest()
