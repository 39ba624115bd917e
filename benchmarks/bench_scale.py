#!/usr/bin/env python3
"""How validate, edit and apply scale with the number of DHCP hosts, next to libvirt's tools.

    python benchmarks/bench_scale.py [--sizes 10000,20000,40000,100000] [--peer-timeout 300]

For each size a NAT network with that many ``<host>`` entries is generated (benchmarks/
bench_update.py's generator) and timed, in the same run:

* validate: ``netupdate validate FILE`` (a process, start-up included) next to
  ``virt-xml-validate FILE network`` (libvirt-clients);
* edit: ``netupdate edit FILE add ip-dhcp-host HOST -o OUT`` (offline add of one host) next to
  ``virsh -c test:///default 'net-define FILE; net-update NAME add-last ip-dhcp-host HOST
  --config'`` on libvirt's in-memory test driver, less the time of a lone ``net-define``;
* apply: the library's ``Connection.apply`` of the edited definition to the network defined
  (not running: no dnsmasq with 100,000 hosts is started) in a temporary state dir; that
  computes the changes, validates the desired definition and writes it.  No peer (libvirt has
  no "make it exactly this" operation).

A peer that is not installed, or that runs longer than ``--peer-timeout`` seconds, is shown as
such.  Times are seconds (one run each; the machine's load is printed with the table).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_update import host_xml, network_xml  # noqa: E402

NEW_HOST = host_xml(9_999_999)


def timed(command: list[str], timeout: float | None = None) -> float | str:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f">{timeout:g}"
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return "failed: " + (done.stderr or done.stdout).strip().splitlines()[-1][:60]
    return seconds


def netupdate_validate(path: Path) -> float | str:
    return timed([sys.executable, "-m", "netupdate", "validate", str(path)])


def netupdate_edit(path: Path, out: Path) -> float | str:
    return timed([sys.executable, "-m", "netupdate", "edit", str(path), "add", "ip-dhcp-host",
                  NEW_HOST, "-o", str(out)])


def library_apply(path: Path, edited: Path, name: str) -> float | str:
    import netupdate

    state = Path(tempfile.mkdtemp(prefix="nu-bench-state-"))
    try:
        state.chmod(0o755)
        conn = netupdate.connect(state_dir=state)
        conn.define(path)
        started = time.perf_counter()
        result = conn.apply(name, edited.read_bytes(), config=True, live=False)
        seconds = time.perf_counter() - started
        return seconds if result.changed else "failed: nothing changed"
    finally:
        shutil.rmtree(state, ignore_errors=True)


def peer_validate(path: Path, timeout: float) -> float | str:
    if shutil.which("virt-xml-validate") is None:
        return "not installed"
    return timed(["virt-xml-validate", str(path), "network"], timeout)


def peer_edit(path: Path, name: str, timeout: float) -> float | str:
    if shutil.which("virsh") is None:
        return "not installed"
    define = timed(["virsh", "-q", "-c", "test:///default", f"net-define {path}"], timeout)
    both = timed(["virsh", "-q", "-c", "test:///default",
                  f"net-define {path}; net-update {name} add-last ip-dhcp-host "
                  f"\"{NEW_HOST}\" --config"], timeout)
    if isinstance(both, str):
        return both
    return both - define if isinstance(define, float) else both


def cell(value: float | str) -> str:
    return f"{value:10.2f}" if isinstance(value, float) else f"{value:>10}"[:24]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,20000,40000,100000",
                        help="host counts, comma separated (default 10000,20000,40000,100000)")
    parser.add_argument("--peer-timeout", type=float, default=300.0,
                        help="seconds before a peer run is given up (default 300)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="nu-bench-scale-"))
    rows = []
    try:
        for size in sizes:
            path, edited = work / f"hosts-{size}.xml", work / f"hosts-{size}-edited.xml"
            path.write_text(network_xml(size))
            name = f"bench{size}"
            rows.append((size, netupdate_validate(path), peer_validate(path, args.peer_timeout),
                         netupdate_edit(path, edited), peer_edit(path, name, args.peer_timeout),
                         library_apply(path, edited, name)))
            print(f"  done: {size} hosts", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"DHCP hosts per network; seconds ({os.cpu_count()} CPUs, load {load:.2f}, "
          f"Python {sys.version.split()[0]})\n")
    print(f"{'hosts':>7} {'validate':>10} {'virt-xml-':>10} {'edit':>10} {'virsh net-':>10} "
          f"{'apply':>10}")
    print(f"{'':>7} {'':>10} {'validate':>10} {'(add 1)':>10} {'update':>10} "
          f"{'(library)':>10}")
    for size, *values in rows:
        print(f"{size:>7} " + " ".join(cell(v) for v in values))
    print("\nedit: netupdate edit ... -o OUT (a process); virsh: net-define + net-update "
          "--config on test:///default, less a lone net-define.\napply: Connection.apply of "
          "the edited definition to the defined network (config only, not running).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
