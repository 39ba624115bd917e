"""The server: import everything once, then fork a child for each command (see the package
docstring).  It runs single-threaded (it never forks with a second thread alive), in its own
session, with ``/`` as its directory; it ends after ``IDLE_SECONDS`` without a command, when one
of its modules changes on disk, or when its socket is taken from it.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

from netupdate.cmdserver import (
    CONTROL,
    ENV_IDLE,
    IDLE_SECONDS,
    MAGIC,
    framed,
    identity,
    key,
    peer,
)
from netupdate.cmdserver.command import run
from netupdate.cmdserver.watch import Watch

MAX_REQUEST = 1 << 20   # a command line and an environment


def serve(path: str, server_key: str) -> int:
    """Serve commands on the socket ``path`` for clients of ``server_key`` (``cmdserver.key``)."""
    if key(sys.path) != server_key:
        return 2   # started by a client that would not be served: leave it to run its commands
    os.chdir("/")
    lock = _lock(f"{path}.lock")
    if lock is None:
        return 0   # another server has it
    warm()
    from netupdate.cli import prebuild
    prebuild()
    if not settled():
        return 2
    Server(path, server_key, lock).loop()
    return 0


def settled() -> bool:
    """Whether the server may fork: it runs no second thread (a child would copy a process in
    mid-step), and what it holds is frozen out of the collector (a child's collections then
    leave those pages shared)."""
    import gc
    import threading
    gc.freeze()
    return threading.active_count() == 1


def _lock(path: str) -> int | None:
    import fcntl
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def warm() -> None:
    """Import every module netupdate has, and everything they import, at the top or inside a
    function (lxml, dnspython, pyroute2, ...): a command's child then imports nothing.  A module
    whose optional dependency is missing is left out; the child meets the same error."""
    import ast
    import importlib
    import pkgutil

    import netupdate
    targets: set[str] = set()
    for info in pkgutil.walk_packages(netupdate.__path__, "netupdate."):
        if info.name.startswith("netupdate.cmdserver") or info.name.endswith("__main__"):
            continue
        targets.add(info.name)
        spec = importlib.util.find_spec(info.name)
        with open(spec.origin, "rb") as source:
            tree = ast.parse(source.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets.add(node.module)
    for name in sorted(targets):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if "dns.rdata" in sys.modules:   # dnspython imports a record type's module when first met
        sys.modules["dns.rdata"].load_all_types()


class Server:
    def __init__(self, path: str, server_key: str, lock: int):
        self.path = path
        self.key = server_key
        self.lock = lock
        self.own = identity.context("self")
        self.watch = Watch()
        self.children: dict[int, Child] = {}   # by pidfd
        self.spare: Spare | None = None
        if os.path.lexists(path):
            os.unlink(path)   # a dead server's socket (we hold the lock)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o077)
        try:
            self.listener.bind(path)
        finally:
            os.umask(old)
        self.inode = os.stat(path).st_ino
        self.listener.listen(64)
        self.idle = _idle_seconds()
        self.served = 0
        self.started = self.last = time.monotonic()

    def loop(self) -> None:
        """Serve until idle or SIGTERM (``netupdate server stop``), then until the running
        commands have ended."""
        import signal
        wake, woken = self.wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(woken)   # a SIGTERM wakes the select below
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        self.prepare()
        while self.listener is not None or self.children:
            waiting = [self.listener, wake] if self.listener is not None else []
            if self.spare is not None:
                waiting.append(self.spare.pidfd)
            # idle: no command for ``idle`` seconds (``status`` and ``stop`` are not commands)
            timeout = None if self.children else self.last + self.idle - time.monotonic()
            ready, _, _ = select.select(waiting + list(self.children), [], [],
                                        None if timeout is None else max(timeout, 0))
            if not ready or wake in ready:
                self.close()   # idle, or stopped
            for item in ready:
                if item is self.listener and self.listener is not None:
                    self.accept()
                elif item in self.children:
                    self.reap(item)
                elif self.spare is not None and item == self.spare.pidfd:
                    self.spare = self.spare.discard()   # it ended unused: killed, say

    def close(self) -> None:
        """Stop taking commands (the running ones still get their exit codes)."""
        if self.listener is None:
            return
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.listener.close()
        self.listener = None
        os.close(self.lock)
        if self.spare is not None:
            self.spare = self.spare.discard()

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(2.0)   # a client that sends nothing does not hold the others up
        fds: list[int] = []
        try:
            fields, fds = receive(conn)
            if not fds:
                self.control(conn, fields)
                return
            refusal = self.refusal(conn, fields)
            if refusal:
                conn.sendall(b"R" + refusal.encode() + b"\n")
                conn.close()
                return
            report, reported = os.pipe2(os.O_CLOEXEC)
            try:
                pid, pidfd = self.start(conn, fds, fields, reported)
            finally:
                os.close(reported)
            # the child tells the client it started (command.run)
            self.children[pidfd] = Child(pid, conn, state_dir(fields), report)
            self.served += 1
        except (OSError, ValueError):
            conn.close()
        finally:
            for fd in fds:
                os.close(fd)

    def start(self, conn: socket.socket, fds: list[int], fields: list[bytes],
              reported: int) -> tuple[int, int]:
        """(pid, pidfd) of the process that now runs the command: the spare, or a child
        forked for it when there is none (or it is gone)."""
        spare, self.spare = self.spare, None
        if spare is not None:
            if spare.hand(conn, fds, fields, reported):
                return spare.pid, spare.pidfd
            spare.discard()
        pid = self.fork(lambda: run(conn, fds, fields, reported))
        return pid, os.pidfd_open(pid)

    def prepare(self) -> None:
        """Fork the spare: the child that runs the next command (the fork of a process of
        this size takes milliseconds, then off the command's path).  Only while no command
        runs, so that it starts from the read-ahead of the last one's writes."""
        if self.spare is not None or self.children or self.listener is None:
            return
        ours, theirs = socket.socketpair()
        pid = self.fork(lambda: run(*handed(theirs)), ours)
        theirs.close()
        self.spare = Spare(pid, os.pidfd_open(pid), ours)

    def control(self, conn: socket.socket, fields: list[bytes]) -> None:
        """``status``: a line of facts; ``stop``: stop taking commands (``client.control``)."""
        if fields == [b"stop"]:
            self.close()
        conn.sendall(b"S%d %d %d %d\n" % (os.getpid(), self.served, len(self.children),
                                          time.monotonic() - self.started))
        conn.close()

    def refusal(self, conn: socket.socket, fields: list[bytes]) -> str | None:
        if not well_formed(fields):
            return "a malformed request"
        if os.fsdecode(fields[0]) != self.key:
            return "another interpreter, module path or locale"
        difference = identity.difference(self.own, peer(conn)[0])
        if difference:
            return f"the client differs in its {difference}"
        if self.watch.changed():
            self.close()
            return "netupdate changed on disk"
        return None

    def reap(self, pidfd: int) -> None:
        """A command ended: its exit code to its client, then the definitions of its state
        directory read ahead for the next command (live/embedded/cache.py)."""
        child = self.children.pop(pidfd)
        os.close(pidfd)
        self.last = time.monotonic()
        _, status = os.waitpid(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        try:
            child.conn.sendall(b"E%d\n" % (code if code >= 0 else 128 - code))
        except OSError:
            pass   # the client went away
        child.conn.close()
        edits = child.edits()
        from netupdate.live.embedded.cache import SEED, read_ahead, replay
        try:
            replay(edits)   # what the command wrote, applied here rather than parsed again
            read_ahead(child.state)
        except Exception:   # noqa: BLE001 - a cache: whatever fails, the commands read for themselves
            SEED.clear()
        if not settled():
            self.close()
        self.prepare()

    def fork(self, command, *servers: socket.socket) -> int:
        """The pid of a child that lets go of the server (``detach``, and the server's ends
        ``servers`` of its sockets), runs ``command`` and ends with its exit code."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for sock in servers:
                    sock.close()
                self.detach()
                code = command()
            finally:
                os._exit(code)
        return pid

    def detach(self) -> None:
        """In a child: let go of the server's descriptors and signal handling."""
        import signal
        signal.set_wakeup_fd(-1)   # the command's signals are not the server's
        for fd in self.wake:
            os.close(fd)
        if self.listener is not None:
            self.listener.close()
            os.close(self.lock)
        for pidfd, other in self.children.items():
            os.close(pidfd)
            os.close(other.report)
            other.conn.close()
        if self.spare is not None:
            os.close(self.spare.pidfd)
            self.spare.channel.close()
        self.watch.close()


def well_formed(fields: list[bytes]) -> bool:
    """key, directory, umask, argc, then argc arguments and the environment."""
    return (len(fields) >= 4 and fields[1].startswith(b"/") and fields[2].isdigit()
            and fields[3].isdigit() and 4 + int(fields[3]) <= len(fields)
            and int(fields[2]) <= 0o777)


class Child:
    """A running command: its process, its client, its $NETUPDATE_STATE_DIR and the pipe of
    its report (the updates it wrote: ``command.run``)."""

    def __init__(self, pid: int, conn: socket.socket, state: str | None, report: int):
        self.pid, self.conn, self.state, self.report = pid, conn, state, report

    def edits(self) -> list:
        """The updates the ended command reported (none when it reported nothing)."""
        import json
        try:
            os.set_blocking(self.report, False)
            data = os.read(self.report, 65537)
            edits = json.loads(data) if data else []
        except (OSError, ValueError):
            edits = []
        finally:
            os.close(self.report)
        return edits if isinstance(edits, list) else []


class Spare:
    """The child forked ahead for the next command, waiting on ``channel`` for it (``hand``).
    It ends when the channel closes unused."""

    def __init__(self, pid: int, pidfd: int, channel: socket.socket):
        self.pid, self.pidfd, self.channel = pid, pidfd, channel

    def hand(self, conn: socket.socket, fds: list[int], fields: list[bytes],
             reported: int) -> bool:
        """Give it a command: the request as the client sent it, with the client's connection,
        its three descriptors and the report pipe.  False: it is gone, and got nothing; once
        anything was sent, the command is its own (it never runs twice)."""
        import array
        message = framed(fields)
        passed = array.array("i", [conn.fileno(), *fds, reported]).tobytes()
        try:
            sent = self.channel.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                     passed)])
        except OSError:
            return False
        try:
            if sent < len(message):   # the rest; a spare that got a cut request ends (1)
                self.channel.sendall(message[sent:])
        except OSError:
            pass
        self.channel.close()
        return True

    def discard(self) -> None:
        """End it unused (its channel closes: it exits), and reap it."""
        self.channel.close()
        os.close(self.pidfd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def handed(channel: socket.socket) -> tuple:
    """In the spare: ``command.run``'s arguments, once the server handed it a command (it
    exits when the server went away instead)."""
    channel.settimeout(None)
    try:
        fields, fds = receive(channel, 5)
    except (OSError, ValueError):   # the server went away, or cut the request short (its
        os._exit(1)                 # client then hears that the command failed)
    channel.close()
    return socket.socket(fileno=fds[0]), fds[1:4], fields, fds[4]


def state_dir(fields: list[bytes]) -> str | None:
    """The request's $NETUPDATE_STATE_DIR (None: the default one)."""
    prefix = b"NETUPDATE_STATE_DIR="
    env = fields[4 + int(fields[3]):]
    found = [field[len(prefix):] for field in env if field.startswith(prefix)]
    return os.fsdecode(found[-1]) or None if found else None


def receive(conn: socket.socket, count: int = 3) -> tuple[list[bytes], list[int]]:
    """The request's fields and the ``count`` descriptors sent with it."""
    import array
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(count * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    received = list(fds)
    if not received and data.startswith(CONTROL):
        return [data[len(CONTROL):]], []
    try:
        if len(data) < 8 or not data.startswith(MAGIC) or len(received) != count:
            raise ValueError("not a command")
        size = int.from_bytes(data[4:8], "big")
        if size > MAX_REQUEST:
            raise ValueError("too long")
        body = data[8:]
        while len(body) < size:
            chunk = conn.recv(min(65536, size - len(body)))
            if not chunk:
                raise ValueError("cut short")
            body += chunk
    except (OSError, ValueError):
        for fd in received:
            os.close(fd)
        raise
    return body.split(b"\0"), received


def _idle_seconds() -> float:
    try:
        return float(os.environ.get(ENV_IDLE, "")) or IDLE_SECONDS
    except ValueError:
        return IDLE_SECONDS
