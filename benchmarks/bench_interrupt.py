#!/usr/bin/env python3
"""How long SIGTERM takes to end a live ``apply`` that restarts dnsmasq, on a big network.

    python benchmarks/bench_interrupt.py [--hosts 30000] [--at apply,verify]

A network with that many DHCP hosts (and as many DNS hosts) runs in a namespace made for the
run; ``netupdate apply NAME DESIRED --json`` then adds a ``<domain>`` (a conf change: dnsmasq
is restarted).  When the command reports the step named by ``--at`` (``apply``: the live change
begins, after the journal; ``verify``: the change is made and being verified), it gets SIGTERM.
Printed, per step: the apply's time up to that step, the time from the signal to the end of the
command (its rollback included), its exit code, and whether the network is back as it was
(active, no drift, no journal, the lock free: another update goes through).  For comparison the
same apply uninterrupted, and ``netupdate start`` of the network.  Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_live import network_xml  # noqa: E402

NAME = "big"


def cli(env: dict, *argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netupdate", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, **kw)


def interrupted_apply(env: dict, desired: Path, at: str | None) -> dict:
    """Run the apply; SIGTERM it at step ``at`` (None: let it finish)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "netupdate", "apply", NAME, str(desired),
                             "--json"], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sent = cpu_at_signal = None
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if at is not None and sent is None and event.get("event") == "step" \
                and event.get("step") == at:
            cpu_at_signal = cpu_so_far(proc.pid)
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
    _pid, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    err = proc.stderr.read().strip()
    return {"until signal": (sent - started) if sent else None,
            "signal to exit": (ended - sent) if sent else None,
            "cpu after signal": (cpu - cpu_at_signal) if sent else None,
            "total": ended - started, "cpu": cpu, "code": proc.returncode, "error": err[-300:]}


def cpu_so_far(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` used so far (``/proc/PID/stat``)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def back_as_before(env: dict, before: str, state: Path) -> str:
    status = json.loads(cli(env, "status", NAME, "--json").stdout or "{}")
    live = cli(env, "dumpxml", NAME).stdout
    journal = (state / "run" / "journal" / f"{NAME}.json").exists()
    probe = cli(env, "update", NAME, "add", "dns-host",
                "<host ip='10.75.0.9'><hostname>probe</hostname></host>", "--live")
    cli(env, "update", NAME, "delete", "dns-host",
        "<host ip='10.75.0.9'><hostname>probe</hostname></host>", "--live")
    problems = [what for what, bad in (
        ("not active", not status.get("active")), ("diverged", status.get("diverged")),
        ("live definition changed", live != before), ("journal left", journal),
        ("lock or update failed", probe.returncode != 0)) if bad]
    return "yes" if not problems else "NO: " + ", ".join(problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=30000)
    parser.add_argument("--at", default="apply,verify",
                        help="steps to send SIGTERM at, comma separated (apply, verify)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # clean up when stopped
    netns = "nu-" + secrets.token_hex(4)
    state = Path(tempfile.mkdtemp(prefix="nu-bench-int-"))
    state.chmod(0o755)
    env = {**os.environ, "NETUPDATE_STATE_DIR": str(state),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run(["ip", "netns", "add", netns], check=True)
    rows = []
    try:
        source, desired = state / "net.xml", state / "desired.xml"
        xml = network_xml(NAME, "nubr-" + secrets.token_hex(3), args.hosts)
        source.write_text(xml)
        desired.write_text(xml.replace("<forward mode='nat'/>",
                                       "<forward mode='nat'/>\n  <domain name='big.test'/>"))
        cli(env, "define", str(source), check=True)
        started = time.monotonic()
        cli(env, "start", NAME, "--netns", netns, check=True)
        start_time = time.monotonic() - started
        before = cli(env, "dumpxml", NAME).stdout
        for at in [a for a in args.at.split(",") if a]:
            rows.append((at, interrupted_apply(env, desired, at), back_as_before(env, before,
                                                                                  state)))
            print(f"  done: signal at {at}: {rows[-1][1:]}", file=sys.stderr, flush=True)
        rows.append(("(none)", interrupted_apply(env, desired, None), "-"))
        cli(env, "stop", NAME)
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
    load = os.getloadavg()
    print(f"SIGTERM during 'netupdate apply' (a dnsmasq restart), {args.hosts} DHCP and DNS "
          f"hosts; wall/CPU seconds (CPU: user + system of the apply process)\n"
          f"({os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"'netupdate start' of this network: {start_time:.2f} s)\n")
    print(f"{'signal at':>10} {'until sig.':>10} {'sig.->exit':>12} {'total':>12} {'exit':>5}  "
          "back as before")
    for at, result, back in rows:
        def cell(wall, cpu=None, width=12):
            if wall is None:
                return f"{'-':>{width}}"
            return f"{wall:.2f}/{cpu:.2f}".rjust(width) if cpu is not None else \
                f"{wall:{width}.2f}"
        print(f"{at:>10} {cell(result['until signal'], width=10)} "
              f"{cell(result['signal to exit'], result['cpu after signal'])} "
              f"{cell(result['total'], result['cpu'])} {result['code']:>5}  {back}")
    for at, result, _back in rows:   # an unexpected exit says why
        if result["code"] != (0 if at == "(none)" else 143):
            print(f"  {at}: exit {result['code']}: {result['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
