#!/usr/bin/env python3
"""Cold start of the command line, next to Python's own and to virsh, measured in one run.

    python benchmarks/bench_cli.py [--runs 21] [--hosts 1000]

Each command is a fresh process (what a user or a script pays), run ``--runs`` times
interleaved; the table shows the median wall time, and the median CPU time (user + system)
of the process, which other load on the machine disturbs much less:

* ``python -c pass`` (and ``import re``, ``import argparse`` and ``import lxml.etree``, the
  floors of a command that needs them) against
  ``netupdate --version``, ``--help``, ``edit --help``,
  ``validate FILE`` and an offline ``edit`` (the cost netupdate adds on top of the
  interpreter; the target is 15 ms for --version and --help);
* the offline ``edit`` of a network with ``--hosts`` DHCP hosts against ``virsh -c
  test:///DRIVER.xml net-update NET add-last ip-dhcp-host ... --config`` on the same network
  (libvirt's test driver holding it; the target is 2.5x virsh);
* and for each netupdate command, the netupdate modules ``python -X importtime`` sees it
  import (a verb imports only what it uses).

netupdate runs as a fresh machine runs it after ``pip install .``: from a throwaway virtual
environment (``python -m venv``, no system site packages, so none of this machine's ``.pth``
start-up hooks) holding netupdate's dependencies and a regular (non-editable) install of this
tree, made with pip; the environment is kept under ``/tmp`` (``--venv``) so that reruns only
reinstall netupdate.  ``python -c pass`` is that environment's interpreter, and ``netupdate`` the
command pip installed (``bin/netupdate``).  The live tiers (DHCP and DNS
host adds against ``virsh net-update --live --config`` and libvirt's API) are in
``benchmarks/bench_live.py``.  This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _venv  # benchmarks/_venv.py: the fresh-machine venv

ROOT = Path(__file__).resolve().parent.parent
ENV = _venv.ENV
ENV_SERVER_DIR = "NETUPDATE_SERVER_DIR"
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


def environment(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command and its environment: a leading ``NETUPDATE_SERVER=off`` sets that variable
    (netupdate runs the command itself rather than handing it to its command server)."""
    if argv[0] == "NETUPDATE_SERVER=off":
        return argv[1:], {**ENV, "NETUPDATE_SERVER": "off"}
    return argv, ENV


