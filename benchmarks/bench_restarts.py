#!/usr/bin/env python3
"""The restart rate, section by section, next to libvirt's (issue 17).

    python benchmarks/bench_restarts.py [--markdown]

Plans every before/after pair of the generated corpus (``tests/restartcorpus.py``: every element
and attribute of the format changed one at a time over the fixture networks) and counts, per
section, the pairs whose plan stops and starts the whole network (``network-restart``), next
to what libvirt 9.0 does for the same change (the facts of
/work/shared/spec/libvirt-network-update.md §4): ``virNetworkUpdate`` applies ip-dhcp-host,
ip-dhcp-range, dns-host, dns-txt, dns-srv, forward-interface and portgroup to the running
network (a dnsmasq restart or SIGHUP at most); title, description and metadata go through
``virNetworkSetMetadata``; everything else (bridge, domain, ip, forward, forward-pf, route,
dns attributes and forwarders, mtu, mac, bandwidth, ...) is refused live or has no update
section: ``net-define`` (or ``net-edit``), then ``net-destroy`` / ``net-start``.
The "allowed" column counts the pairs where the issue allows a restart: a bridge rename or a
change of forward-mode group.  This is a measurement, not a test (tests/test_restart_rate.py
asserts the rule).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import restartcorpus as C  # noqa: E402

from netupdate.planning.planner import NETWORK_RESTART, plan  # noqa: E402

LIBVIRT_LIVE_SECTIONS = frozenset({"ip-dhcp-host", "ip-dhcp-range", "dns-host", "dns-txt",
                                   "dns-srv", "forward-interface", "portgroup"})
LIBVIRT_LIVE_FIELDS = frozenset({"title", "description", "metadata", "connections"})


def libvirt_restarts(changes) -> bool:
    """Whether libvirt needs destroy/start for these changes (see the module doc)."""
    for change in changes:
        if change.section in LIBVIRT_LIVE_SECTIONS:
            continue
        if change.section == "network" and (change.key[0] if change.key else "") \
                in LIBVIRT_LIVE_FIELDS:
            continue
        return True
    return False


def measure():
    """{section: Counter(pairs, netupdate, libvirt, allowed)} and the unexpected restarts."""
    rows: dict[str, Counter] = {}
    unexpected = []
    for pair in C.generate():
        result = plan(pair.before_defs, pair.after_defs)
        section = C.section_of(result)
        row = rows.setdefault(section, Counter())
        row["pairs"] += 1
        restart = NETWORK_RESTART in result.kinds
        allowed = C.allowed_restart(pair.before_defs, pair.after_defs)
        row["netupdate"] += restart
        row["libvirt"] += libvirt_restarts(result.changes)
        row["allowed"] += allowed
        if restart and not allowed:
            unexpected.append(pair.id)
    return rows, unexpected


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def table(rows, markdown: bool) -> str:
    head = ("section", "pairs", "netupdate restarts", "libvirt restarts", "allowed")
    lines = []
    total = Counter()
    body = []
    for section in sorted(rows, key=lambda s: (-rows[s]["pairs"], s)):
        row = rows[section]
        total.update(row)
        body.append((section, str(row["pairs"]),
                     f"{row['netupdate']} ({_pct(row['netupdate'], row['pairs'])})",
                     f"{row['libvirt']} ({_pct(row['libvirt'], row['pairs'])})",
                     str(row["allowed"])))
    body.append(("all", str(total["pairs"]),
                 f"{total['netupdate']} ({_pct(total['netupdate'], total['pairs'])})",
                 f"{total['libvirt']} ({_pct(total['libvirt'], total['pairs'])})",
                 str(total["allowed"])))
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        for r in [head, *body]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rows, unexpected = measure()
    print(table(rows, args.markdown))
    print(f"\nrestarts outside a bridge rename or a forward-mode group change: {len(unexpected)}")
    for pair_id in unexpected[:20]:
        print(f"  {pair_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
