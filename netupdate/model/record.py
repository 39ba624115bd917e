"""Declared records: immutable dataclasses without generated code (``record``, ``Frozen``),
the base of the typed definitions (``Def``), their field declarations (``attr``, ``text``,
``child``, ``children``, ``custom``) and the generic reader that builds one from its element.

A record is a dataclass (``dataclasses.fields``, ``replace`` and ``is_dataclass`` work on it,
assignment raises ``FrozenInstanceError``), but ``record`` generates no code for it: ``__init__``,
immutability, equality, hashing and repr are written once here, on ``Frozen``.  Generating them
per class (``exec`` of each method, and ``inspect.signature`` for each docstring) cost ~1 ms a
class: ~35 ms of start-up in every command that reads a network (the model's definitions and the
sections' ``Section``, ``Rule``, ``Finding``, ``PlanRow``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import FrozenInstanceError, field
from typing import Any, ClassVar

from netupdate.document.bulk import bulk
from netupdate.document.paths import indexed_paths
from netupdate.document.source import element_path
from netupdate.errors import ModelError
from netupdate.model import text as TC


# ---------------------------------------------------------------------- field declarations
def attr(name: str, convert: Callable = TC.one_line, *, child: str | None = None,
         compare: bool = True) -> Any:
    """An attribute ``name`` of the element (or of its ``child`` element)."""
    return field(default=None, compare=compare,
                 metadata={"kind": "attr", "xml": name, "child": child, "convert": convert})


def text(child: str | None = None, convert: Callable = TC.one_line) -> Any:
    """The text of the element (or of its ``child`` element)."""
    return field(default=None, metadata={"kind": "text", "child": child, "convert": convert})


def child(tag: str, cls: type) -> Any:
    """An optional single child element read as ``cls``."""
    return field(default=None, metadata={"kind": "child", "xml": tag, "cls": cls})


def children(tag: str, cls: type | None = None, convert: Callable = TC.one_line,
             within: str | None = None) -> Any:
    """Repeated child elements (inside ``within`` if given), as a tuple of ``cls``
    (or of their converted text when ``cls`` is None)."""
    return field(default=(), metadata={"kind": "children", "xml": tag, "cls": cls,
                                       "convert": convert, "within": within})


def custom(reader: Callable, *, compare: bool = True, default: Any = None) -> Any:
    """A value computed by ``reader(element, context)``."""
    return field(default=default, compare=compare, metadata={"kind": "custom", "read": reader})


def record(cls: type) -> type:
    """``cls`` (a ``Frozen``: a ``Def``, a section's ``Rule``, ...) as a dataclass whose
    methods come from ``Frozen``: its fields are declared, nothing is generated."""
    own_doc = cls.__dict__.get("__doc__")
    cls.__doc__ = own_doc or cls.__name__   # a docstring: dataclass would compute a signature
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{cls.__name__}: a record field takes a default, not a factory")
    cls._fields = fields
    cls._names = tuple(f.name for f in fields)
    cls._defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    cls._required = tuple(name for name in cls._names if name not in cls._defaults)
    cls._compared = tuple(f.name for f in fields if f.compare)
    cls._shown = tuple(f.name for f in fields if f.repr)
    if issubclass(cls, Def):
        if cls._required:
            raise TypeError(f"{cls.__name__}: every field of a definition needs a default")
        cls._plan = None
    if not own_doc:
        cls.__doc__ = f"{cls.__name__}({', '.join(cls._names)})"
    return cls


def fields_of(cls: type) -> tuple[dataclasses.Field, ...]:
    return cls._fields


class Context:
    """Collects every problem met while reading, with file, line and path."""

    def __init__(self, filename: str | None):
        self.filename = filename
        self.problems: list[ModelError] = []

    def problem(self, element, message: str, code: str | None = None) -> None:
        self.problems.append(ModelError(message, file=self.filename, line=element.sourceline,
                                        path=element_path(element), code=code))

    def convert(self, element, name: str, convert: Callable, raw: str):
        try:
            return convert(raw)
        except ValueError as exc:
            return self.failed(element, name, exc)

    def failed(self, element, name: str, exc: ValueError) -> None:
        """Record a value that could not be read (its field becomes None)."""
        self.problem(element, f"{f'attribute {name!r}' if name else 'text'}: {exc}",
                     getattr(exc, "code", None))     # NU-E021 for text (textcheck)


class Frozen:
    """Base of an immutable record (see ``record``): ``Cls(field=value, ...)`` or the values
    in field order, fields not given keep their default; assignment raises
    ``FrozenInstanceError``; equality and hashing use the compared fields, repr the shown ones;
    ``__post_init__`` runs if the class has one."""

    _fields: ClassVar[tuple[dataclasses.Field, ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}
    _required: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[tuple[str, ...]] = ()
    _shown: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args, **values):
        cls = type(self)
        names = cls._names
        if args:
            if len(args) > len(names):
                raise TypeError(f"{cls.__name__}() takes at most {len(names)} "
                                f"positional arguments ({len(args)} given)")
            for name, value in zip(names, args, strict=False):
                if name in values:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument "
                                    f"{name!r}")
                values[name] = value
        unknown = values.keys() - set(names)
        if unknown:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument "
                            f"{min(unknown)!r}")
        missing = [name for name in cls._required if name not in values]
        if missing:
            raise TypeError(f"{cls.__name__}() missing required argument {missing[0]!r}")
        defaults, state = cls._defaults, self.__dict__
        for name in names:
            state[name] = values[name] if name in values else defaults[name]
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    def __setattr__(self, name: str, value) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash((self.__class__.__name__, self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


class Def(Frozen):
    """Base of every definition: read from an element, compared by content, immutable
    (``Frozen``); every field has a default."""

    TAG: ClassVar[str] = ""
    KEY: ClassVar[tuple[str, ...]] = ()
    _plan: ClassVar[tuple | None] = None

    @classmethod
    def from_element(cls, element, *, filename: str | None = None):
        """Read one definition; raises ``ModelError`` listing every problem found."""
        value, problems = cls.read_lenient(element, filename=filename)
        if problems:
            first = problems[0]
            raise ModelError(first.message, problems=problems, file=first.file,
                             line=first.line, path=first.path, code=first.code)
        return value

    @classmethod
    def read_lenient(cls, element, *, filename: str | None = None):
        """``(definition, problems)``: values that cannot be read are None in the definition,
        and each is a ``ModelError`` in ``problems`` (in document order; paths indexed once)."""
        context = Context(filename)
        with indexed_paths(), bulk():
            value = cls._read(element, context)
        return value, sorted(context.problems, key=lambda p: (p.line or 0, p.path or ""))

    @classmethod
    def _read(cls, element, context: Context):
        plan = cls._plan
        if plan is None:
            plan = cls._plan = tuple(_field_reader(f) for f in cls._fields)
        value = cls.__new__(cls)
        state = value.__dict__
        state.update(cls._defaults)
        get = element.get
        for name, xml, convert, read in plan:
            if read is None:   # an attribute of the element itself, inline: 100,000 hosts
                raw = get(xml)
                if raw is not None:
                    try:
                        state[name] = convert(raw)
                    except ValueError as exc:
                        state[name] = context.failed(element, xml, exc)
                continue
            found = read(element, context)
            if found is not _ABSENT:
                state[name] = found
        return value

    def key(self) -> tuple:
        """The identity of a repeated definition among its siblings (for diff and policy)."""
        return tuple(getattr(self, name) for name in self.KEY)


_ABSENT = object()


def _field_reader(f: dataclasses.Field) -> tuple[str, str | None, Callable | None,
                                                Callable | None]:
    """``(name, attribute, convert, read)``: how one declared field is read from its element.
    An attribute of the element itself has no ``read`` (``_read`` does it inline); ``read``
    returns ``_ABSENT`` when the XML does not say, so the field keeps its default.  Built once
    per class."""
    meta = f.metadata
    kind = meta["kind"]
    convert, tag = meta.get("convert"), meta.get("xml")
    if kind == "custom":
        return f.name, None, None, meta["read"]
    if kind == "attr" and not meta["child"]:
        return f.name, tag, convert, None
    if kind in ("attr", "text"):
        child_tag = meta["child"]

        def read(element, context):
            target = element.find(child_tag) if child_tag else element
            if target is None:
                return _ABSENT
            if kind == "attr":
                raw = target.get(tag)
                return _ABSENT if raw is None else context.convert(target, tag, convert, raw)
            if target.text is None and not len(target):
                return _ABSENT
            return context.convert(target, "", convert, "".join(target.itertext()))
    elif kind == "child":
        sub = meta["cls"]

        def read(element, context):
            found = next(element.iterchildren(tag), None)   # find(): 10x slower
            return _ABSENT if found is None else sub._read(found, context)
    else:
        sub, within = meta["cls"], meta["within"]

        def read(element, context):
            parent = element.find(within) if within else element
            if parent is None:
                return _ABSENT
            if sub is not None:
                return tuple(sub._read(e, context) for e in parent.iterchildren(tag))
            return tuple(context.convert(e, "", convert, "".join(e.itertext()))
                         for e in parent.iterchildren(tag))
    return f.name, None, None, read