def time_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run (CPU: of the process, not of a command server's child)."""
    argv, env = environment(argv)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=cwd)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode()[-500:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def modules(python: Path, argv: list[str], cwd: Path) -> int:
    """How many netupdate modules the command imports."""
    argv, env = environment(argv)
    result = subprocess.run([str(python), "-X", "importtime", *argv], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return sum(1 for line in result.stderr.splitlines()
               if line.rsplit("|", 1)[-1].strip().startswith("netupdate"))


def commands(python: Path, work: Path, hosts: int) -> dict[str, list[str]]:
    net = work / "bench.xml"
    net.write_text(network_xml(hosts))
    driver = work / "driver.xml"
    driver.write_text("<node>\n" + network_xml(hosts) + "</node>\n")
    netupdate = str(python.parent / "netupdate")
    table = {
        "python -c pass": [str(python), "-c", "pass"],
        "python -c 'import re'": [str(python), "-c", "import re"],
        "python -c 'import argparse'": [str(python), "-c", "import argparse"],
        "python -c 'import lxml.etree'": [str(python), "-c", "import lxml.etree"],
        "netupdate --version": [netupdate, "--version"],
        "netupdate --help": [netupdate, "--help"],
        "netupdate edit --help": [netupdate, "edit", "--help"],
    }
    validate = [netupdate, "validate", str(ROOT / "fixtures/networks/nat-default.xml")]
    edit = [netupdate, "edit", str(net), "add", "ip-dhcp-host", HOST, "-o", str(work / "out.xml")]
    for served, prefix in (("", []), (", no server", ["NETUPDATE_SERVER=off"])):
        table[f"netupdate validate FILE{served}"] = [*prefix, *validate]
        table[f"netupdate edit ({hosts} hosts){served}"] = [*prefix, *edit]
    virsh = shutil.which("virsh")
    if virsh:
        table[f"virsh net-update --config ({hosts} hosts)"] = [
            virsh, "-q", "-c", f"test://{driver}", "net-update", "bench", "add-last",
            "ip-dhcp-host", HOST, "--config"]
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir(),
                                                          "nu-bench-cli-venv"),
                        help="the virtual environment (made when missing; default %(default)s)")
    args = parser.parse_args()
    python = _venv.prepare(args.venv)
    work = Path(tempfile.mkdtemp(prefix="nu-bench-cli-"))
    ENV[ENV_SERVER_DIR] = str(work / "servers")   # this run's command servers, stopped at the end
    netupdate = str(python.parent / "netupdate")
    try:
        table = commands(python, work, args.hosts)
        started = start_server(netupdate, table[f"netupdate edit ({args.hosts} hosts)"], work)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
        for _ in range(args.runs):   # interleaved: drift hits every command alike
            for name, argv in table.items():
                times[name].append(time_once(argv, work))
        wall = {name: statistics.median(w for w, _c in runs) * 1000 for name, runs in times.items()}
        cpu = {name: statistics.median(c for _w, c in runs) * 1000 for name, runs in times.items()}
        base, cpu_base = wall["python -c pass"], cpu["python -c pass"]
        print(f"cold start, median of {args.runs} runs (ms), fresh venv {args.venv}, this machine "
              f"(load average {os.getloadavg()[0]:.1f}):")
        print("| command | wall ms | over python -c pass | CPU ms | over python -c pass "
              "| netupdate modules imported |")
        print("|---|---|---|---|---|---|")
        for name, argv in table.items():
            count = modules(python, argv, work) if name.startswith("netupdate") else "-"
            print(f"| {name} | {wall[name]:.1f} | {wall[name] - base:+.1f} | {cpu[name]:.1f} | "
                  f"{cpu[name] - cpu_base:+.1f} | {count} |")
        edit = f"netupdate edit ({args.hosts} hosts)"
        peer = f"virsh net-update --config ({args.hosts} hosts)"
        if peer in table:
            cold = f"{edit}, no server"
            print(f"\noffline edit vs virsh net-update --config on the same {args.hosts}-host "
                  f"network: {wall[edit] / wall[peer]:.2f}x virsh's wall time (target <= 2.5x; "
                  "the CPU column leaves out the command server's child); without the server "
                  f"{wall[cold] / wall[peer]:.2f}x its wall time, {cpu[cold] / cpu[peer]:.2f}x "
                  "its CPU time")
        for name in ("netupdate --version", "netupdate --help"):
            print(f"{name}: {wall[name] - base:+.1f} ms wall, {cpu[name] - cpu_base:+.1f} ms CPU "
                  f"over python -c pass (target 15 ms)")
        print(f"(rows without 'no server': the command server was running, started "
              f"{started:.2f} s before by the first command; 'no server': NETUPDATE_SERVER=off, "
              "everything imported by the process)")
    finally:
        subprocess.run([netupdate, "server", "stop"], env=ENV, stdout=subprocess.DEVNULL,
                       check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def start_server(netupdate: str, argv: list[str], cwd: Path) -> float:
    """Run ``argv`` once (it starts the command server) and wait for the server; the seconds
    until it served."""
    started = time.perf_counter()
    subprocess.run(argv, env=ENV, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    while time.perf_counter() - started < 60:
        status = subprocess.run([netupdate, "server", "status", "--json"], env=ENV, cwd=cwd,
                                capture_output=True, text=True, check=True)
        if json.loads(status.stdout)["servers"]:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit("the command server did not start")


if __name__ == "__main__":
    sys.exit(main())
