#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: portgroup
short_description: A portgroup of a libvirt network, present or absent
description:
  - Makes one C(<portgroup>) present (matched by its C(name), libvirt's key; an existing one is
    replaced in place, as libvirt's modify does) or absent.
  - A portgroup only matters when a guest interface is plugged in, so no live action runs.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  network:
    description: The network's name.
    type: str
    required: true
  state:
    description: Whether the portgroup should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The C(name) attribute.
    type: str
    required: true
  default:
    description: The C(default) attribute (one portgroup at most is the default).
    type: bool
  trustGuestRxFilters:
    description: The C(trustGuestRxFilters) attribute.
    type: bool
  vlan:
    description: The C(<vlan>) child.
    type: dict
    suboptions:
      trunk:
        description: The C(trunk) attribute.
        type: bool
      tags:
        description: The C(<tag>) children.
        type: list
        elements: dict
        required: true
        suboptions:
          id:
            description: The C(id) attribute (0-4095).
            type: int
            required: true
          nativeMode:
            description: The C(nativeMode) attribute.
            type: str
            choices: [tagged, untagged]
  bandwidth:
    description: The C(<bandwidth>) child, rates in kilobytes per second.
    type: dict
    suboptions:
      inbound:
        description: The C(<inbound>) child (C(average), C(peak), C(burst), C(floor)).
        type: dict
      outbound:
        description: The C(<outbound>) child (C(average), C(peak), C(burst)).
        type: dict
  virtualport:
    description: The C(<virtualport>) child.
    type: dict
    suboptions:
      type:
        description: The C(type) attribute.
        type: str
        choices: [802.1Qbg, 802.1Qbh, openvswitch, midonet]
      parameters:
        description:
          - The attributes of its C(<parameters>) child (C(managerid), C(typeid),
            C(typeidversion), C(instanceid), C(profileid), C(interfaceid)).
        type: dict
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: Engineering VLAN 42
  netupdate.netupdate.portgroup:
    network: ovs-net
    name: engineering
    vlan:
      tags:
        - id: 42
"""

RETURN = r"""
network:
  description: The network's name.
  returned: always
  type: str
  sample: default
section:
  description: The libvirt update section of the entry.
  returned: always
  type: str
  sample: portgroup
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<portgroup name='engineering' default='no'><vlan><tag id='42' /></vlan></portgroup>"
commands:
  description:
    - The update each side needed, C(null) when that side was already as desired.
    - C(modify) changes a matching entry in place, C(add-last) adds it, C(delete) removes it.
  returned: always
  type: dict
  sample: {"live": "modify", "config": "modify"}
plan:
  description: The kinds of the live actions run (or, in check mode, planned).
  returned: always
  type: list
  elements: str
  sample: ["none"]
results:
  description:
    - netupdate's result of every update run (in check mode, of the dry runs), as
      C(netupdate update --json) prints it - per side outcome (C(config), C(live)), C(actions),
      C(checks) verified, C(summary).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netupdate.netupdate.plugins.module_utils import entries

RATES = ("average", "peak", "burst", "floor")
PARAMETERS = ("managerid", "typeid", "typeidversion", "instanceid", "profileid", "interfaceid")


def _children(p):
    vlan, bandwidth, virtualport = p["vlan"], p["bandwidth"], p["virtualport"]
    out = []
    if virtualport:
        params = virtualport["parameters"] or {}
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ValueError("virtualport.parameters: unknown attribute(s) %s" % ", ".join(unknown))
        out.append(entries.element("virtualport", [("type", virtualport["type"])], [
            entries.element("parameters", [(k, params.get(k)) for k in PARAMETERS])
            if params else None]))
    if bandwidth:
        rates = []
        for side in ("inbound", "outbound"):
            given = bandwidth[side]
            if given:
                unknown = sorted(set(given) - set(RATES))
                if unknown:
                    raise ValueError("bandwidth.%s: unknown attribute(s) %s" % (side, ", ".join(unknown)))
                rates.append(entries.element(side, [(k, given.get(k)) for k in RATES]))
        out.append(entries.element("bandwidth", [], rates))
    if vlan:
        tags = [entries.element("tag", [("id", t["id"]), ("nativeMode", t["nativeMode"])])
                for t in vlan["tags"]]
        out.append(entries.element("vlan", [("trunk", vlan["trunk"])], tags))
    return out


def main():
    module = AnsibleModule(
        argument_spec=entries.argument_spec(dict(
            name=dict(type="str", required=True),
            default=dict(type="bool"),
            trustGuestRxFilters=dict(type="bool"),
            vlan=dict(type="dict", options=dict(
                trunk=dict(type="bool"),
                tags=dict(type="list", elements="dict", required=True, options=dict(
                    id=dict(type="int", required=True),
                    nativeMode=dict(type="str", choices=["tagged", "untagged"]))))),
            bandwidth=dict(type="dict", options=dict(
                inbound=dict(type="dict"), outbound=dict(type="dict"))),
            virtualport=dict(type="dict", options=dict(
                type=dict(type="str", choices=["802.1Qbg", "802.1Qbh", "openvswitch", "midonet"]),
                parameters=dict(type="dict"))),
        )),
        supports_check_mode=True,
    )
    p = module.params
    try:
        children = _children(p)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    fragment = entries.element("portgroup", [
        ("name", p["name"]), ("default", p["default"]),
        ("trustGuestRxFilters", p["trustGuestRxFilters"])], children)
    entries.ensure(module, "portgroup", entries.text_of(fragment))


if __name__ == "__main__":
    main()
