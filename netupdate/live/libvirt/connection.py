"""libvirt backend: the same edits on libvirt-managed networks, local or remote.

``LibvirtConnection(uri)`` is a ``backend.Backend``: the verbs of the embedded ``Connection``
with the same signatures and result types (what libvirt cannot do, such as change
transactions, raises ``UnsupportedError``); it talks to libvirt only through the ``libvirt`` Python binding, so any libvirt URI
works (``qemu:///system``, ``test:///default``, ``qemu+ssh://host/system``, ...).

What goes where (docs/libvirt.md has the long version):

- An update of a section libvirt updates itself (``ip-dhcp-host``, ``ip-dhcp-range`` add/delete,
  ``forward-interface`` add/delete, ``portgroup``, ``dns-host``/``dns-txt``/``dns-srv``) is one
  ``virNetworkUpdate`` call with LIVE and/or CONFIG, after netupdate's own engine has checked the
  edit against both definitions (so both backends refuse the same edits).
- libvirt refuses the sections ``bridge``, ``domain``, ``ip``, ``forward``, ``forward-pf``, the
  command ``modify`` of ``ip-dhcp-range`` and ``forward-interface`` (every release) and of DNS
  records (releases before the 2024 work; tried first, then handled here), and any nodeSpec edit.
  For those netupdate computes the new definitions itself: the persistent one is defined with
  ``virNetworkDefineXML``; the live one is reached through ``virNetworkUpdate`` calls for the parts
  libvirt can update live, plus the plan's remaining actions when netupdate can do them (STP and
  forward delay of a local bridge through netlink), else the result says plainly that a restart
  is needed, and ``restart=True`` does it (destroy, define, create).

Live and persistent never diverge silently: the result reports, per side, what changed and what
is pending, and ``exit_code`` is non-zero while a requested live change is not in effect.

The ``libvirt`` module is imported lazily; without it ``LibvirtConnection`` raises a
``NetupdateError`` saying how to install it.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from netupdate import sections as S
from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    NetupdateError,
    NotFoundError,
    PermissionFailure,
    RuntimeFailure,
    StateError,
    UnsupportedError,
)
from netupdate.live.backend import (
    Backend,
    batch_edit,
    check_changes,
    check_policy,
    load_policy,
    read_fragment,
    refuse_invalid,
    skeleton,
    unsupported,
)
from netupdate.live.results import (
    APPLIED,
    CHANGED,
    EXIT_RESTART_NEEDED,  # noqa: F401  (re-exported: the exit code of a pending restart)
    NOT_REQUESTED,
    NOT_RUNNING,
    RESTART_NEEDED,
    RESTARTED,
    TRANSIENT,
    UNCHANGED,
    VIA_LIBVIRT,
    VIA_NETUPDATE,
    DiffResult,
    NetworkInfo,
    NetworkStatus,
    UpdateResult,
)
from netupdate.model.values import MANAGED_MODES, Command

INSTALL_HINT = ("the libvirt Python binding is not installed: pip install 'netupdate[libvirt]' "
                "(it needs libvirt's client library, e.g. apt-get install libvirt0 or "
                "libvirt-dev to build it)")

# ---------------------------------------------------------------------- libvirt's numbers
# virNetworkUpdateSection (include/libvirt/libvirt-network.h)
# (the registry: sections/, one module per section)
_CODED = tuple(s for s in S.SECTIONS if s.code is not None)
SECTION_CODES: dict[str, int] = {s.name: s.code for s in _CODED}
SECTION_NAMES = {code: name for name, code in SECTION_CODES.items()}
# virNetworkUpdateCommand (names, codes and aliases: ``types.Command``)
COMMAND_CODES: dict[str, int] = {command.value: command.code for command in Command}
# virNetworkUpdateFlags
AFFECT_CURRENT, AFFECT_LIVE, AFFECT_CONFIG = 0, 1, 2
XML_INACTIVE = 1  # VIR_NETWORK_XML_INACTIVE

# Sections virNetworkUpdate refuses whatever the command, in every release.
REFUSED_SECTIONS = frozenset(s.name for s in _CODED if not s.libvirt)
# Sections whose ``modify`` came with the 2024 upstream work: tried, and handled here when the
# daemon refuses it (libvirt 9.0 does).
NEWER_MODIFY_SECTIONS = frozenset(s.name for s in _CODED if "modify" in s.newer)
# Sections whose ``modify`` is refused in every release.
NO_MODIFY_SECTIONS = frozenset(s.name for s in _CODED if s.libvirt and "modify" not in s.libvirt
                               and s.name not in NEWER_MODIFY_SECTIONS)
# Sections libvirt updates live (the reconcile path turns changes of these into calls).
LIBVIRT_SECTIONS = frozenset(SECTION_CODES) - REFUSED_SECTIONS

# Plan actions netupdate performs itself on a libvirt network (local bridge only).
LOCAL_KINDS = frozenset({"bridge-stp", "bridge-delay"})
# Network-level fields nothing on a running network reads (libvirt 9.0 cannot set them live).
INFO_FIELDS = frozenset({"title", "description", "metadata", "connections"})

_libvirt_module = None


def _libvirt():
    """The ``libvirt`` module, imported on first use (its errors are not printed to stderr)."""
    global _libvirt_module
    if _libvirt_module is None:
        try:
            import libvirt
        except ImportError:
            raise NetupdateError(INSTALL_HINT) from None
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        _libvirt_module = libvirt
    return _libvirt_module


def available() -> bool:
    """Whether the libvirt binding can be imported."""
    try:
        _libvirt()
    except NetupdateError:
        return False
    return True


# ---------------------------------------------------------------------- names
def section_name(section: str | int | None) -> str | None:
    """A section name (``ip-dhcp-host``) from a name, a spelling variant or libvirt's code."""
    if section is None:
        return None
    if isinstance(section, int):
        if section not in SECTION_NAMES:
            raise UnsupportedError(f"unknown libvirt update section code {section}")
        return SECTION_NAMES[section]
    return str(section).strip().lower().replace("_", "-")


