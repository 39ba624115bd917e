# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)
"""The typed entry modules (dhcp_host, dns_host, ...): one entry of a section, present or absent.

Which update a side needs is decided by netupdate's own engine on a copy of that side's
definition: ``modify`` when an entry matches libvirt's keys (nothing when the modified entry
equals the old one), ``add-last`` when none does (``NotFoundError``); for ``absent``, ``delete``
unless nothing matches.  The update then runs through the backend's ``update`` (plan, apply,
verify, roll back), with ``dry_run`` in check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.netupdate.netupdate.plugins.module_utils.common import (
    CONNECTION_SPEC,
    SCOPE_SPEC,
    connection,
    diff_entry,
    find_network,
    netupdate,
)


def argument_spec(fields):
    """The argument_spec of an entry module: ``network``, ``state``, the connection and scope
    options, and the entry's own ``fields``."""
    spec = dict(network=dict(type="str", required=True),
                state=dict(type="str", default="present", choices=["present", "absent"]))
    spec.update(CONNECTION_SPEC)
    spec.update(SCOPE_SPEC)
    spec.update(fields)
    return spec


def element(tag, attrs, children=()):
    """An XML fragment (text) from attribute values (None: left out; bool: yes/no) and child
    elements; ElementTree escapes every value."""
    node = ET.Element(tag)
    for key, value in attrs:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        node.set(key, str(value))
    for child in children:
        if child is not None:
            node.append(child)
    return node


def text_of(node):
    return ET.tostring(node, encoding="unicode")


def sides(info, name, live, config):
    """The definitions an update reads and changes: the defaults of ``Backend.update`` (a
    running network: live and config; an inactive one: config; a transient one: live), or the
    ones asked for (the backend refuses impossible ones)."""
    from netupdate.errors import StateError
    if info is None:
        raise StateError("network '%s' is not defined" % name)
    if live is None and config is None:
        live, config = info.active, info.persistent
    if live and not info.active:
        raise StateError("network '%s' is not running (live update refused)" % name)
    chosen = [side for side, wanted in (("live", live), ("config", config)) if wanted]
    if not chosen:
        raise netupdate.InvalidOperationError("nothing to update: neither live nor config "
                                              "was selected")
    return chosen


def same_key_spec(net, section, fragment):
    """For ``ip-dhcp-host``: the nodeSpec of the host with the fragment's identity
    (``DhcpHost.key()``: its MAC, else DUID, else name, else IP), or None.  libvirt's modify
    takes the first host sharing the MAC *or* name *or* IP, which would quietly take over
    another host's reservation; here that is a conflict (the add refuses the duplicate)."""
    if section != "ip-dhcp-host":
        return None
    from lxml import etree

    from netupdate.model.defs import DhcpHost
    key = DhcpHost.from_element(etree.fromstring(fragment)).key()
    for i, ip in enumerate(net.defs.ips, 1):
        for j, host in enumerate(ip.dhcp.hosts if ip.dhcp is not None else (), 1):
            if host.key() == key:
                return "/network/ip[%d]/dhcp/host[%d]" % (i, j)
    return False


def decide(before_xml, state, section, fragment, parent_index):
    """(command or None, nodeSpec or None, definition after it) for one side, computed by
    netupdate's engine on a copy."""
    net = netupdate.load(before_xml)
    if state == "absent":
        try:
            net.update("delete", section, fragment, parent_index=parent_index)
        except netupdate.NotFoundError:
            return None, None, before_xml
        return "delete", None, net.to_xml()
    spec = same_key_spec(net, section, fragment)
    try:
        if spec is False:
            raise netupdate.NotFoundError("no entry with that key")
        change = net.update("modify", None if spec else section, fragment,
                            parent_index=parent_index, node_spec=spec)
    except netupdate.NotFoundError:
        net = netupdate.load(before_xml)
        net.update("add-last", section, fragment, parent_index=parent_index)
        return "add-last", None, net.to_xml()
    if change.before == change.after:
        return None, None, before_xml
    return "modify", spec, net.to_xml()


def ensure(module, section, fragment, parent_index=-1):
    """Make the entry ``fragment`` of ``section`` present or absent on network
    ``module.params['network']``; exits the module with the result."""
    params = module.params
    name = params["network"]
    out = dict(changed=False, network=name, section=section, entry=fragment, commands={},
               results=[], plan=[])
    diffs = []
    with connection(module) as conn:
        chosen = sides(find_network(conn, name), name, params["live"], params["config"])
        todo = {}
        for side in chosen:
            before = conn.dumpxml(name, inactive=(side == "config"))
            command, spec, after = decide(before, params["state"], section, fragment,
                                          parent_index)
            out["commands"][side] = command
            if command is not None:
                todo.setdefault((command, spec), []).append(side)
            diffs.append([side, before, after])
        for (command, spec), group in todo.items():
            result = conn.update(name, command, None if spec else section, fragment,
                                 parent_index=parent_index, node_spec=spec,
                                 live="live" in group, config="config" in group,
                                 dry_run=module.check_mode)
            out["results"].append(result.to_json())
            out["plan"].extend(action["kind"] for action in result.to_json()["actions"])
            out["changed"] = out["changed"] or result.changed
        if todo and not module.check_mode:
            for entry in diffs:
                entry[2] = conn.dumpxml(name, inactive=(entry[0] == "config"))
    if module._diff:
        out["diff"] = [diff_entry("%s %s definition" % (name, side), before, after)
                       for side, before, after in diffs]
    module.exit_json(**out)
