"""The codes of the conflicts between the definitions of one folder (``netupdate validate
DIR``; the conflicts themselves are ``planning.conflicts.across_files``).  Each rule's ``name``
is the conflict's kind; ``check.semantic`` lists them in its registry (so ``--explain``,
``--select`` and docs/validation.md know them) and ``check.across`` turns conflicts into issues.
"""

from __future__ import annotations

from netupdate.sections._spec import ERROR, WARNING, Rule

SOURCE = "folder"

RULES = (
    Rule("NU-E140", "subnet-overlap", ERROR, "Two networks of the folder have overlapping subnets",
         """An ``<ip>`` subnet of this network overlaps one of another network of the same
         folder.  libvirt starts only one of them ("Network is already in use by interface"),
         and the guests of both would be unreachable where the routes overlap.  Ignore the code
         when the two networks never run side by side.""", SOURCE),
    Rule("NU-E141", "bridge-in-use", ERROR, "Two networks of the folder name the same bridge",
         """Two networks ask for the same ``<bridge name>`` and at least one of them creates
         it (a ``bridge`` mode network only uses an existing host bridge, and several may).
         libvirt refuses to define the second ("bridge name ... already in use").""", SOURCE),
    Rule("NU-E142", "name-defined-twice", ERROR, "Two files of the folder define one network",
         """Two files carry the same network ``<name>``: defining the second replaces the
         first.""", SOURCE),
    Rule("NU-W140", "mac-reserved-twice", WARNING, "A MAC address is reserved in two networks",
         """A DHCP ``<host>`` reserves the same MAC address in two networks of the folder.  A
         guest has one MAC per interface; with interfaces on both networks it gets two
         reservations, and moving it between them keeps a stale one.""", SOURCE),
    Rule("NU-W141", "ip-reserved-twice", WARNING, "An IP address is reserved in two networks",
         """A DHCP ``<host>`` reserves the same IP address in two networks of the folder
         (their subnets overlap too, see NU-E140): two guests would answer for it.""", SOURCE),
)
