"""``forward-pf`` (libvirt section 8): ``<network><forward><pf dev>``, the SR-IOV physical
function a hostdev or macvtap pool takes its virtual functions from.

libvirt refuses the section in ``net-update`` ("forward pf"); netupdate edits it.  The pool is
enumerated from the PF when the network starts, so a change restarts the network.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.errors import InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import values as T
from netupdate.sections._spec import (
    ALL_OPS,
    ERROR,
    LV_REFUSED,
    POOL,
    RESTART,
    Finding,
    Rule,
    Section,
    mode_of,
    q,
    row,
)

SECTION = Section("forward-pf", 8, ("network", "forward", "pf"), M.ForwardPf, False,
                  frozenset(), ("dev",))


def only_one(n: str) -> str:
    return f"Only one <pf> element is allowed in <forward> of network {n}"


def _pool(view) -> Iterator[Finding]:
    forward = next(view.root.iterchildren("forward"), None)
    if forward is None:
        return
    kinds = [f"<{tag}>" for tag in ("interface", "address", "pf")
             if next(forward.iterchildren(tag), None) is not None]
    if len(kinds) > 1:
        yield Finding(forward, f"<address>, <interface>, and <pf> elements in <forward> of "
                      f"network {q(view.n)} are mutually exclusive",
                      f"{' and '.join(kinds)} are mutually exclusive in <forward>")
    pfs = list(forward.iterchildren("pf"))
    if len(pfs) > 1:
        yield Finding(pfs[1], only_one(view.n), "only one <pf> is allowed in <forward>")
    address = next(forward.iterchildren("address"), None)
    mode = mode_of(forward)
    if address is not None and isinstance(mode, T.ForwardMode) and mode != T.ForwardMode.HOSTDEV:
        # libvirt's update does not run the driver's define-time check (validate only)
        yield Finding(address, None,
                      f"PCI <address> entries need forward mode 'hostdev', not '{mode}'")


RULES = (
    Rule("NU-E117", "forward-pool-mixed", ERROR, "Mixed forward device pool",
         "A ``<forward>`` lists its devices as ``<interface>`` entries, as PCI ``<address>`` "
         "entries (mode hostdev) or as one ``<pf>`` (an SR-IOV physical function), never a "
         "mix; at most one ``<pf>`` is allowed, and PCI addresses only make sense with mode "
         "hostdev.", check=_pool, scope="forward"),
)


def check_fragment(element, n: str) -> Iterator[Finding]:
    """libvirt's parser on one ``<pf>``."""
    if element.get("dev") is None:
        yield Finding(element, "Missing required dev attribute in <pf> element",
                      error=InvalidFragmentError)


# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("forward",)

PLAN_ROWS = (
    row("forward-pf.pool", "forward-pf", "*", ALL_OPS, POOL, when=("same-group",),
        libvirt=LV_REFUSED),
    row("forward-pf", "forward-pf", "*", ALL_OPS,
        (RESTART, "the pool of virtual functions is enumerated from the PF when the network "
                  "starts"),
        libvirt=LV_REFUSED),
)

DNSMASQ_SLOT = None   # no dnsmasq lines
