"""Live tier: real bridges, dnsmasq and nftables inside network namespaces made per test.

Every test makes its own namespaces (``nu-<random>``) and removes them, with every process in
them, afterwards.  Without root or the tools the tests skip, except in CI (``CI=true``), where
they must run: there a missing prerequisite fails the test instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

TOOLS = ("ip", "dnsmasq", "nft", "busybox")


def _missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    for tool in TOOLS:
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            missing.append(tool)
    for module in ("pyroute2", "dns.query"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"python module {module}")
    return missing


@pytest.fixture(autouse=True)
def _live_prerequisites():
    missing = _missing()
    if missing:
        message = "live tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the live tier must run, not skip)")
        pytest.skip(message)


HOST_SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding")


def _host_state() -> tuple[set, set, dict]:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    sysctls = {}
    for key in HOST_SYSCTLS:
        with open(f"/proc/sys/{key}") as handle:
            sysctls[key] = handle.read().strip()
    return ({line.split(":")[1].strip().split("@")[0] for line in links.splitlines()},
            {line.strip() for line in tables.splitlines() if "netupdate" in line}, sysctls)


@pytest.fixture(autouse=True)
def _host_guard(_live_prerequisites):
    """Fail (and undo it) when a test changed the host's own namespace: a bridge, an nft table
    or a forwarding sysctl.  Every network of the live tier runs in namespaces the test made."""
    links, tables, sysctls = _host_state()
    yield
    now_links, now_tables, now_sysctls = _host_state()
    new_links = {link for link in now_links - links if link.startswith("nubr")}
    new_tables = now_tables - tables
    changed = {key: value for key, value in now_sysctls.items() if sysctls[key] != value}
    for link in new_links:
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    for table in new_tables:
        subprocess.run(["nft", "delete", "table", *table.split()[1:]], capture_output=True)
    for key in changed:
        with open(f"/proc/sys/{key}", "w") as handle:
            handle.write(sysctls[key])
    assert not new_links and not new_tables and not changed, (new_links, new_tables, changed)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _kill_namespace(name: str) -> None:
    pids = ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    for _ in range(100):
        if not ip("netns", "pids", name, check=False).stdout.split():
            break
        time.sleep(0.02)
    ip("netns", "del", name, check=False)


@pytest.fixture
def make_netns():
    """make_netns() -> a new namespace name; all are deleted (with their processes) after."""
    made: list[str] = []

    def make() -> str:
        name = f"nu-{secrets.token_hex(4)}"
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
        made.append(name)
        return name

    yield make
    from netupdate.live.embedded.runtime import netns as NS
    for name in reversed(made):
        NS.forget(name)
        _kill_namespace(name)


@pytest.fixture
def netns(make_netns):
    return make_netns()


@pytest.fixture
def state_dir():
    path = tempfile.mkdtemp(prefix="nu-state-")
    os.chmod(path, 0o755)  # dnsmasq runs as nobody and reads the host files under it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def conn(state_dir, netns):
    import netupdate
    connection = netupdate.connect(state_dir=state_dir, netns=netns)
    yield connection
    for row in connection.list():
        if row.active:
            try:
                connection.stop(row.name)
            except Exception:  # noqa: BLE001 - the namespace goes away anyway
                pass
    connection.close()


UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) echo "LEASED $ip" ;;
esac
exit 0
"""


@pytest.fixture
def dhcp_client(make_netns, tmp_path):
    """dhcp_client(netns, bridge, mac) -> the IPv4 address a real DHCP client (busybox udhcpc,
    in a second namespace wired to the bridge by a veth pair) is given."""
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)

    def lease(network_ns: str, bridge: str, mac: str) -> str | None:
        client_ns = make_netns()
        host_end, guest_end = f"vh{secrets.token_hex(3)}", f"vg{secrets.token_hex(3)}"
        ip("-n", network_ns, "link", "add", host_end, "type", "veth", "peer", "name",
           guest_end)
        ip("-n", network_ns, "link", "set", guest_end, "netns", client_ns)
        ip("-n", network_ns, "link", "set", host_end, "master", bridge, "up")
        ip("-n", client_ns, "link", "set", guest_end, "address", mac, "up")
        proc = subprocess.run(
            ["ip", "netns", "exec", client_ns, "busybox", "udhcpc", "-i", guest_end, "-n", "-q",
             "-f", "-t", "8", "-T", "1", "-A", "1", "-s", str(script)],
            capture_output=True, text=True, timeout=60)
        for line in proc.stdout.splitlines():
            if line.startswith("LEASED "):
                return line.split()[1]
        return None

    return lease


@pytest.fixture(scope="module")
def daemon():
    """A real libvirtd in a namespace of its own (tests/live/libvirtdaemon.py), one per module;
    skipped without its prerequisites, except in CI (CI=true), where that fails."""
    from libvirtdaemon import Daemon, require
    require()
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
