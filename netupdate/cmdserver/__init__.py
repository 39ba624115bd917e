"""The command server: the command line without paying Python's imports on every command.

A command of netupdate spends most of its time importing (lxml alone is ~45 ms, more than
``virsh`` takes for a whole DNS update) and little doing its work.  Like Mercurial's ``chg``
(its command server) the installed ``netupdate`` script therefore hands a command to a server
that has imported everything once:

* ``client`` (imported by ``bin/netupdate``; it imports no more than ``os``, ``sys`` and the C
  modules ``_socket`` and ``_signal``) connects to the server's socket and sends the command
  line, the environment, the working directory, the umask and its standard input, output and
  error (the descriptors themselves, ``SCM_RIGHTS``).  It forwards SIGINT, SIGTERM and SIGHUP
  to the command and exits with the command's exit code.  When there is no server it runs the
  command itself and starts one in the background for the next command.
* ``server`` forks a child for each command; the child takes the client's descriptors,
  directory, umask and environment and runs ``netupdate.cli.main`` exactly as the script would.
  A command therefore runs in a fresh process, with nothing left from an earlier one.

What a command could see differently in a server's child is refused rather than served: the
server serves only a client of its own user, groups, capabilities, namespaces, root directory,
cgroup and resource limits (``identity``), with the same interpreter, module path and locale
settings (the socket's key), and only while none of its modules changed on disk.  Otherwise the
client runs the command itself.  ``NETUPDATE_SERVER=off`` never uses a server, a server ends
after ``IDLE_SECONDS`` without a command, and ``netupdate server status|stop`` shows or ends this
user's servers (``control``; docs/cli.md, "Command server").
"""

import _socket
import os
import sys

IDLE_SECONDS = 600.0
ENV_SERVER = "NETUPDATE_SERVER"           # "off": never use a server
ENV_SERVER_DIR = "NETUPDATE_SERVER_DIR"   # the folder of the sockets (socket_dir)
ENV_IDLE = "NETUPDATE_SERVER_IDLE"        # seconds a server waits for a command

MAGIC = b"NU1\0"     # a command: then its length, its fields, and three descriptors
CONTROL = b"NUC\0"   # then "status" or "stop", no descriptors (control.py)
KEY_ENV = ("LANG", "LANGUAGE")   # with every LC_* and PYTHON* variable
FLAGS = ("debug", "inspect", "interactive", "optimize", "dont_write_bytecode", "no_user_site",
         "no_site", "ignore_environment", "verbose", "bytes_warning", "quiet",
         "hash_randomization", "isolated", "dev_mode", "utf8_mode", "warn_default_encoding",
         "int_max_str_digits")   # sys.flags but safe_path (the server runs with -P)


def framed(fields: list[bytes]) -> bytes:
    """A command as sent (the client's request, and the server's hand-over to its spare):
    ``MAGIC``, the length, then the fields joined by NULs (``server.receive`` reads it)."""
    body = b"\0".join(fields)
    return MAGIC + len(body).to_bytes(4, "big") + body


def key(module_path: list[str]) -> str:
    """What a server must share with a client to run its command as it would run there: the
    interpreter and its flags, the module path (the client's without ``sys.path[0]``, the
    script's folder) and the variables that decide encodings and what is imported (``-X
    importtime`` aside: it shows what the client imports)."""
    env = sorted((name, value) for name, value in os.environ.items()
                 if name in KEY_ENV or name.startswith(("LC_", "PYTHON"))
                 and name != "PYTHONPROFILEIMPORTTIME")
    flags = [getattr(sys.flags, name) for name in FLAGS]
    options = {name: value for name, value in sys._xoptions.items() if name != "importtime"}
    return repr((sys.executable, module_path, flags, options, env, sys.version))


def socket_dir() -> str | None:
    """This user's folder for the server's socket (``$NETUPDATE_SERVER_DIR``, else
    /run/netupdate-server for root, $XDG_RUNTIME_DIR/netupdate-server or
    /tmp/netupdate-server-UID), made private, or None when it is not ours alone (then no server
    is used: a socket there could be anybody's)."""
    uid = os.geteuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if os.environ.get(ENV_SERVER_DIR, "").startswith("/"):
        path = os.environ[ENV_SERVER_DIR]
    elif uid == 0:
        path = "/run/netupdate-server"
    elif runtime and runtime.startswith("/"):
        path = f"{runtime}/netupdate-server"
    else:
        path = f"/tmp/netupdate-server-{uid}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    st = os.lstat(path)
    if (st.st_mode & 0o170777) != 0o040700 or st.st_uid != uid:   # a directory, 0700, ours
        return None
    return path


def socket_path(folder: str, server_key: str) -> str:
    import binascii  # a C module
    return f"{folder}/{binascii.crc32(server_key.encode('utf-8', 'surrogateescape')):08x}.sock"


def connect(path: str):
    """A connection to the server listening on ``path``, when there is one and it is ours."""
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.connect(path)
        pid, uid, gid = peer(conn)
        if uid != os.geteuid():   # not our server (the folder is ours alone: never, but cheap)
            raise OSError("foreign server")
    except OSError:
        conn.close()
        return None
    return conn


def peer(conn) -> tuple[int, int, int]:
    """The pid, uid and gid of the process at the other end of a Unix socket."""
    raw = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    return tuple(int.from_bytes(raw[i:i + 4], sys.byteorder) for i in (0, 4, 8))