# a command (``add-last``) from a name, an alias or libvirt's code
command_name = Command.of


def libvirt_route(command: str, section: str | None, node_spec: str | None = None) -> str:
    """``"libvirt"`` when virNetworkUpdate does the edit, ``"try"`` when only newer libvirt
    releases do (netupdate takes over when the daemon refuses), ``"netupdate"`` when libvirt
    refuses it in every release."""
    if node_spec is not None or section not in SECTION_CODES or section in REFUSED_SECTIONS:
        return "netupdate"
    if command == "modify" and section in NO_MODIFY_SECTIONS:
        return "netupdate"
    if command == "modify" and section in NEWER_MODIFY_SECTIONS:
        return "try"
    return "libvirt"


def is_local_uri(uri: str) -> bool:
    """Whether ``uri`` names a daemon on this host (no host name in it)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.hostname not in (None, "", "localhost"):
        return False
    transport = parts.scheme.partition("+")[2]
    return transport in ("", "unix") or (transport in ("ssh", "libssh", "libssh2", "tcp", "tls")
                                         and parts.hostname == "localhost")


# ---------------------------------------------------------------------- errors
class LibvirtError(NetupdateError):
    """libvirt refused or failed an operation that has no more specific netupdate kind."""

    kind = "libvirt"


def _error(exc, context: str = "", *, update: bool = False) -> NetupdateError:
    """A netupdate error for a ``libvirt.libvirtError`` (``libvirt_code`` keeps libvirt's)."""
    lv = _libvirt()
    code = exc.get_error_code()
    message = exc.get_error_message() or str(exc)
    text = f"{context}: {message}" if context else message
    low = message.lower()
    cls: type[NetupdateError] = LibvirtError
    if code == lv.VIR_ERR_NO_NETWORK:
        cls = StateError
    elif code == lv.VIR_ERR_OPERATION_INVALID:
        if any(word in low for word in ("not running", "already running", "transient",
                                        "already active", "is active", "still in use")):
            cls = StateError
        elif "couldn't locate" in low or "couldn't find" in low or "no <ip>" in low:
            cls = NotFoundError
        elif "multiple" in low:
            cls = AmbiguousError
        elif "existing" in low or "already" in low:
            cls = DuplicateError
        else:
            cls = InvalidOperationError
    elif code in (lv.VIR_ERR_OPERATION_UNSUPPORTED, lv.VIR_ERR_NO_SUPPORT):
        cls = UnsupportedError
    elif code == lv.VIR_ERR_OPERATION_DENIED or code == getattr(lv, "VIR_ERR_ACCESS_DENIED", -1):
        cls = PermissionFailure
    elif update and code in (lv.VIR_ERR_XML_ERROR, lv.VIR_ERR_XML_DETAIL,
                             lv.VIR_ERR_CONFIG_UNSUPPORTED, lv.VIR_ERR_INVALID_ARG):
        cls = InvalidFragmentError
    elif update and code == lv.VIR_ERR_INTERNAL_ERROR:
        cls = InvalidOperationError
    error = cls(text)
    error.libvirt_code = code  # type: ignore[attr-defined]
    return error


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class Operation:
    """One ``virNetworkUpdate`` call."""

    command: str
    section: str
    xml: str
    parent_index: int = -1
    flags: int = AFFECT_LIVE

    def describe(self) -> str:
        where = f" (ip #{self.parent_index})" if self.parent_index >= 0 else ""
        return f"virNetworkUpdate {self.command} {self.section}{where}: {' '.join(self.xml.split())}"


# ---------------------------------------------------------------------- definitions
def _defs(xml):
    from netupdate.model.defs import load
    return load(xml).defs


def normalized(value):
    """The typed definition of ``value`` without what libvirt adds on its own, so that the live
    XML of a running network compares equal to the definition it was started from: usage
    counters (``connections``), the NAT port range 1024-65535 written into the live XML, the
    ``<interface>`` implied by ``<forward dev>``, and the device lists a PF expands into."""
    from netupdate.model.defs import NetworkDef
    from netupdate.sections import bridge as BRIDGE
    from netupdate.sections import forward as FORWARD
    defs = value if isinstance(value, NetworkDef) else _defs(value)
    return dataclasses.replace(defs, connections=None, bridge=BRIDGE.libvirt_normal(defs.bridge),
                               forward=FORWARD.libvirt_normal(defs.forward))


def _diff(before, after):
    from netupdate.planning.differ import diff
    return diff(normalized(before), normalized(after))


def _plan(before, after):
    from netupdate.planning.planner import plan
    return plan(normalized(before), normalized(after))


def _edit(xml: str, command: str, section: str | None, fragment: str | None, parent_index: int,
          node_spec: str | None):
    """(new XML, Change) of ``xml`` edited by netupdate's engine."""
    from netupdate.edit.engine import load
    document = load(xml)
    change = document.update(command, section, fragment, parent_index=parent_index,
                             node_spec=node_spec)
    return document.to_xml(), change


def _bridge_of(defs) -> str | None:
    return defs.bridge.name if defs.bridge is not None else None


def _mode_of(defs) -> str | None:
    mode = defs.forward_mode
    return None if mode is None else str(getattr(mode, "value", mode))


def _element_xml(element) -> str:
    """One element as a fragment for virNetworkUpdate (layout whitespace dropped)."""
    from lxml import etree
    copy = etree.fromstring(etree.tostring(element, with_tail=False))
    for node in copy.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.tostring(copy, encoding="unicode", with_tail=False)


# Where the items of each libvirt-updatable section live (per <ip>: DHCP hosts and ranges).
_PER_IP = {s.name: "/".join(s.tags[2:]) for s in _CODED if s.libvirt and s.tags[1] == "ip"}
_ITEM_PATHS = {s.name: "/".join(s.tags[1:]) for s in _CODED
               if s.libvirt and s.name not in _PER_IP}


def _items(root, section: str) -> Iterable[tuple[Any, Any, int]]:
    """(element, definition, parent ip index or -1) of each item of ``section`` in ``root``."""
    from netupdate.planning import differ as D
    cls = D.SECTION_CLASS[section]
    if section in _PER_IP:
        for index, ip in enumerate(root.findall("ip")):
            for element in ip.findall(_PER_IP[section]):
                yield element, cls.from_element(element), index
        return
    for element in root.findall(_ITEM_PATHS[section]):
        yield element, cls.from_element(element), -1


def _find(root, section: str, item) -> tuple[Any, int] | None:
    from netupdate.planning import differ as D
    for element, defn, index in _items(root, section):
        if D.same(defn, item):
            return element, index
    return None


def _ip_index(root, ip_element) -> int | None:
    """The index in ``root`` of the ``<ip>`` with the address and prefix of ``ip_element``."""
    from netupdate.model.defs import IpDef
    from netupdate.planning import differ as D
    wanted = D.key_of("ip", IpDef.from_element(ip_element))
    for index, ip in enumerate(root.findall("ip")):
        if D.key_of("ip", IpDef.from_element(ip)) == wanted:
            return index
    return None


def _delete_pattern(section: str, element) -> str:
    """The fragment that deletes exactly this item (libvirt's matching rules, spec §2)."""
    from lxml import etree
    if (pattern := S.hook(section, "delete_pattern")) is not None:
        return pattern(element)
    if S.hook(section, "KEY_IS_NAME"):   # keyed by name alone (dns-txt, portgroup)
        return etree.tostring(etree.Element(S.get(section).tag, name=element.get("name")),
                              encoding="unicode")
    if section == "forward-interface":
        return etree.tostring(etree.Element("interface", dev=element.get("dev")),
                              encoding="unicode")
    return _element_xml(element)


# ---------------------------------------------------------------------- live analysis
@dataclass
class _LiveWork:
    operations: list[Operation] = field(default_factory=list)
    mid_xml: str = ""                  # the live definition once the operations are made
    plan: Any = None                   # plan of the rest (mid -> target)
    local: list[Any] = field(default_factory=list)     # actions netupdate can do
    pending: list[Any] = field(default_factory=list)   # actions that need a restart
    notes: list[str] = field(default_factory=list)
    changes: Any = None                # ChangeSet live -> target

    @property
    def empty(self) -> bool:
        return not self.changes


def _operations(before_xml: str, after_xml: str, changes) -> tuple[list[Operation], str, list]:
    """``virNetworkUpdate`` calls (live) for the changes of sections libvirt updates, checked by
    running each through netupdate's engine on a copy of ``before_xml``; returns the calls, the
    definition they lead to and notes about changes left to the plan."""
    from netupdate.edit.engine import load  # editable: the calls are checked on a copy
    from netupdate.errors import NetupdateError as _Err
    from netupdate.planning.differ import ADDED, MODIFIED, REMOVED
    target = load(after_xml)
    current = load(before_xml)
    deletes: list[tuple[str, Any]] = []
    adds: list[tuple[str, Any]] = []
    for change in changes:
        if change.section not in LIBVIRT_SECTIONS:
            continue
        if change.op in (REMOVED, MODIFIED):
            deletes.append((change.section, change.before))
        if change.op in (ADDED, MODIFIED):
            adds.append((change.section, change.after))
    operations: list[Operation] = []
    notes: list[str] = []

    def run(op: Operation) -> bool:
        try:
            current.update(op.command, op.section, op.xml, parent_index=op.parent_index)
        except _Err as exc:
            notes.append(f"{op.describe()} cannot be made live ({exc}); left to the plan")
            return False
        operations.append(op)
        return True

    for section, item in deletes:
        found = _find(current.root, section, item)
        if found is None:
            continue
        element, index = found
        run(Operation("delete", section, _delete_pattern(section, element), index))
    for section, item in adds:
        found = _find(target.root, section, item)
        if found is None:
            continue
        element, index = found
        if index >= 0:
            index = _ip_index(current.root, element.getparent().getparent())
            if index is None:
                continue  # its <ip> is new: part of the ip change, which needs a restart
        run(Operation("add-last", section, _element_xml(element), index))
    return operations, current.to_xml(), notes


# ---------------------------------------------------------------------- the connection
class LibvirtConnection(Backend):
    """A libvirt connection with netupdate's verbs.

    ``netns`` names the network namespace the daemon's bridges live in (for the changes
    netupdate makes itself through netlink on a local daemon); ``readonly`` opens a read-only
    connection (``list``, ``dumpxml``, ``status``, ``diff`` only).
    """

    backend_name, world_module = "libvirt", "netupdate.live.libvirt.world"  # issue 16 verbs

    def __init__(self, uri: str | None = None, *, netns: str | None = None,
                 readonly: bool = False, policy=None):
        self.policy = load_policy(policy)
        lv = _libvirt()
        try:
            self._conn = lv.openReadOnly(uri) if readonly else lv.open(uri)
        except lv.libvirtError as exc:
            raise _error(exc, f"cannot connect to {uri or 'the default libvirt URI'}") from None
        self.uri = self._conn.getURI()
        self.netns = netns
        self.readonly = readonly
        try:
            self.driver = self._conn.getType()
        except lv.libvirtError:
            self.driver = ""
        # Persistent definitions defined here for networks whose driver cannot show them
        # (the test driver refuses VIR_NETWORK_XML_INACTIVE).
        self._persistent: dict[str, str] = {}

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except _libvirt().libvirtError:
                pass
            self._conn = None

    def __repr__(self) -> str:
        return f"<LibvirtConnection {self.uri!r}>"

    @property
    def is_test_driver(self) -> bool:
        return self.driver.upper() == "TEST" or self.uri.startswith("test:")

    @property
    def local(self) -> bool:
        """Whether the daemon's bridges are devices of this host (netns aside)."""
        return not self.is_test_driver and is_local_uri(self.uri)

    def _lookup(self, name: str):
        lv = _libvirt()
        try:
            return self._conn.networkLookupByName(name)
        except lv.libvirtError as exc:
            raise _error(exc, f"network {name!r} on {self.uri}") from None

    def _call(self, context: str, func, *args, update: bool = False):
        lv = _libvirt()
        try:
            return func(*args)
        except lv.libvirtError as exc:
            raise _error(exc, context, update=update) from None

    def _persistent_xml(self, net) -> tuple[str, bool]:
        """The persistent definition and whether it is exact (the test driver cannot show the
        persistent definition of a running network: its live one stands in)."""
        lv = _libvirt()
        try:
            return net.XMLDesc(XML_INACTIVE), True
        except lv.libvirtError as exc:
            if exc.get_error_code() not in (lv.VIR_ERR_INVALID_ARG, lv.VIR_ERR_NO_SUPPORT):
                raise _error(exc, f"network {net.name()!r}") from None
        if not net.isActive():
            return self._call(f"network {net.name()!r}", net.XMLDesc, 0), True
        cached = self._persistent.get(net.name())
        if cached is not None:
            return cached, True
        return self._call(f"network {net.name()!r}", net.XMLDesc, 0), False

    def _define(self, xml: str):
        net = self._call("cannot define the network", self._conn.networkDefineXML, xml)
        name = net.name()
        if net.isActive() and self._inactive_unsupported(net):
            self._persistent[name] = xml
        else:
            self._persistent.pop(name, None)
        return net

    def _inactive_unsupported(self, net) -> bool:
        lv = _libvirt()
        try:
            net.XMLDesc(XML_INACTIVE)
        except lv.libvirtError:
            return True
        return False

    def _info(self, net) -> dict:
        lv = _libvirt()
        try:
            bridge = net.bridgeName()
        except lv.libvirtError:
            bridge = None
        try:
            autostart = bool(net.autostart())
        except lv.libvirtError:
            autostart = False
        return dict(name=net.name(), uuid=net.UUIDString(), active=bool(net.isActive()),
                    persistent=bool(net.isPersistent()), autostart=autostart,
                    bridge=bridge or None)

    # ------------------------------------------------------------------ the verbs
    def list(self) -> list[NetworkInfo]:
        """Every network of the connection (active and inactive), by name."""
        nets = self._call("cannot list networks", self._conn.listAllNetworks, 0)
        return sorted((NetworkInfo(**self._info(net)) for net in nets), key=lambda i: i.name)

    def dumpxml(self, name: str, inactive: bool = False) -> str:
        """The live definition, or with ``inactive`` the persistent one."""
        net = self._lookup(name)
        if inactive:
            return self._persistent_xml(net)[0]
        return self._call(f"network {name!r}", net.XMLDesc, 0)

    def define(self, xml: str | bytes | os.PathLike, *, force: bool = False) -> str:
        """Define (or redefine) a persistent network; returns its name.  On a running network
        this changes the persistent config only (see ``status`` for the drift).  A redefinition
        that leaves out the uuid, MAC address or bridge name keeps the current ones.  A malformed
        definition raises ``XMLParseError`` (netupdate's parser reads it first);
        ``ConflictError`` for a MAC or IP another running network reserves (unless ``force``)."""
        from netupdate.live import identity
        from netupdate.live.libvirt.world import preflight_define
        from netupdate.model.defs import load
        network = preflight_define(self, xml, force)   # XMLParseError before libvirt sees it
        current = self._current(network.name)
        if self.policy is not None:
            check_policy(self.policy, current, network, None)
        if not identity.keep(network, load(current), []) and isinstance(xml, str) and \
                xml.lstrip().startswith("<"):
            return self._define(xml).name()
        return self._define(network.to_xml()).name()

    def set_autostart(self, name: str, enabled: bool = True, *,
                      netns: str | None = None) -> None:
        """libvirt's own autostart flag (``virsh net-autostart``)."""
        if netns is not None:
            raise unsupported(self.backend_name, "an autostart namespace (--netns)")
        net = self._lookup(name)
        self._call(f"cannot set autostart of network {name!r}", net.setAutostart, int(enabled))

    def autostart_netns(self, name: str) -> str | None:
        """libvirt starts its networks where its daemon runs: no namespace of netupdate's."""
        self._lookup(name)
        return None

    def _current(self, name: str) -> str:
        """The persistent (else live) definition of ``name``; an empty one when undefined."""
        try:
            net = self._conn.networkLookupByName(name)
        except _libvirt().libvirtError:
            return skeleton(name)
        if net.isPersistent():
            return self._persistent_xml(net)[0]
        return self._call(f"network {name!r}", net.XMLDesc, 0)

    def start(self, name: str, *, netns: str | None = None, force: bool = False) -> None:
        if netns is not None:
            raise UnsupportedError("libvirt starts its networks where its daemon runs: --netns "
                                   "does not apply with --connect")
        from netupdate.live.libvirt.world import preflight_start
        net = preflight_start(self, self._lookup(name), force)
        self._call(f"cannot start network {name!r}", net.create)

    def stop(self, name: str) -> list[str]:
        net = self._lookup(name)
        self._call(f"cannot stop network {name!r}", net.destroy)
        cached = self._persistent.pop(name, None)
        if cached is not None and net.isPersistent():
            # the test driver forgets a definition made while the network ran: make it current
            self._call(f"cannot define network {name!r}", self._conn.networkDefineXML, cached)
        return []

    def undefine(self, name: str) -> list[str]:
        self._call(f"cannot undefine network {name!r}", self._lookup(name).undefine)
        self._persistent.pop(name, None)
        return []  # notes: libvirt clears what it has to by itself

    def status(self, name: str) -> NetworkStatus:
        net = self._lookup(name)
        info = self._info(net)
        notes: list[str] = []
        drift: tuple[str, ...] | None = ()
        if info["active"] and info["persistent"]:
            persistent, exact = self._persistent_xml(net)
            if not exact:
                drift = None
                notes.append(f"the {self.driver or 'libvirt'} driver does not show the persistent "
                             "config of a running network")
            else:
                live = self._call(f"network {name!r}", net.XMLDesc, 0)
                drift = tuple(c.describe() for c in _diff(live, persistent))
        return NetworkStatus(**info, uri=self.uri, drift=drift, notes=tuple(notes))

    def diff(self, name: str, other_xml: str | None = None) -> DiffResult:
        """The changes from the network's persistent config (its live definition when it is
        transient) to ``other_xml``, with the live plan when the network runs; without
        ``other_xml``, the drift between live definition and persistent config."""
        from netupdate.model.defs import load
        net = self._lookup(name)
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        notes: list[str] = []
        live = self._call(f"network {name!r}", net.XMLDesc, 0) if active else None
        if other_xml is None:
            if not (active and persistent):
                return DiffResult(name, "live", _diff_empty(), notes=(
                    "the network is not running" if persistent else "the network is transient",))
            config, exact = self._persistent_xml(net)
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: the live definition stands in")
            return DiffResult(name, "live", _diff(live, config),
                              plan=_plan(live, config),
                              restart_needed=self._needs_restart(live, config),
                              notes=tuple(notes))
        other = load(other_xml).to_xml()
        if persistent:
            base_xml, exact = self._persistent_xml(net)
            base = "config"
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: the live definition stands in")
        else:
            base_xml, base = live, "live"
        other = _fill_identity(other, base_xml, notes)
        changes = _diff(base_xml, other)
        plan = _plan(live, other) if active else None
        return DiffResult(name, base, changes, plan=plan,
                          restart_needed=bool(active and self._needs_restart(live, other)),
                          notes=tuple(notes))

    def _needs_restart(self, live_xml: str, target_xml: str) -> bool:
        work = self._analyze(live_xml, target_xml)
        return bool(work.pending)

    # ------------------------------------------------------------------ update
    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False, dry_run: bool = False,
               release_conflicting: bool = False) -> UpdateResult:
        """Edit network ``name`` like ``virsh net-update`` (section form) or by ``node_spec``.

        ``live``/``config`` default to both for a running persistent network, the persistent
        config for an inactive one and the live state for a transient one (unlike virsh, whose
        default is the current state only).  Sections libvirt refuses are computed by netupdate
        (see the module doc); ``restart`` lets netupdate restart the network when the live side
        cannot be changed otherwise.
        """
        lv = _libvirt()
        command, section = command_name(command), section_name(section)
        if release_conflicting:  # libvirt cannot release a lease
            raise unsupported(self.backend_name, "--release-conflicting")
        if node_spec is None and section is None:
            raise InvalidOperationError("an update needs a section or a node_spec")
        xml = read_fragment(xml)
        net = self._lookup(name)
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        do_live, do_config = _affect(name, active, persistent, live, config)
        notes: list[str] = []

        config_before = config_after = live_before = live_after = change = None
        route = libvirt_route(command, section, node_spec)
        inexact_note = ("the driver does not show the persistent config of a running network; "
                        "its live definition was edited instead")
        exact = True
        config_error: NetupdateError | None = None
        if do_config:
            config_before, exact = self._persistent_xml(net)
            try:
                config_after, change = _edit(config_before, command, section, xml,
                                             parent_index, node_spec)
            except NetupdateError as exc:
                if not do_live:
                    raise
                config_error = exc
        if do_live:
            live_before = self._call(f"network {name!r}", net.XMLDesc, 0)
            try:
                live_after, live_change = _edit(live_before, command, section, xml,
                                                parent_index, node_spec)
            except NetupdateError as exc:
                if config_error is not None:
                    raise config_error from None
                if do_config:
                    raise type(exc)(f"the live definition refuses the edit although the "
                                    f"persistent config takes it (they differ): {exc.message}",
                                    file=exc.file, line=exc.line, path=exc.path) from None
                raise
            change = change if change is not None else live_change
            if config_error is not None:
                if _diff(config_before, live_after):
                    raise config_error
                # the persistent config already is what the edit makes of the live network
                # (typically: an earlier run changed the config and said a restart is needed)
                config_after = config_before
                notes.append("the persistent config already has this edit; only the live "
                             "network is changed")
        config_call = do_config and config_error is None
        before, after = (live_before, live_after) if do_live else (config_before, config_after)
        check_policy(self.policy, before, after, command)

        if route != "netupdate":
            flags = (AFFECT_LIVE if do_live else 0) | (AFFECT_CONFIG if config_call else 0)
            result = UpdateResult(name, command, section, uri=self.uri, via=VIA_LIBVIRT,
                                  config=(CHANGED if config_call else UNCHANGED if do_config
                                          else _no_config(persistent)),
                                  live=(CHANGED if do_live else _no_live(active)),
                                  operations=(Operation(command, section, xml or "",
                                                        parent_index, flags),),
                                  change=change, notes=tuple(notes), dry_run=dry_run,
                                  config_xml=config_after, live_xml=live_after)
            if dry_run:
                if route == "try":
                    result.notes = (*result.notes, "libvirt releases before the 2024 DNS "
                                    "work refuse this modify; netupdate then computes it itself")
                return result
            try:
                net.update(COMMAND_CODES[command], SECTION_CODES[section], parent_index,
                           xml, flags)
            except lv.libvirtError as exc:
                if route == "try" and exc.get_error_code() in (
                        lv.VIR_ERR_OPERATION_UNSUPPORTED, lv.VIR_ERR_NO_SUPPORT):
                    notes.append(f"libvirt refused it ({exc.get_error_message()}): netupdate "
                                 f"computed the new definitions itself")
                else:
                    raise _error(exc, f"cannot update network {name!r}", update=True) from None
            else:
                if config_call and config_after is not None and not _shows_persistent(
                        self, net):
                    self._remember(net, config_after)
                result.notes = tuple(notes + self._check_after(net, do_live, live_after))
                return result
        else:
            reason = ("a nodeSpec edit" if node_spec is not None else
                      f"section {section!r}" if command != "modify" or section in
                      REFUSED_SECTIONS else f"{command} of {section!r}")
            notes.append(f"libvirt cannot update {reason}: netupdate computed the new "
                         "definitions itself")
        if not exact:
            notes.append(inexact_note)
        return self._commit(net, name, command=command, section=section,
                            config_before=config_before, config_after=config_after,
                            live_before=live_before, live_after=live_after,
                            do_config=do_config, do_live=do_live, restart=restart,
                            dry_run=dry_run, notes=notes, change=change)

    def _remember(self, net, config_xml: str) -> None:
        """Keep the persistent definition of a running network the driver cannot show."""
        self._persistent[net.name()] = config_xml

    def _check_after(self, net, do_live: bool, expected: str | None) -> list[str]:
        """Compare the live definition libvirt reports with what netupdate predicted."""
        if not do_live or expected is None:
            return []
        lv = _libvirt()
        try:
            actual = net.XMLDesc(0)
        except lv.libvirtError:
            return []
        changes = _diff(expected, actual)
        if not changes:
            return []
        return ["libvirt's result differs from netupdate's prediction: "
                + "; ".join(c.describe() for c in changes)]

    # ------------------------------------------------------------------ apply
    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None) -> UpdateResult:
        """Many updates as one: all are made by the engine on a copy of the persistent config
        (the live definition of a transient network); a refused one raises ``BatchError``
        naming it and nothing changes; the result is then applied like ``apply``."""
        from netupdate.live import txn
        from netupdate.model.defs import load
        items = txn.as_batch(updates)
        if not items:
            raise InvalidOperationError("the batch holds no update")
        net = self._lookup(name)
        base = (self._persistent_xml(net)[0] if net.isPersistent()
                else self._call(f"network {name!r}", net.XMLDesc, 0))
        network = load(base)
        for item in items:
            batch_edit(network, item)
        result = self.apply(name, network.to_xml(), live=live, config=config, dry_run=dry_run,
                            restart=restart, progress=progress)
        result.command, result.count = "batch", len(items)
        return result

    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True) -> UpdateResult:
        """Make network ``name`` match ``desired_xml`` (XML text or a path): the persistent
        config is defined as given; the live network is changed through the plan (libvirt's
        own updates where it has them, netlink for a local bridge's STP and delay), or needs a
        restart, which ``restart`` allows.  ``dry_run`` changes nothing and reports what would
        be done.  The uuid, MAC address and bridge name libvirt assigned are kept when the
        desired definition leaves them out."""
        from netupdate.model.defs import load
        if try_seconds is not None or check is not None:
            raise unsupported(self.backend_name, "a try window or a check (--try, --check)")
        desired_doc = load(desired_xml)
        if validate:
            refuse_invalid(desired_doc.to_bytes())
        if desired_doc.name != name:
            raise InvalidOperationError(f"the desired definition is for network "
                                        f"{desired_doc.name!r}, not {name!r}")
        net = self._lookup(name)
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        do_live, do_config = _affect(name, active, persistent, live, config)
        notes: list[str] = []
        live_before = self._call(f"network {name!r}", net.XMLDesc, 0) if active else None
        config_before = None
        if persistent:
            config_before, exact = self._persistent_xml(net)
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: its live definition stands in")
        base = config_before if config_before is not None else live_before
        desired = _fill_identity(desired_doc.to_xml(), base, notes)
        changes = _diff(base, desired)
        check_changes(self.policy, changes, None)
        config_after = desired if do_config and _diff(config_before, desired) else None
        live_after = desired if do_live else None
        result = self._commit(net, name, command=None, section=None,
                              config_before=config_before, config_after=config_after,
                              live_before=live_before, live_after=live_after,
                              do_config=do_config, do_live=do_live, restart=restart,
                              dry_run=dry_run, notes=notes, change=None)
        result.changes = changes
        return result

    # ------------------------------------------------------------------ the shared path
    def _analyze(self, live_before: str, live_after: str) -> _LiveWork:
        """How to bring the live network from ``live_before`` to ``live_after``: the
        virNetworkUpdate calls for what libvirt updates live, then, change by change, what is
        left: STP/delay of a local bridge netupdate sets itself, informational fields nothing
        reads, and everything else, which needs a restart.  (A change the embedded runtime needs
        no action for still needs one on libvirt, whose live definition is what it uses for guest
        ports plugged from now on.)"""
        from netupdate.planning.differ import diff
        from netupdate.planning.planner import NETWORK_RESTART, Action, PlanContext, plan_changes
        work = _LiveWork(mid_xml=live_before)
        work.changes = _diff(live_before, live_after)
        if not work.changes:
            return work
        work.operations, work.mid_xml, work.notes = _operations(live_before, live_after,
                                                                work.changes)
        mid, target = normalized(work.mid_xml), normalized(live_after)
        work.plan = _plan(mid, target)
        context = PlanContext.from_defs(mid, target)
        local, pending, informational = [], [], []
        why_not: str | None = None
        asked = False
        for change in diff(mid, target):
            if change.section == "network" and change.key and change.key[0] in INFO_FIELDS:
                informational.append(change)
                continue
            kinds = {a.kind for a in plan_changes([change], context).actions if not a.noop}
            if kinds and kinds <= LOCAL_KINDS:
                if not asked:
                    why_not, asked = self._local_refusal(live_before), True
                if why_not is None:
                    local.append(change)
                    continue
            pending.append(change)
        if local:
            work.local = [a for a in plan_changes(local, context).actions if not a.noop]
        if pending:
            work.pending = [a for a in plan_changes(pending, context).actions if not a.noop]
            quiet = [c for c in pending
                     if not any(not a.noop for a in plan_changes([c], context).actions)]
            if quiet and not any(a.kind == NETWORK_RESTART for a in work.pending):
                descs = ", ".join(c.describe() for c in quiet)
                reason = (f"{descs}: libvirt keeps using its live definition (for guest ports "
                          f"plugged from now on, and what it shows) until the network restarts")
                work.pending.append(Action(NETWORK_RESTART, reason,
                                           ",".join(dict.fromkeys(c.section for c in quiet)),
                                           {}, (reason,)))
            if why_not and any(a.kind in LOCAL_KINDS for a in work.pending):
                work.notes.append(f"netupdate cannot change the bridge itself: {why_not}")
        if informational:
            work.notes.append(
                f"{', '.join(c.describe() for c in informational)}: nothing on the running "
                f"network reads it; libvirt's live XML shows it after the next restart")
        return work

    def _local_refusal(self, live_xml: str) -> str | None:
        """Why netupdate cannot tune this network's bridge itself (None if it can)."""
        if self.is_test_driver:
            return "the test driver has no real bridges"
        if not self.local:
            return f"{self.uri} is not a local daemon"
        defs = _defs(live_xml)
        if _mode_of(defs) not in MANAGED_MODES:
            return "libvirt does not manage a bridge for this forward mode"
        bridge = _bridge_of(defs)
        if not bridge:
            return "the network has no bridge name"
        if os.geteuid() != 0:
            return "changing a bridge needs root (CAP_NET_ADMIN)"
        try:
            if _BridgeTuner(self.netns).index(bridge) is None:
                where = f" in network namespace {self.netns}" if self.netns else ""
                return f"bridge {bridge} does not exist here{where}"
        except NetupdateError as exc:
            return str(exc)
        return None

    def _commit(self, net, name: str, *, command, section, config_before, config_after,
                live_before, live_after, do_config: bool, do_live: bool, restart: bool,
                dry_run: bool, notes: list[str], change) -> UpdateResult:
        active, persistent = bool(net.isActive()), bool(net.isPersistent())
        result = UpdateResult(name, command, section, uri=self.uri, via=VIA_NETUPDATE,
                              config=NOT_REQUESTED if persistent else TRANSIENT,
                              live=_no_live(active) if not do_live else UNCHANGED,
                              change=change, dry_run=dry_run, config_xml=config_after,
                              live_xml=live_after)
        config_changes = (_diff(config_before, config_after)
                          if do_config and config_after is not None else None)
        if do_config:
            result.config = CHANGED if config_changes else UNCHANGED
        work = None
        if do_live and live_after is not None:
            work = self._analyze(live_before, live_after)
            notes.extend(work.notes)
            result.plan = work.plan
            if work.empty:
                result.live = UNCHANGED
            elif work.pending:
                result.pending = tuple(work.pending)
                result.live = RESTART_NEEDED
                if restart:
                    self._check_restart(net, persistent, config_before, config_after,
                                        live_after, do_config)
                    result.live = RESTARTED
            elif work.operations or work.local:
                result.operations = tuple(work.operations)
                result.actions = tuple(work.local)
                result.live = APPLIED
            else:
                result.live = UNCHANGED     # only what nothing on the running network reads
        if dry_run:
            result.notes = tuple(notes)
            return result

        # 1. the persistent config
        if result.config == CHANGED:
            self._define(config_after)
        # 2. the live side
        if result.live == RESTARTED:
            self._restart(net, name, persistent,
                          config_after if result.config == CHANGED else None, live_after)
        elif result.live == APPLIED:
            self._apply_live(net, name, work, result, notes)
        result.notes = tuple(notes)
        return result

    def _check_restart(self, net, persistent: bool, config_before, config_after,
                       live_after, do_config: bool) -> None:
        """A restart of a persistent network starts its persistent config: refuse when that
        is not the requested live definition."""
        if not persistent:
            return
        config = config_after if do_config and config_after is not None else config_before
        if config is None:
            config = self._persistent_xml(net)[0]
        rest = _diff(config, live_after)
        if rest:
            raise StateError(
                f"a restart starts the persistent config, which differs from the requested live "
                f"definition ({'; '.join(c.describe() for c in rest)}): change the persistent "
                f"config too (--config) or leave out --restart")

    def _restart(self, net, name: str, persistent: bool, config_xml: str | None,
                 live_xml: str) -> None:
        lv = _libvirt()
        self._call(f"cannot stop network {name!r}", net.destroy)
        try:
            if persistent:
                xml = config_xml or self._persistent.get(name)
                if xml is not None:
                    # libvirt makes the persistent config current at destroy; the test driver
                    # does not, so define it again while the network is inactive
                    self._conn.networkDefineXML(xml)
                net = self._conn.networkLookupByName(name)
                net.create()
                if xml is not None and self._inactive_unsupported(net):
                    self._persistent[name] = xml   # running the persistent config now
                else:
                    self._persistent.pop(name, None)
            else:
                self._conn.networkCreateXML(live_xml)
        except lv.libvirtError as exc:
            raise _error(exc, f"network {name!r} was stopped for the restart but did not start "
                              f"again; it is DOWN") from None

    def _apply_live(self, net, name: str, work: _LiveWork, result: UpdateResult,
                    notes: list[str]) -> None:
        lv = _libvirt()
        done: list[Operation] = []
        for op in work.operations:
            try:
                net.update(COMMAND_CODES[op.command], SECTION_CODES[op.section],
                           op.parent_index, op.xml, AFFECT_LIVE)
            except lv.libvirtError as exc:
                made = "; ".join(o.describe() for o in done) or "none"
                error = _error(exc, f"network {name!r}: persistent config "
                                    f"{'updated' if result.config == CHANGED else 'unchanged'}, "
                                    f"live update failed at '{op.describe()}' (done before: "
                                    f"{made})", update=True)
                raise error from None
            done.append(op)
        if work.local:
            live_defs = _defs(result.live_xml)
            bridge = _bridge_of(_defs(work.mid_xml))
            stp = live_defs.bridge.stp if live_defs.bridge is not None else None
            delay = live_defs.bridge.delay if live_defs.bridge is not None else None
            kinds = {a.kind for a in work.local}
            try:
                _BridgeTuner(self.netns).tune(
                    bridge,
                    stp=(stp is not False) if "bridge-stp" in kinds else None,
                    delay=(delay or 0) if "bridge-delay" in kinds else None,
                    stp_after=(stp is not False))
            except NetupdateError as exc:
                raise RuntimeFailure(
                    f"network {name!r}: persistent config "
                    f"{'updated' if result.config == CHANGED else 'unchanged'}, but the bridge "
                    f"{bridge} could not be changed: {exc.message}; restart the network to "
                    f"apply the change") from None
            notes.append(f"netupdate changed bridge {bridge} through netlink ("
                         + ", ".join(a.detail_text() or a.kind for a in work.local)
                         + "); libvirt's live XML keeps showing the old value until the network "
                           "restarts, which then applies the same value")
        if work.operations:
            notes.extend(self._check_after(net, True, work.mid_xml))


