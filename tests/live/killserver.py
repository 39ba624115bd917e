"""A fork server for kill-point tests: ``python killserver.py`` imports netupdate once, then for
each JSON request on stdin forks a child (in a process group of its own) that runs one library
operation and writes its outcome to ``req["out"]``; the child's pid is the reply.  The test kills
the child's group with SIGKILL at a random moment.

The server itself never starts a thread (it only imports), so forking it is safe; children are
reaped by the server as they exit.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(req: dict) -> dict:
    import netupdate
    conn = netupdate.connect(state_dir=req["state_dir"], netns=req.get("netns"))
    name = req["name"]
    op = req["op"]
    started = time.perf_counter()
    if op == "update":
        conn.update(name, req["command"], req["section"], req["xml"])
    elif op == "apply":
        conn.apply(name, req["xml"])
    elif op == "batch":
        conn.update_batch(name, req["text"])
    elif op == "commit":
        conn.change_commit(name)
    elif op == "rollback":
        conn.change_rollback(name)
    else:
        raise ValueError(f"unknown op {op}")
    return {"ok": True, "seconds": time.perf_counter() - started}


def child(req: dict) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        outcome = run(req)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        outcome = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
    # written atomically: a kill while it is being written must not leave half an outcome
    tmp = req["out"] + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(outcome, handle)
    os.replace(tmp, req["out"])
    os._exit(0)


def main() -> int:
    sys.path.insert(0, ROOT)
    # everything the operations need, imported once (no thread is started by importing)
    import dns.message  # noqa: F401
    import dns.query  # noqa: F401
    import pyroute2  # noqa: F401

    import netupdate.check.semantic  # noqa: F401
    import netupdate.edit.engine  # noqa: F401
    import netupdate.live.embedded.connection  # noqa: F401
    import netupdate.live.embedded.runtime.driver  # noqa: F401
    import netupdate.live.txn  # noqa: F401
    import netupdate.model.defs  # noqa: F401
    import netupdate.planning.differ  # noqa: F401
    import netupdate.planning.planner  # noqa: F401
    import netupdate.render.dnsmasq  # noqa: F401
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(req)
        print(json.dumps({"pid": pid}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
