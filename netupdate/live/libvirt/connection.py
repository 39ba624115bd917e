"""libvirt backend: the same edits on libvirt-managed networks, local or remote.

``LibvirtConnection(uri)`` is a ``backend.Backend``: the verbs of the embedded ``Connection``
with the same signatures and result types (what libvirt cannot do, such as change
transactions, raises ``UnsupportedError``); it talks to libvirt only through the ``libvirt``
Python binding, so any libvirt URI works (``qemu:///system``, ``test:///default``,
``qemu+ssh://host/system``, ...).

The package (docs/libvirt.md has the long version):

- ``connection`` (this module): the connection, its plumbing and the lifecycle verbs (list,
  dumpxml, define, start, stop, undefine, autostart, status, diff);
- ``update``: ``update``, ``update_batch``, ``apply`` (mixed into the connection); ``commit``:
  defining and reaching the live side of what netupdate computed;
- ``codes``: libvirt's section/command/flag numbers and which updates libvirt makes itself
  (``libvirt_route``); ``binding``: the lazily imported binding and the error mapping;
- ``compute``: what libvirt refuses (the sections ``bridge``, ``domain``, ``ip``, ``forward``,
  ``forward-pf``, some ``modify`` commands, any nodeSpec edit) that netupdate computes and
  applies itself: ``virNetworkUpdate`` calls where libvirt has them, STP and forward delay of a
  local bridge through netlink (``bridge``), else a restart, which ``restart=True`` allows;
- ``guests`` and ``world``: issue 16 (leases, the lease pre-flight and guest impact of an
  update, conflict pre-flight, drift check).

Live and persistent never diverge silently: the result reports, per side, what changed and what
is pending, and ``exit_code`` is non-zero while a requested live change is not in effect.
"""

from __future__ import annotations

import os

from netupdate.errors import UnsupportedError
from netupdate.live.backend import (
    Backend,
    check_policy,
    load_policy,
    refuse_invalid,
    skeleton,
    unsupported,
)
from netupdate.live.libvirt import guests
from netupdate.live.libvirt.binding import error, libvirt
from netupdate.live.libvirt.codes import XML_INACTIVE, is_local_uri
from netupdate.live.libvirt.compute import analyze, diff_defs, diff_empty, fill_identity, plan_defs
from netupdate.live.libvirt.update import UpdateVerbs
from netupdate.live.results import DiffResult, NetworkInfo, NetworkStatus


class LibvirtConnection(UpdateVerbs, Backend):
    """A libvirt connection with netupdate's verbs.

    ``netns`` names the network namespace the daemon's bridges live in (for the changes
    netupdate makes itself through netlink on a local daemon); ``readonly`` opens a read-only
    connection (``list``, ``dumpxml``, ``status``, ``diff`` only).
    """

    backend_name, world_module = "libvirt", "netupdate.live.libvirt.world"  # issue 16 verbs

    def __init__(self, uri: str | None = None, *, netns: str | None = None,
                 readonly: bool = False, policy=None):
        self.policy = load_policy(policy)
        lv = libvirt()
        try:
            self._conn = lv.openReadOnly(uri) if readonly else lv.open(uri)
        except lv.libvirtError as exc:
            raise error(exc, f"cannot connect to {uri or 'the default libvirt URI'}") from None
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
            except libvirt().libvirtError:
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
        lv = libvirt()
        try:
            return self._conn.networkLookupByName(name)
        except lv.libvirtError as exc:
            raise error(exc, f"network {name!r} on {self.uri}") from None

    def _call(self, context: str, func, *args, update: bool = False):
        lv = libvirt()
        try:
            return func(*args)
        except lv.libvirtError as exc:
            raise error(exc, context, update=update) from None

    def _persistent_xml(self, net) -> tuple[str, bool]:
        """The persistent definition and whether it is exact (the test driver cannot show the
        persistent definition of a running network: its live one stands in)."""
        lv = libvirt()
        try:
            return net.XMLDesc(XML_INACTIVE), True
        except lv.libvirtError as exc:
            if exc.get_error_code() not in (lv.VIR_ERR_INVALID_ARG, lv.VIR_ERR_NO_SUPPORT):
                raise error(exc, f"network {net.name()!r}") from None
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
        lv = libvirt()
        try:
            net.XMLDesc(XML_INACTIVE)
        except lv.libvirtError:
            return True
        return False

    def _info(self, net) -> dict:
        lv = libvirt()
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
        refuse_invalid(network, "the definition")      # libvirt's refusals, in our wording
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
        except libvirt().libvirtError:
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
                drift = tuple(c.describe() for c in diff_defs(live, persistent))
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
                return DiffResult(name, "live", diff_empty(), notes=(
                    "the network is not running" if persistent else "the network is transient",))
            config, exact = self._persistent_xml(net)
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: the live definition stands in")
            return self._diff_result(net, "live", live, live, config, notes)
        other = load(other_xml).to_xml()
        if persistent:
            base_xml, exact = self._persistent_xml(net)
            base = "config"
            if not exact:
                notes.append("the driver does not show the persistent config of a running "
                             "network: the live definition stands in")
        else:
            base_xml, base = live, "live"
        other = fill_identity(other, base_xml, notes)
        return self._diff_result(net, base, base_xml, live, other, notes)

    def _diff_result(self, net, base: str, base_xml: str, live: str | None, target: str,
                     notes: list[str]) -> DiffResult:
        """From ``base_xml`` to ``target``; when the network runs (``live``), with the live
        plan, whether it needs a restart and what it does to the guests (``guests``)."""
        changes = diff_defs(base_xml, target)
        if live is None:
            return DiffResult(net.name(), base, changes, notes=tuple(notes))
        plan = plan_defs(live, target)
        restart = self._needs_restart(live, target)
        return DiffResult(net.name(), base, changes, plan=plan, restart_needed=restart,
                          impact=guests.plan_effects(self, net, plan, target, restart),
                          notes=tuple(notes))

    def _needs_restart(self, live_xml: str, target_xml: str) -> bool:
        work = analyze(self, live_xml, target_xml)
        return bool(work.pending)
