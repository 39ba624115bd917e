"""A corpus of before/after pairs: every element and attribute of the network format changed one
at a time over the fixture networks (issue 17), and the restart rule they are judged by.

``generate()`` walks every valid fixture in ``fixtures/networks`` and makes, one at a time:

- each element removed (not the root, not ``<name>``/``<uuid>``: see ``IDENTITY``);
- each attribute removed, and set to each other value the fixtures use at the same element path
  (plus yes<->no, on<->off, and an integer + 1);
- each text-only element (title, description, hostname, ...) given another text;
- each element the other fixtures have under the same parent path added where it is missing
  (a copy of the first one found), and each attribute they use added where it is missing.

A pair is kept when the result is still a valid definition (``netupdate.validate`` finds no
error) and differs semantically from the fixture (its ``diff`` is not empty): what libvirt
would refuse, or what is the same network spelled differently, is no update.  The network's
name and uuid are its identity (state files, dnsmasq conf and nft table are named after it;
libvirt refuses another uuid and makes a second network for another name), so changing them is
defining another network, not updating this one: they are left out.

``allowed_restart(before, after)`` is the issue's rule: a full network restart may appear only
when the bridge is renamed (the effective bridge name differs) or the forward mode moves between
groups (routed: isolated, nat, route, open; bridge or macvtap: bridge, private, vepa,
passthrough; hostdev).  Nothing here knows the planner's rows.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "networks"
IDENTITY = {"name", "uuid"}
TEXT_ELEMENTS = {"title", "description", "hostname"}
GROUPS = {None: "routed", "nat": "routed", "route": "routed", "open": "routed",
          "bridge": "bridge-or-macvtap", "private": "bridge-or-macvtap",
          "vepa": "bridge-or-macvtap", "passthrough": "bridge-or-macvtap",
          "hostdev": "hostdev"}
SIBLINGS = 2
SKIP = {"large-hosts.xml"}   # the same shapes as nat-hosts.xml, 200 times over
FLIPS = {"yes": "no", "no": "yes", "on": "off", "off": "on"}


@dataclass(frozen=True)
class Pair:
    fixture: str
    what: str            # e.g. "remove /network/ip[1]/dhcp", "set /network/bridge@stp=off"
    before: str          # XML text
    after: str
    before_defs: object = field(compare=False, repr=False, default=None)   # NetworkDef
    after_defs: object = field(compare=False, repr=False, default=None)

    @property
    def id(self) -> str:
        return f"{self.fixture}: {self.what}"


def _tag(el) -> str:
    q = etree.QName(el)
    return f"{{{q.namespace}}}{q.localname}" if q.namespace else q.localname


def _short(el) -> str:
    return etree.QName(el).localname


def _path(el) -> str:
    """The element's path without indices (``network/ip/dhcp/host``)."""
    parts = []
    while el is not None:
        parts.append(_short(el))
        el = el.getparent()
    return "/".join(reversed(parts))


def _where(el) -> str:
    """``/network/ip[2]/dhcp``: readable, and ``_at`` finds it again in a copy."""
    parts = []
    while el.getparent() is not None:
        parent = el.getparent()
        same = [c for c in parent if isinstance(c.tag, str) and _short(c) == _short(el)]
        parts.append(f"{_short(el)}[{same.index(el) + 1}]")
        el = parent
    return "/" + "/".join([_short(el)] + list(reversed(parts)))


def _at(root, where: str):
    el = root
    for part in where.strip("/").split("/")[1:]:
        name, number = part[:-1].split("[")
        el = [c for c in el if isinstance(c.tag, str) and _short(c) == name][int(number) - 1]
    return el


def _elements(root):
    return [el for el in root.iter() if isinstance(el.tag, str)]


def _skip(el) -> bool:
    """Inside <metadata> (free-form), the identity elements, or a third or later sibling of the
    same name (the same shape again: it adds time, not coverage)."""
    parent = el.getparent()
    if parent is not None and [c for c in parent if isinstance(c.tag, str)
                               and _short(c) == _short(el)].index(el) >= SIBLINGS:
        return True
    anc = el
    while anc is not None:
        if _short(anc) == "metadata" and anc is not el:
            return True
        anc = anc.getparent()
    return _short(el) in IDENTITY and el.getparent() is not None \
        and el.getparent().getparent() is None


