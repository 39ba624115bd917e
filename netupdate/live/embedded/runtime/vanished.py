"""Networks whose namespace vanished (``ip netns del`` behind netupdate's back).

Nothing can be applied there any more: a live change is refused before it writes a journal
(``live_preflight``), and ``recover``, ``undefine`` and ``stop`` clear the runtime record
(``clear``: the dnsmasq that kept the namespace alive is stopped, the network's files and its
forwarding ledger entry go) and say so (``note``).  ``running`` tells whether anything of a
recorded network is still there; ``list`` and ``status`` report such a network as
``vanished``.
"""

from __future__ import annotations

from netupdate.errors import StateError
from netupdate.live.embedded.runtime import netns as NS


def gone(record: dict | None) -> bool:
    """Whether ``record`` names a namespace that no longer exists."""
    return record is not None and not NS.exists(record.get("netns"))


def note(name: str, record: dict) -> str:
    return (f"namespace {record.get('netns')} is gone: cleared the runtime record of network "
            f"'{name}' (it no longer runs)")


def status_problem(record: dict) -> str:
    """What ``list`` and ``status`` say of a network whose namespace is gone (state
    ``vanished``)."""
    return (f"namespace {record.get('netns')} is gone: the network no longer runs; clear its "
            "record with 'netupdate recover'")


def running(record: dict) -> bool:
    """Whether anything of a recorded network still runs (its bridge, or its dnsmasq)."""
    from netupdate.live.embedded.runtime import dnsmasqd
    if gone(record):
        return False
    dq = record.get("dnsmasq") or {}
    if dq and dnsmasqd.alive(dq.get("pid"), dq.get("conf")):
        return True
    bridge = (record.get("bridge") or {}).get("name")
    return bool(bridge) and NS.link_index(record.get("netns"), bridge) is not None


def stopped_note(name: str, record: dict) -> str:
    """What ``recover`` says after clearing a network that no longer ran."""
    return note(name, record) if gone(record) else \
        "cleaned up a network that was no longer running"


def refuse(name: str, record: dict | None) -> None:
    """Refuse a live change of a network whose namespace is gone (nothing changed yet)."""
    if gone(record):
        raise StateError(f"network '{name}': namespace {record.get('netns')} is gone; nothing "
                         f"was changed (clear its record with 'netupdate recover' or "
                         f"'netupdate stop {name}')")


def live_preflight(what: str, name: str, record: dict | None) -> None:
    """Before a live change: privileges, and a namespace that still exists."""
    NS.require_privileges(what)
    refuse(name, record)


def clear(conn, name: str) -> list[str]:
    """Under the network's lock: clear the record of a network whose namespace is gone; the
    note saying so, or nothing."""
    record = conn.store.read_record(name)
    if not gone(record):
        return []
    conn._stop_locked(name, record)
    return [note(name, record)]