def _diff_empty():
    from netupdate.planning.differ import ChangeSet
    return ChangeSet()


def _shows_persistent(conn: LibvirtConnection, net) -> bool:
    """Whether the driver shows the persistent config of ``net`` (else it is remembered)."""
    if not net.isActive():
        return True
    return not conn._inactive_unsupported(net)


def _affect(name: str, active: bool, persistent: bool, live: bool | None,
            config: bool | None) -> tuple[bool, bool]:
    """Resolve the live/config request (libvirt's AFFECT flags) against the network's state.

    Default: both for a running persistent network, the config for an inactive one, the live
    state for a transient one.  An explicit request that cannot be met is an error, as in
    libvirt."""
    if live is None and config is None:
        return active, persistent
    do_live, do_config = bool(live), bool(config)
    if live is None:
        do_live = False
    if config is None:
        do_config = False
    if do_live and not active:
        raise StateError(f"network {name!r} is not running: its live state cannot be updated "
                         f"(update the persistent config, or start the network)")
    if do_config and not persistent:
        raise StateError(f"network {name!r} is transient: it has no persistent config")
    if not (do_live or do_config):
        raise InvalidOperationError("nothing to update: neither the live state nor the "
                                    "persistent config was selected")
    return do_live, do_config


def _no_live(active: bool) -> str:
    return NOT_REQUESTED if active else NOT_RUNNING


