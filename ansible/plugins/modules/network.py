#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: network
short_description: The desired state of a whole libvirt network, applied live with the least disruption
description:
  - Makes a network exactly a desired definition (O(xml) or O(src)) through netupdate's
    idempotent C(apply) - the plan from what runs to what is wanted (a DHCP reservation through
    dnsmasq's host file, STP through netlink, a restart only when nothing less does), verified,
    and rolled back on any failure.  A second run finds nothing to do and reports C(changed=false).
  - O(state) also starts, stops or removes the network, and O(autostart) sets its autostart flag.
  - Safe change - O(try_seconds) opens a change that rolls back by itself (config and live
    state) unless a later task commits it with O(change=commit); O(check) (HOST:PORT) is
    probed right after the apply and a failure rolls back at once.
version_added: 0.1.0
author: netupdate contributors (!UNKNOWN)
options:
  name:
    description: The network's name (the desired definition's C(<name>) must be the same).
    type: str
    required: true
  xml:
    description:
      - The desired definition, inline, for example the result of a C(template) lookup of
        C(net.xml.j2).
    type: str
  src:
    description: A file on the managed host holding the desired definition.
    type: path
  state:
    description:
      - C(present) - the definition is applied (a running network is changed live and in its
        config, any other network in its config, which is created if missing).
      - C(started) - as C(present), and the network runs (started in O(netns) if needed).
      - C(stopped) - the network does not run; the definition, if given, goes to the config.
      - C(absent) - the network is stopped and undefined.
    type: str
    choices: [present, absent, started, stopped]
    default: present
  autostart:
    description: Whether the network starts at boot (the embedded runtime starts it in O(netns)).
    type: bool
  live:
    description:
      - Apply to the running network; on a network that is not running this starts it.
        Default (with O(config) unset) - see O(state).
    type: bool
  config:
    description: Apply to the persistent definition. Default - see O(state).
    type: bool
  netns:
    description: The network namespace an embedded network is started in (and autostarted in).
    type: str
  try_seconds:
    description:
      - Open a change that rolls back by itself after this many seconds unless a later task
        runs this module with O(change=commit) (embedded runtime only). Nothing changed - no
        change is left open.
    type: float
    aliases: [rollback_after]
  check:
    description:
      - HOST:PORT probed (TCP, from the network's namespace) right after the apply; when it
        does not answer the change is rolled back at once and the task fails. Needs O(try_seconds).
    type: str
  restart:
    description:
      - libvirt only - restart the network when a change cannot be applied to the running
        network otherwise (the embedded runtime restarts what its plan needs by itself).
    type: bool
    default: false
  change:
    description:
      - C(commit) keeps the open change of the network (opened by O(try_seconds)),
        C(rollback) undoes it now. No other option applies then. Nothing open - nothing to do.
    type: str
    choices: [commit, rollback]
extends_documentation_fragment:
  - netupdate.netupdate.common
attributes:
  check_mode:
    support: full
    description:
      - Changes nothing; returns the plan of the apply and the steps (start, stop, undefine,
        autostart) the real run would take, with C(changed) predicting it.
  diff_mode:
    support: full
    description: Returns the persistent and live definitions before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with netupdate installed (and libvirt for O(uri)).
"""

EXAMPLES = r"""
- name: The lab network as in git, running, changed live with the least disruption
  netupdate.netupdate.network:
    name: lab
    xml: "{{ lookup('file', 'networks/lab.xml') }}"
    state: started
    autostart: true

- name: Change the network we are connected through, safely
  netupdate.netupdate.network:
    name: lab
    src: /etc/netupdate/lab.xml
    try_seconds: 120
    check: 10.0.0.1:22

- name: Still reachable - keep it
  netupdate.netupdate.network:
    name: lab
    change: commit

- name: The same on libvirt's own network
  netupdate.netupdate.network:
    uri: qemu:///system
    name: default
    xml: "{{ lookup('template', 'default.xml.j2') }}"

- name: Gone
  netupdate.netupdate.network:
    name: lab
    state: absent
"""

RETURN = r"""
network:
  description: The network's name.
  returned: always
  type: str
  sample: lab
steps:
  description: What was done (check mode - what would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["apply", "autostart"]
plan:
  description: The kinds of the live actions the apply ran (check mode - would run).
  returned: always
  type: list
  elements: str
  sample: ["dnsmasq-none", "bridge-stp"]
result:
  description:
    - netupdate's result of the apply (C(netupdate apply --json)) - per side outcome
      (C(config), C(live)), C(changes), C(actions), C(checks) verified, C(notes), C(summary).
      C(null) when no definition was given.
  returned: always
  type: dict
change:
  description: The change a O(try_seconds) apply opened, or the change O(change) acted on.
  returned: when O(try_seconds) opened a change, or O(change) is given
  type: dict
  sample: {"state": "open", "token": "...", "deadline_at": "2026-12-02T10:00:00Z"}
info:
  description: The network afterwards (C(name), C(state), C(active), C(persistent), C(autostart), C(bridge), C(netns)); C(null) when absent.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netupdate.netupdate.plugins.module_utils import whole
from ansible_collections.netupdate.netupdate.plugins.module_utils.common import CONNECTION_SPEC


def main():
    spec = dict(
        name=dict(type="str", required=True),
        xml=dict(type="str"),
        src=dict(type="path"),
        state=dict(type="str", default="present",
                   choices=["present", "absent", "started", "stopped"]),
        autostart=dict(type="bool"),
        live=dict(type="bool"),
        config=dict(type="bool"),
        netns=dict(type="str"),
        try_seconds=dict(type="float", aliases=["rollback_after"]),
        check=dict(type="str"),
        restart=dict(type="bool", default=False),
        change=dict(type="str", choices=["commit", "rollback"]),
    )
    spec.update(CONNECTION_SPEC)
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[["xml", "src"], ["change", "xml"], ["change", "src"],
                            ["change", "autostart"], ["change", "try_seconds"]],
        required_by=dict(check=["try_seconds"]),
        supports_check_mode=True,
    )
    whole.run(module)


if __name__ == "__main__":
    main()
