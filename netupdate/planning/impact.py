"""What a plan does to the guests of a running network (issue 16), pure: given the plan's
action kinds and the facts of the running network (its attached bridge ports, its current
leases, how long dnsmasq's last restart kept it silent), one ``Effect`` per disruptive action,
naming the ports and leases it touches and how.  A plan that touches nobody has one effect,
"none".

The same function words the plan before it runs (``done=False``: "would ...") and the report
after it ran (``done=True``, with what was measured on the way).
"""

from __future__ import annotations

from dataclasses import dataclass

# the action kinds that touch guests (the others change nothing a guest sees)
DISRUPTIVE = ("network-restart", "dnsmasq-restart", "bridge-stp", "bridge-delay",
              "bridge-mtu", "address-remove", "firewall-reload")


@dataclass(frozen=True)
class Facts:
    """What runs: the interfaces attached to the bridge, the leased IPs, dnsmasq's silence
    at its last restart (milliseconds, None: never measured), and the forward delay (s) and
    STP the bridge will have."""
    ports: tuple[str, ...] = ()
    leases: tuple[str, ...] = ()
    restart_ms: int | None = None
    stp: bool = False
    delay: int = 0


@dataclass(frozen=True)
class Effect:
    kind: str
    text: str
    ports: tuple[str, ...] = ()
    leases: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"kind": self.kind, "text": self.text, "ports": list(self.ports),
                "leases": list(self.leases)}


def _names(items: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _restart(facts: Facts, done: bool) -> Effect:
    ports, leases = facts.ports, facts.leases
    text = f"network restart: {_count(len(ports), 'attached interface')} " + \
        ("lost their link" if done else "lose their link")
    if ports:
        text += f" ({_names(ports)}) and " + ("were" if done else "are") + \
            " not re-attached to the new bridge"
    text += f"; {_count(len(leases), 'current lease')} " + ("were" if done else "are") + \
        " forgotten (the lease file goes with the network)"
    return Effect("network-restart", text, ports, leases)


def _dnsmasq(facts: Facts, done: bool, measured: int | None) -> Effect:
    if done and measured is not None:
        how = f"for {measured} ms"
    elif facts.restart_ms is not None:
        how = f"for about {facts.restart_ms} ms, as measured at this network's last restart"
    else:
        how = "while it restarts (not measured on this network yet)"
    text = f"dnsmasq restart: DHCP and DNS {'were' if done else 'are'} unavailable {how}; " \
           f"{_count(len(facts.leases), 'lease')} kept"
    return Effect("dnsmasq-restart", text, (), facts.leases)


def _bridge(kind: str, facts: Facts, done: bool) -> Effect:
    ports = facts.ports
    if kind in ("bridge-stp", "bridge-delay") and facts.stp and ports:
        text = f"{kind}: {_count(len(ports), 'attached interface')} " \
               f"({_names(ports)}) {'went' if done else 'go'} through STP listening and " \
               f"learning: up to {2 * facts.delay} s without forwarding"
    elif kind == "bridge-mtu":
        text = f"bridge-mtu: the bridge's MTU changes; {_count(len(ports), 'attached interface')}" \
               " keep their own MTU"
    elif kind == "address-remove":
        text = f"address-remove: guests on the removed subnet lose their gateway " \
               f"({_count(len(facts.leases), 'current lease')} on this network)"
        return Effect(kind, text, (), facts.leases)
    elif kind == "firewall-reload":
        text = "firewall-reload: rules replaced atomically; established connections stay"
        return Effect(kind, text)
    else:
        text = f"{kind}: no interruption for the {_count(len(ports), 'attached interface')}"
    return Effect(kind, text, ports if facts.stp else ())


def effects(kinds, facts: Facts, *, done: bool = False,
            measured_ms: int | None = None) -> list[Effect]:
    """The effects of a plan with action ``kinds`` on the guests ``facts`` describes."""
    kinds = tuple(kinds)
    if "network-restart" in kinds:   # it supersedes everything else
        return [_restart(facts, done)]
    out = []
    for kind in DISRUPTIVE:
        if kind not in kinds:
            continue
        out.append(_dnsmasq(facts, done, measured_ms) if kind == "dnsmasq-restart"
                   else _bridge(kind, facts, done))
    return out or [Effect("none", "none: no attached interface or lease is affected")]


def needs_facts(kinds) -> bool:
    """Whether the plan touches anything that the facts would name (else no need to look)."""
    return any(kind in DISRUPTIVE for kind in kinds)
