"""DHCP leases and what a reservation change means for them (pure: text in, decisions out).

``parse(text)`` reads dnsmasq's lease file (``--dhcp-leasefile``): one IPv4 lease a line,
``EXPIRY MAC IP HOSTNAME CLIENT-ID`` (``*`` for none), and for DHCPv6 a ``duid SERVER-DUID`` line
followed by ``EXPIRY IAID IP HOSTNAME CLIENT-DUID`` lines.  ``EXPIRY`` is seconds since the epoch,
0 for a lease that never ends.  Lines that do not have this shape are skipped: the file is
dnsmasq's, and a damaged line must not stop the reading of the others.

A lease's status (``classify``):

* ``stale``: its holder is known to have left the network (probed absent);
* ``reserved``: a reservation (``<host>``) gives its IP to its holder;
* ``conflicting``: its IP is reserved for someone else;
* ``dynamic``: anything else.

``guard(before, after, leases, present, release_conflicting)`` says what a change of reservations
does to the leases: which to release at once (their holder left, or the caller asked for it),
which stay (their holder is still here: releasing would put two hosts on one IP), and which
make the change refused.  ``at_stake`` names the leases whose fate depends on presence, so only
those are probed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

RESERVED, DYNAMIC, CONFLICTING, STALE = "reserved", "dynamic", "conflicting", "stale"
STATUSES = (RESERVED, DYNAMIC, CONFLICTING, STALE)


@dataclass(frozen=True)
class Lease:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    mac: str | None            # IPv4: the client's MAC (lower case)
    expiry: int                # seconds since the epoch; 0: never
    hostname: str | None = None
    client_id: str | None = None   # IPv4 client id, or the DHCPv6 client DUID
    iaid: int | None = None        # DHCPv6

    @property
    def version(self) -> int:
        return self.ip.version

    def holder(self) -> str:
        """Who holds it, for messages: ``MAC 52:54:00:.. (web1)``."""
        who = f"MAC {self.mac}" if self.mac else f"DUID {self.client_id}"
        return who + (f" ({self.hostname})" if self.hostname else "")

    def until(self) -> str:
        return until(self.expiry)


def until(expiry: int) -> str:
    """``until 2026-12-02 09:41:07 UTC``, or ``never expires`` (expiry 0)."""
    if expiry == 0:
        return "never expires"
    import datetime
    when = datetime.datetime.fromtimestamp(expiry, datetime.UTC)
    return "until " + when.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Reservation:
    """The part of a ``<host>`` that decides whom a lease belongs to."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    mac: str | None = None
    id: str | None = None
    name: str | None = None

    def owns(self, lease: Lease) -> bool:
        """Whether ``lease``'s holder is the one this reservation is for."""
        if self.mac is not None:
            return lease.mac == self.mac
        if self.id is not None:
            return _hex(lease.client_id) == _hex(self.id)
        return self.name is not None and lease.hostname == self.name


def _hex(value: str | None) -> str | None:
    return None if value is None else ":".join(f"{int(p, 16):02x}" for p in value.split(":")
                                               if p)


def _field(text: str) -> str | None:
    return None if text == "*" else text


def _lease_line(parts: list[str], v6: bool) -> Lease | None:
    if len(parts) < 4 or not parts[0].isdigit():
        return None
    try:
        ip = ipaddress.ip_address(parts[2])
    except ValueError:
        return None
    client = _field(parts[4]) if len(parts) > 4 else None
    if ip.version == 6:
        if not v6 or not parts[1].isdigit():
            return None
        return Lease(ip, None, int(parts[0]), _field(parts[3]), client, int(parts[1]))
    mac = parts[1].lower()
    if mac.count(":") != 5:  # an infiniband or other hardware address: not a MAC
        return None
    return Lease(ip, mac, int(parts[0]), _field(parts[3]), client)


def parse(text: str) -> list[Lease]:
    """The leases of a dnsmasq lease file's text, in file order."""
    out, v6 = [], False
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["duid"]:
            v6 = True
            continue
        lease = _lease_line(parts, v6)
        if lease is not None:
            out.append(lease)
    return out


def reservations(defs) -> list[Reservation]:
    """The reservations with an IP of a ``NetworkDef`` (every ``<ip>``'s DHCP hosts)."""
    out = []
    for ip in defs.ips:
        for host in (ip.dhcp.hosts if ip.dhcp is not None else ()):
            if host.ip is not None:
                out.append(Reservation(
                    host.ip, host.mac.normalized if host.mac is not None else None,
                    str(host.id) if host.id is not None else None, host.name))
    return out


def reservation_for(ip, reserved: list[Reservation]) -> Reservation | None:
    return next((r for r in reserved if r.ip == ip), None)


def classify(lease: Lease, reserved: list[Reservation], present: bool | None = None) -> str:
    """The status of ``lease`` under ``reserved``; ``present`` False (probed absent) makes it
    stale whatever else holds."""
    if present is False:
        return STALE
    owner = reservation_for(lease.ip, reserved)
    if owner is None:
        return DYNAMIC
    return RESERVED if owner.owns(lease) else CONFLICTING


# ---------------------------------------------------------------------- a change's effect
@dataclass(frozen=True)
class Decision:
    lease: Lease
    action: str        # "release", "keep", "refuse"
    why: str

    def to_json(self) -> dict:
        return {"ip": str(self.lease.ip), "mac": self.lease.mac,
                "client_id": self.lease.client_id, "hostname": self.lease.hostname,
                "expiry": self.lease.expiry, "action": self.action, "why": self.why}

    def to_text(self) -> str:
        return f"lease {self.lease.ip} of {self.lease.holder()}: {self.action}: {self.why}"


def _lost(lease: Lease, before: list[Reservation], after: list[Reservation]) -> bool:
    """The lease was its holder's reservation before, and is not after (deleted, or its MAC
    or IP changed)."""
    return classify(lease, before) == RESERVED and classify(lease, after) != RESERVED


def _taken(lease: Lease, before: list[Reservation], after: list[Reservation]) -> bool:
    """The change reserves the lease's IP for someone else (new, or newly someone else)."""
    return classify(lease, after) == CONFLICTING and \
        reservation_for(lease.ip, before) != reservation_for(lease.ip, after)


def at_stake(before: list[Reservation], after: list[Reservation],
             leases: list[Lease]) -> list[Lease]:
    """The leases the change concerns: lost reservations and IPs taken from their holder."""
    return [lease for lease in leases if _lost(lease, before, after)
            or _taken(lease, before, after)]


def guard(before: list[Reservation], after: list[Reservation], leases: list[Lease],
          present: dict, *, release_conflicting: bool = False) -> list[Decision]:
    """What to do with each lease at stake; ``present`` maps a lease's IP to whether its holder
    is still on the network (a missing entry counts as present: never release blindly)."""
    out = []
    for lease in at_stake(before, after, leases):
        here = present.get(lease.ip, True)
        until = lease.until()
        if not here:
            out.append(Decision(lease, "release", "its holder has left the network"))
        elif _taken(lease, before, after):
            if release_conflicting:
                out.append(Decision(lease, "release", "--release-conflicting, although its "
                                    f"holder is still on the network ({until})"))
            else:
                out.append(Decision(lease, "refuse", f"{lease.ip} is leased {until} to "
                                    f"{lease.holder()}, which is still on the network"))
        else:
            out.append(Decision(lease, "keep", "its holder is still on the network and keeps "
                                "the address " + until + " (not released behind its back)"))
    return out
