# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)
"""What ``network_info`` gathers: one function per fact, each a ``Backend`` verb.  A new fact
(another verb netupdate grows) is one more entry in ``GATHERERS``; a verb the backend does not
have, or refuses (``UnsupportedError``), is reported under ``unavailable`` instead of failing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netupdate.netupdate.plugins.module_utils.common import (
    NetupdateError,
    connection,
    one_line,
)


def jsonable(value):
    """A result of netupdate as plain data (``to_json`` where it has one)."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return dict((key, jsonable(item)) for key, item in value.items())
    return value


def _definitions(conn, info):
    out = {}
    if info.persistent:
        out["config"] = conn.dumpxml(info.name, inactive=True)
    if info.active:
        out["live"] = conn.dumpxml(info.name)
    return out


def _verb(verb_name, *args):
    def gather(conn, info):
        verb = getattr(conn, verb_name, None)
        if verb is None:
            raise NotImplementedError("this netupdate has no %s()" % verb_name)
        return verb(info.name, *args)
    return gather


GATHERERS = {
    "status": _verb("status"),
    "xml": _definitions,
    "drift": _verb("diff"),      # live definition vs persistent config
    "leases": _verb("leases"),   # DHCP leases, where netupdate provides them
    "check": _verb("check"),     # definitions vs what runs in the kernel and dnsmasq
    "change": _verb("change_status"),
}


def gather(module):
    """Exit the module with ``networks`` (every network's list entry plus the facts asked for)."""
    p = module.params
    networks = []
    with connection(module) as conn:
        for info in conn.list():
            if p["names"] and info.name not in p["names"]:
                continue
            entry = info.to_json()
            unavailable = {}
            for fact in p["gather"]:
                try:
                    entry[fact] = jsonable(GATHERERS[fact](conn, info))
                except (NetupdateError, NotImplementedError) as exc:
                    unavailable[fact] = one_line(exc)
            entry["unavailable"] = unavailable
            networks.append(entry)
    missing = sorted(set(p["names"] or ()) - set(n["name"] for n in networks))
    module.exit_json(changed=False, networks=networks, missing=missing)
