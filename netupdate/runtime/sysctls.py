"""The forwarding sysctls of a network namespace, shared by the networks running in it.

A network in a forwarding mode (nat, route, open) needs ``net.ipv4.ip_forward``, and
``net.ipv6.conf.all.forwarding`` too while it has an IPv6 address.  The namespace's ledger
(``Store.namespace_sysctls``) keeps what each setting was before netupdate changed it, and which
network needs which settings; a setting no running network needs any more is put back.
"""

from __future__ import annotations

from netupdate import types as T
from netupdate.runtime import netns as NS

FORWARDING_KEYS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding")


def forwarding_keys(defs) -> list[str]:
    """The settings the network ``defs`` needs (none when it does not forward)."""
    if defs.forward_mode not in T.L3_MODES:
        return []
    return list(FORWARDING_KEYS[:2 if defs.ips_of(6) else 1])


def forwarding(store, record: dict, keys: list[str]) -> None:
    """Set the namespace's forwarding sysctls for the network of ``record`` needing ``keys``
    (none: it stopped, or stopped forwarding), and put back those no network needs any more."""
    name, netns = record["name"], record.get("netns")
    with store.namespace_sysctls(netns) as ledger:
        needs = ledger.setdefault("needs", {})
        if name in ledger["users"]:
            ledger["users"].remove(name)
        needs.pop(name, None)
        if keys:
            ledger["users"].append(name)
            needs[name] = list(keys)
        record["sysctls"] = bool(keys)
        for key in keys:
            previous = NS.call(netns, NS.sysctl, key, "1")
            if previous != "1":
                ledger["previous"].setdefault(key, previous)
        wanted = set()
        for user in ledger["users"]:  # a ledger written before "needs": every setting
            wanted.update(needs.get(user, FORWARDING_KEYS))
        for key, previous in list(ledger["previous"].items()):
            if key not in wanted:
                NS.call(netns, NS.sysctl, key, previous)
                del ledger["previous"][key]
        if not ledger["users"]:
            del ledger["needs"]


def follow(store, record: dict, before, after) -> bool:
    """After a live change from ``before`` to ``after``: switch the settings an address family
    that came or went needs; returns whether anything changed."""
    keys = forwarding_keys(after)
    if keys == forwarding_keys(before):
        return False
    forwarding(store, record, keys)
    return True

