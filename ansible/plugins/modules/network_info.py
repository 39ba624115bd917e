#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: network_info
short_description: Networks, their status, definitions, live-vs-config drift and DHCP leases
description:
  - Lists the networks of the embedded runtime (or of libvirt at O(uri)) with the facts asked
    for in O(gather), each read through netupdate's library. Changes nothing.
  - A fact the backend or this netupdate version does not provide is listed under
    C(unavailable) with the reason, instead of failing the task.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  names:
    description: Only these networks (default - all).
    type: list
    elements: str
  gather:
    description:
      - C(status) - C(netupdate status) (state, bridge, dnsmasq, firewall, problems; for libvirt
        the drift summary).
      - C(xml) - the persistent (C(config)) and live (C(live)) definitions.
      - C(drift) - the changes between the live definition and the persistent config, and the
        live plan a restart would run.
      - C(leases) - the DHCP leases (when the installed netupdate provides them).
      - C(check) - C(netupdate check NAME) - drift between the definitions and what runs
        (bridge, addresses, routes, dnsmasq and its files, nft table).
      - C(change) - the open safe change, or how the last one ended (embedded runtime).
    type: list
    elements: str
    choices: [status, xml, drift, leases, check, change]
    default: [status, drift]
extends_documentation_fragment:
  - netupdate.netupdate.common
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with netupdate installed (and libvirt for O(uri)).
"""

EXAMPLES = r"""
- name: Which hypervisors run a network whose live state drifted from its config
  netupdate.netupdate.network_info:
    gather: [drift]
  register: nets

- name: Report them
  ansible.builtin.debug:
    msg: "{{ nets.networks | selectattr('drift.changes') | map(attribute='name') | list }}"
"""

RETURN = r"""
networks:
  description: One entry per network, with the facts of O(gather).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The network's name.
      type: str
    state:
      description: C(active) or C(inactive).
      type: str
    active:
      description: Whether it runs.
      type: bool
    persistent:
      description: Whether it has a persistent definition.
      type: bool
    autostart:
      description: Whether it starts at boot.
      type: bool
    bridge:
      description: Its bridge, when running.
      type: str
    netns:
      description: The namespace an embedded network runs in.
      type: str
    status:
      description: C(netupdate status --json) of the network.
      type: dict
      returned: when C(status) is gathered
    xml:
      description: C(config) and C(live) definitions.
      type: dict
      returned: when C(xml) is gathered
    drift:
      description: C(netupdate diff NAME --json) - C(changes) live vs config, C(plan), C(notes).
      type: dict
      returned: when C(drift) is gathered
    leases:
      description: The DHCP leases, as netupdate reports them.
      type: list
      returned: when C(leases) is gathered and available
    check:
      description: C(netupdate check NAME --json) - C(drift), C(remaining), C(running), C(ok).
      type: dict
      returned: when C(check) is gathered and available
    change:
      description: C(netupdate change status --json) of the network.
      type: dict
      returned: when C(change) is gathered and available
    unavailable:
      description: Facts asked for that could not be gathered, with the reason.
      type: dict
missing:
  description: Names in O(names) that are not defined.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netupdate.netupdate.plugins.module_utils import info
from ansible_collections.netupdate.netupdate.plugins.module_utils.common import CONNECTION_SPEC


def main():
    spec = dict(
        names=dict(type="list", elements="str"),
        gather=dict(type="list", elements="str", default=["status", "drift"],
                    choices=sorted(info.GATHERERS)),
    )
    spec.update(CONNECTION_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    info.gather(module)


if __name__ == "__main__":
    main()
