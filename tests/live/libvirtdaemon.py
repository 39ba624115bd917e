"""A real libvirtd inside a network namespace, for the live tiers that drive libvirt
(tests/live/test_libvirtd.py, tests/live/test_backend_contract_live.py); the fixture ``daemon``
is in tests/live/conftest.py.

The daemon runs as root in its own network namespace (``nu-lv-<random>``) and its own mount
namespace: tmpfs on /run, a temporary directory on /var/lib/libvirt and on /etc/libvirt, its
own libvirtd.conf (sockets in a temporary directory, no authentication, no DBus) and only the
network driver loaded (``LIBVIRT_DRIVER_DIR`` points at a directory holding just
``libvirt_driver_network.so``, so no qemu driver, no ``libvirt-qemu`` user and no qemu.conf are
needed).  Its bridges, dnsmasq and iptables rules live in that namespace only; the host's
interfaces, /etc/libvirt and /var/lib/libvirt are never touched.  Everything is removed after.

Skips when not root or a prerequisite is missing, except in CI (``CI=true``): there it fails.
CI needs: apt-get install libvirt-daemon dnsmasq-base iptables iproute2 util-linux, and
pip install 'netupdate[libvirt,live]'.
"""

from __future__ import annotations

import glob
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

import pytest

DRIVER_GLOBS = ("/usr/lib/*/libvirt/connection-driver/libvirt_driver_network.so",
                "/usr/lib64/libvirt/connection-driver/libvirt_driver_network.so",
                "/usr/lib/libvirt/connection-driver/libvirt_driver_network.so")


def tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}")
                                       if os.path.exists(p)), None)


def _network_driver() -> str | None:
    for pattern in DRIVER_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def _missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for name in ("libvirtd", "dnsmasq", "iptables", "ip", "unshare"):
        if tool(name) is None:
            missing.append(name)
    if _network_driver() is None:
        missing.append("libvirt's network driver (libvirt-daemon)")
    for module in ("libvirt", "dns.query", "pyroute2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"python module {module}")
    return missing


def require() -> None:
    missing = _missing()
    if missing:
        message = "the libvirtd tier needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: this tier must run, not skip)", pytrace=False)
        pytest.skip(message)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([tool("ip"), *args], capture_output=True, text=True, check=check)


CONF = """\
unix_sock_dir = "{sock}"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:{log}"
"""

# Runs inside `ip netns exec NS unshare -m`: private mounts, then the daemon.
SCRIPT = """\
set -e
mount --make-rprivate /
mount -t tmpfs nu-lv-run /run
mkdir -p /var/lib/libvirt /etc/libvirt
mount --bind {lib} /var/lib/libvirt
mount --bind {etc} /etc/libvirt
export LIBVIRT_DRIVER_DIR={drivers}
exec {libvirtd} --config {conf} --pid-file {tmp}/libvirtd.pid
"""


class Daemon:
    def __init__(self):
        self.netns = f"nu-lv-{secrets.token_hex(3)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="nu-lv-"))
        self.sock = self.tmp / "sock"
        self.uri = f"network:///system?socket={self.sock}/libvirt-sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        for sub in ("sock", "lib", "etc", "drivers"):
            (self.tmp / sub).mkdir()
        (self.tmp / "drivers" / "libvirt_driver_network.so").symlink_to(_network_driver())
        (self.tmp / "libvirtd.conf").write_text(CONF.format(sock=self.sock,
                                                            log=self.tmp / "libvirtd.log"))
        (self.tmp / "run.sh").write_text(SCRIPT.format(
            lib=self.tmp / "lib", etc=self.tmp / "etc", drivers=self.tmp / "drivers",
            libvirtd=tool("libvirtd"), conf=self.tmp / "libvirtd.conf", tmp=self.tmp))
        ip("netns", "add", self.netns)
        ip("-n", self.netns, "link", "set", "lo", "up")
        self.output = open(self.tmp / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            [tool("ip"), "netns", "exec", self.netns, tool("unshare"), "-m", "sh",
             str(self.tmp / "run.sh")], stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True)
        import libvirt
        libvirt.registerErrorHandler(lambda _c, _e: None, None)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"libvirtd exited ({self.proc.returncode}): {self.logs()}")
            try:
                libvirt.open(self.uri).close()
                return
            except libvirt.libvirtError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"libvirtd did not answer: {self.logs()}") from None
                time.sleep(0.2)

    def logs(self) -> str:
        out = []
        for name in ("stdout.log", "libvirtd.log"):
            path = self.tmp / name
            if path.exists():
                out.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    import libvirt
                    conn = libvirt.open(self.uri)
                    for net in conn.listAllNetworks():
                        if net.isActive():
                            net.destroy()
                    conn.close()
                except Exception:  # noqa: BLE001 - best effort before the kill
                    pass
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
        finally:
            # what the daemon started in the namespace (dnsmasq): by pid, then the namespace
            for pid in ip("netns", "pids", self.netns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            for _ in range(100):
                if not ip("netns", "pids", self.netns, check=False).stdout.split():
                    break
                time.sleep(0.05)
            ip("netns", "del", self.netns, check=False)
            if getattr(self, "output", None):
                self.output.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


QUERY = """
import json, sys
import dns.message, dns.query, dns.rcode
name, rdtype, server = sys.argv[1:4]
reply = dns.query.udp(dns.message.make_query(name, rdtype), server, timeout=2)
print(json.dumps({"rcode": dns.rcode.to_text(reply.rcode()),
                  "answers": sorted(item.to_text() for rrset in reply.answer
                                    for item in rrset)}))
"""


def ask(where, server: str, name: str, rdtype: str = "A") -> dict:
    """A dnspython query from inside a namespace (``where``: its name, or a ``Daemon``) to the
    network's dnsmasq at ``server``."""
    netns = getattr(where, "netns", where)
    out = subprocess.run([tool("ip"), "netns", "exec", netns, sys.executable, "-c", QUERY,
                          name, rdtype, server], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        return {"rcode": "ERROR", "answers": [], "error": out.stderr.strip()[-500:]}
    return json.loads(out.stdout)


def resolves(where, server: str, name: str, want, rdtype: str = "A",
             timeout: float = 15.0) -> dict:
    """Ask until the answer is ``want`` (a list of answers, or an rcode string)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = ask(where, server, name, rdtype)
        got = reply["rcode"] if isinstance(want, str) else reply["answers"]
        if got == want or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)
