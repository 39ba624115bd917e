#!/usr/bin/env python3
"""Cold start of the command line, next to Python's own and to virsh, measured in one run.

    python benchmarks/bench_cli.py [--runs 21] [--hosts 1000]

Each command is a fresh process (what a user or a script pays), run ``--runs`` times
interleaved; the table shows the median wall time, and the median CPU time (user + system)
of the process, which other load on the machine disturbs much less:

* ``python -c pass`` (and ``import argparse``, the floor of any argparse program) against
  ``netupdate --version``, ``--help``, ``edit --help``,
  ``validate FILE`` and an offline ``edit`` (the cost netupdate adds on top of the
  interpreter; the target is 15 ms for --version and --help);
* the offline ``edit`` of a network with ``--hosts`` DHCP hosts against ``virsh -c
  test:///DRIVER.xml net-update NET add-last ip-dhcp-host ... --config`` on the same network
  (libvirt's test driver holding it; the target is 2.5x virsh);
* and for each netupdate command, the netupdate modules ``python -X importtime`` sees it
  import (a verb imports only what it uses).

netupdate runs from this source tree (``python -m netupdate``), byte-compiled first.  The live tiers (DHCP and DNS
host adds against ``virsh net-update --live --config`` and libvirt's API) are in
``benchmarks/bench_live.py``.  This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETUPDATE = [sys.executable, "-m", "netupdate"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("NETUPDATE_CONNECT", None)
HOST = "<host mac='52:54:00:aa:00:01' name='newvm' ip='10.201.0.1'/>"


def network_xml(hosts: int) -> str:
    lines = ["<network>", "  <name>bench</name>",
             "  <uuid>9a0e2c47-1b5f-4c1e-8f00-000000000001</uuid>",
             "  <forward mode='nat'/>", "  <bridge name='virbr-bench' stp='on' delay='0'/>",
             "  <ip address='10.255.255.1' netmask='255.0.0.0'>", "    <dhcp>",
             "      <range start='10.200.0.1' end='10.200.0.254'/>"]
    for n in range(1, hosts + 1):
        a, b = n >> 8 & 0xFF, n & 0xFF
        lines.append(f"      <host mac='52:54:00:10:{a:02x}:{b:02x}' name='vm{n}' "
                     f"ip='10.1.{a}.{b}'/>")
    lines += ["    </dhcp>", "  </ip>", "</network>", ""]
    return "\n".join(lines)


def time_once(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=ROOT)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode()[-500:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def modules(argv: list[str]) -> int:
    """How many netupdate modules the command imports."""
    result = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                            text=True)
    return sum(1 for line in result.stderr.splitlines()
               if line.rsplit("|", 1)[-1].strip().startswith("netupdate"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--hosts", type=int, default=1000)
    args = parser.parse_args()
    # byte-compiled like an installed package (this environment sets PYTHONDONTWRITEBYTECODE,
    # so without it every run would compile every module it imports from source)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "netupdate")],
                   check=True)
    work = Path(tempfile.mkdtemp(prefix="nu-bench-cli-"))
    try:
        net = work / "bench.xml"
        net.write_text(network_xml(args.hosts))
        driver = work / "driver.xml"
        driver.write_text("<node>\n" + network_xml(args.hosts) + "</node>\n")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import argparse'": [sys.executable, "-c", "import argparse"],
            "netupdate --version": [*NETUPDATE, "--version"],
            "netupdate --help": [*NETUPDATE, "--help"],
            "netupdate edit --help": [*NETUPDATE, "edit", "--help"],
            "netupdate validate FILE": [*NETUPDATE, "validate",
                                        "fixtures/networks/nat-default.xml"],
            f"netupdate edit ({args.hosts} hosts)": [*NETUPDATE, "edit", str(net), "add",
                                                     "ip-dhcp-host", HOST, "-o",
                                                     str(work / "out.xml")],
        }
        virsh = shutil.which("virsh")
        if virsh:
            commands[f"virsh net-update --config ({args.hosts} hosts)"] = [
                virsh, "-q", "-c", f"test://{driver}", "net-update", "bench", "add-last",
                "ip-dhcp-host", HOST, "--config"]
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):   # interleaved: drift hits every command alike
            for name, argv in commands.items():
                times[name].append(time_once(argv))
        wall = {name: statistics.median(w for w, _c in runs) * 1000 for name, runs in times.items()}
        cpu = {name: statistics.median(c for _w, c in runs) * 1000 for name, runs in times.items()}
        base, cpu_base = wall["python -c pass"], cpu["python -c pass"]
        print(f"cold start, median of {args.runs} runs (ms), this machine "
              f"(load average {os.getloadavg()[0]:.1f}):")
        print("| command | wall ms | over python -c pass | CPU ms | over python -c pass "
              "| netupdate modules imported |")
        print("|---|---|---|---|---|---|")
        for name, argv in commands.items():
            count = modules(argv) if argv[:3] == NETUPDATE else "-"
            print(f"| {name} | {wall[name]:.1f} | {wall[name] - base:+.1f} | {cpu[name]:.1f} | "
                  f"{cpu[name] - cpu_base:+.1f} | {count} |")
        edit = f"netupdate edit ({args.hosts} hosts)"
        if virsh:
            peer = f"virsh net-update --config ({args.hosts} hosts)"
            print(f"\noffline edit vs virsh net-update --config on the same {args.hosts}-host "
                  f"network: {wall[edit] / wall[peer]:.2f}x virsh's wall time, "
                  f"{cpu[edit] / cpu[peer]:.2f}x its CPU time (target <= 2.5x)")
        for name in ("netupdate --version", "netupdate --help"):
            print(f"{name}: {wall[name] - base:+.1f} ms wall, {cpu[name] - cpu_base:+.1f} ms CPU "
                  f"over python -c pass (target 15 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
