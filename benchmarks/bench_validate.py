#!/usr/bin/env python3
"""Benchmark: one ``netupdate validate`` run over many files vs ``virt-xml-validate`` per file.

Generates COUNT (default 1,000) network definitions derived from ``fixtures/networks/*.xml``
into a temporary directory (each copy gets its own network name, UUID, bridge name and DHCP host
names, so no two files are the same), then times, in the same run:

* ``netupdate validate --format json DIR``: one process for all files, start-up included;
  once with the default worker processes and once with ``--jobs 1``;
* ``virt-xml-validate FILE network`` (libvirt-clients) run once per file, as a CI script would.

It prints a table with files per second for each and the ratio.  When virt-xml-validate is not
installed the peer cannot be measured and the script says so.  ``--min-ratio R`` makes the
script exit 1 when netupdate is less than R times as fast (for use in CI).

    python benchmarks/bench_validate.py [--count 1000] [--peer-count N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "networks"
PEER = "virt-xml-validate"
# Fixtures that are deliberately not schema-valid (round-trip only; see fixtures/README.md).
SKIP = {"odd-unknown-elements.xml"}


def generate(directory: Path, count: int) -> list[Path]:
    """Write ``count`` fixture-derived definitions into ``directory``; returns their paths."""
    from lxml import etree

    sys.path.insert(0, str(ROOT))
    from netupdate.document.source import decode, parse_element

    sources = []
    for path in sorted(FIXTURES.glob("*.xml")):
        if path.name in SKIP:
            continue
        text, _, _ = decode(path.read_bytes(), str(path))
        sources.append((path.stem, parse_element(text, str(path))))
    if not sources:
        raise SystemExit(f"no fixtures found in {FIXTURES}")
    written = []
    for number in range(count):
        stem, original = sources[number % len(sources)]
        root = _vary(original, number)
        target = directory / f"{number // 100:02d}" / f"{stem}-{number:05d}.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=False) + b"\n")
        written.append(target)
    return written


def _vary(original, number: int):
    """A copy of a fixture with its own name, UUID, bridge name and DHCP host names."""
    import copy

    root = copy.deepcopy(original)
    name = root.find("name")
    if name is not None:
        name.text = f"bench-{number:05d}"
    found = root.find("uuid")
    if found is not None:
        found.text = str(uuid.UUID(int=(0x5EED << 96) + number))
    bridge = root.find("bridge")
    if bridge is not None and bridge.get("name"):
        bridge.set("name", f"vb{number:05d}")
    for index, host in enumerate(root.iterfind("ip/dhcp/host")):
        if host.get("name"):
            host.set("name", f"h{number}-{index}")
    return root


def run_netupdate(directory: Path, jobs: int | None) -> tuple[float, dict]:
    command = [sys.executable, "-m", "netupdate", "validate", "--format", "json", str(directory)]
    if jobs is not None:
        command[4:4] = ["--jobs", str(jobs)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"netupdate validate failed ({done.returncode}):\n{done.stderr}")
    report = json.loads(done.stdout)
    return seconds, {"files": len(report), "valid": sum(1 for r in report if r["valid"])}


def stage_times(files: list[Path]) -> dict[str, float]:
    """Seconds spent in each stage of ``validate`` over ``files``, in this process."""
    import importlib

    sys.path.insert(0, str(ROOT))
    V = importlib.import_module("netupdate.check.semantic")
    from netupdate.check import grammar as schema
    from netupdate.check.reading import read_source
    from netupdate.check.rules import SEMANTIC_RULES
    from netupdate.check.subject import Subject

    V.validate("<network><name>warm-up</name></network>")   # import and compile the grammar
    times = dict.fromkeys(("read and parse", "grammar (check/grammar.py)", "typed model (model/defs.py)",
                           "semantic rules (check/semantic.py)"), 0.0)
    names = list(times)
    for path in files:
        started = time.perf_counter()
        root, _ = read_source(path)
        parsed = time.perf_counter()
        schema.check_document(root)
        checked = time.perf_counter()
        net, _ = V._read_model(root, None)
        read = time.perf_counter()
        subject = Subject(net, root)
        for rule in SEMANTIC_RULES:
            for _ in rule.check(subject):
                pass
        done = time.perf_counter()
        for name, seconds in zip(names, (parsed - started, checked - parsed, read - checked,
                                         done - read), strict=True):
            times[name] += seconds
    return times


def run_peer(files: list[Path]) -> tuple[float, dict] | None:
    peer = shutil.which(PEER)
    if peer is None:
        return None
    valid = 0
    started = time.perf_counter()
    for path in files:
        done = subprocess.run([peer, str(path), "network"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        valid += done.returncode == 0
    return time.perf_counter() - started, {"files": len(files), "valid": valid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="files to generate (1000)")
    parser.add_argument("--peer-count", type=int, default=None,
                        help="run virt-xml-validate on only the first N files (default: all)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time every tool N times and keep its best run (default 1)")
    parser.add_argument("--stages", action="store_true",
                        help="also show the time per file of each validation stage")
    parser.add_argument("--min-ratio", type=float, default=None,
                        help="exit 1 if netupdate is less than this many times as fast")
    args = parser.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nu-bench-"))
    try:
        if args.keep and work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        files = generate(work, args.count)
        rows = []
        repeat = max(1, args.repeat)
        seconds, info = min((run_netupdate(work, None) for _ in range(repeat)),
                            key=lambda r: r[0])
        rows.append(("netupdate validate (one run)", info, seconds))
        seconds1, info1 = min((run_netupdate(work, 1) for _ in range(repeat)), key=lambda r: r[0])
        rows.append(("netupdate validate --jobs 1", info1, seconds1))
        peer_files = files[:args.peer_count] if args.peer_count else files
        peer = run_peer(peer_files)
        for _ in range(repeat - 1 if peer is not None else 0):
            peer = min(peer, run_peer(peer_files), key=lambda r: r[0])
        if peer is not None:
            rows.append((f"{PEER} FILE network (per file)", peer[1], peer[0]))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{len(files)} fixture-derived files in {work} ({os.cpu_count()} CPUs, "
              f"load {load:.2f}, Python {sys.version.split()[0]}, best of {repeat})\n")
        print(f"{'tool':<40} {'files':>6} {'valid':>6} {'seconds':>9} {'files/s':>9}")
        for label, stats, secs in rows:
            print(f"{label:<40} {stats['files']:>6} {stats['valid']:>6} {secs:>9.3f} "
                  f"{stats['files'] / secs:>9.1f}")
        print()
        if args.stages:
            times = stage_times(files)
            total = sum(times.values())
            startup, _ = min((run_netupdate(files[0], 1) for _ in range(repeat)),
                             key=lambda r: r[0])
            print(f"start-up (netupdate validate on one file): {startup:.3f} s")
            print("where one process spends its time per file (in-process, no start-up):")
            for name, secs in times.items():
                print(f"  {name:<30} {secs * 1000 / len(files):6.3f} ms/file  "
                      f"{secs / total:5.1%}")
            print()
        if peer is None:
            print(f"{PEER} is not installed (package libvirt-clients): the peer could not be "
                  "measured, no ratio.")
            return 0
        peer_rate = peer[1]["files"] / peer[0]
        ratio = (info["files"] / seconds) / peer_rate
        ratio1 = (info1["files"] / seconds1) / peer_rate
        print(f"ratio: netupdate is {ratio:.1f}x the files per second of {PEER} "
              f"({ratio1:.1f}x with --jobs 1); target 10x")
        if args.min_ratio is not None and max(ratio, ratio1) < args.min_ratio:
            print(f"below the required ratio {args.min_ratio}", file=sys.stderr)
            return 1
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
