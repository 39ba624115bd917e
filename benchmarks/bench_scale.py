#!/usr/bin/env python3
"""How validate, edit and apply scale with the number of DHCP hosts, next to libvirt's tools.

    python benchmarks/bench_scale.py [--sizes 10000,20000,40000,100000] [--peer-timeout 300]

For each size a NAT network with that many ``<host>`` entries is generated (benchmarks/
bench_update.py's generator), once valid and once invalid (every host with a problem, in turn:
a bad MAC, an address outside the subnet, a duplicate name, an unknown attribute, no MAC or
name, an unknown child), and timed, in the same run:

* validate: ``netupdate validate FILE`` (a process, start-up included; an invalid file exits 1
  and lists its issues, the grammar's capped at 1000) next to ``xmllint --noout --relaxng
  rng/network.rng FILE`` (libxml2: the same grammar, which stops at the first problem) and
  ``virt-xml-validate FILE network`` (libvirt-clients: libvirt's grammar);
* edit: ``netupdate edit FILE add ip-dhcp-host HOST -o OUT`` (offline add of one host) next to
  ``virsh -c test:///default 'net-define FILE; net-update NAME add-last ip-dhcp-host HOST
  --config'`` on libvirt's in-memory test driver, less the time of a lone ``net-define``;
* apply: the library's ``Connection.apply`` of the edited definition to the network defined
  (not running: no dnsmasq with 100,000 hosts is started) in a temporary state dir; that
  computes the changes, validates the desired definition and writes it.  No peer (libvirt has
  no "make it exactly this" operation).

For an invalid file, edit and apply are refused (edit: exit 1 with the first problems; apply:
an ``InvalidDefinitionError`` before anything is written); the time to refuse is shown.

A peer that is not installed, or that runs longer than ``--peer-timeout`` seconds, is shown as
such.  Times are seconds, wall/CPU (one run each; the machine's load is printed with the
table; the CPU time, user + system, is what other load on the machine disturbs least).
"""

from __future__ import annotations

import argparse
import os
import resource
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
BAD_KINDS = ("mac", "subnet", "dupname", "attr", "missing", "child")


def bad_host(number: int) -> str:
    """Host ``number`` of an invalid network: a problem of each kind in turn."""
    a, b, c = number >> 16 & 0xFF, number >> 8 & 0xFF, number & 0xFF
    mac, ip = f"52:54:{0x10 + a:02x}:{a:02x}:{b:02x}:{c:02x}", f"10.{a}.{b}.{c}"
    return {
        "mac": f"<host mac='zz:{b:02x}:{c:02x}' name='vm{number}' ip='{ip}'/>",
        "subnet": f"<host mac='{mac}' name='vm{number}' ip='192.168.{b}.{c}'/>",
        "dupname": f"<host mac='{mac}' name='vm' ip='{ip}'/>",
        "attr": f"<host mac='{mac}' name='vm{number}' ip='{ip}' bogus='1'/>",
        "missing": f"<host ip='{ip}'/>",
        "child": f"<host mac='{mac}' name='vm{number}' ip='{ip}'><x/></host>",
    }[BAD_KINDS[number % len(BAD_KINDS)]]


def invalid_network_xml(hosts: int) -> str:
    good = network_xml(1).splitlines()
    return "\n".join(good[:7] + [f"      {bad_host(i)}" for i in range(1, hosts + 1)]
                     + good[8:])


class Seconds(float):
    """A wall time in seconds that also carries the CPU time (user + system) it took."""

    cpu: float

    def __new__(cls, wall: float, cpu: float):
        value = super().__new__(cls, wall)
        value.cpu = cpu
        return value


