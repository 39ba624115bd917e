"""Network QoS on the bridge through netlink (pyroute2's tc), the way libvirt shapes a
network's bridge (``virNetDevBandwidthSet(bridge, bandwidth, hierarchical_class=true,
swapped=true)`` in src/util/virnetdevbandwidth.c):

- ``<inbound>`` (traffic towards the guests leaves through the bridge): a root ``htb`` qdisc
  ``1:`` (default class 2), class ``1:1`` (rate = average, ceil = peak or average) capping the
  network, class ``1:2`` under it (rate, ceil, burst) for all traffic without a floor, an
  ``sfq`` qdisc ``2:`` (perturb 10) under ``1:2``, and libvirt's ``fw`` filter (handle 1,
  flowid 1);
- ``<outbound>`` (traffic from the guests enters the bridge): an ``ingress`` qdisc and a u32
  match-all filter policing at the average rate (burst, else the average's worth of KiB),
  mtu 64 KiB, dropping what exceeds it.

Units as tc reads libvirt's arguments: ``%llukbps`` is 1000 bytes/s, ``%llukb`` is 1024 bytes.
``apply`` first clears both qdiscs (libvirt's ``virNetDevBandwidthClear``), so it is also how a
changed or removed ``<bandwidth>`` is applied: guest ports stay plugged.  ``read`` gives back
what the kernel holds, in the definition's units, for verification.

The messages are iproute2's: tests/live/test_tc_wire_live.py compares them with what ``tc``
sends for libvirt's command lines, attribute by attribute (sfq, fw, u32 and police only there:
this kernel refuses them).  One difference is on purpose: a burst whose duration at the average
rate overflows the kernel's 32-bit tick count is refused here, where ``tc`` wraps it.
"""

from __future__ import annotations

import errno
import struct

from netupdate.errors import RuntimeFailure

ROOT = 0x10000          # 1:
INGRESS = 0xFFFF0000     # ffff:
TC_H_ROOT = 0xFFFFFFFF
TC_H_INGRESS = 0xFFFFFFF1
MTU = 1500
POLICE_MTU = 64 * 1024


