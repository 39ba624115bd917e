"""The client: hand a command to the server, or run it here (see the package docstring).

Start-up time is the point, so this imports only ``os``, ``sys`` and C modules (``socket`` and
``signal`` build enums at import) and nothing of netupdate until it runs a command itself.
"""

from __future__ import annotations

import _signal
import _socket
import os
import sys

from netupdate.cmdserver import ENV_SERVER, connect, framed, key, socket_dir, socket_path

FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
SERVER_CODE = ("import sys; from netupdate.cmdserver.server import serve; "
               "sys.exit(serve(sys.argv[1], sys.argv[2]))")
LOCAL_ONLY = ([], ["--version"], ["--help"], ["-h"])   # answered faster here than by a server


def run() -> int:
    """The exit code of the command run here; a command the server ran ends this process
    with its exit code."""
    argv = sys.argv[1:]
    if "server" in argv:   # the servers' own verb (after global options too): answered here
        from netupdate.cmdserver.control import control
        return control(argv)
    if argv in LOCAL_ONLY or os.environ.get(ENV_SERVER) == "off" or "_ARGCOMPLETE" in os.environ:
        return _here()
    folder = socket_dir()
    if folder is None:
        return _here()
    server_key = key(sys.path[1:])
    path = socket_path(folder, server_key)
    if len(path.encode()) > 100:   # sun_path holds 108 bytes
        return _here()
    conn = connect(path)
    if conn is None:
        _start_server(path, server_key)
        return _here()
    try:
        code = _handed(conn, server_key, argv)
    finally:
        conn.close()
    if code is None:
        return _here()
    # served: nothing here to flush or clean up, and the interpreter's teardown would cost
    # milliseconds of the command's time
    os._exit(code)


def _here() -> int:
    from netupdate.cli import main
    return main()


def request(server_key: str, argv: list[str]) -> bytes:
    """The command for the server: key, directory, umask, argv, then the environment."""
    umask = os.umask(0o077)
    os.umask(umask)
    fields = [server_key, os.getcwd(), str(umask), str(len(argv)), *argv,
              *(f"{name}={value}" for name, value in os.environ.items())]
    return framed([os.fsencode(field) for field in fields])


def _handed(conn, server_key: str, argv: list[str]) -> int | None:
    """The exit code of the command the server ran, or None when the server refused it (it
    then changed nothing)."""
    try:
        message = request(server_key, argv)
        fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
        for fd in (0, 1, 2):
            os.fstat(fd)   # a closed standard stream: the command handles it here
    except (OSError, UnicodeError):
        return None
    forward = Forward()
    try:
        conn.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
    except OSError:
        return forward.unstarted()
    replies = _Replies(conn)
    first = replies.next()
    if first is None or not first.startswith(b"P"):
        return forward.unstarted()   # refused (b"R..."), or the server went away
    forward.to(int(first[1:]))
    last = replies.next()
    if last is None or not last.startswith(b"E"):
        os.write(2, b"netupdate: error: the command server ended during the command\n")
        return 1
    return int(last[1:])


class Forward:
    """Signals for this process go to the command (the server's child is in another session,
    so a terminal's Ctrl-C reaches only us); one that comes before the command started is held
    for it, or ends a command that will not start."""

    def __init__(self):
        self.child = 0
        self.held: list[int] = []
        for signum in FORWARDED:
            _signal.signal(signum, self.handler)

    def handler(self, signum, frame) -> None:
        if not self.child:
            self.held.append(signum)
            return
        try:
            os.kill(self.child, signum)
        except ProcessLookupError:
            pass

    def to(self, child: int) -> None:
        self.child = child
        for signum in self.held:
            self.handler(signum, None)

    def unstarted(self) -> int | None:
        """None (run the command here), or 128 + the signal that came first, like a shell."""
        for signum in FORWARDED:
            _signal.signal(signum, _signal.SIG_DFL if signum != _signal.SIGINT
                           else _signal.default_int_handler)
        return 128 + self.held[0] if self.held else None


class _Replies:
    """The server's replies: lines of ``P<pid>``, ``E<exit code>`` or ``R<reason>``."""

    def __init__(self, conn):
        self.conn = conn
        self.buffer = b""

    def next(self) -> bytes | None:
        while b"\n" not in self.buffer:
            try:
                chunk = self.conn.recv(256)
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def _start_server(path: str, server_key: str) -> None:
    """A server for the next command, in its own session, its output to /dev/null (it
    reports nothing; a server that cannot start just leaves commands to run here)."""
    null = os.devnull
    actions = [(os.POSIX_SPAWN_OPEN, fd, null, os.O_RDWR, 0) for fd in (0, 1, 2)]
    try:
        os.posix_spawn(sys.executable, [sys.executable, "-P", "-c", SERVER_CODE, path,
                                        server_key], os.environ, file_actions=actions,
                       setsid=True)
    except OSError:
        pass
