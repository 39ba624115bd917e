"""libvirtd tier: a real libvirtd inside a network namespace, driven through netupdate.

The daemon runs as root in its own network namespace (``nu-lv-<random>``) and its own mount
namespace: tmpfs on /run, a temporary directory on /var/lib/libvirt and on /etc/libvirt, its
own libvirtd.conf (sockets in a temporary directory, no authentication, no DBus) and only the
network driver loaded (``LIBVIRT_DRIVER_DIR`` points at a directory holding just
``libvirt_driver_network.so``, so no qemu driver, no ``libvirt-qemu`` user and no qemu.conf are
needed).  Its bridges, dnsmasq and iptables rules live in that namespace only; the host's
interfaces, /etc/libvirt and /var/lib/libvirt are never touched.  Everything is removed after.

Each test defines and starts a NAT network, changes it through ``LibvirtConnection`` and checks
the result with dnspython queries to that network's dnsmasq (run inside the namespace).

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

pytestmark = [pytest.mark.live, pytest.mark.libvirt]

DRIVER_GLOBS = ("/usr/lib/*/libvirt/connection-driver/libvirt_driver_network.so",
                "/usr/lib64/libvirt/connection-driver/libvirt_driver_network.so",
                "/usr/lib/libvirt/connection-driver/libvirt_driver_network.so")


def _tool(name: str) -> str | None:
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
    for tool in ("libvirtd", "dnsmasq", "iptables", "ip", "unshare"):
        if _tool(tool) is None:
            missing.append(tool)
    if _network_driver() is None:
        missing.append("libvirt's network driver (libvirt-daemon)")
    for module in ("libvirt", "dns.query", "pyroute2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"python module {module}")
    return missing


def _require() -> None:
    missing = _missing()
    if missing:
        message = "the libvirtd tier needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: this tier must run, not skip)", pytrace=False)
        pytest.skip(message)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("ip"), *args], capture_output=True, text=True, check=check)


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
            libvirtd=_tool("libvirtd"), conf=self.tmp / "libvirtd.conf", tmp=self.tmp))
        _ip("netns", "add", self.netns)
        _ip("-n", self.netns, "link", "set", "lo", "up")
        self.output = open(self.tmp / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            [_tool("ip"), "netns", "exec", self.netns, _tool("unshare"), "-m", "sh",
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
            for pid in _ip("netns", "pids", self.netns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            for _ in range(100):
                if not _ip("netns", "pids", self.netns, check=False).stdout.split():
                    break
                time.sleep(0.05)
            _ip("netns", "del", self.netns, check=False)
            if getattr(self, "output", None):
                self.output.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon():
    _require()
    running = Daemon()
    try:
        running.start()
    except BaseException:
        logs = running.logs()
        running.stop()
        pytest.fail(f"libvirtd did not start in namespace {running.netns}:\n{logs}",
                    pytrace=False)
    yield running
    running.stop()


@pytest.fixture
def conn(daemon):
    from netupdate.live.libvirt.connection import LibvirtConnection
    connection = LibvirtConnection(daemon.uri, netns=daemon.netns)
    yield connection
    connection.close()


NAT = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <bridge name='{bridge}' stp='on' delay='0'/>
  <domain name='lv.test' localOnly='yes'/>
  <dns>
    <txt name='motd' value='hello'/>
    <host ip='10.{n}.0.50'><hostname>alpha</hostname></host>
  </dns>
  <ip address='10.{n}.0.1' prefix='24'>
    <dhcp>
      <range start='10.{n}.0.100' end='10.{n}.0.199'/>
      <host mac='52:54:00:21:{n:02x}:10' name='vm10' ip='10.{n}.0.10'/>
    </dhcp>
  </ip>
</network>
"""

_counter = iter(range(200, 250))


@pytest.fixture
def network(conn):
    """A running NAT network of the daemon: (name, server address, subnet prefix)."""
    n = next(_counter)
    name = f"nu-lv-net{n}"
    conn.define(NAT.format(name=name, bridge=f"nulvbr{n}", n=n))
    conn.start(name)
    yield name, f"10.{n}.0.1", f"10.{n}.0"
    try:
        conn.stop(name)
    except Exception:  # noqa: BLE001 - the test may have stopped it
        pass
    conn.undefine(name)


QUERY = """
import json, sys
import dns.message, dns.query, dns.rcode
name, rdtype, server = sys.argv[1:4]
reply = dns.query.udp(dns.message.make_query(name, rdtype), server, timeout=2)
print(json.dumps({"rcode": dns.rcode.to_text(reply.rcode()),
                  "answers": sorted(item.to_text() for rrset in reply.answer
                                    for item in rrset)}))
"""


