#!/usr/bin/env python3
"""Benchmark: what issue 16's checks cost a live DHCP-host add (the lease pre-flight reads the
lease file, the guest impact is worded), on a running network with 1,000 hosts in a namespace
made for the run: the same updates with the checks and with them switched off, interleaved in
one process (so both see the same machine load).  Needs root.

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
    checks = (world.preflight_edit, world.after)

    def switch(enabled: bool) -> None:
        if enabled:
            world.preflight_edit, world.after = checks
        else:
            world.preflight_edit = lambda *a, **k: world.Preflight()
            world.after = lambda *a, **k: ()

    ns = f"nu-bench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    state = tempfile.mkdtemp(prefix="nu-bench-")
    os.chmod(state, 0o755)
    try:
        conn = netupdate.connect(state_dir=state, netns=ns)
        hosts = "".join(f"<host mac='52:54:00:01:{i // 256:02x}:{i % 256:02x}' "
                        f"ip='10.5.{i // 250}.{i % 250 + 2}'/>" for i in range(args.hosts))
        conn.define(f"<network><name>bench</name><bridge name='nubr-bench'/><ip "
                    f"address='10.5.0.1' prefix='16'><dhcp><range start='10.5.200.10' "
                    f"end='10.5.200.200'/>{hosts}</dhcp></ip></network>")
        conn.start("bench")
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(2 * args.rounds):
            switch(bool(i % 2))
            started = time.perf_counter()
            conn.update("bench", "add", "ip-dhcp-host",
                        f"<host mac='52:54:00:02:{i // 256:02x}:{i % 256:02x}' "
                        f"ip='10.5.201.{i % 250 + 2}'/>")
            times[bool(i % 2)].append(time.perf_counter() - started)
        switch(True)
        conn.stop("bench")
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(state, ignore_errors=True)
    on, off = (statistics.median(times[k]) * 1000 for k in (True, False))
    print(f"{'DHCP-host add, live, ' + str(args.hosts) + ' hosts':<40} {'ms (median)':>12}")
    print(f"{'with lease pre-flight and impact':<40} {on:>12.2f}")
    print(f"{'without (switched off)':<40} {off:>12.2f}")
    print(f"{'cost':<40} {on - off:>+12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