def cpu_of(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], timeout: float | None = None,
          expect: tuple[int, ...] = (0,)) -> float | str:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started, cpu = time.perf_counter(), cpu_of(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return f">{timeout:g}"
    seconds = Seconds(time.perf_counter() - started, cpu_of(resource.RUSAGE_CHILDREN) - cpu)
    if done.returncode not in expect:
        return "failed: " + (done.stderr or done.stdout).strip().splitlines()[-1][:60]
    return seconds


def netupdate_validate(path: Path, valid: bool) -> float | str:
    return timed([sys.executable, "-m", "netupdate", "validate", str(path)],
                 expect=(0,) if valid else (1,))


def netupdate_edit(path: Path, out: Path, valid: bool) -> float | str:
    return timed([sys.executable, "-m", "netupdate", "edit", str(path), "add", "ip-dhcp-host",
                  NEW_HOST, "-o", str(out)], expect=(0,) if valid else (1,))


def library_apply(defined: Path, desired: Path, name: str, valid: bool) -> float | str:
    import netupdate

    state = Path(tempfile.mkdtemp(prefix="nu-bench-state-"))
    try:
        state.chmod(0o755)
        conn = netupdate.connect(state_dir=state)
        conn.define(defined)
        started, cpu = time.perf_counter(), cpu_of(resource.RUSAGE_SELF)

        def spent() -> Seconds:
            return Seconds(time.perf_counter() - started, cpu_of(resource.RUSAGE_SELF) - cpu)
        try:
            result = conn.apply(name, desired.read_bytes(), config=True, live=False)
        except netupdate.NetupdateError as exc:
            return spent() if not valid else f"failed: {exc}"[:60]
        seconds = spent()
        if not valid:
            return "failed: applied"
        return seconds if result.changed else "failed: nothing changed"
    finally:
        shutil.rmtree(state, ignore_errors=True)


def peer_xmllint(path: Path, timeout: float, valid: bool) -> float | str:
    if shutil.which("xmllint") is None:
        return "not installed"
    return timed(["xmllint", "--noout", "--relaxng", str(ROOT / "rng" / "network.rng"),
                  str(path)], timeout, expect=(0,) if valid else (3,))


def peer_validate(path: Path, timeout: float, valid: bool) -> float | str:
    if shutil.which("virt-xml-validate") is None:
        return "not installed"
    return timed(["virt-xml-validate", str(path), "network"], timeout,
                 expect=(0,) if valid else (0, 1, 3))


def peer_edit(path: Path, name: str, timeout: float) -> float | str:
    if shutil.which("virsh") is None:
        return "not installed"
    define = timed(["virsh", "-q", "-c", "test:///default", f"net-define {path}"], timeout)
    both = timed(["virsh", "-q", "-c", "test:///default",
                  f"net-define {path}; net-update {name} add-last ip-dhcp-host "
                  f"\"{NEW_HOST}\" --config"], timeout)
    if isinstance(both, str):
        return both
    return Seconds(both - define, both.cpu - define.cpu) if isinstance(define, Seconds) else both


def cell(value: Seconds | str) -> str:
    """``wall/cpu`` seconds."""
    return (f"{value:.2f}/{value.cpu:.2f}".rjust(12) if isinstance(value, Seconds)
            else f"{value:>12}"[:24])


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
            rows += [measure(work, size, True, args.peer_timeout),
                     measure(work, size, False, args.peer_timeout)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    return 0


def measure(work: Path, size: int, valid: bool, peer_timeout: float) -> tuple:
    """One row: the times of every column for ``size`` hosts, valid or not."""
    kind = "valid" if valid else "invalid"
    path, edited = work / f"hosts-{size}-{kind}.xml", work / f"hosts-{size}-{kind}-edited.xml"
    path.write_text(network_xml(size) if valid else invalid_network_xml(size))
    name = f"bench{size}"
    good = work / f"hosts-{size}-valid.xml"
    row = (size, kind, netupdate_validate(path, valid), peer_xmllint(path, peer_timeout, valid),
           peer_validate(path, peer_timeout, valid), netupdate_edit(path, edited, valid),
           peer_edit(path, name, peer_timeout) if valid else "-",
           library_apply(path, edited, name, True) if valid
           else library_apply(good, path, name, False))
    print(f"  done: {size} hosts, {kind}", file=sys.stderr, flush=True)
    return row


def print_table(rows: list[tuple]) -> None:
    load = os.getloadavg()
    print(f"DHCP hosts per network; wall/CPU seconds (CPU: user + system of the process, or of "
          f"the library call; {os.cpu_count()} CPUs, load "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end, Python "
          f"{sys.version.split()[0]})\n")
    heads = [("hosts", ""), ("document", ""), ("validate", ""), ("xmllint", "--relaxng"),
             ("virt-xml-", "validate"), ("edit", "(add 1)"), ("virsh net-", "update"),
             ("apply", "(library)")]
    print(" ".join(f"{top:>{10 if i < 2 else 12}}" for i, (top, _) in enumerate(heads)))
    print(" ".join(f"{bottom:>{10 if i < 2 else 12}}" for i, (_, bottom) in enumerate(heads)))
    for size, kind, *values in rows:
        print(f"{size:>10} {kind:>10} " + " ".join(cell(v) for v in values))
    print("\nvalidate: a process, start-up included; invalid: exit 1, every issue listed (the "
          "grammar's capped at 1000).\nxmllint: libxml2 with rng/network.rng, stops at the "
          "first problem.  edit: netupdate edit ... -o OUT (a process);\nvirsh: net-define + "
          "net-update --config on test:///default, less a lone net-define.\napply: "
          "Connection.apply of the edited definition to the defined network (config only, not "
          "running);\ninvalid: the time to refuse it.")


if __name__ == "__main__":
    sys.exit(main())
