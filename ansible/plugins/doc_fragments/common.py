# -*- coding: utf-8 -*-
# MIT License (see the netupdate repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # the connection: uri, state_dir, policy (every module)
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - A libvirt connection URI (for example C(qemu:///system) or C(test:///default)); the
        network is then one of libvirt's and netupdate drives it through libvirt (needs
        C(netupdate[libvirt]) on the managed host).
      - Without it, netupdate's embedded runtime is used, with its usual state directory
        (C(NETUPDATE_STATE_DIR) in the task's environment is honoured, or O(state_dir)).
    type: str
  state_dir:
    description:
      - The embedded runtime's state directory (the same as C(NETUPDATE_STATE_DIR)); not
        allowed together with O(uri).
    type: path
  policy:
    description:
      - An access policy (a path on the managed host, or TOML text) checked against every
        change before anything is changed; see netupdate's docs/policy.md.
    type: str
requirements:
  - netupdate (Python >= 3.11) installed on the managed host
  - libvirt-python on the managed host when O(uri) is given
notes:
  - The module runs netupdate's library on the managed host; when netupdate cannot be
    imported there it fails with one line saying so.
  - On failure the task fails with netupdate's one-line message, after netupdate has rolled
    that host's network back to where it was.
"""

    # live / config scope (the entry modules)
    SCOPE = r"""
options:
  live:
    description:
      - Change the running network. Default (with O(config) unset too) - a running network
        gets its live state and its persistent config changed, an inactive one its config, a
        transient one its live state.
      - Live changes run the least disruptive plan (for example a DHCP reservation is written
        to dnsmasq's host file and signalled, nothing restarts), are verified and rolled back
        on any failure.
    type: bool
  config:
    description:
      - Change the persistent definition. See O(live) for the default.
    type: bool
"""

    # attributes of the entry modules (check and diff mode)
    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description:
      - Changes nothing; reports the update each side needs and its live plan, and
        C(changed) says whether the real run would change anything.
  diff_mode:
    support: full
    description:
      - Returns the definition before and after, for every side changed (live, config).
  platform:
    support: full
    platforms: posix
    description:
      - Linux hosts with netupdate installed (and libvirt for O(uri)).
"""
