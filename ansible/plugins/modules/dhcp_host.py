#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dhcp_host
short_description: A DHCP reservation of a libvirt network, present or absent, applied live
description:
  - Makes one C(<host>) of a network's C(<ip><dhcp>) present (added, or modified in place when a
    reservation with the same MAC, name or IP exists - libvirt's matching) or absent, on the
    persistent definition and the running network, through netupdate's update engine and live
    plan (dnsmasq re-reads its host file; nothing restarts).
  - The entry is the options exactly - a modify replaces the whole C(<host>) (a C(lease) not
    given is dropped).
  - With O(state=absent) every option given must match the reservation (libvirt's delete
    pattern); when none matches nothing is done.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  network:
    description: The network's name.
    type: str
    required: true
  state:
    description: Whether the reservation should exist.
    type: str
    choices: [present, absent]
    default: present
  mac:
    description: The C(mac) attribute (IPv4 reservations).
    type: str
  id:
    description: The C(id) attribute, a DHCPv6 client DUID.
    type: str
  name:
    description: The C(name) attribute, the host name handed out.
    type: str
  ip:
    description: The C(ip) attribute, the reserved address.
    type: str
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
      - Which C(<ip>) receives the reservation (0-based over all C(<ip>) elements); negative -
        the first C(<ip>) of the address's family with DHCP, as netupdate chooses.
    type: int
    default: -1
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: Reserve 192.168.122.42 for web1 on every hypervisor (live and persistent)
  netupdate.netupdate.dhcp_host:
    network: default
    mac: "52:54:00:00:00:42"
    name: web1
    ip: 192.168.122.42

- name: Remove the reservation of a MAC, on libvirt's own network
  netupdate.netupdate.dhcp_host:
    uri: qemu:///system
    network: default
    mac: "52:54:00:00:00:42"
    state: absent
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
  sample: ip-dhcp-host
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42' />"
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
  sample: ["dnsmasq-none"]
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
            mac=dict(type="str"),
            id=dict(type="str"),
            name=dict(type="str"),
            ip=dict(type="str"),
            lease=dict(type="dict", options=dict(
                expiry=dict(type="int", required=True),
                unit=dict(type="str", choices=["seconds", "minutes", "hours"]))),
            parent_index=dict(type="int", default=-1),
        )),
        required_one_of=[["mac", "id", "name", "ip"]],
        supports_check_mode=True,
    )
    p = module.params
    lease = p["lease"]
    fragment = entries.element("host", [
        ("mac", p["mac"]), ("id", p["id"]), ("name", p["name"]), ("ip", p["ip"])], [
        entries.element("lease", [("expiry", lease["expiry"]), ("unit", lease["unit"])])
        if lease else None])
    entries.ensure(module, "ip-dhcp-host", entries.text_of(fragment), p["parent_index"])


if __name__ == "__main__":
    main()
