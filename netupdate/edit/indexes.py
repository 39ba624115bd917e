"""The indexes an edit keeps across updates (in ``Network._indexes``): the ``<host>`` children
of each ``<dhcp>`` by key and position (``HostIndex``), and the addresses of the DNS hosts
(``DnsIpIndex``), so that an update costs the same with ten hosts or ten thousand.

This module does no I/O.
"""

from __future__ import annotations

import bisect
import functools

from netupdate.document.bulk import bulk
from netupdate.model import defs as M
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections.ip_dhcp_host import norm_ip


@functools.lru_cache(maxsize=65536)
def ip_key(value: str) -> str:
    """A canonical spelling of an address (its text when it is not one): compares at C speed,
    for scans over every record of a large network."""
    return str(norm_ip(value))


# ====================================================================== DHCP host index
class Stale(Exception):
    """An index entry no longer describes the tree: rebuild and retry."""


class HostIndex:
    """The ``<host>`` children of one ``<dhcp>``: by normalised MAC, name, IP and id, and their
    document order (sortable order keys, so a host's position is a bisect away)."""

    __slots__ = ("dhcp", "by", "order", "keys", "elements", "values")
    KIND = "dhcp-hosts"   # ``Network._indexes[KIND, dhcp]``

    def __init__(self, dhcp, known=None):
        """``known``: the typed ``DhcpHost`` definitions of ``dhcp``'s hosts in document order
        when they describe the tree as it is (``Network.defs``): their addresses are already
        parsed."""
        self.dhcp = dhcp
        self.by: dict[str, dict[object, list]] = {kind: {} for kind in HOST.KEYS}
        self.order: dict[object, int] = {}
        self.keys: list[int] = []
        self.elements: dict[int, object] = {}
        self.values: dict[object, dict[str, object]] = {}
        with bulk():
            self._index(dhcp, iter(known or ()))

    def _index(self, dhcp, known) -> None:
        for number, host in enumerate(dhcp.iterchildren("host")):
            self.order[host] = number
            self.keys.append(number)
            self.elements[number] = host
            values = self.values[host] = HOST.key_of(host, next(known, None))
            for kind, value in values.items():
                self.by[kind].setdefault(value, []).append(host)

    # -------------------------------------------------------------- validity
    def plausible(self) -> bool:
        """Cheap checks that the tree was not edited behind the index's back at either end."""
        dhcp = self.dhcp
        if not self.keys:
            return next(dhcp.iterchildren("host"), None) is None
        first, last = self.elements[self.keys[0]], self.elements[self.keys[-1]]
        return (first.getparent() is dhcp and last.getparent() is dhcp
                and next(first.itersiblings("host", preceding=True), None) is None
                and next(last.itersiblings("host"), None) is None)

    def lookup(self, kind: str, value) -> list:
        found = self.by[kind].get(value)
        if not found:
            return []
        for host in found:
            raw = host.get(kind)
            if host.getparent() is not self.dhcp or raw is None \
                    or HOST.NORMALIZE[kind](raw) != value:
                raise Stale
        return found

    # -------------------------------------------------------------- queries
    @property
    def count(self) -> int:
        return len(self.keys)

    def first(self):
        return self.elements[self.keys[0]] if self.keys else None

    def last(self):
        return self.elements[self.keys[-1]] if self.keys else None

    def position(self, host) -> int:
        """1-based position of ``host`` among the ``<host>`` children."""
        return bisect.bisect_left(self.keys, self.order[host]) + 1

    def earliest(self, hosts):
        return min(hosts, key=self.order.__getitem__) if hosts else None

    # -------------------------------------------------------------- maintenance
    def _link(self, host, values, at_front: bool) -> None:
        for kind, value in values.items():
            bucket = self.by[kind].setdefault(value, [])
            if at_front:
                bucket.insert(0, host)
            else:
                orders = [self.order[h] for h in bucket]
                bucket.insert(bisect.bisect(orders, self.order[host]), host)

    def _unlink(self, host) -> None:
        for kind, value in self.values.pop(host).items():
            bucket = self.by[kind].get(value)
            if bucket is not None:
                try:
                    bucket.remove(host)
                except ValueError:
                    pass
                if not bucket:
                    del self.by[kind][value]

    def added(self, host, first: bool, values: dict | None = None) -> None:
        if not self.keys:
            key = 0
            self.keys.append(key)
        elif first:
            key = self.keys[0] - 1
            self.keys.insert(0, key)
        else:
            key = self.keys[-1] + 1
            self.keys.append(key)
        self.order[host] = key
        self.elements[key] = host
        values = self.values[host] = HOST.key_of(host) if values is None else dict(values)
        self._link(host, values, at_front=first)

    def replaced(self, old, new, values: dict | None = None) -> None:
        key = self.order.pop(old)
        self._unlink(old)
        self.order[new] = key
        self.elements[key] = new
        values = self.values[new] = HOST.key_of(new) if values is None else dict(values)
        self._link(new, values, at_front=False)

    def removed(self, host) -> None:
        key = self.order.pop(host)
        self._unlink(host)
        del self.keys[bisect.bisect_left(self.keys, key)]
        del self.elements[key]


# ====================================================================== DNS host index
class DnsIpIndex:
    """How many ``<host>`` children of one ``<dns>`` carry each address (canonical spelling),
    so that adding a DNS host does not scan them all.  It is kept across an edit only when that
    edit was a DNS host add through the section handler, which updates it (``Edit.done``
    drops it otherwise); ``stamp`` guards against edits made behind the engine's back at
    either end of the list.  ``hosts`` is how many there are (the position of the last)."""

    __slots__ = ("dns", "count", "stamp", "hosts")

    def __init__(self, dns):
        self.dns = dns
        self.count: dict[str, int] = {}
        self.hosts = 0
        for host in dns.iterchildren("host"):
            self.add(host)
        self.stamp = self.current_stamp()

    def current_stamp(self) -> tuple:
        """The first and last children (``len`` would walk them all: ~0.1 ms for 1,000)."""
        return next(self.dns.iterchildren(), None), next(self.dns.iterchildren(reversed=True),
                                                         None)

    def add(self, host) -> None:
        key = ip_key(host.get("ip", ""))
        self.count[key] = self.count.get(key, 0) + 1
        self.hosts += 1

    def last_path(self, host, parent_path: str) -> str | None:
        """The XPath of ``host`` when it is the last ``<host>`` (an added one, most often)
        and the index still holds, else None (``Edit.path`` numbers it the long way)."""
        if self.stamp != self.current_stamp() or next(host.itersiblings("host"), None) \
                is not None:
            return None
        return f"{parent_path}/host" if self.hosts == 1 else f"{parent_path}/host[{self.hosts}]"

    @classmethod
    def of(cls, network: M.Network, dns) -> DnsIpIndex:
        index = network._indexes.get(("dns-hosts", dns))
        if index is None or index.stamp != index.current_stamp():
            index = network._indexes[("dns-hosts", dns)] = cls(dns)
        return index


def index_all(network: M.Network) -> None:
    """Build the host indexes of every ``<dhcp>`` and ``<dns>`` of ``network`` now: a command
    server reads definitions ahead (live/embedded/cache.py), and the first update in each of
    its children then finds them built."""
    for dhcp in network.root.iterfind("ip/dhcp"):
        network._indexes[HostIndex.KIND, dhcp] = HostIndex(dhcp)
    for dns in network.root.iterfind("dns"):
        DnsIpIndex.of(network, dns)
