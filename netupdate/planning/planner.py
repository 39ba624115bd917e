"""Rule table -> the least disruptive plan of live actions for a change.

``RULES`` is declarative: one row per section and field (``*`` = the item as a whole, or any
field), with the operations it covers, the conditions under which it applies, the actions it
needs, why those suffice, and what libvirt does instead.  ``plan(before, after)`` diffs the two
definitions and runs every change through the table; ``plan_change(change)`` turns one edit made
by the update engine into the same change records and runs the same table, without re-reading the
network.  ``docs/plan.md`` embeds ``rules_markdown()`` (a test keeps the two equal) and says
which runtime the rows assume and how a row is picked (most specific first, then table order).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from netupdate import sections as S
from netupdate.errors import NetupdateError
from netupdate.model import values as T
from netupdate.model.defs import BridgeDef, ForwardDef, IpDef, NetworkDef, RouteDef
from netupdate.planning.canon import effective
from netupdate.planning.changes import SECTION_CLASS, ChangeSet, SectionChange
from netupdate.planning.differ import as_defs, diff, diff_item, key_of
from netupdate.planning.kinds import KIND_ORDER, NETWORK_RESTART, NOOP_KINDS, NOTES, SUPERSEDES
from netupdate.planning.show import painter
from netupdate.sections import dns as DNS
from netupdate.sections._spec import (
    ADDED,
    ALL_OPS,
    CONF,
    LV_DEFINE,
    MODIFIED,
    REMOVED,
    RESTART,
    PlanRow,
    row,
)

DEFAULT_MTU = 1500


# ---------------------------------------------------------------------- the context
def _mode(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True)
class PlanContext:
    """What the rules need to know beyond the change itself."""

    mode_before: str | None = None     # forward mode (None: isolated, no <forward>)
    mode_after: str | None = None
    dhcp_before: Mapping[int, bool] = field(default_factory=dict)  # family -> DHCP active
    dhcp_after: Mapping[int, bool] = field(default_factory=dict)
    ipv6_before: bool | None = None    # the network has an IPv6 <ip> (None: not known)
    ipv6_after: bool | None = None

    @classmethod
    def from_defs(cls, before: NetworkDef, after: NetworkDef) -> PlanContext:
        def dhcp(defs):
            return MappingProxyType({v: any(ip.has_dhcp for ip in defs.ips_of(v))
                                     for v in (4, 6)})
        return cls(_mode(before.forward_mode), _mode(after.forward_mode), dhcp(before),
                   dhcp(after), bool(before.ips_of(6)), bool(after.ips_of(6)))


def _fwd_mode(item: Any) -> str | None:
    return _mode(item.effective_mode) if isinstance(item, ForwardDef) else None


def _dhcp_flip(change: SectionChange, ctx: PlanContext) -> bool:
    family = change.family
    before, after = ctx.dhcp_before.get(family), ctx.dhcp_after.get(family)
    return before is not None and after is not None and before != after


CONDITIONS: dict[str, Callable[[SectionChange, PlanContext], bool]] = {
    # libvirt creates and owns the bridge, its addresses and dnsmasq (isolated, nat, route, open)
    "managed": lambda c, x: x.mode_after in T.MANAGED_MODES,
    # ... and the network has no bridge of its own (bridge, macvtap, hostdev modes)
    "unmanaged": lambda c, x: x.mode_after not in T.MANAGED_MODES,
    # the firewall rules name the subnets and the outgoing device (nat, route: UPLINK_MODES);
    # isolated networks have rules on the bridge only, open networks none
    "routed": lambda c, x: x.mode_after in T.UPLINK_MODES,
    "nat": lambda c, x: x.mode_after == T.ForwardMode.NAT,
    # the change switches DHCP of its address family on or off
    "dhcp-flip": _dhcp_flip,
    # the change adds the network's first IPv6 <ip> or removes its last (ipv6conf.py)
    "ipv6-flip": lambda c, x: (c.family == 6 and None not in (x.ipv6_before, x.ipv6_after)
                               and x.ipv6_before != x.ipv6_after),
    # the forward mode stays in its group (values.mode_group: routed, device, hostdev)
    "same-group": lambda c, x: T.mode_group(x.mode_before) == T.mode_group(x.mode_after),
    "resolv-kept": lambda c, x: DNS.no_resolv(c.before) == DNS.no_resolv(c.after),
    # a forward mode change between nat, route and open (L3_MODES)
    "forwarding-switch": lambda c, x: (_fwd_mode(c.before) in T.L3_MODES
                                       and _fwd_mode(c.after) in T.L3_MODES),
}


# ---------------------------------------------------------------------- the table
Rule = PlanRow   # one row of the table (sections/_spec.py)


def _rows(section: str) -> tuple[Rule, ...]:
    """The rows a section's module declares (``PLAN_ROWS``), at their place in the table."""
    return S.hook(section, "PLAN_ROWS")


