"""The command line's last line of defence: an error is one line and an exit code from the
documented table (netupdate/errors.py, docs/live.md "Exit codes"), never a traceback."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate import errors as E
from netupdate.cli import main
from netupdate.live.embedded.connection import Connection

NET = "<network><name>n</name><bridge name='nubr-x'/></network>"


def run(capsys, monkeypatch, tmp_path, exc):
    def fail(self, xml):
        raise exc
    monkeypatch.setattr(Connection, "define", fail)
    path = tmp_path / "n.xml"
    path.write_text(NET)
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    status = main(["define", str(path)])
    out, err = capsys.readouterr()
    return status, err.splitlines()


@pytest.mark.parametrize(("exc", "code", "line"), [
    (OSError(errno.ENOSPC, "No space left on device", "/s/run/networks/.n.json.12.345.tmp"),
     E.EXIT_SYSTEM, "netupdate: error: /s/run/networks/n.json: No space left on device"),
    (OSError(errno.EROFS, "Read-only file system", "/s/config/n.xml"),
     E.EXIT_SYSTEM, "netupdate: error: /s/config/n.xml: Read-only file system"),
    (PermissionError(errno.EACCES, "Permission denied", "/s/run/locks"),
     E.EXIT_PERMISSION, "netupdate: error: /s/run/locks: Permission denied"),
    (OSError(errno.ENOSPC, "No space left on device"),
     E.EXIT_SYSTEM, "netupdate: error: No space left on device"),
])
def test_an_os_error_is_one_line_and_a_documented_code(capsys, monkeypatch, tmp_path, exc,
                                                       code, line):
    assert run(capsys, monkeypatch, tmp_path, exc) == (code, [line])


def test_an_error_raised_from_a_full_disk_exits_with_the_system_code(capsys, monkeypatch,
                                                                     tmp_path):
    cause = OSError(errno.ENOSPC, "No space left on device")
    err = E.RuntimeFailure("live update rolled back: save failed")
    err.__cause__ = cause
    assert run(capsys, monkeypatch, tmp_path, err) == (
        E.EXIT_SYSTEM, ["netupdate: error: live update rolled back: save failed"])
    plain = E.StateError("not running")
    plain.__context__ = cause  # only an explicit cause counts
    assert run(capsys, monkeypatch, tmp_path, plain)[0] == E.EXIT_ERROR


@settings(max_examples=200)
@given(code=st.sampled_from(sorted(errno.errorcode)),
       name=st.one_of(st.none(), st.text(), st.binary()))
def test_every_os_error_gets_one_line(code, name):
    """Whatever the file is called (newlines, bytes), the description is one line ending with
    the reason; the exit code is the system one exactly for the documented errnos."""
    text = E.describe_os_error(OSError(code, "reason", name))
    assert text.endswith("reason") and "\n" not in text and "\r" not in text
    assert E.exit_code(OSError(code, "x")) == (
        E.EXIT_SYSTEM if code in E.SYSTEM_ERRNOS else
        E.EXIT_PERMISSION if code in (errno.EACCES, errno.EPERM) else E.EXIT_ERROR)
