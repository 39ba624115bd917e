"""``portgroup`` (libvirt section 9): ``<network><portgroup name default? ...>`` with
``<virtualport>``, ``<vlan>`` and ``<bandwidth>`` children.

Keyed by ``name``; libvirt implements every command.  A portgroup is read when a guest port is
allocated, so a change needs nothing on the running network.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.errors import DuplicateError, InvalidFragmentError
from netupdate.model import defs as M
from netupdate.sections._spec import ALL_COMMANDS, ALL_OPS, ERROR, Finding, Rule, Section, q, row

SECTION = Section("portgroup", 9, ("network", "portgroup"), M.Portgroup, True, ALL_COMMANDS,
                  ("name",))


def is_default(element) -> bool:
    """libvirt reads ``default`` case-insensitively."""
    return (element.get("default") or "").lower() == "yes"


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on one ``<portgroup>`` (every command runs it, delete included)."""
    name = element.get("name")
    if name is None:
        yield Finding(element, "Missing required name attribute in portgroup",
                      error=InvalidFragmentError)
        return
    default = element.get("default")
    if default is not None and default.lower() not in ("yes", "no"):
        yield Finding(element, f"invalid value '{default}' for attribute 'default' of portgroup "
                      f"'{name}' in network {q(n)} (yes or no)", error=InvalidFragmentError)


def _line_note(element) -> str:
    return f" (line {element.sourceline})" if element.sourceline else ""


def duplicate_name(n: str, name: str) -> str:
    return (f"there is an existing portgroup entry in network {q(n)} that matches "
            f"\"<portgroup name='{name}'>\"")


def second_default(n: str) -> str:
    return (f"a different portgroup entry in network {q(n)} is already set as the default. "
            "Only one default is allowed.")


def _defaults(view) -> Iterator[Finding]:
    first = None
    for element in view.root.iterchildren("portgroup"):
        if not is_default(element):
            continue
        if first is None:
            first = element
            continue
        yield Finding(element, second_default(view.n),
                      f"portgroup '{element.get('name')}' is a second default: "
                      f"'{first.get('name')}'{_line_note(first)} is already the default")


def _names(view) -> Iterator[Finding]:
    seen: dict[str, object] = {}
    for element in view.root.iterchildren("portgroup"):
        name = element.get("name")
        if name is None:
            continue
        if name in seen:
            yield Finding(element, duplicate_name(view.n, name),
                          f"portgroup name '{name}' is already used{_line_note(seen[name])}",
                          DuplicateError)
        else:
            seen[name] = element


# in the order the update engine reports them (a duplicate name first)
RULES = (
    Rule("NU-E129", "portgroup-duplicate-name", ERROR, "Duplicate portgroup name",
         "Two ``<portgroup>`` elements have the same name.  Interfaces select a portgroup by "
         "name, so the second one could never be used; libvirt refuses to add a portgroup "
         "whose name is taken.", check=_names, scope="portgroup"),
    Rule("NU-E112", "portgroup-multiple-default", ERROR, "More than one default portgroup",
         "More than one ``<portgroup default='yes'>``.  Only one portgroup can be the default "
         "(used by interfaces that name none); libvirt refuses the definition.",
         check=_defaults, scope="portgroup"),
)

# how a diff names a portgroup: by its name, quoted
KEY_IS_NAME = True
# libvirt's default of an absent attribute, applied before comparing
DIFF_DEFAULTS = {"default": False}

# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("portgroup",)

PLAN_ROWS = (
    row("portgroup", "portgroup", "*", ALL_OPS,
        ("none", "a portgroup is read when a guest port is allocated; ports already attached "
                 "keep their settings until re-plugged"),
        libvirt="none"),
)

DNSMASQ_SLOT = None   # no dnsmasq lines