ALL = ALL_OPS


R = row


RULES: tuple[Rule, ...] = (
    # --- <network> itself: one change per field, keyed by the field name
    *_rows("network"),
    # --- <bridge>
    *_rows("bridge"),
    # --- <domain>
    *_rows("domain"),
    # --- <dns> attributes and forwarders
    *_rows("dns"),
    # --- DNS records
    *_rows("dns-host"),
    *_rows("dns-txt"),
    *_rows("dns-srv"),
    # --- <ip>
    *_rows("ip"),
    # --- DHCP ranges
    *_rows("ip-dhcp-range"),
    # --- DHCP hosts
    *_rows("ip-dhcp-host"),
    # --- <route>
    R("route.added", "route", "*", (ADDED,),
      ("route-add", "the route is added through the running bridge; nothing else refers to it"),
      libvirt=LV_DEFINE),
    R("route.removed", "route", "*", (REMOVED,),
      ("route-remove", "the route is deleted; nothing else refers to it"),
      libvirt=LV_DEFINE),
    R("route.modified", "route", "*", (MODIFIED,),
      ("route-remove", "the metric is part of a kernel route's identity: the old route goes"),
      ("route-add", "the metric is part of a kernel route's identity: the new route comes"),
      libvirt=LV_DEFINE),
    # --- <forward>
    *_rows("forward"),
    # --- <forward><interface>
    *_rows("forward-interface"),
    # --- <forward><pf>
    *_rows("forward-pf"),
    # --- <portgroup>
    *_rows("portgroup"),
    # --- <dnsmasq:options>
    R("dnsmasq-options", "dnsmasq-options", "*", ALL,
      ("dnsmasq-restart", "options are copied verbatim into the conf; " + CONF),
      libvirt=LV_DEFINE),
    # --- networks without a bridge of their own
    R("unmanaged", "*", "*", ALL,
      ("none", "nothing runs for this forward mode (bridge, macvtap, hostdev: no bridge of its "
               "own, no addresses, firewall or dnsmasq); the change applies to guest ports "
               "plugged from now on"),
      when=("unmanaged",), libvirt="not applicable"),
)

if {r.id for r in S.PLAN_ROWS} - {r.id for r in RULES}:
    raise ValueError("a section's PLAN_ROWS are not in planner.RULES (add *_rows(section))")
FALLBACK = Rule("fallback", "*", "*", ALL_OPS,
                ((RESTART, "no rule covers this change; restarting the network is the safe "
                           "default"),))
RULES_BY_ID = {rule.id: rule for rule in RULES}


@functools.lru_cache(maxsize=1024)
def _candidates(section: str, op: str, path: str) -> tuple[Rule, ...]:
    found = [r for r in RULES if r.section in (section, "*") and op in r.ops
             and (r.field == "*" or path == r.field or path.startswith(r.field + "."))]
    found.sort(key=lambda r: r.specificity, reverse=True)   # stable: ties keep table order
    return tuple(found)


def change_paths(change: SectionChange) -> tuple[str, ...]:
    """The field paths a change is matched on."""
    if change.section == "network":
        return change.fields if change.op == MODIFIED and change.fields else (change.key[0],)
    if change.op == MODIFIED and change.fields:
        return change.fields
    return ("*",)