def _fixtures() -> list[tuple[str, etree._Element]]:
    from netupdate.check import semantic
    out = []
    for path in sorted(FIXTURES.glob("*.xml")):
        if path.name in SKIP or any(issue.is_error for issue in semantic.validate(str(path))):
            continue
        out.append((path.name, etree.fromstring(path.read_bytes())))
    return out


def _pools(trees):
    """(path -> attribute -> sorted values), (parent path -> child tag -> first element)."""
    values: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    children: dict[str, dict[str, etree._Element]] = defaultdict(dict)
    for _name, root in trees:
        for el in _elements(root):
            if _skip(el):
                continue
            for attr, value in el.attrib.items():
                values[_path(el)][attr].add(value)
            parent = el.getparent()
            if parent is not None:
                children[_path(parent)].setdefault(_tag(el), el)
    return values, children


def _alternatives(current: str, pool: set) -> list[str]:
    out = sorted(v for v in pool if v != current)[:2]
    if current in FLIPS and FLIPS[current] not in out:
        out.append(FLIPS[current])
    if current.isdigit():
        out.append(str(int(current) + 1))
    return out


def _mutations(root, values, children):
    """(description, mutate(copy_root)) for one fixture."""
    for el in _elements(root):
        if _skip(el):
            continue
        where = _where(el)
        if el.getparent() is not None:
            yield f"remove {where}", (lambda r, w=where: _drop(_at(r, w)))
        for attr, value in el.attrib.items():
            yield f"remove {where}@{attr}", (lambda r, w=where, a=attr: _at(r, w).attrib.pop(a))
            for alt in _alternatives(value, values[_path(el)][attr]):
                yield (f"set {where}@{attr}={alt}",
                       lambda r, w=where, a=attr, v=alt: _at(r, w).set(a, v))
        for attr, pool in values[_path(el)].items():
            if attr not in el.attrib and pool:
                alt = sorted(pool)[0]
                yield (f"add {where}@{attr}={alt}",
                       lambda r, w=where, a=attr, v=alt: _at(r, w).set(a, v))
        if _short(el) in TEXT_ELEMENTS and len(el) == 0:
            yield f"text {where}", (lambda r, w=where: _retext(_at(r, w)))
        present = {_tag(child) for child in el if isinstance(child.tag, str)}
        for tag, model in children.get(_path(el), {}).items():
            if tag not in present and etree.QName(tag).localname not in IDENTITY:
                yield (f"add {where}/{etree.QName(tag).localname}",
                       lambda r, w=where, m=model: _at(r, w).append(copy.deepcopy(m)))


def _drop(el) -> None:
    el.getparent().remove(el)


def _retext(el) -> None:
    el.text = (el.text or "") + "x"


def generate() -> list[Pair]:
    """Every pair (deterministic order)."""
    from netupdate.check import semantic
    from netupdate.model.defs import load
    from netupdate.planning.differ import diff
    trees = _fixtures()
    values, children = _pools(trees)
    pairs, seen = [], set()
    for name, root in trees:
        before = etree.tostring(root, encoding="unicode")
        before_defs = load(before).defs
        for what, mutate in _mutations(root, values, children):
            changed = copy.deepcopy(root)
            mutate(changed)
            after = etree.tostring(changed, encoding="unicode")
            if after == before or (name, after) in seen:
                continue
            seen.add((name, after))
            try:
                after_defs = load(after).defs
                if not diff(before_defs, after_defs) or any(
                        i.is_error for i in semantic.validate(after)):
                    continue
            except Exception:  # noqa: BLE001 - not a definition at all: no update either
                continue
            pairs.append(Pair(name, what, before, after, before_defs, after_defs))
    return pairs


# ---------------------------------------------------------------------- the rule
def _mode(defs) -> str | None:
    if defs.forward is None:
        return None
    mode = defs.forward_mode
    return str(getattr(mode, "value", mode))


def group(defs) -> str:
    return GROUPS.get(_mode(defs), "routed")


def bridge_of(defs) -> str | None:
    """The effective bridge name (None: generated from the network name)."""
    return defs.bridge.name if defs.bridge is not None and defs.bridge.name else None


def allowed_restart(before, after) -> bool:
    return bridge_of(before) != bridge_of(after) or group(before) != group(after)


def section_of(pair_plan) -> str:
    """The section a pair's change belongs to (its first change's)."""
    changes = list(pair_plan.changes)
    return changes[0].section if changes else "?"
