"""netupdate: edit libvirt network definitions and apply the edits to live networks.

The public names are imported lazily so that ``import netupdate`` (and the command line) start fast.
"""

from __future__ import annotations

import importlib

from netupdate.errors import (
    AmbiguousError,
    DuplicateError,
    InvalidFragmentError,
    InvalidOperationError,
    ModelError,
    NetupdateError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    UpdateError,
    XMLParseError,
)

__version__ = "0.1.0"

_LAZY = {
    "load": "netupdate.edit.engine",
    "EditableNetwork": "netupdate.edit.engine",
    "Network": "netupdate.model.defs",
    "NetworkDef": "netupdate.model.defs",
    "update_xml": "netupdate.edit.engine",
    "Change": "netupdate.edit.engine",
    "validate": "netupdate.check.semantic",
    "is_valid": "netupdate.check.semantic",
    "Issue": "netupdate.check.semantic",
    "diff": "netupdate.planning.differ",
    "ChangeSet": "netupdate.planning.differ",
    "plan": "netupdate.planning.planner",
    "plan_change": "netupdate.planning.planner",
    "Plan": "netupdate.planning.planner",
    "Policy": "netupdate.planning.policy",
    "connect": "netupdate.live.connect",
    "edit_file": "netupdate.live.files",
    "FileEdit": "netupdate.live.files",
    "fragment": "netupdate.edit.shortcuts",
}

__all__ = [
    "AmbiguousError", "DuplicateError", "InvalidFragmentError", "InvalidOperationError",
    "ModelError", "NetupdateError", "NotFoundError", "PolicyError", "UnsupportedError",
    "UpdateError", "XMLParseError", "__version__", *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netupdate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with the lazy exports, so ``dir(netupdate)`` and completion in a REPL
    show them before their first use."""
    return sorted(set(globals()) | set(_LAZY))