def _no_config(persistent: bool) -> str:
    return NOT_REQUESTED if persistent else TRANSIENT


def _fill_identity(desired_xml: str, base_xml: str | None, notes: list[str]) -> str:
    """``desired_xml`` with the uuid, MAC address and bridge name of ``base_xml`` where the
    desired definition leaves them out (libvirt would otherwise refuse it, or generate new ones,
    which a running network cannot take without a restart): ``identity.keep``."""
    if base_xml is None:
        return desired_xml
    from netupdate.live import identity
    from netupdate.model.defs import load
    document = load(desired_xml)
    if not identity.keep(document, load(base_xml), notes):
        return desired_xml
    return document.to_xml()


# ---------------------------------------------------------------------- netlink
class _BridgeTuner:
    """STP and forward delay of a bridge through netlink (pyroute2), in ``netns`` if given."""

    def __init__(self, netns: str | None = None):
        self.netns = netns

    def _ipr(self):
        try:
            from pyroute2 import IPRoute
        except ImportError:
            raise NetupdateError("pyroute2 is not installed: pip install "
                                 "'netupdate[live]'") from None
        try:
            return IPRoute(netns=self.netns) if self.netns else IPRoute()
        except OSError as exc:
            raise RuntimeFailure(f"cannot open netlink"
                                 f"{' in ' + self.netns if self.netns else ''}: {exc}") from None

    def index(self, bridge: str) -> int | None:
        with self._ipr() as ipr:
            found = ipr.link_lookup(ifname=bridge)
            return found[0] if found else None

    def tune(self, bridge: str, *, stp: bool | None, delay: int | None,
             stp_after: bool) -> None:
        """Set STP (``stp``) and/or the forward delay (``delay`` seconds), in the order libvirt
        uses at start: with STP on, the kernel takes delays of 2..30 s only, so the delay is
        clamped like libvirt's start does and set before STP is switched on."""
        from pyroute2.netlink.exceptions import NetlinkError
        final_stp = stp if stp is not None else stp_after
        centis = None
        if delay is not None:
            centis = delay * 100
            if final_stp:
                centis = min(max(centis, 200), 3000)
        with self._ipr() as ipr:
            found = ipr.link_lookup(ifname=bridge)
            if not found:
                raise RuntimeFailure(f"bridge {bridge} does not exist")
            index = found[0]
            try:
                if stp is False:
                    ipr.link("set", index=index, kind="bridge", br_stp_state=0)
                if centis is not None:
                    ipr.link("set", index=index, kind="bridge", br_forward_delay=centis)
                if stp is True:
                    ipr.link("set", index=index, kind="bridge", br_stp_state=1)
            except NetlinkError as exc:
                if exc.code == 1:
                    raise PermissionFailure(f"not allowed to change bridge {bridge} "
                                            f"(needs CAP_NET_ADMIN)") from None
                raise RuntimeFailure(f"netlink refused the change of bridge {bridge}: "
                                     f"{exc}") from None
            link = ipr.get_links(index)[0]
            got_stp = bool(link.get(("linkinfo", "data", "br_stp_state")))
            got_delay = link.get(("linkinfo", "data", "br_forward_delay"))
        if stp is not None and got_stp != stp:
            raise RuntimeFailure(f"bridge {bridge}: STP is still {'on' if got_stp else 'off'}")
        if centis is not None and got_delay is not None and int(got_delay) != centis:
            raise RuntimeFailure(f"bridge {bridge}: forward delay is {got_delay} cs, "
                                 f"expected {centis}")
