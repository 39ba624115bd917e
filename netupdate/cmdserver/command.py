"""A command in the server's child: take on the client's descriptors, directory, umask,
environment and command line, then run ``netupdate.cli.main`` as the ``netupdate`` script would
(``sys.exit(main())``: the exit functions run and the streams are flushed)."""

from __future__ import annotations

import io
import os
import sys

KEPT: list = []   # what the child holds until it exits (``os._exit``: it is never freed)


def run(conn, fds: list[int], fields: list[bytes], report: int) -> int:
    """The exit code of the command described by a request's ``fields`` (``client.request``).
    The client hears ``P<pid>`` once the command is set up here, or ``R<reason>`` (and runs the
    command itself) when it cannot be: a working directory this process cannot enter, say.
    The updates the command wrote go to the server through ``report`` (``cache.replay``); its
    exit code to the client as soon as it is known (``E<code>``), and again by the server once
    this process ended (an interrupted command ends here without returning)."""
    import _signal  # the script's dispositions, before the client can know this pid (P)
    for signum in (_signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(signum, _signal.SIG_DFL)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    try:
        take_on(fds, fields)
    except OSError as exc:
        conn.sendall(f"Rcannot take on the client's directory or streams: {exc.strerror}"
                     .encode() + b"\n")
        return 0
    conn.sendall(b"P%d\n" % os.getpid())
    from netupdate.live.embedded import cache
    cache.RECORD = []
    code = command()
    try:   # at most a pipe's buffer, never waiting: a longer report is not sent (read again)
        import json
        os.set_blocking(report, False)
        data = json.dumps(cache.RECORD).encode()
        if len(data) <= 65536:
            os.write(report, data)
    except (OSError, TypeError, ValueError):
        pass
    try:   # the client's streams close now: a reader of its pipes is not kept waiting while
        null = os.open(os.devnull, os.O_RDWR)   # this process is torn down
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass
    try:   # the exit code now, not after this process is torn down (the server says it too)
        conn.sendall(b"E%d\n" % code)
    except OSError:
        pass
    return code


def take_on(fds: list[int], fields: list[bytes]) -> None:
    """The client's descriptors, directory, umask, environment and command line."""
    _, cwd, umask, count, *rest = (os.fsdecode(field) for field in fields)
    argv, env = rest[:int(count)], rest[int(count):]
    os.chdir(cwd)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        os.close(fd)   # the server's descriptors are >= 3 (its own 0-2 are /dev/null)
    os.umask(int(umask))
    os.environ.clear()
    os.environ.update(entry.split("=", 1) for entry in env if "=" in entry)
    sys.argv = ["netupdate", *argv]
    streams()


def command() -> int:
    """Run the command as the script would."""
    from netupdate.live.embedded.cache import SEED
    KEPT.append(dict(SEED))   # the read-ahead outlives the command: none of it is freed
    code = 1
    try:
        from netupdate.cli import main
        code = main()
    except SystemExit as exc:
        code = exit_status(exc.code)
    except BaseException:   # what the interpreter would print for an uncaught exception
        import traceback
        traceback.print_exc()
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    return exit_status(code)


def exit_status(code: object) -> int:
    """What ``sys.exit(code)`` makes the process's exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def streams() -> None:
    """Standard streams on the client's descriptors, made as Python makes them at start-up:
    the server's encoding (the client's, both follow the same locale variables), standard
    output line-buffered only on a terminal, standard error always."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        old = getattr(sys, f"__{name}__")
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(buffered, encoding=old.encoding, errors=old.errors,
                                  newline="\n", line_buffering=fd == 2 or raw.isatty(),
                                  write_through=old.write_through)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
