"""The netlink messages of a network's QoS, ours against iproute2's ``tc`` (issue 17).

This kernel has only sch_htb, sch_ingress and pfifo: sfq, the fw classifier, u32 and the police
action are refused ("Specified qdisc kind is unknown").  So what we send for those parts is
checked against a real peer on the wire instead: ``tc`` run with libvirt's arguments
(``virNetDevBandwidthSet(bridge, bw, hierarchical_class=true, swapped=true)``,
src/util/virnetdevbandwidth.c) and our ``shaping.apply`` each run under ``strace -e
write=all``, which dumps every byte sent on the netlink socket whether the kernel then accepts
it or not; both are decoded with pyroute2's ``tcmsg`` and compared attribute by attribute.

``KNOWN`` lists the differences that are not ours to fix and why they do not change what the
kernel does."""

from __future__ import annotations

import re
import subprocess
import sys

NEW_KINDS = {36: "RTM_NEWQDISC", 40: "RTM_NEWTCLASS", 44: "RTM_NEWTFILTER"}
# The fields where pyroute2 and tc differ without a different outcome:
# - ``*___reserved`` of a rate spec is ``linklayer``: tc says ethernet (1), pyroute2 leaves it
#   unset (0), and the kernel then detects ethernet from the rate table (qdisc_get_rtab,
#   __detect_linklayer), which both send identically;
# - the header's length, sequence number and pid (sfq: tc sends the longer tc_sfq_qopt_v1,
#   pyroute2 tc_sfq_qopt; the kernel reads the v1 fields only from a v1-sized attribute, and
#   tc's are zeros, the defaults: checked in ``sfq_tail_is_default``).
KNOWN = re.compile(r"(^|\.)(rate|ceil|peak)___reserved$|^header\.(length|sequence_number|pid)$")
STRACE = ("strace", "-f", "-qq", "-e", "trace=sendmsg,sendto", "-e", "signal=none", "-e",
          "write=all", "-s", "0")
_CALL = re.compile(r"^(\[pid +\d+\] )?(sendmsg|sendto)\(")
_DUMP = re.compile(r"^ \| [0-9a-f]{5}  ((?:[0-9a-f]{2} {1,2}){1,16})")


def sent(netns: str, argv: list[str]) -> list[bytes]:
    """The tc requests (new qdisc, class, filter) ``argv`` sends, run in ``netns`` under
    strace; the command's own exit status does not matter (the kernel may refuse)."""
    return traced(netns, argv)[0]


def traced(netns: str, argv: list[str]) -> tuple[list[bytes], str]:
    """``sent`` and what the command printed on stderr (strace's lines left out)."""
    proc = subprocess.run(["ip", "netns", "exec", netns, *STRACE, *argv], capture_output=True,
                          text=True, timeout=120)
    blobs: list[bytearray] = []
    for line in proc.stderr.splitlines():
        if _CALL.match(line):
            blobs.append(bytearray())
        elif (found := _DUMP.match(line)) and blobs:
            blobs[-1] += bytes.fromhex(found.group(1).replace(" ", ""))
    if not blobs:
        raise AssertionError(f"strace saw nothing sent by {argv}: {proc.stderr[-2000:]}")
    own = "\n".join(line for line in proc.stderr.splitlines()
                    if not _CALL.match(line) and not line.startswith((" | ", " * ", "[pid ")))
    return [bytes(b) for b in blobs if int.from_bytes(b[4:6], "little") in NEW_KINDS], own


def burst_fits(rate_kbps: int, burst_kb: int) -> bool:
    """Whether tc's tick count of a burst (its duration at the rate, in the kernel's ticks,
    /proc/net/psched) fits the 32 bits of the message; tc wraps it when it does not."""
    with open("/proc/net/psched") as handle:
        t2us, us2t = (int(field, 16) for field in handle.read().split()[:2])
    return burst_kb * 1024 / (rate_kbps * 1000) * 1e6 * t2us / us2t < 2**32


