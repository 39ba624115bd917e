"""Run a function as another user in a forked child (root only): squatters and neighbours."""

from __future__ import annotations

import os
import sys
import tempfile

NOBODY = 65534


def as_user(fn, *args, uid: int = NOBODY, gid: int = NOBODY) -> tuple[int, str]:
    """(exit code, stderr) of ``fn(*args)`` (its return value is the exit code) run as
    ``uid``/``gid`` in a forked child."""
    with tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 99
            try:
                os.dup2(err.fileno(), 2)
                sys.stderr = os.fdopen(2, "w", closefd=False)
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                code = int(fn(*args) or 0)
            except BaseException as exc:  # noqa: BLE001 - reported through the exit code
                print(f"child: {exc!r}", file=sys.stderr)
            finally:
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), err.read().decode()
