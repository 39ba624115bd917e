"""What a namespace already holds, through netlink (pyroute2): its links, addresses and routes,
for the conflict pre-flight (``planning.conflicts``)."""

from __future__ import annotations


def _scoped(address: str) -> bool:
    """IPv6 link-local (fe80::/10) and multicast: per link, they collide with nothing."""
    return address.lower().startswith(("fe8", "fe9", "fea", "feb", "ff"))


def holdings(ipr) -> tuple[list, list, set]:
    """``(addresses, routes, links)``: ``[(ifname, "ip/prefix")]``, ``[(ifname, "dst/prefix")]``
    (main table; link-local and multicast left out) and the link names."""
    names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
    addresses = [(names.get(msg["index"]), f"{address}/{msg['prefixlen']}")
                 for msg in ipr.get_addr()
                 if (address := msg.get_attr("IFA_ADDRESS")) and not _scoped(address)]
    routes = []
    for family in (2, 10):
        for msg in ipr.route("dump", family=family, table=254):
            dst, oif = msg.get_attr("RTA_DST"), msg.get_attr("RTA_OIF")
            if dst and oif in names and not _scoped(dst):
                routes.append((names[oif], f"{dst}/{msg['dst_len']}"))
    return addresses, routes, set(names.values())
