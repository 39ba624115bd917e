#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dns_txt
short_description: A DNS TXT record of a libvirt network, present or absent, applied live
description:
  - Makes one C(<dns><txt>) present (matched by its C(name), libvirt's key; an existing record
    gets the new value in place) or absent.
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
  name:
    description: The C(name) attribute.
    type: str
    required: true
  value:
    description: The C(value) attribute. Required for O(state=present).
    type: str
extends_documentation_fragment:
  - netupdate.netupdate.common
  - netupdate.netupdate.common.scope
  - netupdate.netupdate.common.attributes
"""

EXAMPLES = r"""
- name: Announce maintenance in DNS
  netupdate.netupdate.dns_txt:
    network: default
    name: motd
    value: maintenance at 10:00
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
  sample: dns-txt
entry:
  description: The entry's XML fragment built from the options (what is matched and written).
  returned: always
  type: str
  sample: "<txt name='motd' value='maintenance at 10:00' />"
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
            name=dict(type="str", required=True),
            value=dict(type="str"),
        )),
        required_if=[["state", "present", ["value"]]],
        supports_check_mode=True,
    )
    p = module.params
    fragment = entries.element("txt", [("name", p["name"]), ("value", p["value"])])
    entries.ensure(module, "dns-txt", entries.text_of(fragment))


if __name__ == "__main__":
    main()