def rule_for(change: SectionChange, path: str, ctx: PlanContext) -> Rule:
    for rule in _candidates(change.section, change.op, path):
        if all(CONDITIONS[name](change, ctx) for name in rule.when):
            return rule
    return FALLBACK


def rules_for(change: SectionChange, ctx: PlanContext | None = None) -> tuple[Rule, ...]:
    """The rules a change matches (one per changed field, de-duplicated)."""
    ctx = ctx or PlanContext()
    return tuple(dict.fromkeys(rule_for(change, path, ctx) for path in change_paths(change)))


# ---------------------------------------------------------------------- actions and plans
def _freeze(detail: Mapping[str, object]) -> tuple:
    return tuple(sorted(detail.items()))


@dataclass(frozen=True)
class Action:
    """One live step.  ``reason`` explains it (merged when several changes need it);
    ``reasons`` lists one line per change."""

    kind: str
    reason: str
    section: str
    detail: Mapping[str, object] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def noop(self) -> bool:
        return self.kind in NOOP_KINDS

    def detail_text(self) -> str:
        parts = []
        for key, value in self.detail.items():
            if key == "stp":
                value = "on" if value else "off"
            elif value is None:
                continue
            parts.append(f"{key}={value}")
        return " ".join(parts)

    def to_json(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "section": self.section,
                "detail": dict(self.detail), "reasons": list(self.reasons)}


def _address_detail(ip: IpDef) -> dict:
    return {"address": f"{ip.address}/{ip.effective_prefix}", "family": ip.version}


def _route_detail(route: RouteDef) -> dict:
    return {"address": f"{route.address}/{key_of('route', route)[1]}",
            "gateway": None if route.gateway is None else str(route.gateway),
            "metric": route.metric}


def action_detail(kind: str, change: SectionChange) -> dict:
    """The ``detail`` of an action of ``kind`` needed by ``change``."""
    if kind == "bridge-stp":
        return {"stp": effective(change.after or BridgeDef(), "stp") is True}
    if kind == "bridge-delay":
        return {"delay": effective(change.after or BridgeDef(), "delay")}
    if kind == "bridge-mac":
        return {"mac": str(change.after.normalized) if change.after is not None else None}
    if kind == "bridge-ipv6":
        return {"disable_ipv6": int(change.op != ADDED)}
    if kind == "bridge-mtu":
        return {"mtu": change.after if isinstance(change.after, int) else DEFAULT_MTU}
    if kind == "address-add":
        return _address_detail(change.after)
    if kind == "address-remove":
        return _address_detail(change.before)
    if kind == "route-add":
        return _route_detail(change.after)
    if kind == "route-remove":
        return _route_detail(change.before)
    return {}


def _sort_key(action: Action) -> tuple:
    detail = action.detail
    address = detail.get("address")
    if isinstance(address, str):
        try:
            net = ipaddress.ip_interface(address)
            where: tuple = (net.version, int(net.ip), net.network.prefixlen)
        except ValueError:
            where = (0, 0, 0)
    else:
        where = (0, 0, 0)
    return (KIND_ORDER.index(action.kind), where, repr(sorted(detail.items())))


def _why(kind: str, change: SectionChange, reason: str) -> str:
    if "{state}" in reason:
        reason = reason.format(state="on" if change.op == ADDED else "off")
    if kind == "bridge-mtu" and not isinstance(change.after, int):
        reason = f"no <mtu>: back to the {DEFAULT_MTU} default; " + reason
    return reason


def _merge(kind: str, detail: Mapping, entries: list[tuple[str, str, str]],
           extra: str = "") -> Action:
    """One action from ``(change description, why, section)`` entries."""
    by_why: dict[str, list[str]] = {}
    for desc, why, _section in entries:
        descs = by_why.setdefault(why, [])
        if desc not in descs:
            descs.append(desc)
    parts = []
    for why, descs in by_why.items():
        shown = ", ".join(descs[:3])
        if len(descs) > 3:
            shown += f" and {len(descs) - 3} more"
        parts.append(f"{shown}: {why}")
    reason = "; ".join(parts) + extra
    sections = ",".join(dict.fromkeys(section for _d, _w, section in entries))
    reasons = tuple(dict.fromkeys(f"{desc}: {why}" for desc, why, _s in entries))
    return Action(kind, reason, sections, MappingProxyType(dict(detail)), reasons)


