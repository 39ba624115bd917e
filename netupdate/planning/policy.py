"""Fine-grained access policy, checked against the computed ``ChangeSet``.

A policy (TOML, see docs/policy.md) lists what a caller may change: ``[[allow]]`` and ``[[deny]]``
rules naming sections, update commands, the fields a modification may touch, and patterns on the
items (MAC prefixes, host name globs, address ranges).  A change is allowed when no deny rule
matches it and an allow rule does (or when ``default = "allow"``).

The policy judges the *effect* of an edit, not the request: it runs on the diff of the document
before and after, so an XPath nodeSpec edit or a whole-document apply is checked exactly like a
section-form edit and cannot bypass it.  ``enforce`` is the helper for callers that hold both
documents; it raises ``PolicyError`` before anything is written.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netupdate.errors import PolicyError
from netupdate.model import defs as model
from netupdate.model import values as T
from netupdate.planning.changes import SECTION_CLASS, SECTION_ORDER, ChangeSet, SectionChange
from netupdate.planning.differ import diff
from netupdate.sections._spec import ADDED, MODIFIED, REMOVED

# update command (``types.Command``; a policy's "add" means both adds) -> the operation it
# performs on the ChangeSet
COMMAND_OPS = {"add": ADDED, T.Command.ADD_FIRST: ADDED, T.Command.ADD_LAST: ADDED,
               T.Command.MODIFY: MODIFIED, T.Command.DELETE: REMOVED}
RULE_KEYS = {"rule", "description", "section", "sections", "commands", "fields"}
TOP_KEYS = {"allow", "deny", "default", "description", "dnsmasq-options"}
OPTION_NAMES = ("value", "option")  # pattern names for dnsmasq-options items


def _as_tuple(value: Any, what: str, where: str) -> tuple:
    if isinstance(value, list | tuple):
        items = tuple(value)
    else:
        items = (value,)
    for item in items:
        if not isinstance(item, str | bool | int):
            raise PolicyError(f"{where}: {what} must be a string or a list of strings, "
                              f"got {item!r}")
    return items


def _field(cls: type, name: str):
    """The dataclass field of ``cls`` named ``name`` (Python name or XML attribute name)."""
    if not dataclasses.is_dataclass(cls):
        return None
    for f in model.fields_of(cls):
        if f.name == name or (f.metadata.get("kind") == "attr" and f.metadata.get("xml") == name):
            return f
        if f.metadata.get("kind") == "children" and f.metadata.get("cls") is None \
                and f.metadata.get("xml") == name:
            return f   # repeated text children (<hostname>)
    return None


def _pattern_names(section: str) -> set[str]:
    cls = SECTION_CLASS.get(section)
    if cls is None:
        return set(OPTION_NAMES)
    names = set()
    for f in model.fields_of(cls):
        names.add(f.name)
        if f.metadata.get("xml"):
            names.add(f.metadata["xml"])
    return names


def _text(value: Any) -> str:
    if isinstance(value, T.MAC | T.DUID):
        return value.normalized
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


def _value_matches(value: Any, pattern: Any) -> bool:
    if value is None:
        return False
    if isinstance(pattern, bool) or isinstance(value, bool):
        return value is pattern if isinstance(pattern, bool) else _text(value) == str(pattern)
    if isinstance(pattern, int):
        return value == pattern
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address) and "/" in pattern:
        try:
            return value in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    if isinstance(value, T.MAC | T.DUID):
        return fnmatch.fnmatchcase(value.normalized, pattern.lower()) or \
            fnmatch.fnmatchcase(str(value).lower(), pattern.lower())
    if isinstance(value, ipaddress.IPv6Address):
        return fnmatch.fnmatchcase(str(value), pattern.lower())
    return fnmatch.fnmatchcase(_text(value), pattern)


def _side_values(change: SectionChange, side: Any, name: str) -> tuple[bool, Any]:
    """(found, value) of the pattern ``name`` on one side of a change."""
    if change.section == "network":
        return (True, side) if change.key and change.key[0] == name else (False, None)
    if isinstance(side, str):
        return (True, side) if name in OPTION_NAMES else (False, None)
    f = _field(type(side), name)
    if f is None:
        return False, None
    return True, getattr(side, f.name)


def _matches_side(change: SectionChange, side: Any, patterns) -> bool:
    for name, globs in patterns:
        found, value = _side_values(change, side, name)
        if not found:
            return False
        values = value if isinstance(value, tuple) else (value,)
        if not values:
            return False
        if not all(any(_value_matches(v, g) for g in globs) for v in values):
            return False
    return True


@dataclass(frozen=True)
class PolicyRule:
    """One ``[[allow]]`` or ``[[deny]]`` table."""

    effect: str                               # "allow" or "deny"
    index: int                                # 1-based position among rules of its effect
    sections: tuple[str, ...] = ("*",)
    commands: tuple[str, ...] | None = None   # None: any
    fields: tuple[str, ...] | None = None     # None: any (modifications only)
    patterns: tuple[tuple[str, tuple], ...] = ()
    rule: str | None = None                   # the rule's own name (``rule = "..."``)
    description: str | None = None

    @property
    def name(self) -> str:
        label = f"{self.effect} rule #{self.index}"
        return f"{label} '{self.rule}'" if self.rule else label

    def summary(self) -> str:
        parts = [f"section={'|'.join(self.sections)}"]
        if self.commands is not None:
            parts.append(f"commands={'|'.join(self.commands)}")
        if self.fields is not None:
            parts.append(f"fields={'|'.join(self.fields)}")
        for name, globs in self.patterns:
            parts.append(f"{name}={'|'.join(str(g) for g in globs)}")
        return ", ".join(parts)

    def matches(self, change: SectionChange, command: str | None = None) -> bool:
        if "*" not in self.sections and change.section not in self.sections:
            return False
        if self.commands is not None:
            ops = {COMMAND_OPS[c] for c in self.commands}
            if change.op not in ops:
                return False
            if command is not None and not _command_listed(command, self.commands):
                return False
        if self.fields is not None:
            # allow: the change touches only these fields; deny: it touches any of them.
            # Adding or removing a whole item touches all its fields: a field-limited allow
            # rule does not cover it, a field-limited deny rule does.
            if change.section == "network":
                touched = {change.key[0]} if change.key else set()
            elif change.op == MODIFIED:
                touched = {path.split(".")[0] for path in change.fields}
            else:
                touched = None
            if self.effect == "allow":
                if not touched or not touched <= set(self.fields):
                    return False
            elif touched is not None and not touched & set(self.fields):
                return False
        if self.patterns:
            sides = [s for s in (change.before, change.after) if s is not None]
            if not sides:
                return False
            results = [_matches_side(change, side, self.patterns) for side in sides]
            # allow: every side must fit (no editing an item into or out of the pattern);
            # deny: any side that fits is refused.
            return all(results) if self.effect == "allow" else any(results)
        return True


PRIVILEGED_OPTIONS = PolicyRule("deny", 0, ("dnsmasq-options",), rule="dnsmasq-options",
                                description="<dnsmasq:options> is privileged input")


def _command_listed(command: str, commands: tuple[str, ...]) -> bool:
    if command in commands:
        return True
    return command in T.ADD_COMMANDS and "add" in commands


class Policy:
    """Rules of what a caller may change; default deny."""

    def __init__(self, rules: Iterable[PolicyRule] = (), *, default: str = "deny",
                 source: str | None = None, description: str | None = None,
                 dnsmasq_options: str | None = None):
        # ``dnsmasq-options = "deny"``: <dnsmasq:options> is privileged input (an option can
        # run a program as root); the first deny rule refuses any change of it.
        if dnsmasq_options == "deny":
            rules = (PRIVILEGED_OPTIONS, *rules)
        self.dnsmasq_options = dnsmasq_options
        self.rules = tuple(rules)
        self.default = default
        self.source = source
        self.description = description

    @property
    def allow_rules(self) -> tuple[PolicyRule, ...]:
        return tuple(r for r in self.rules if r.effect == "allow")

    @property
    def deny_rules(self) -> tuple[PolicyRule, ...]:
        return tuple(r for r in self.rules if r.effect == "deny")

    def __repr__(self) -> str:
        return f"<Policy {self.source or ''} {len(self.rules)} rules, default {self.default}>"

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_toml(cls, text: str | bytes, *, filename: str | None = None) -> Policy:
        """A policy from TOML text (``filename``: where it was read, for messages; reading a
        file is the caller's: ``netupdate.live.backend.load_policy`` or the CLI)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"invalid TOML: {exc}", file=filename) from None
        return cls.from_dict(data, source=filename)

    @classmethod
    def from_dict(cls, data: dict, *, source: str | None = None) -> Policy:
        def fail(message: str):
            raise PolicyError(message, file=source)

        unknown = set(data) - TOP_KEYS
        if unknown:
            fail(f"unknown top-level key(s): {', '.join(sorted(unknown))} "
                 f"(expected {', '.join(sorted(TOP_KEYS))})")
        default = data.get("default", "deny")
        if default not in ("allow", "deny"):
            fail(f"default must be 'allow' or 'deny', got {default!r}")
        options = data.get("dnsmasq-options")
        if options not in (None, "allow", "deny"):
            fail(f"dnsmasq-options must be 'allow' or 'deny', got {options!r}")
        rules = []
        for effect in ("allow", "deny"):
            tables = data.get(effect, [])
            if not isinstance(tables, list):
                fail(f"'{effect}' must be an array of tables: write [[{effect}]]")
            for index, table in enumerate(tables, 1):
                rules.append(cls._rule(effect, index, table, fail))
        return cls(rules, default=default, source=source, description=data.get("description"),
                   dnsmasq_options=options)

    @staticmethod
    def _rule(effect: str, index: int, table: dict, fail) -> PolicyRule:
        where = f"[[{effect}]] #{index}" + (f" '{table['rule']}'" if "rule" in table else "")
        if "section" in table and "sections" in table:
            fail(f"{where}: use 'section' or 'sections', not both")
        sections = _as_tuple(table.get("section", table.get("sections", "*")), "section", where)
        for section in sections:
            if section != "*" and section not in SECTION_ORDER:
                fail(f"{where}: unknown section {section!r} "
                     f"(known: {', '.join(SECTION_ORDER)}, or '*')")
        commands = None
        if "commands" in table:
            commands = _as_tuple(table["commands"], "commands", where)
            for command in commands:
                if command not in COMMAND_OPS:
                    fail(f"{where}: unknown command {command!r} "
                         f"(known: {', '.join(COMMAND_OPS)})")
        known = set()
        for section in (SECTION_ORDER if "*" in sections else sections):
            known |= _pattern_names(section)
        fields = None
        if "fields" in table:
            fields = _as_tuple(table["fields"], "fields", where)
            for name in fields:
                if name not in known:
                    fail(f"{where}: unknown field {name!r} for section(s) "
                         f"{', '.join(sections)}")
        patterns = []
        for name, value in table.items():
            if name in RULE_KEYS:
                continue
            if name not in known:
                fail(f"{where}: unknown key {name!r}: not a rule key "
                     f"({', '.join(sorted(RULE_KEYS))}) nor a field of section(s) "
                     f"{', '.join(sections)}")
            patterns.append((name, _as_tuple(value, name, where)))
        return PolicyRule(effect, index, tuple(sections), commands, fields, tuple(patterns),
                          table.get("rule"), table.get("description"))

    # ------------------------------------------------------------------ checking
    def decide(self, change: SectionChange, *,
               command: str | None = None) -> tuple[bool, PolicyRule | None]:
        """(allowed, the deciding rule or None for the default)."""
        for rule in self.deny_rules:
            if rule.matches(change, command):
                return False, rule
        for rule in self.allow_rules:
            if rule.matches(change, command):
                return True, rule
        return self.default == "allow", None

    def check(self, changes: Any, *, command: str | None = None) -> ChangeSet:
        """Raise ``PolicyError`` for the first change the policy refuses; return the
        ChangeSet.  ``changes`` is a ``ChangeSet``, ``SectionChange``(s), a ``Plan`` or an
        update ``Change``; ``command`` is the update command that made them, if any."""
        changeset, command = _changeset(changes, command)
        for change in changeset:
            allowed, rule = self.decide(change, command=command)
            if allowed:
                continue
            if rule is not None:
                message = (f"policy refuses {change.describe()}: denied by {rule.name} "
                           f"({rule.summary()})")
            else:
                message = (f"policy refuses {change.describe()}: no allow rule matches "
                           f"(default deny)")
            if command:
                message += f" [command {command}]"
            error = PolicyError(message, file=self.source)
            error.rule = rule
            error.change = change
            raise error
        return changeset

    def allows(self, changes: Any, *, command: str | None = None) -> bool:
        try:
            self.check(changes, command=command)
        except PolicyError:
            return False
        return True


def _changeset(changes: Any, command: str | None) -> tuple[ChangeSet, str | None]:
    if isinstance(changes, ChangeSet):
        return changes, command
    if isinstance(changes, SectionChange):
        return ChangeSet((changes,)), command
    inner = getattr(changes, "changes", None)
    if isinstance(inner, ChangeSet):            # a Plan
        return inner, command
    if hasattr(changes, "section") and hasattr(changes, "command"):   # an update Change
        from netupdate.planning.planner import change_records
        return change_records(changes), command or changes.command
    return ChangeSet(changes), command


def enforce(policy: Policy | None, before: Any, after: Any, *,
            command: str | None = None) -> ChangeSet:
    """Diff ``before`` and ``after`` (``Network``, ``NetworkDef``, XML text or path) and check
    the changes against ``policy`` (None checks nothing).  Raises ``PolicyError`` naming the
    rule and the change; returns the ChangeSet."""
    changeset = diff(before, after)
    if policy is not None:
        policy.check(changeset, command=command)
    return changeset
