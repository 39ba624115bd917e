"""The types every section module declares: ``Section``, ``Rule``, ``Finding``, ``PlanRow``.

A section module (``sections/dns_txt.py``, ...) holds all the project knows about one libvirt
update section and exports it as data and pure functions; the registry (``sections/__init__``)
collects them and the other layers (edit, check, planning, render, live) look them up there:

- ``SECTION``: a ``Section`` (name, libvirt code, element tags, typed definition, key,
  commands libvirt implements, live support);
- ``RULES``: its structural rules, ``Rule`` objects run by both engines (the update engine raises
  a finding's ``error(message)``; ``validate`` reports its ``detail`` with the rule's code);
- optional hooks, looked up with ``getattr`` by the layer that needs them: ``check_fragment``
  (edit: checks of a fragment before it is placed), ``PLAN_ROWS`` (planning: the planner's
  rows), ``dnsmasq_lines`` (render: the section's conf lines), ``format_key`` (planning: how a
  diff names an item), ``DIFF_DEFAULTS``, ``DIFF_SUBSECTIONS``, ``diff_own`` (planning: what a
  diff compares and reports as the item).

A rule's ``check(view)`` runs on a read-only view of a document: any object with ``root`` (the
``<network>`` element) and ``n`` (the network name as messages print it).  The update engine's
edit state and validate's subject both are one.  A rule that can be checked one element at a
time also gives ``item(element, n)``, so the engine checks only the element it touched (the
linear fast path for big documents) and ``check`` is the loop over the section's elements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import field

from netupdate.errors import InvalidOperationError, UpdateError
from netupdate.model import values as T
from netupdate.model.record import Frozen, record

# the commands libvirt implements for a section
ADD_DELETE = T.ADD_COMMANDS | {T.Command.DELETE}
ALL_COMMANDS = frozenset(T.Command)
MODIFY = frozenset({T.Command.MODIFY})

ERROR = "error"
WARNING = "warning"


@record   # a frozen dataclass without generated code (start-up time)
class Section(Frozen):
    """One update section."""

    name: str
    code: int | None            # libvirt's VIR_NETWORK_SECTION_* value; None for pseudo sections
    tags: tuple[str, ...]       # element tags from <network> down to the element
    def_cls: type
    repeated: bool              # several elements of this section may exist side by side
    libvirt: frozenset[str]     # commands libvirt 9.0 implements for the section
    key: tuple[str, ...] = ()   # attributes that identify an element (documentation)
    newer: frozenset[str] = frozenset()   # commands libvirt added after 9.0 (tried, then ours)

    @property
    def tag(self) -> str:
        return self.tags[-1]

    @property
    def path(self) -> str:
        return "/" + "/".join(self.tags)

    @property
    def container(self) -> tuple[str, ...]:
        """Tags from <network> to the element's parent."""
        return self.tags[:-1]

    @property
    def pseudo(self) -> bool:
        return self.code is None

    def __str__(self) -> str:
        return self.name


@record
class Finding(Frozen):
    """One problem a rule found.

    ``target`` locates it (an element, or ``(element, attribute)``); ``message`` is libvirt's
    wording, raised by the update engine as ``error(message)`` (None: the engine does not
    refuse it, validate only); ``detail`` is what ``validate`` prints after the code (None: the
    update engine only, e.g. a problem the grammar already reports to validate).
    """

    target: object
    message: str | None
    detail: str | None = None
    error: type[UpdateError] = InvalidOperationError


@record
class Rule(Frozen):
    """A documented check: code, name, severity, title, a one-paragraph explanation, and the
    check itself (``check(subject)``; for section rules ``subject`` is a view, see above, and
    the check yields ``Finding``; validate's own rules yield ``(target, message)``)."""

    code: str
    name: str
    severity: str
    title: str
    explanation: str
    source: str = "semantic"
    check: Callable[..., Iterable] | None = field(default=None, repr=False, compare=False)
    # the part of the document the update engine re-checks it for (a section name, or a
    # group such as "forward"); None for validate-only rules
    scope: str | None = field(default=None, compare=False)
    item: Callable[..., Iterable[Finding]] | None = field(default=None, repr=False,
                                                        compare=False)

    def __post_init__(self):
        object.__setattr__(self, "explanation", " ".join(self.explanation.split()))

    @property
    def can_ignore(self) -> bool:
        """Parse issues cannot be ignored: the document was not checked at all."""
        return self.source != "parse"