def ask(daemon: Daemon, server: str, name: str, rdtype: str = "A") -> dict:
    """A dnspython query from inside the daemon's namespace to the network's dnsmasq."""
    out = subprocess.run([_tool("ip"), "netns", "exec", daemon.netns, sys.executable, "-c", QUERY,
                          name, rdtype, server], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        return {"rcode": "ERROR", "answers": [], "error": out.stderr.strip()[-500:]}
    return json.loads(out.stdout)


def resolves(daemon: Daemon, server: str, name: str, want, rdtype: str = "A",
             timeout: float = 15.0) -> dict:
    """Ask until the answer is ``want`` (a list of answers, or an rcode string)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = ask(daemon, server, name, rdtype)
        got = reply["rcode"] if isinstance(want, str) else reply["answers"]
        if got == want or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)


def netns_read(daemon: Daemon, path: str) -> str:
    return subprocess.run([_tool("ip"), "netns", "exec", daemon.netns, "cat", path],
                          capture_output=True, text=True, check=True).stdout.strip()


# ---------------------------------------------------------------------- the tests
def test_libvirtd_runs_the_network_inside_its_namespace(daemon, conn, network):
    name, server, _ = network
    info = {row.name: row for row in conn.list()}[name]
    assert info.active and info.persistent and info.bridge.startswith("nulvbr")
    assert _ip("-n", daemon.netns, "link", "show", info.bridge, check=False).returncode == 0
    assert _ip("link", "show", info.bridge, check=False).returncode != 0   # not on the host
    assert resolves(daemon, server, "alpha.lv.test", ["10.{}.0.50".format(
        server.split(".")[1])])["answers"]
    assert (daemon.tmp / "lib" / "dnsmasq" / f"{name}.conf").exists()
    assert not conn.status(name).diverged


def test_dns_host_add_goes_through_virnetworkupdate(daemon, conn, network):
    from netupdate.live.libvirt import connection as LV
    name, server, net = network
    result = conn.update(name, "add", "dns-host",
                         f"<host ip='{net}.51'><hostname>beta</hostname></host>")
    assert result.via == LV.VIA_LIBVIRT
    assert (result.config, result.live) == (LV.CHANGED, LV.CHANGED)
    assert resolves(daemon, server, "beta.lv.test", [f"{net}.51"])["answers"] == [f"{net}.51"]
    assert "beta" in conn.dumpxml(name, inactive=True)
    assert not conn.status(name).diverged


def test_dns_host_modify_works_on_libvirt_9(daemon, conn, network):
    """libvirt 9.0 refuses modify of DNS records: netupdate defines the config and replaces
    the record live by delete + add through virNetworkUpdate."""
    from netupdate.live.libvirt import connection as LV
    name, server, net = network
    result = conn.update(name, "modify", "dns-host",
                         f"<host ip='{net}.50'><hostname>alpha</hostname>"
                         f"<hostname>alpha2</hostname></host>")
    assert result.ok and result.live in (LV.CHANGED, LV.APPLIED), result.to_text()
    assert resolves(daemon, server, "alpha2.lv.test", [f"{net}.50"])["answers"] == [f"{net}.50"]
    assert "alpha2" in conn.dumpxml(name, inactive=True)
    assert not conn.status(name).diverged


def test_dns_host_delete(daemon, conn, network):
    name, server, net = network
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    conn.update(name, "delete", "dns-host", f"<host ip='{net}.50'/>")
    assert resolves(daemon, server, "alpha.lv.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"


def test_dns_txt_add_and_modify(daemon, conn, network):
    name, server, _ = network
    conn.update(name, "add", "dns-txt", "<txt name='build' value='v1'/>")
    assert resolves(daemon, server, "build", ['"v1"'], "TXT")["answers"] == ['"v1"']
    conn.update(name, "modify", "dns-txt", "<txt name='build' value='v2'/>")
    assert resolves(daemon, server, "build", ['"v2"'], "TXT")["answers"] == ['"v2"']


def test_dhcp_host_reaches_dnsmasq_hostsfile(daemon, conn, network):
    name, _, net = network
    conn.update(name, "add", "ip-dhcp-host",
                f"<host mac='52:54:00:aa:bb:01' name='vm77' ip='{net}.77'/>")
    hosts = (daemon.tmp / "lib" / "dnsmasq" / f"{name}.hostsfile").read_text()
    assert f"52:54:00:aa:bb:01,{net}.77,vm77" in hosts


def test_bridge_stp_is_set_through_netlink_in_the_namespace(daemon, conn, network):
    from netupdate.live.libvirt import connection as LV
    name, server, net = network
    bridge = conn.status(name).bridge
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "1"
    result = conn.update(name, "modify", "bridge", f"<bridge name='{bridge}' stp='off' "
                                                   "delay='5'/>")
    assert result.via == LV.VIA_NETUPDATE and result.live == LV.APPLIED, result.to_text()
    assert {a.kind for a in result.actions} == {"bridge-stp", "bridge-delay"}
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "0"
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/forward_delay") == "500"
    assert "stp='off'" in conn.dumpxml(name, inactive=True)
    # libvirt's own view of the live network keeps the old value, and status says so
    status = conn.status(name)
    assert status.diverged and any("bridge" in line for line in status.drift)
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    # --restart only restarts when needed: netlink is still enough
    result = conn.update(name, "modify", "bridge", f"<bridge name='{bridge}' stp='off' "
                                                   "delay='5'/>", restart=True)
    assert result.live == LV.APPLIED and result.config == LV.UNCHANGED
    # a restart makes libvirt's view and the kernel agree
    conn.stop(name)
    conn.start(name)
    assert not conn.status(name).diverged
    assert netns_read(daemon, f"/sys/class/net/{bridge}/bridge/stp_state") == "0"


def test_domain_change_needs_a_restart_and_restart_applies_it(daemon, conn, network):
    from netupdate.live.libvirt import connection as LV
    name, server, net = network
    result = conn.update(name, "modify", "domain", "<domain name='moved.test' localOnly='yes'/>")
    assert result.restart_needed and result.exit_code == LV.EXIT_RESTART_NEEDED
    assert "dnsmasq-restart" in {a.kind for a in result.pending}
    assert "moved.test" in conn.dumpxml(name, inactive=True)
    assert "moved.test" not in conn.dumpxml(name)
    assert conn.status(name).diverged
    # the live network still serves the old domain: nothing half-done
    assert resolves(daemon, server, "alpha.lv.test", [f"{net}.50"])["answers"]
    result = conn.update(name, "modify", "domain", "<domain name='moved.test' localOnly='yes'/>",
                         restart=True)
    assert result.restarted and result.config == LV.UNCHANGED
    assert resolves(daemon, server, "alpha.moved.test", [f"{net}.50"])["answers"] == [
        f"{net}.50"]
    assert not conn.status(name).diverged


def test_apply_reconciles_the_running_network(daemon, conn, network):
    from netupdate.edit.engine import update_xml
    from netupdate.live.libvirt import connection as LV
    name, server, net = network
    desired = conn.dumpxml(name, inactive=True)
    for command, section, xml in (
            ("add", "dns-host", f"<host ip='{net}.60'><hostname>gamma</hostname></host>"),
            ("delete", "dns-host", f"<host ip='{net}.50'/>"),
            ("modify", "dns-txt", "<txt name='motd' value='applied'/>"),
            ("add", "ip-dhcp-host", f"<host mac='52:54:00:aa:bb:02' name='vm78' "
                                    f"ip='{net}.78'/>")):
        desired = update_xml(desired, command, section, xml)
    plan = conn.diff(name, desired)
    assert not plan.restart_needed and len(plan.changes) == 4
    result = conn.apply(name, desired)
    assert result.ok and (result.config, result.live) == (LV.CHANGED, LV.APPLIED)
    assert resolves(daemon, server, "gamma.lv.test", [f"{net}.60"])["answers"] == [f"{net}.60"]
    assert resolves(daemon, server, "alpha.lv.test", "NXDOMAIN")["rcode"] == "NXDOMAIN"
    assert resolves(daemon, server, "motd", ['"applied"'], "TXT")["answers"] == ['"applied"']
    assert not conn.status(name).diverged
    assert not conn.diff(name, desired)


def test_cli_update_with_connect(daemon, network):
    name, server, net = network
    env = dict(os.environ, NETUPDATE_CONNECT="")
    out = subprocess.run([sys.executable, "-m", "netupdate", "update", "--connect", daemon.uri,
                          name, "add", "dns-host",
                          f"<host ip='{net}.70'><hostname>cli</hostname></host>"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "persistent config and live state" in out.stdout
    assert resolves(daemon, server, "cli.lv.test", [f"{net}.70"])["answers"] == [f"{net}.70"]
