"""Whether a client's command would run in a server's child as it would in the client.

A child of the server inherits the server's credentials and kernel context, not the client's:
a command must not gain a capability, a group, a namespace, a root directory, a cgroup (where
the dnsmasq it starts would live) or a resource limit by being handed over.  ``difference``
names the first thing that is not the same, or returns None.
"""

from __future__ import annotations

import os

NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
STATUS_FIELDS = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                 "NoNewPrivs", "Seccomp")


def context(pid: int | str) -> dict[str, object]:
    """What decides how a command of process ``pid`` runs (beside its environment, directory
    and umask, which the client sends)."""
    base = f"/proc/{pid}"
    found: dict[str, object] = {}
    with open(f"{base}/status", encoding="utf-8") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in STATUS_FIELDS:
                found[name] = value.split()
    for name in ("cgroup", "limits"):
        with open(f"{base}/{name}", encoding="utf-8") as text:
            found[name] = text.read()
    for name in NAMESPACES:
        try:
            st = os.stat(f"{base}/ns/{name}")
        except FileNotFoundError:   # a kernel without this namespace kind
            continue
        found[f"{name} namespace"] = (st.st_dev, st.st_ino)
    root = os.stat(f"{base}/root")
    found["root directory"] = (root.st_dev, root.st_ino)
    return found


def difference(own: dict[str, object], pid: int) -> str | None:
    """The first thing in which process ``pid`` differs from ``own`` (a ``context``), or None;
    a process that cannot be looked at differs."""
    try:
        theirs = context(pid)
    except OSError as exc:
        return f"cannot read /proc/{pid}: {exc.strerror}"
    for name in own.keys() | theirs.keys():
        if own.get(name) != theirs.get(name):
            return name
    return None
