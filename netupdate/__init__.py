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
    "load": "netupdate.update",
    "EditableNetwork": "netupdate.update",
    "Network": "netupdate.model",
    "NetworkDef": "netupdate.model",
    "update_xml": "netupdate.update",
    "Change": "netupdate.update",
    "validate": "netupdate.validation",
    "is_valid": "netupdate.validation",
    "Issue": "netupdate.validation",
    "diff": "netupdate.differ",
    "ChangeSet": "netupdate.differ",
    "plan": "netupdate.planner",
    "plan_change": "netupdate.planner",
    "Plan": "netupdate.planner",
    "Policy": "netupdate.policy",
    "connect": "netupdate.connection",
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
