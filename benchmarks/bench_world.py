#!/usr/bin/env python3
"""Benchmark: what issue 16's checks cost a live DHCP-host add (the lease pre-flight reads the
lease file, the guest impact is worded, the conflict pre-flight compares the reservations with
those of another network running beside it), on a running network with 1,000 hosts in a
namespace made for the run, beside a second one with as many: the same updates with all the
checks, without the conflict pre-flight, and with none, interleaved in one process (so all
see the same machine load).  Needs root.

    python benchmarks/bench_world.py [--hosts 1000] [--rounds 60]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    import netupdate
    from netupdate.live.embedded import world
    checks = (world.preflight_edit, world.after, world.preflight_change)
    modes = ("with lease, impact and conflict checks", "without the conflict pre-flight",
             "without any (switched off)")

    def switch(mode: str) -> None:
        world.preflight_edit, world.after, world.preflight_change = checks
        if mode == modes[1]:
            world.preflight_change = lambda *a, **k: None
        elif mode == modes[2]:
            world.preflight_edit = lambda *a, **k: world.Preflight()
            world.after = lambda *a, **k: ()

    ns = f"nu-bench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    state = tempfile.mkdtemp(prefix="nu-bench-")
    os.chmod(state, 0o755)
    try:
        conn = netupdate.connect(state_dir=state, netns=ns)
        for name, net in (("bench", 5), ("beside", 6)):
            hosts = "".join(f"<host mac='52:54:00:0{net}:{i // 256:02x}:{i % 256:02x}' "
                            f"ip='10.{net}.{i // 250}.{i % 250 + 2}'/>"
                            for i in range(args.hosts))
            conn.define(f"<network><name>{name}</name><bridge name='nubr-{name}'/><ip "
                        f"address='10.{net}.0.1' prefix='16'><dhcp><range "
                        f"start='10.{net}.200.10' end='10.{net}.200.200'/>{hosts}</dhcp></ip>"
                        f"</network>")
            conn.start(name)
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for i in range(3 * args.rounds):
            switch(modes[i % 3])
            started = time.perf_counter()
            conn.update("bench", "add", "ip-dhcp-host",
                        f"<host mac='52:54:00:02:{i // 256:02x}:{i % 256:02x}' "
                        f"ip='10.5.201.{i % 250 + 2}'/>")
            times[modes[i % 3]].append(time.perf_counter() - started)
        switch(modes[0])
        conn.stop("bench")
        conn.stop("beside")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(state, ignore_errors=True)
    median = {mode: statistics.median(times[mode]) * 1000 for mode in modes}
    print(f"{'DHCP-host add, live, ' + str(args.hosts) + ' hosts (and beside)':<44} "
          f"{'ms (median)':>12}")
    for mode in modes:
        print(f"{mode:<44} {median[mode]:>12.2f}")
    print(f"{'cost of the conflict pre-flight':<44} {median[modes[0]] - median[modes[1]]:>+12.2f}")
    print(f"{'cost of all the checks':<44} {median[modes[0]] - median[modes[2]]:>+12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
