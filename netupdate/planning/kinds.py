"""The live action kinds a plan is made of: their order, what supersedes what, and what each
does (``netupdate diff`` and ``docs/plan.md`` explain them with ``KIND_HELP``)."""

from __future__ import annotations

NETWORK_RESTART = "network-restart"
KIND_ORDER = (
    NETWORK_RESTART,
    "route-remove", "address-remove", "bridge-ipv6",
    "bridge-stp", "bridge-delay", "bridge-mtu", "bridge-mac", "bridge-mac-table",
    "bridge-bandwidth", "bridge-port-isolated",
    "address-add", "route-add",
    "firewall-reload", "device-pool",
    "dnsmasq-restart", "dnsmasq-sighup",
    "dnsmasq-none", "none",
)
KINDS = frozenset(KIND_ORDER)
NOOP_KINDS = frozenset({"dnsmasq-none", "none"})
# kind -> the kinds it makes unnecessary (network-restart supersedes everything).
SUPERSEDES = {
    "dnsmasq-restart": ("dnsmasq-sighup", "dnsmasq-none"),
    "dnsmasq-sighup": ("dnsmasq-none",),
}
KIND_HELP = {
    NETWORK_RESTART: "stop and start the whole network (guests lose connectivity meanwhile; their "
                     "ports are re-attached to the new bridge)",
    "route-remove": "delete a static route",
    "address-remove": "delete an address from the bridge",
    "bridge-ipv6": "set the bridge's IPv6 sysctls (disable_ipv6 as the definition has IPv6 "
                   "or not; accept_ra, autoconf 0), as libvirt's networkSetIPv6Sysctls",
    "bridge-stp": "switch STP on the running bridge (netlink)",
    "bridge-delay": "set the bridge forward delay (netlink)",
    "bridge-mtu": "set the bridge MTU (netlink)",
    "bridge-mac": "set the bridge MAC address (netlink)",
    "bridge-mac-table": "switch VLAN filtering on the bridge and learning/flooding on its ports "
                        "(netlink)",
    "bridge-bandwidth": "replace the bridge's QoS (tc through netlink: htb, sfq, ingress "
                        "policing, as libvirt sets it)",
    "bridge-port-isolated": "switch isolation on every attached port (netlink)",
    "address-add": "add an address to the bridge",
    "route-add": "add a static route",
    "device-pool": "re-read the network's host devices (host bridge, interfaces, PCI functions) "
                   "from the definition, check they exist, record them",
    "firewall-reload": "replace the network's firewall rules atomically",
    "dnsmasq-restart": "restart dnsmasq with a regenerated conf file",
    "dnsmasq-sighup": "SIGHUP dnsmasq: it re-reads its host files and clears its DNS cache",
    "dnsmasq-none": "nothing: dnsmasq picks the change up by itself (inotify)",
    "none": "nothing to do on the running network",
}
# what an action of the kind always does besides its rows' reasons (appended to the reason)
NOTES = {NETWORK_RESTART: "; the bridge's ports (the guests) are recorded first and re-attached "
                          "to the new bridge with their settings (isolated, learning, ...)"}
