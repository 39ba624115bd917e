#!/usr/bin/env python3
"""Time DHCP host updates on big networks: netupdate's Network.update vs libvirt.

    python benchmarks/bench_update.py [--sizes 1000,10000] [--updates 1000] [--no-libvirt]

For each size, a NAT network with that many ``<host>`` entries is built, then the same sequence
of updates (adds, modifies and deletes, in equal parts) is timed through ``Network.update`` and,
when the Python libvirt binding is installed, through ``virNetworkUpdate`` on libvirt's in-memory
test driver (``test:///default``, an inactive persistent network, so no live actions run).  The
per-update times and their ratio are printed in one table.  This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from netupdate.edit import engine as edit  # noqa: E402

SUBNET = "10.0.0.0/8"   # room for any size; the host range lives at 10.200.x.x


def host_xml(number: int, *, renumbered: bool = False) -> str:
    a, b, c = number >> 16 & 0xFF, number >> 8 & 0xFF, number & 0xFF
    ip = f"10.{100 + a if renumbered else a}.{b}.{c}"
    return f"<host mac='52:54:{0x10 + a:02x}:{a:02x}:{b:02x}:{c:02x}' name='vm{number}' ip='{ip}'/>"


def network_xml(hosts: int) -> str:
    lines = ["<network>", f"  <name>bench{hosts}</name>", "  <forward mode='nat'/>",
             "  <bridge name='virbr-bench' stp='on' delay='0'/>",
             "  <ip address='10.255.255.1' netmask='255.0.0.0'>", "    <dhcp>",
             "      <range start='10.200.0.1' end='10.200.0.254'/>"]
    lines += [f"      {host_xml(i)}" for i in range(1, hosts + 1)]
    lines += ["    </dhcp>", "  </ip>", "</network>", ""]
    return "\n".join(lines)


def operations(hosts: int, count: int) -> list[tuple[str, str]]:
    """``count`` updates: a third adds of new hosts, a third modifies (new IP for an existing
    MAC), a third deletes, interleaved, touching hosts spread over the whole list."""
    ops = []
    step = max(1, hosts // max(1, count // 3))
    added = modified = deleted = 0
    for i in range(count):
        kind = i % 3
        if kind == 0:
            added += 1
            ops.append(("add-last", host_xml(hosts + added)))
        elif kind == 1:
            number = 1 + (modified * step + step // 2) % hosts
            modified += 1
            ops.append(("modify", host_xml(number, renumbered=True)))
        else:
            number = 1 + (deleted * step) % hosts
            deleted += 1
            mac = host_xml(number).split("'")[1]
            ops.append(("delete", f"<host mac='{mac}'/>"))
    return ops


def bench_netupdate(hosts: int, ops, repeat: int = 3) -> tuple[float, float]:
    """Mean and median per update of the best of ``repeat`` runs (each on a fresh network)."""
    best = None
    for _ in range(repeat):
        network = edit.load(network_xml(hosts), check=False)
        network.update("add-last", "ip-dhcp-host", host_xml(10_000_000 - 1))  # builds the index
        times = []
        for command, fragment in ops:
            start = time.perf_counter()
            network.update(command, "ip-dhcp-host", fragment)
            times.append(time.perf_counter() - start)
        result = (sum(times) / len(times), statistics.median(times))
        best = result if best is None or result[0] < best[0] else best
    return best


def bench_libvirt(hosts: int, ops) -> tuple[float, float] | None:
    try:
        import libvirt
    except ImportError:
        return None
    libvirt.registerErrorHandler(lambda *args: None, None)
    conn = libvirt.open("test:///default")
    codes = {"modify": libvirt.VIR_NETWORK_UPDATE_COMMAND_MODIFY,
             "delete": libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
             "add-last": libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST}
    section = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST
    net = conn.networkDefineXML(network_xml(hosts))
    try:
        times = []
        for command, fragment in ops:
            start = time.perf_counter()
            net.update(codes[command], section, -1, fragment, 0)
            times.append(time.perf_counter() - start)
    finally:
        net.undefine()
        conn.close()
    return sum(times) / len(times), statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000",
                        help="comma-separated host counts (default 1000,10000)")
    parser.add_argument("--updates", type=int, default=1000, help="updates per size")
    parser.add_argument("--libvirt-updates", type=int, default=None,
                        help="updates timed through libvirt (default: --updates)")
    parser.add_argument("--no-libvirt", action="store_true", help="skip libvirt")
    parser.add_argument("--repeat", type=int, default=3,
                        help="netupdate runs per size; the best is shown (default 3)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    for hosts in sizes:
        ops = operations(hosts, args.updates)
        ours = bench_netupdate(hosts, ops, args.repeat)
        theirs = None
        if not args.no_libvirt:
            theirs = bench_libvirt(hosts, ops[:args.libvirt_updates or args.updates])
        rows.append((hosts, ours, theirs))
    if hasattr(os, "getloadavg"):
        print(f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
              f"{args.updates} updates per size: adds, modifies, deletes)")
    print(f"{'hosts':>7}  {'netupdate mean':>15}  {'median':>9}  {'libvirt mean':>13}  "
          f"{'median':>9}  {'ratio':>7}")
    for hosts, ours, theirs in rows:
        line = f"{hosts:>7}  {ours[0] * 1e6:>12.1f} us  {ours[1] * 1e6:>6.1f} us"
        if theirs is None:
            line += f"  {'(libvirt binding not installed)':>35}"
        else:
            line += (f"  {theirs[0] * 1e3:>10.2f} ms  {theirs[1] * 1e3:>6.2f} ms"
                     f"  {theirs[0] / ours[0]:>6.0f}x")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