def want(bandwidth) -> dict:
    """The shaping a ``Bandwidth`` def asks for, in bytes: ``{"in": {...}, "out": {...}}``
    (either may be None)."""
    def rate(r, *, ingress):
        if r is None or not r.average:
            return None
        out = {"rate": r.average * 1000}
        if ingress:
            out["burst"] = (r.burst or min(r.average, 0xFFFFFFFF // 1024)) * 1024
        else:
            out["ceil"] = (r.peak or r.average) * 1000
            out["burst"] = r.burst * 1024 if r.burst else None
            out["quantum"] = max(r.average * 1024 // 8 // MTU, 1)
        return out
    if bandwidth is None:
        return {"in": None, "out": None}
    # swapped: the network's inbound is the bridge's transmit side
    return {"in": rate(bandwidth.inbound, ingress=False),
            "out": rate(bandwidth.outbound, ingress=True)}


def _index(ipr, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise RuntimeFailure(f"bridge {ifname} does not exist")
    return found[0]


def clear(ipr, ifname: str) -> None:
    idx = _index(ipr, ifname)
    for kind, handle, parent in (("htb", ROOT, TC_H_ROOT), ("ingress", INGRESS, TC_H_INGRESS)):
        try:
            ipr.tc("del", kind, idx, handle, parent=parent)
        except Exception as exc:  # noqa: BLE001 - absent is fine
            if getattr(exc, "code", None) not in (errno.ENOENT, errno.EINVAL):
                raise RuntimeFailure(f"cannot clear {kind} on {ifname}: {exc}") from None


def _optional(what: str, missing: list[str], call, *args, **kwargs) -> bool:
    """Run one tc step the kernel may not have (sch_sfq, cls_fw, cls_u32, act_police are
    modules): ENOENT/EOPNOTSUPP is noted in ``missing`` instead of failing."""
    try:
        call(*args, **kwargs)
        return True
    except Exception as exc:  # noqa: BLE001 - pyroute2 NetlinkError
        if getattr(exc, "code", None) in (errno.ENOENT, errno.EOPNOTSUPP):
            missing.append(what)
            return False
        raise


def apply(ipr, ifname: str, bandwidth) -> list[str]:
    """Replace the bridge's shaping with what ``bandwidth`` (a ``Bandwidth`` or None) asks.
    Returns the parts this kernel cannot do (e.g. ``"sfq"``: no sch_sfq module); the htb
    classes that set the rates are never optional."""
    shape = want(bandwidth)
    clear(ipr, ifname)
    idx = _index(ipr, ifname)
    missing: list[str] = []
    try:
        tx = shape["in"]
        if tx:
            ipr.tc("add", "htb", idx, ROOT, default=2)
            ipr.tc("add-class", "htb", idx, ROOT | 1, parent=ROOT, rate=tx["rate"],
                   ceil=tx["ceil"], quantum=tx["quantum"])
            extra = {"burst": tx["burst"]} if tx["burst"] else {}
            ipr.tc("add-class", "htb", idx, ROOT | 2, parent=ROOT | 1, rate=tx["rate"],
                   ceil=tx["ceil"], quantum=tx["quantum"], **extra)
            _optional("sfq", missing, ipr.tc, "add", "sfq", idx, 0x20000, parent=ROOT | 2,
                      perturb=10)
            _optional("fw filter", missing, ipr.tc, "add-filter", "fw", idx, 1, parent=ROOT,
                      protocol=0x0003, prio=1, classid=1)
        rx = shape["out"]
        if rx:
            ipr.tc("add", "ingress", idx, INGRESS)
            _optional("ingress policing (cls_u32, act_police)", missing, ipr.tc,
                      "add-filter", "u32", idx, parent=INGRESS, protocol=0x0003,
                      target=1, keys=["0x0/0x0+0"], rate=rx["rate"], burst=rx["burst"],
                      mtu=POLICE_MTU, action="drop")
    except RuntimeFailure:
        raise
    except struct.error:   # tc would wrap the 32-bit tick count of the burst: refuse instead
        raise RuntimeFailure(f"cannot set bandwidth on {ifname}: a <bandwidth> burst lasts "
                             "longer at its average rate than the kernel's token bucket can "
                             "count (about 270 s); use a smaller burst") from None
    except Exception as exc:  # noqa: BLE001 - pyroute2 NetlinkError and friends
        raise RuntimeFailure(f"cannot set bandwidth on {ifname}: {exc}") from None
    return missing


def read(ipr, ifname: str) -> dict:
    """What the kernel shapes on the bridge: ``{"in": {"rate", "ceil"} | None,
    "out": {"rate"} | None}`` in bytes/s."""
    idx = _index(ipr, ifname)
    out: dict = {"in": None, "out": None}
    qdiscs = {q.get_attr("TCA_KIND"): q for q in ipr.get_qdiscs(index=idx)}
    if "htb" in qdiscs and qdiscs["htb"]["handle"] == ROOT:
        for cls in ipr.get_classes(index=idx):
            if cls["handle"] == ROOT | 2 and cls.get_attr("TCA_KIND") == "htb":
                parms = cls.get_attr("TCA_OPTIONS").get_attr("TCA_HTB_PARMS")
                out["in"] = {"rate": parms["rate"], "ceil": parms["ceil"]}
    if "ingress" in qdiscs:
        for flt in ipr.get_filters(index=idx, parent=INGRESS):
            options = flt.get_attr("TCA_OPTIONS")
            police = options.get_attr("TCA_U32_POLICE") if options is not None else None
            if police is not None:
                tbf = police.get_attr("TCA_POLICE_TBF")
                out["out"] = {"rate": tbf["rate"]}
    return out


def mismatches(ipr, ifname: str, bandwidth, missing=()) -> list[str]:
    """How the bridge's shaping differs from ``bandwidth`` (empty: it matches); ``missing``:
    what ``apply`` said this kernel cannot do (not checked)."""
    shape, have = want(bandwidth), read(ipr, ifname)
    problems = []
    tx, got = shape["in"], have["in"]
    if (tx is None) != (got is None) or (tx and (got["rate"], got["ceil"])
                                         != (tx["rate"], tx["ceil"])):
        expected = tx and {k: tx[k] for k in ("rate", "ceil")}
        problems.append(f"inbound shaping is {got}, expected {expected}")
    rx, got = shape["out"], have["out"]
    if rx is not None and any(m.startswith("ingress policing") for m in missing):
        rx = None
    if (rx is None) != (got is None) or (rx and got["rate"] != rx["rate"]):
        problems.append(f"outbound policing is {got}, expected {rx and {'rate': rx['rate']}}")
    return problems
