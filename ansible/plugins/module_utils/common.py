# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)
"""Glue between AnsibleModule and netupdate's library: the import guard, the connection options
shared by every module, one-line failures and the result/diff shapes.  No network logic lives
here: everything is netupdate's (``netupdate.connect()``, the ``Backend`` verbs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import traceback

try:
    import netupdate
    from netupdate.errors import NetupdateError
except ImportError as exc:  # reported by require_netupdate() as one line
    netupdate = None
    NetupdateError = Exception
    IMPORT_ERROR = "%s: %s" % (type(exc).__name__, exc)
else:
    IMPORT_ERROR = None

# Options every module takes (the connection); the entry modules add live/config.
CONNECTION_SPEC = dict(
    uri=dict(type="str"),
    state_dir=dict(type="path"),
    policy=dict(type="str"),
)
SCOPE_SPEC = dict(
    live=dict(type="bool"),
    config=dict(type="bool"),
)


def require_netupdate(module):
    """Fail with one line when netupdate cannot be imported on the target."""
    if netupdate is None:
        module.fail_json(msg="netupdate is not importable on the target (%s): install it there "
                             "with 'pip install netupdate' (Python >= 3.11)" % IMPORT_ERROR)


def one_line(exc):
    """The one-line message of an error (netupdate's own errors already are one line)."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


@contextlib.contextmanager
def connection(module):
    """``netupdate.connect()`` from the module's ``uri``/``state_dir``/``policy`` options;
    any error becomes ``fail_json`` with netupdate's one-line message."""
    require_netupdate(module)
    params = module.params
    policy = params.get("policy")
    conn = None
    try:
        conn = netupdate.connect(params.get("uri") or None, state_dir=params.get("state_dir"),
                                 netns=params.get("netns"), policy=policy or None)
        yield conn
    except NetupdateError as exc:
        module.fail_json(msg=one_line(exc), error=type(exc).__name__)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=one_line(exc), error=type(exc).__name__,
                         exception=traceback.format_exc())
    finally:
        if conn is not None:
            conn.close()


def find_network(conn, name):
    """The ``NetworkInfo`` of ``name`` from ``conn.list()``, or None when it is not defined."""
    for info in conn.list():
        if info.name == name:
            return info
    return None


def result_json(result):
    """An ``UpdateResult`` as the module returns it (None stays None)."""
    return None if result is None else result.to_json()


def diff_entry(header, before, after):
    """One entry of Ansible's ``diff`` list (before/after text of a definition)."""
    return dict(before_header="%s (before)" % header, after_header="%s (after)" % header,
                before=before or "", after=after or "")


def read_src(path):
    """The text of a desired definition file on the managed host."""
    with open(os.path.expanduser(path), "rb") as handle:
        return handle.read()
