"""Helpers of the transaction live tests (test_txn*.py): the network, DNS questions, the check
that a network is "in line" (live state = live definition = persistent definition)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KILL_SERVER = Path(__file__).with_name("killserver.py")

NET = """<network>
  <name>txnnet</name>
  <uuid>6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e71</uuid>
  <forward mode='nat'/>
  <bridge name='nubr-txn' stp='off' delay='0'/>
  <domain name='txn.test' localOnly='yes'/>
  <dns>
    <txt name='motd' value='first'/>
    <host ip='10.71.0.7'><hostname>seven</hostname></host>
  </dns>
  <ip address='10.71.0.1' prefix='24'>
    <dhcp>
      <range start='10.71.0.100' end='10.71.0.150'/>
      <host mac='52:54:00:71:00:05' name='five' ip='10.71.0.5'/>
    </dhcp>
  </ip>
</network>
"""
# libvirt's default network (NAT, one DHCP range, no DNS data) and a DNS-less one: host edits
# there start from empty host files
DEFAULT = (ROOT / "fixtures/networks/nat-default.xml").read_text()
# no DNS at all (dnsmasq serves DHCP only) and no DHCP host
NODNS = """<network>
  <name>nodns</name>
  <uuid>6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e72</uuid>
  <forward mode='nat'/>
  <bridge name='nubr-nodns' stp='off' delay='0'/>
  <dns enable='no'/>
  <ip address='10.72.0.1' prefix='24'>
    <dhcp>
      <range start='10.72.0.100' end='10.72.0.150'/>
    </dhcp>
  </ip>
</network>
"""
SHAPES = {"default": (DEFAULT, "192.168.122"), "nodns": (NODNS, "10.72.0")}
NAME = "txnnet"
SERVER = "10.71.0.1"
BRIDGE = "nubr-txn"


def ask(netns: str, name: str, rdtype: str = "A") -> list[str]:
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.embedded.runtime.driver import query
    return NS.call(netns, query, SERVER, name, rdtype)[1]


def read(path) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def files(conn, name: str = NAME) -> tuple[bytes | None, bytes | None]:
    """(persistent definition, live definition) bytes."""
    return read(conn.store.config_path(name)), read(conn.store.live_path(name))


def dnsmasq_pid(conn, name: str = NAME) -> int:
    return conn.store.read_record(name)["dnsmasq"]["pid"]


def assert_in_line(conn, netns: str, name: str = NAME, *, same: bool = True,
                   dns: bool = True) -> None:
    """The network runs exactly its live definition: no journal, no problem found by
    ``recovery.live_problems``, its TXT records and DNS hosts answer, and (``same``) the live and
    persistent definitions are the same bytes."""
    import netupdate
    from netupdate.live.txn.journal import read_journal
    from netupdate.live.txn.recovery import live_problems
    assert read_journal(conn.store, name) is None, "an operation journal is left"
    record = conn.store.read_record(name)
    assert record is not None, "the network is not running"
    config, live = files(conn, name)
    assert live is not None
    if same:
        assert live == config, "live and persistent definitions differ"
    defs = netupdate.load(live).defs
    problems = live_problems(conn, name, record, defs)
    assert problems == [], problems
    if not dns:
        return
    for t in (defs.dns.txts if defs.dns else ()):
        assert _retry(lambda t=t: ask(netns, t.name, "TXT")) == [t.value], t
    for host in (defs.dns.hosts if defs.dns else ()):
        for hostname in host.hostnames:
            assert _retry(lambda h=hostname: ask(netns, h)) == [str(host.ip)], hostname


def _retry(fn, tries: int = 20):
    last = None
    for _ in range(tries):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - a DNS timeout right after a restart
            last = exc
            time.sleep(0.05)
    raise last


def cli(state_dir: str, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "netupdate", *args], capture_output=True,
                          text=True, env=cli_env(state_dir), **kwargs)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def cli_env(state_dir: str) -> dict:
    return {**os.environ, "NETUPDATE_STATE_DIR": state_dir,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p)}


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def wait_for(predicate, timeout: float, step: float = 0.05):
    """The first true value of ``predicate()`` within ``timeout`` seconds (an exception, such
    as a DNS timeout while dnsmasq restarts, counts as false)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001
            value = None
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


# ---------------------------------------------------------------------- kill points
class ForkServer:
    """The kill-point fork server (killserver.py): ``spawn(request)`` -> the child's pid."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(KILL_SERVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.proc.stdout.readline())
        assert "ready" in ready

    def spawn(self, req: dict) -> int:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def gone(pid: int) -> bool:
    from netupdate.live.txn.state import pid_alive
    return not pid_alive(pid)


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    assert wait_for(lambda: gone(pid), 10), f"child {pid} did not die"
