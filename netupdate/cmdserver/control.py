"""``netupdate server status|stop [--json]``: this user's command servers (the ones for every
interpreter and module path), what each has served, and stopping them.  A stopped server takes
no new command and ends once its running commands have ended."""

from __future__ import annotations

import os

from netupdate.cmdserver import CONTROL, connect, socket_dir


def control(argv: list[str]) -> int:
    """A command line holding the word ``server`` (``netupdate [GLOBAL OPTIONS] server ...``):
    parsed by the command line's own parser (``--help``, usage errors and suggestions as for
    every verb); ``status`` or ``stop`` each server found.  Any other command (a network
    named "server") runs as usual."""
    from netupdate.cli import main, parse
    from netupdate.cli.options import Usage, fill_defaults
    try:
        args = parse(list(argv))
    except SystemExit as exc:   # --help
        return exc.code if isinstance(exc.code, int) else 2
    except Usage:
        return main(list(argv))   # its usage error, as for every verb
    if getattr(args, "server_verb", None) is None:
        return main(list(argv))
    fill_defaults(args)
    return answer(args)


def answer(args) -> int:
    """``status`` or ``stop`` every server found (``args``: the parsed command line)."""
    word = args.server_verb
    folder = socket_dir()
    found = []
    for name in sorted(os.listdir(folder)) if folder else ():
        if name.endswith(".sock"):
            reply = ask(f"{folder}/{name}", word)
            if reply is not None:
                found.append(reply)
    if args.json:
        import json
        print(json.dumps({"servers": found, "stopped": word == "stop"}, indent=2))
    elif not found:
        print("no command server is running")
    for server in [] if args.json else found:
        print(f"{'stopped' if word == 'stop' else 'running'}: pid {server['pid']}, "
              f"{server['commands']} commands served ({server['running']} running), up "
              f"{server['seconds']} s, socket {server['socket']}")
    return 0


def ask(path: str, word: str) -> dict | None:
    """The server's answer to ``word``, or None when no server listens on ``path``."""
    conn = connect(path)
    if conn is None:
        return None
    try:
        conn.sendall(CONTROL + word.encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(256)
            if not chunk:
                return None
            reply += chunk
    except OSError:
        return None
    finally:
        conn.close()
    pid, commands, running, seconds = (int(part) for part in reply[1:].split())
    return {"pid": pid, "commands": commands, "running": running, "seconds": seconds,
            "socket": path}
