"""What libvirt refuses that netupdate computes and applies itself: definitions compared
without what libvirt adds on its own (``normalized``), the ``virNetworkUpdate`` calls that bring
a live network towards a new definition (``operations``), and what is left of the plan after
them (``analyze``: STP/delay netupdate sets through netlink, informational fields, and what
needs a restart)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from netupdate import sections as S
from netupdate.errors import NetupdateError
from netupdate.live.libvirt.bridge import BridgeTuner
from netupdate.live.libvirt.codes import (
    CODED,
    INFO_FIELDS,
    LIBVIRT_SECTIONS,
    LOCAL_KINDS,
    Operation,
)
from netupdate.model.values import MANAGED_MODES


def defs_of(xml):
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
    defs = value if isinstance(value, NetworkDef) else defs_of(value)
    return dataclasses.replace(defs, connections=None, bridge=BRIDGE.libvirt_normal(defs.bridge),
                               forward=FORWARD.libvirt_normal(defs.forward))


def diff_defs(before, after):
    from netupdate.planning.differ import diff
    return diff(normalized(before), normalized(after))


def plan_defs(before, after):
    from netupdate.planning.planner import plan
    return plan(normalized(before), normalized(after))


def edit(xml: str, command: str, section: str | None, fragment: str | None, parent_index: int,
          node_spec: str | None):
    """(new XML, Change) of ``xml`` (libvirt's copy of a definition) edited by netupdate's
    engine, a refusal placed by its XPath alone (``edit_kept``)."""
    from netupdate.edit.engine import load
    from netupdate.live.backend import edit_kept
    document = load(xml)
    change = edit_kept(document, command, section, fragment, parent_index=parent_index,
                       node_spec=node_spec)
    return document.to_xml(), change


def bridge_of(defs) -> str | None:
    return defs.bridge.name if defs.bridge is not None else None


def mode_of(defs) -> str | None:
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
_PER_IP = {s.name: "/".join(s.tags[2:]) for s in CODED if s.libvirt and s.tags[1] == "ip"}
_ITEM_PATHS = {s.name: "/".join(s.tags[1:]) for s in CODED
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
class LiveWork:
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


def live_operations(before_xml: str, after_xml: str, changes) -> tuple[list[Operation], str, list]:
    """``virNetworkUpdate`` calls (live) for the changes of sections libvirt updates, checked by
    running each through netupdate's engine on a copy of ``before_xml``; returns the calls, the
    definition they lead to and notes about changes left to the plan."""
    from netupdate.edit.engine import load  # editable: the calls are checked on a copy
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
        except NetupdateError as exc:
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


def diff_empty():
    from netupdate.planning.differ import ChangeSet
    return ChangeSet()


def fill_identity(desired_xml: str, base_xml: str | None, notes: list[str]) -> str:
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


def analyze(conn, live_before: str, live_after: str) -> LiveWork:
    """How to bring the live network from ``live_before`` to ``live_after``: the
    virNetworkUpdate calls for what libvirt updates live, then, change by change, what is
    left: STP/delay of a local bridge netupdate sets itself, informational fields nothing
    reads, and everything else, which needs a restart.  (A change the embedded runtime needs
    no action for still needs one on libvirt, whose live definition is what it uses for guest
    ports plugged from now on.)"""
    from netupdate.planning.differ import diff
    from netupdate.planning.planner import NETWORK_RESTART, Action, PlanContext, plan_changes
    work = LiveWork(mid_xml=live_before)
    work.changes = diff_defs(live_before, live_after)
    if not work.changes:
        return work
    work.operations, work.mid_xml, work.notes = live_operations(live_before, live_after,
                                                                 work.changes)
    mid, target = normalized(work.mid_xml), normalized(live_after)
    work.plan = plan_defs(mid, target)
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
                why_not, asked = local_refusal(conn, live_before), True
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


def local_refusal(conn, live_xml: str) -> str | None:
    """Why netupdate cannot tune this network's bridge itself (None if it can)."""
    if conn.is_test_driver:
        return "the test driver has no real bridges"
    if not conn.local:
        return f"{conn.uri} is not a local daemon"
    defs = defs_of(live_xml)
    if mode_of(defs) not in MANAGED_MODES:
        return "libvirt does not manage a bridge for this forward mode"
    bridge = bridge_of(defs)
    if not bridge:
        return "the network has no bridge name"
    if os.geteuid() != 0:
        return "changing a bridge needs root (CAP_NET_ADMIN)"
    try:
        if BridgeTuner(conn.netns).index(bridge) is None:
            where = f" in network namespace {conn.netns}" if conn.netns else ""
            return f"bridge {bridge} does not exist here{where}"
    except NetupdateError as exc:
        return str(exc)
    return None