@dataclass(frozen=True, eq=False)
class Plan:
    """The ordered, de-duplicated live actions for a set of changes."""

    actions: tuple[Action, ...] = ()
    changes: ChangeSet = field(default_factory=ChangeSet)
    rules: tuple[str, ...] = ()            # ids of the rules that matched, in order
    superseded: tuple[Action, ...] = ()    # actions made unnecessary by bigger ones

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(action.kind for action in self.actions)

    @property
    def live(self) -> tuple[Action, ...]:
        """The actions that do something (without ``none`` / ``dnsmasq-none``)."""
        return tuple(action for action in self.actions if not action.noop)

    def reasons_for(self, kind: str) -> tuple[str, ...]:
        return tuple(reason for action in self.actions if action.kind == kind
                     for reason in action.reasons)

    def __bool__(self) -> bool:
        return bool(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __iter__(self):
        return iter(self.actions)

    def __repr__(self) -> str:
        return f"<Plan {list(self.kinds)}>"

    def to_json(self) -> dict:
        """Plain data for ``json.dumps``: ``{"changes": [...], "actions": [...]}``."""
        return {"changes": self.changes.to_json()["changes"],
                "actions": [action.to_json() for action in self.actions]}

    def to_text(self, *, color: bool = False) -> str:
        if not self.changes and not self.actions:
            return "no changes"
        paint = painter(color)
        live = len(self.live)
        head = f"plan: {live} live action{'s' if live != 1 else ''}"
        if live == 0:
            head = "plan: no live action needed"
        out = [paint("bold", head)]
        number = 0
        for action in self.actions:   # live actions numbered; no-ops marked, not counted
            text = action.kind + (f" ({action.detail_text()})" if action.detail_text() else "")
            number += not action.noop
            out.append("  - " + paint("dim", text + ": no action") if action.noop else
                       f"  {number}. " + paint("red" if action.kind == NETWORK_RESTART
                                               else "cyan", text))
            out.append(f"     why: {action.reason}")
        return "\n".join(out)


def plan_changes(changes: ChangeSet | Iterable[SectionChange],
                 context: PlanContext | None = None) -> Plan:
    """Run changes through ``RULES``: merge, supersede and order the actions."""
    if not isinstance(changes, ChangeSet):
        changes = ChangeSet(changes)
    ctx = context or PlanContext()
    grouped: dict[tuple, tuple[str, dict, list]] = {}
    matched: list[str] = []
    for change in changes:
        desc = change.describe()
        for rule in rules_for(change, ctx):
            matched.append(rule.id)
            for kind, why in rule.do:
                detail = action_detail(kind, change)
                entry = grouped.setdefault((kind, _freeze(detail)), (kind, detail, []))
                entry[2].append((desc, _why(kind, change, why), change.section))
    kinds = {kind for kind, _d, _e in grouped.values()}
    keep, dropped = [], []
    for kind, detail, entries in grouped.values():
        superseded = (kind != NETWORK_RESTART and NETWORK_RESTART in kinds) or any(
            kind in SUPERSEDES.get(bigger, ()) for bigger in kinds)
        (dropped if superseded else keep).append((kind, detail, entries))
    dropped_actions = tuple(_merge(k, d, e) for k, d, e in dropped)
    actions = []
    for kind, detail, entries in keep:
        covered = [a.kind for a in dropped_actions
                   if kind == NETWORK_RESTART or a.kind in SUPERSEDES.get(kind, ())]
        extra = f" (also covers: {', '.join(dict.fromkeys(covered))})" if covered else ""
        actions.append(_merge(kind, detail, entries, extra + NOTES.get(kind, "")))
    actions.sort(key=_sort_key)
    return Plan(tuple(actions), changes, tuple(dict.fromkeys(matched)), dropped_actions)


def plan(before: Any, after: Any) -> Plan:
    """The least disruptive live actions that turn the running ``before`` into ``after``
    (each a ``NetworkDef``, a ``Network``, XML text or a path)."""
    b_defs, a_defs = as_defs(before), as_defs(after)
    return plan_changes(diff(b_defs, a_defs), PlanContext.from_defs(b_defs, a_defs))


# ---------------------------------------------------------------------- one edit
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _parse_side(section: str | None, xml: str | None):
    cls = SECTION_CLASS.get(section or "")
    if not xml or cls is None:
        return None
    from netupdate.document.source import parse_element
    return cls.from_element(parse_element(xml))


def change_context(change: Any) -> PlanContext:
    """The rules' context from an update ``Change`` (its ``context`` mapping)."""
    context = _get(change, "context") or {}
    before, after = _get(change, "before"), _get(change, "after")
    if isinstance(before, NetworkDef) and isinstance(after, NetworkDef):
        return PlanContext.from_defs(before, after)
    mode_after = _mode(_get(context, "forward_mode"))
    mode_before = _mode(_get(context, "forward_mode_before", mode_after))
    if _get(change, "section") == "forward":
        before, after = _get(change, "before"), _get(change, "after")
        mode_before = _fwd_mode(before) if before is not None else None
        mode_after = _fwd_mode(after) if after is not None else None
    family = _get(context, "ip_version")
    dhcp_before: dict[int, bool] = {}
    dhcp_after: dict[int, bool] = {}
    if family in (4, 6):
        if _get(context, "dhcp_active_before") is not None:
            dhcp_before[family] = bool(_get(context, "dhcp_active_before"))
        if _get(context, "dhcp_active_after") is not None:
            dhcp_after[family] = bool(_get(context, "dhcp_active_after"))
    return PlanContext(mode_before, mode_after, MappingProxyType(dhcp_before),
                       MappingProxyType(dhcp_after), _get(context, "ipv6_before"),
                       _get(context, "ipv6_after"))


def change_records(change: Any) -> ChangeSet:
    """The ``SectionChange`` records of one update ``Change`` (section, before/after defs)."""
    section = _get(change, "section")
    before, after = _get(change, "before"), _get(change, "after")
    command = _get(change, "command") or ""
    if before is None and not str(command).startswith("add"):
        before = _parse_side(section, _get(change, "before_xml"))
    if after is None and command != "delete":
        after = _parse_side(section, _get(change, "after_xml"))
    family = _get(_get(change, "context") or {}, "ip_version")
    return diff_item(section, before, after, family=family)


def plan_change(change: Any) -> Plan:
    """The plan of one edit (an ``update.Change`` or anything with the same attributes), from
    the touched element alone, through the same table as ``plan``."""
    try:
        records = change_records(change)
        if not records and _get(change, "before") is None and _get(change, "after") is None \
                and not _get(change, "before_xml") and not _get(change, "after_xml"):
            raise ValueError("the change carries neither definitions nor XML")
    except (ValueError, TypeError, AttributeError, NetupdateError) as exc:
        section = _get(change, "section") or "?"
        record = SectionChange(section, MODIFIED)
        why = f"cannot tell the effect of this edit ({exc}); restarting is the safe default"
        action = Action(NETWORK_RESTART, f"{record.describe()}: {why}", section,
                        MappingProxyType({}), (f"{record.describe()}: {why}",))
        return Plan((action,), ChangeSet((record,)), (FALLBACK.id,))
    return plan_changes(records, change_context(change))


# ---------------------------------------------------------------------- documentation
def rules_markdown() -> str:
    """The rules table in Markdown (embedded in docs/plan.md)."""
    lines = ["| rule | section | field | ops | when | netupdate | libvirt | why (and why it is enough) |",
             "|---|---|---|---|---|---|---|---|"]
    for rule in RULES:
        ops = "any" if set(rule.ops) == set(ALL_OPS) else ", ".join(rule.ops)
        when = ", ".join(rule.when) or "-"
        kinds = ", ".join(f"`{kind}`" for kind in rule.kinds)
        reason = rule.reason.replace("{state}", "on or off").replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {rule.section} | {rule.field} | {ops} | {when} | "
                     f"{kinds} | {rule.libvirt} | {reason} |")
    return "\n".join(lines) + "\n"