def each(tag_path: tuple[str, ...], item: Callable[..., Iterable[Finding]]):
    """A whole-document check from a per-element one: ``item`` on every element at
    ``tag_path`` (tags below ``<network>``)."""
    def check(view) -> Iterator[Finding]:
        parents = [view.root]
        for tag in tag_path[:-1]:
            parents = [c for p in parents for c in p.iterchildren(tag)]
        for parent in parents:
            for element in parent.iterchildren(tag_path[-1]):
                yield from item(element, view.n)
    return check


def mode_of(forward) -> T.ForwardMode | str:
    """The mode of a ``<forward>`` (nat when unset): a ``ForwardMode``, or the text if unknown
    (as written, whatever it holds: NU-E101 and NU-E021 report it)."""
    text = forward.get("mode") or T.ForwardMode.NAT
    try:
        return T.ForwardMode(text)
    except ValueError:
        return text


def forward_mode(root) -> T.ForwardMode | str | None:
    """The forward mode of a ``<network>`` element (None: no ``<forward>``, an isolated
    network); see ``mode_of``."""
    forward = next(root.iterchildren("forward"), None)
    return None if forward is None else mode_of(forward)


def q(name: str) -> str:
    """A network name quoted as libvirt quotes it."""
    return f"'{name}'"


@record
class PlanRow(Frozen):
    """One row of the planner's table: the live actions a change of ``section`` (and
    ``field``) needs (``planning/planner.py`` runs them)."""

    id: str
    section: str                            # a section name, or "*"
    field: str                              # a (dotted) field path, or "*"
    ops: tuple[str, ...]
    do: tuple[tuple[str, str], ...]         # (action kind, why)
    when: tuple[str, ...] = ()              # condition names, all must hold
    libvirt: str = ""                       # what libvirt does instead (docs/plan.md)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _why in self.do)

    @property
    def reason(self) -> str:
        return "; ".join(dict.fromkeys(why for _kind, why in self.do))

    def why(self, kind: str) -> str:
        return next(why for k, why in self.do if k == kind)

    @property
    def specificity(self) -> tuple[int, int]:
        return (self.section != "*", 0 if self.field == "*" else self.field.count(".") + 1)


def row(id: str, section: str, field: str, ops: tuple[str, ...], *do: tuple[str, str],
        when: tuple[str, ...] = (), libvirt: str = "") -> PlanRow:
    return PlanRow(id, section, field, ops, tuple(do), tuple(when), libvirt)


# the planner's words, shared by the rows of every section
ADDED, REMOVED, MODIFIED = "added", "removed", "modified"
ALL_OPS = (ADDED, REMOVED, MODIFIED)
RESTART = "network-restart"
CONF = "dnsmasq reads its conf file only at start (SIGHUP does not re-read it)"
DEVICE_POOL = ("a device pool: used for guest ports plugged from now on; devices in use stay "
               "with their guests until re-plugged")
# the live step of a network made of host devices (bridge, macvtap and hostdev modes)
POOL = ("device-pool", "the network is host devices (a host bridge, interfaces or PCI functions): "
                       "re-read from the definition, checked and recorded; " + DEVICE_POOL)
UNMANAGED = ("unmanaged",)
COUNTER = "a usage counter kept by libvirt in its status XML, not configuration"
LV_REFUSED = "refused live (not an update section): net-edit, then destroy/start"
LV_DEFINE = "no update section: net-define, then destroy/start"
FIREWALL_ATOMIC = "the rule set is replaced atomically; bridge, addresses and dnsmasq stay"
FIREWALL_SUBNET = "the firewall rules are per subnet; " + FIREWALL_ATOMIC
NO_FW_HOSTS = ("the firewall rules do not depend on DHCP (the DHCP ports are always open to the "
               "bridge), so they stay")
DHCP_FLIP = ("DHCP of this address family is switched {state}: the dhcp-range (and "
             "dhcp-hostsdir) lines appear or disappear in the conf; " + CONF + "; "
             + NO_FW_HOSTS)
