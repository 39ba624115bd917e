#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_host
short_description: A DNS host record of a libvirt network, present or absent, applied live
description:
  - Makes one C(<dns><host>) present (matched by its C(ip), libvirt's key; an existing record
    with that IP gets exactly the given host names, in place) or absent.
  - The live plan writes dnsmasq's hosts directory, which dnsmasq watches - nothing is signalled.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  network:
    description: The network's name.
    type: str
    required: true
  state:
    description: Whether the record should exist.
    type: str
    choices: [present, absent]
    default: present
  ip:
    description: The C(ip) attribute.
    type: str
    required: true
  hostnames:
    description:
      - The C(<hostname>) children, in order. Required for O(state=present); with
        O(state=absent) they must match if given.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: web and www resolve to 192.168.122.50 inside the network
  netupdate.netupdate.dns_host:
    network: default
    ip: 192.168.122.50
    hostnames: [web, www]
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
  sample: dns-host
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<host ip='192.168.122.50'><hostname>web</hostname></host>"
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
            ip=dict(type="str", required=True),
            hostnames=dict(type="list", elements="str", default=[]),
        )),
        required_if=[["state", "present", ["hostnames"]]],
        supports_check_mode=True,
    )
    p = module.params
    children = []
    for hostname in p["hostnames"]:
        child = entries.element("hostname", [])
        child.text = hostname
        children.append(child)
    fragment = entries.element("host", [("ip", p["ip"])], children)
    entries.ensure(module, "dns-host", entries.text_of(fragment))


if __name__ == "__main__":
    main()