def libvirt_commands(dev: str, bw: dict) -> list[list[str]]:
    """libvirt's tc command lines for a network's ``<bandwidth>`` (``bw``: KiB/s and KiB as
    in the XML: ``in_average``, ``in_peak``, ``in_burst``, ``out_average``, ``out_burst``)."""
    out = []
    if bw.get("in_average"):
        average = f"{bw['in_average']}kbps"
        ceil = f"{bw.get('in_peak') or bw['in_average']}kbps"
        quantum = str(max(bw["in_average"] * 1024 // 8 // 1500, 1))
        burst = ["burst", f"{bw['in_burst']}kb"] if bw.get("in_burst") else []
        out += [
            ["qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "2"],
            ["class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate",
             average, "ceil", ceil, "quantum", quantum],
            ["class", "add", "dev", dev, "parent", "1:1", "classid", "1:2", "htb", "rate",
             average, "ceil", ceil, *burst, "quantum", quantum],
            ["qdisc", "add", "dev", dev, "parent", "1:2", "handle", "2:", "sfq", "perturb", "10"],
            ["filter", "add", "dev", dev, "parent", "1:0", "protocol", "all", "prio", "1",
             "handle", "1", "fw", "flowid", "1"],
        ]
    if bw.get("out_average"):
        burst = bw.get("out_burst") or bw["out_average"]
        out += [
            ["qdisc", "add", "dev", dev, "ingress"],
            ["filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all", "u32", "match",
             "u32", "0", "0", "police", "rate", f"{bw['out_average']}kbps", "burst",
             f"{burst}kb", "mtu", "64kb", "drop", "flowid", ":1"],
        ]
    return [["tc", *command] for command in out]


OURS = """
import sys
from netupdate.live.embedded.runtime import netns as NS, shaping as QOS
from netupdate.model.defs import Bandwidth, BandwidthRate
netns, dev, a, p, b, oa, ob = sys.argv[1:]
n = lambda v: int(v) or None
bw = Bandwidth(inbound=BandwidthRate(average=n(a), peak=n(p), burst=n(b)) if n(a) else None,
               outbound=BandwidthRate(average=n(oa), burst=n(ob)) if n(oa) else None)
ipr = NS.iproute(netns)
QOS.apply(ipr, dev, bw)
ipr.close()
"""


def ours(netns: str, dev: str, bw: dict) -> tuple[list[bytes], str]:
    """What ``shaping.apply`` sends for the same ``<bandwidth>``, and its error output."""
    values = [str(bw.get(k) or 0) for k in ("in_average", "in_peak", "in_burst", "out_average",
                                              "out_burst")]
    return traced(netns, [sys.executable, "-c", OURS, netns, dev, *values])


def plain(value):
    """A decoded pyroute2 message or attribute as plain data (attributes by name, in order)."""
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "items"):
        out = {k: plain(v) for k, v in value.items() if k not in ("attrs", "value")}
        if value.get("attrs"):
            out["attrs"] = [(a[0], plain(a[1])) for a in value["attrs"]]
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def decode(blob: bytes) -> dict:
    from pyroute2.netlink.rtnl.tcmsg import tcmsg
    msg = tcmsg(blob)
    msg.decode()
    return plain(msg)


def differences(a, b, path: str = "") -> list[str]:
    """Where two plain messages differ, as dotted paths, without ``KNOWN`` ones."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in dict.fromkeys([*a, *b])
                for d in differences(a.get(k), b.get(k), f"{path}.{k}" if path else k)]
    if isinstance(a, list) and isinstance(b, list) and all(
            isinstance(x, tuple) for x in a + b):   # attributes: by name, in order
        if [x[0] for x in a] != [x[0] for x in b]:
            return [f"{path}: attributes {[x[0] for x in a]} != {[x[0] for x in b]}"]
        return [d for x, y in zip(a, b, strict=True) for d in
                differences(x[1], y[1], f"{path}.{x[0]}")]
    if a != b and not KNOWN.search(path):
        return [f"{path}: {a!r} != {b!r}"]
    return []


def sfq_tail_is_default(blob: bytes) -> bool:
    """tc's sfq options past tc_sfq_qopt (20 bytes) are all zero: the kernel's defaults."""
    offset = 36   # nlmsghdr + tcmsg
    while offset < len(blob):
        length = int.from_bytes(blob[offset:offset + 2], "little")
        kind = int.from_bytes(blob[offset + 2:offset + 4], "little")
        if kind == 2:   # TCA_OPTIONS
            return not any(blob[offset + 4 + 20:offset + length])
        offset += (length + 3) & ~3
    return True
