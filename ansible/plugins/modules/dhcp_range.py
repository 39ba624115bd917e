#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dhcp_range
short_description: A DHCP range of a libvirt network, present or absent, applied live
description:
  - Makes one C(<range>) of a network's C(<ip><dhcp>) present or absent, matched by its
    C(start) and C(end) (libvirt's key). A range with the same start and end but another
    C(<lease>) is modified in place (netupdate's modify; libvirt has none for ranges).
  - The live plan restarts the network's dnsmasq (a range is a dnsmasq option); leases are kept.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  network:
    description: The network's name.
    type: str
    required: true
  state:
    description: Whether the range should exist.
    type: str
    choices: [present, absent]
    default: present
  start:
    description: The C(start) attribute.
    type: str
    required: true
  end:
    description: The C(end) attribute.
    type: str
    required: true
  lease:
    description: The C(<lease>) child.
    type: dict
    suboptions:
      expiry:
        description: The lease time (0 - infinite).
        type: int
        required: true
      unit:
        description: The unit of O(lease.expiry).
        type: str
        choices: [seconds, minutes, hours]
  parent_index:
    description:
      - Which C(<ip>) holds the range (0-based over all C(<ip>) elements); negative - the first
        C(<ip>) of the address's family with DHCP, as netupdate chooses.
    type: int
    default: -1
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: A second DHCP range with one-hour leases
  netupdate.netupdate.dhcp_range:
    network: default
    start: 192.168.122.100
    end: 192.168.122.199
    lease:
      expiry: 1
      unit: hours
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
  sample: ip-dhcp-range
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<range start='192.168.122.100' end='192.168.122.199' />"
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
  sample: ["dnsmasq-restart"]
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


def main():
    module = AnsibleModule(
        argument_spec=entries.argument_spec(dict(
            start=dict(type="str", required=True),
            end=dict(type="str", required=True),
            lease=dict(type="dict", options=dict(
                expiry=dict(type="int", required=True),
                unit=dict(type="str", choices=["seconds", "minutes", "hours"]))),
            parent_index=dict(type="int", default=-1),
        )),
        supports_check_mode=True,
    )
    p = module.params
    lease = p["lease"]
    fragment = entries.element("range", [("start", p["start"]), ("end", p["end"])], [
        entries.element("lease", [("expiry", lease["expiry"]), ("unit", lease["unit"])])
        if lease else None])
    entries.ensure(module, "ip-dhcp-range", entries.text_of(fragment), p["parent_index"])


if __name__ == "__main__":
    main()
