"""Value types of the network format, and the converters that read them from attribute text.

Converters raise ``ValueError`` with a short reason; the model turns that into a located
``ModelError``.  Enum converters fail only for control characters (``textcheck``): an unknown
value stays a plain ``str`` so that it survives a round trip and validation can report it.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import uuid as _uuid

# the C module: ``socket`` itself builds enums of every constant at import (~7 ms of start-up)
from _socket import AF_INET, AF_INET6, inet_pton
from collections.abc import Callable

from netupdate.document.patterns import Pattern
from netupdate.errors import UnsupportedError
from netupdate.model.text import one_line

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Spelled(str):
    """A value kept as written that equals every other spelling of the same value: equality
    and hashing use ``normalized``."""

    __slots__ = ()

    @property
    def normalized(self) -> str:
        raise NotImplementedError

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                return self.normalized == type(self)(other).normalized
            except ValueError:
                return False
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        return hash((type(self).__name__, self.normalized))


class MAC(_Spelled):
    """A MAC address as written, equal to any other spelling of the same address."""

    __slots__ = ()
    _RE = Pattern(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")

    def __new__(cls, value: str):
        if not cls._RE.match(value):
            raise ValueError(f"invalid MAC address {value!r}")
        return super().__new__(cls, value)

    @property
    def normalized(self) -> str:
        return mac_normalized(self)

    @property
    def is_multicast(self) -> bool:
        return bool(int(self.split(":")[0], 16) & 1)


def mac_normalized(raw: str) -> str:
    """The lower-case two-digit spelling of a valid MAC address ``raw`` (a ``MAC``'s text)."""
    if len(raw) == 17:   # every octet has two digits: only the case can differ (most MACs)
        return str.lower(raw)
    return ":".join(f"{int(part, 16):02x}" for part in raw.split(":"))


class DUID(_Spelled):
    """A DHCPv6 client id (hex octets separated by ':'), equal to other spellings of it."""

    __slots__ = ()
    _RE = Pattern(r"^[0-9a-fA-F:]+$")

    def __new__(cls, value: str):
        if not cls._RE.match(value) or not value.strip(":"):
            bad = next((c for c in value if not (c in ":" or c in "0123456789abcdefABCDEF")),
                       None)
            raise ValueError(f"invalid character {bad!r} in id {value!r}" if bad
                             else f"invalid id {value!r}")
        return super().__new__(cls, value)

    @property
    def normalized(self) -> str:
        return ":".join(f"{int(part or '0', 16):x}" for part in self.split(":"))


class ForwardMode(enum.StrEnum):
    NAT = "nat"
    ROUTE = "route"
    OPEN = "open"
    BRIDGE = "bridge"
    PASSTHROUGH = "passthrough"
    PRIVATE = "private"
    VEPA = "vepa"
    HOSTDEV = "hostdev"


# Forward-mode groups, as libvirt's switches over virNetworkForwardType draw them (network_conf.c
# virNetworkDefParseXML, bridge_driver.c).  ``None`` stands for an isolated network (no
# <forward>); an unknown mode (a plain str) is in no group.
_F = ForwardMode
# libvirt creates the bridge, owns its addresses and runs dnsmasq (isolated, nat, route, open)
MANAGED_MODES = frozenset({None, _F.NAT, _F.ROUTE, _F.OPEN})
# libvirt's L3 forwarding modes: they need an <ip>, take at most one forward interface, and
# turn on the host's IP forwarding
L3_MODES = frozenset({_F.NAT, _F.ROUTE, _F.OPEN})
# the firewall lets the subnets out through the uplink (nat masquerades, route forwards), so
# its rules name the subnets and the outgoing device; an open network has no rules at all, an
# isolated one rules on the bridge only.  Not L3_MODES: open is L3 but has no firewall.
UPLINK_MODES = frozenset({_F.NAT, _F.ROUTE})
# guests attach directly to a host device (macvtap or SR-IOV): no bridge at all
DIRECT_MODES = frozenset({_F.PRIVATE, _F.VEPA, _F.PASSTHROUGH, _F.HOSTDEV})
# the network is an existing host device (a bridge, or DIRECT_MODES): libvirt gives it no
# address, DHCP or DNS of its own
DEVICE_MODES = frozenset({_F.BRIDGE}) | DIRECT_MODES
# transparent VLAN tagging without an Open vSwitch virtualport (SR-IOV)
VLAN_MODES = frozenset({_F.HOSTDEV, _F.PASSTHROUGH})


def mode_group(mode) -> str:
    """The forward-mode group as libvirt's drivers split them: routed (MANAGED_MODES: a bridge,
    addresses and dnsmasq of the network's own), device (a host bridge or macvtap pool) or
    hostdev (SR-IOV): a change between groups is the only one that restarts a network."""
    if mode in MANAGED_MODES:
        return "routed"
    return "hostdev" if mode == _F.HOSTDEV else "device"


class MacTableManager(enum.StrEnum):
    KERNEL = "kernel"
    LIBVIRT = "libvirt"


class VirtualPortType(enum.StrEnum):
    QBG = "802.1Qbg"
    QBH = "802.1Qbh"
    OPENVSWITCH = "openvswitch"
    MIDONET = "midonet"


class DriverName(enum.StrEnum):
    KVM = "kvm"
    VFIO = "vfio"


class LeaseUnit(enum.StrEnum):
    SECONDS = "seconds"
    MINUTES = "minutes"
    HOURS = "hours"


class Family(enum.StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class SrvProtocol(enum.StrEnum):
    TCP = "tcp"
    UDP = "udp"


class NativeMode(enum.StrEnum):
    TAGGED = "tagged"
    UNTAGGED = "untagged"


class AddressType(enum.StrEnum):
    PCI = "pci"


LEASE_SECONDS = {LeaseUnit.SECONDS: 1, LeaseUnit.MINUTES: 60, LeaseUnit.HOURS: 3600}


# ---------------------------------------------------------------------- limits
# An interface name has at most IFNAMSIZ - 1 = 15 BYTES (the kernel's dev_valid_name, and
# libvirt's virStrcpyStatic into ifr_name[IFNAMSIZ]: "Network interface name '%s' is too long").
IFNAME_MAX_BYTES = 15
# libvirt's DHCP limits (network_conf.c): a lease shorter than 2 minutes ("The minimum lease time
# should be greater than 2 minutes"; 0 = infinite) and a range of more than 65535 addresses
# ("range ... is too large") are refused.
MIN_LEASE_SECONDS = 120
MAX_DHCP_RANGE_SIZE = 65535


def ifname_bytes(name: str) -> int:
    """The length of an interface name as the kernel counts it (UTF-8 bytes)."""
    return len(name.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------- update commands
class Command(enum.StrEnum):
    """An update command, spelled as virsh spells virNetworkUpdateCommand."""

    MODIFY = "modify"
    DELETE = "delete"
    ADD_LAST = "add-last"
    ADD_FIRST = "add-first"

    @property
    def code(self) -> int:
        """libvirt's ``VIR_NETWORK_UPDATE_COMMAND_*`` value."""
        return _CODE_OF[self]

    @classmethod
    def of(cls, command) -> Command:
        """The command named by ``command``: a name or alias (case and ``_`` vs ``-`` do not
        matter) or libvirt's code (``4`` or ``"4"``).  Unknown: ``UnsupportedError``."""
        if isinstance(command, int) and not isinstance(command, bool):
            if command in COMMAND_CODES:
                return COMMAND_CODES[command]
            raise UnsupportedError(f"unrecognized network update command code {command}")
        if isinstance(command, str):
            text = command.strip()
            if text.isascii() and text.isdigit():
                return cls.of(int(text))
            text = text.lower().replace("_", "-")
            found = COMMAND_ALIASES.get(text) or cls._value2member_map_.get(text)
            if found is not None:
                return found
        raise UnsupportedError(f"unrecognized command name {command!r} "
                               "(expected add, add-first, add-last, modify or delete)")


# libvirt's VIR_NETWORK_UPDATE_COMMAND_* values (include/libvirt/libvirt-network.h)
COMMAND_CODES = {1: Command.MODIFY, 2: Command.DELETE, 3: Command.ADD_LAST, 4: Command.ADD_FIRST}
_CODE_OF = {command: code for code, command in COMMAND_CODES.items()}
# Other spellings, the same in both backends: virsh's "add" (= add-last, virsh-network.c), and
# "append" / "prepend" (netupdate's, read as add-last / add-first).
COMMAND_ALIASES = {"add": Command.ADD_LAST, "append": Command.ADD_LAST,
                   "prepend": Command.ADD_FIRST}
ADD_COMMANDS = frozenset({Command.ADD_FIRST, Command.ADD_LAST})


# ---------------------------------------------------------------------- converters
Converter = Callable[[str], object]


def enum_of(kind: type[enum.StrEnum]) -> Converter:
    def convert(value: str):
        try:
            return kind(value)
        except ValueError:
            return one_line(value)
    convert.enum = kind  # type: ignore[attr-defined]
    return convert


def _bool_of(true: str, false: str) -> Converter:
    def convert(value: str):
        return {true: True, false: False}.get(value) if value in (true, false) \
            else one_line(value)
    convert.choices = (true, false)  # type: ignore[attr-defined]
    return convert


yesno = _bool_of("yes", "no")
onoff = _bool_of("on", "off")


def uint(low: int = 0, high: int | None = None, *, hex_ok: bool = False) -> Converter:
    """An unsigned integer in [low, high]; ``hex_ok`` also takes ``0x``-prefixed values."""
    def convert(value: str) -> int:
        stripped = value.strip()
        try:
            if hex_ok and stripped.lower().startswith("0x"):
                number = int(stripped, 16)
            elif stripped.isdigit():
                number = int(stripped, 10)
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"expected an unsigned integer, got {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            raise ValueError(f"{number} is out of range ({bound})")
        return number
    return convert


def parse_ip(value: str) -> IPAddress:
    """``ipaddress.ip_address`` (same results, same ValueError), several times faster for the
    plain forms through ``inet_pton`` (a network may hold 100,000 host addresses)."""
    text = value.strip()
    try:
        if ":" in text:
            return ipaddress.IPv6Address(inet_pton(AF_INET6, text))
        return ipaddress.IPv4Address(inet_pton(AF_INET, text))
    except (OSError, ValueError):
        return ipaddress.ip_address(text)


def ip_address(value: str) -> IPAddress:
    try:
        return parse_ip(value)
    except ValueError:
        raise ValueError(f"invalid IP address {value!r}") from None


def ipv4_address(value: str) -> ipaddress.IPv4Address:
    address = ip_address(value)
    if address.version != 4:
        raise ValueError(f"expected an IPv4 address, got {value!r}")
    return address


def mac(value: str) -> MAC:
    return MAC(value)


def duid(value: str) -> DUID:
    return DUID(value)


def uuid(value: str) -> _uuid.UUID:
    compact = value.strip().replace("-", "")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", compact):
        raise ValueError(f"invalid UUID {value!r}")
    return _uuid.UUID(compact)


def netmask_prefix(value: str) -> int:
    """The prefix length of a dotted IPv4 netmask (``255.255.255.0`` -> 24)."""
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{value.strip()}").prefixlen
    except ValueError:
        raise ValueError(f"invalid netmask {value!r}") from None
