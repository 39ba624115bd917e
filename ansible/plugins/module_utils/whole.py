# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)
"""The ``network`` module's steps: each one a ``Backend`` verb (apply, start, stop, undefine,
set_autostart, change_commit/rollback) run when the network is not yet as asked, recorded in
``out`` (``steps``, ``changed``, the apply's result and plan)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netupdate.netupdate.plugins.module_utils.common import (
    connection,
    diff_entry,
    find_network,
    read_src,
)


def _apply(conn, module, out, desired, live, config):
    p = module.params
    result = conn.apply(p["name"], desired, live=live, config=config, dry_run=module.check_mode,
                        try_seconds=p["try_seconds"], check=p["check"],
                        restart=p["restart"])
    data = result.to_json()
    out["result"] = data
    out["plan"] = [action["kind"] for action in data["actions"]]
    if result.changed:
        out["steps"].append("apply")
        out["changed"] = True
    if result.change_info is not None:
        out["change"] = result.change_info.to_json()


def _step(module, out, name, verb, *args, **kwargs):
    out["steps"].append(name)
    out["changed"] = True
    if not module.check_mode:
        verb(*args, **kwargs)


def _desired(module):
    p = module.params
    if p["src"]:
        return read_src(p["src"])
    return p["xml"]


def _state(conn, module, out, info):
    p = module.params
    name, state, desired = p["name"], p["state"], _desired(module)
    active = info is not None and info.active
    if state == "absent":
        if active:
            _step(module, out, "stop", conn.stop, name)
        if info is not None and info.persistent:
            _step(module, out, "undefine", conn.undefine, name)
        return
    if state == "stopped" and active:
        _step(module, out, "stop", conn.stop, name)
        active = False
    if desired is not None:
        live, config = p["live"], p["config"]
        if state == "started" and not active and live is None:
            live, config = True, True if config is None else config   # apply starts it
        elif state == "stopped" and live is None and config is None:
            live, config = False, True
        _apply(conn, module, out, desired, live, config)
        active = active or "apply" in out["steps"] and live is True
    if state == "started" and not active:
        if info is None and desired is None:
            from netupdate.errors import StateError
            raise StateError("network '%s' is not defined: give xml or src to define it" % name)
        _step(module, out, "start", conn.start, name, netns=p["netns"])


def _autostart(conn, module, out):
    p = module.params
    if p["autostart"] is None or p["state"] == "absent":
        return
    info = find_network(conn, p["name"])
    if info is None:   # check mode: the network is not defined yet
        current = False
    else:
        current = info.autostart
    if current != p["autostart"]:
        _step(module, out, "autostart" if p["autostart"] else "no-autostart",
              conn.set_autostart, p["name"], p["autostart"], netns=p["netns"])


def _change(conn, module, out):
    p = module.params
    status = conn.change_status(p["name"])
    out["change"] = status.to_json()
    if status.state != "open":
        return
    if p["change"] == "commit":
        _step(module, out, "commit", conn.change_commit, p["name"])
    else:
        _step(module, out, "rollback", conn.change_rollback, p["name"],
              reason="rolled back by Ansible")


def _definitions(conn, name):
    info = find_network(conn, name)
    if info is None:
        return {}
    out = {}
    if info.persistent:
        out["config"] = conn.dumpxml(name, inactive=True)
    if info.active:
        out["live"] = conn.dumpxml(name)
    return out


def _predicted(module, out, before):
    """The definitions after the steps a check-mode run found (nothing was changed)."""
    after = dict(before)
    steps = out["steps"]
    if "stop" in steps:
        after.pop("live", None)
    if "undefine" in steps:
        after.pop("config", None)
    result = out.get("result") or {}
    if "apply" in steps:
        desired = _desired(module)
        desired = desired.decode("utf-8") if isinstance(desired, bytes) else desired
        for side in ("live", "config"):
            if result.get(side) not in ("unchanged", "not-requested", "not-running", None):
                after[side] = desired
    if "start" in steps and "config" in after:
        after["live"] = after["config"]
    return after


def run(module):
    """Bring the network to the state the options ask for; exits the module."""
    p = module.params
    out = dict(changed=False, network=p["name"], steps=[], plan=[], result=None)
    with connection(module) as conn:
        before = _definitions(conn, p["name"])
        if p["change"]:
            _change(conn, module, out)
        else:
            _state(conn, module, out, find_network(conn, p["name"]))
            _autostart(conn, module, out)
        if module.check_mode:
            after = _predicted(module, out, before)
        else:
            after = _definitions(conn, p["name"])
        info = find_network(conn, p["name"])
        out["info"] = info.to_json() if info is not None else None
    if module._diff:
        out["diff"] = [diff_entry("%s %s definition" % (p["name"], side), before.get(side),
                                  after.get(side))
                       for side in ("config", "live") if side in before or side in after]
    module.exit_json(**out)
