#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_srv
short_description: A DNS SRV record of a libvirt network, present or absent, applied live
description:
  - Makes one C(<dns><srv>) present or absent, matched by its key fields C(service),
    C(protocol), C(domain) and C(target) (libvirt's keys; the ones given must all match). A
    record with the same keys but another port, priority or weight is modified in place.
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
  service:
    description: The C(service) attribute.
    type: str
    required: true
  protocol:
    description: The C(protocol) attribute.
    type: str
    required: true
    choices: [tcp, udp]
  domain:
    description: The C(domain) attribute.
    type: str
  target:
    description: The C(target) attribute.
    type: str
  port:
    description: The C(port) attribute.
    type: int
  priority:
    description: The C(priority) attribute.
    type: int
  weight:
    description: The C(weight) attribute.
    type: int
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: LDAP for the lab
  netupdate.netupdate.dns_srv:
    network: default
    service: ldap
    protocol: tcp
    target: ldap.example.org
    port: 389
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
  sample: dns-srv
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<srv service='ldap' protocol='tcp' target='ldap.example.org' port='389' />"
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
            service=dict(type="str", required=True),
            protocol=dict(type="str", required=True, choices=["tcp", "udp"]),
            domain=dict(type="str"),
            target=dict(type="str"),
            port=dict(type="int"),
            priority=dict(type="int"),
            weight=dict(type="int"),
        )),
        supports_check_mode=True,
    )
    p = module.params
    fragment = entries.element("srv", [(key, p[key]) for key in (
        "service", "protocol", "domain", "target", "port", "priority", "weight")])
    entries.ensure(module, "dns-srv", entries.text_of(fragment))


if __name__ == "__main__":
    main()
