"""A private Open vSwitch for the live tier: ``ovsdb-server`` and ``ovs-vswitchd`` started by
hand inside a test's namespace, with their own run/db/log directory (``$OVS_RUNDIR`` and
friends: no system service, nothing under /run or /etc), and the userspace datapath
(``--disable-system``, bridges with ``datapath_type=netdev``: the kernel here has no
openvswitch module; a bridge's internal port is a tap device in the namespace).  The
daemons run in the namespace, so removing it (tests/live/conftest.py) ends them too.

Debian package: openvswitch-switch (ovsdb-server, ovs-vswitchd; ovs-vsctl and ovsdb-tool from
openvswitch-common)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TOOLS = ("ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool")


def tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/sbin/{name}")
                                       if os.path.exists(p)), None)


def require() -> None:
    missing = [name for name in TOOLS if tool(name) is None]
    missing += [] if os.path.exists(SCHEMA) else [SCHEMA]
    if missing:
        message = "the Open vSwitch tests need " + ", ".join(missing) + \
            " (apt-get install openvswitch-switch)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: this tier must run, not skip)", pytrace=False)
        pytest.skip(message)


class OpenVSwitch:
    """``OpenVSwitch(netns, rundir).start()``; ``env`` is what ``ovs-vsctl`` needs to find it
    (the test puts it into the environment, so netupdate's own ``ovs-vsctl`` finds it too)."""

    def __init__(self, netns: str, rundir: str):
        self.netns, self.dir = netns, rundir
        self.env = {key: rundir for key in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR",
                                            "OVS_SYSCONFDIR")}

    def _run(self, *argv: str, netns: bool = True) -> subprocess.CompletedProcess:
        prefix = ["ip", "netns", "exec", self.netns] if netns else []
        return subprocess.run([*prefix, *argv], env={**os.environ, **self.env},
                              capture_output=True, text=True, check=True, timeout=60)

    def start(self) -> OpenVSwitch:
        db, sock = f"{self.dir}/conf.db", f"{self.dir}/db.sock"
        self._run(tool("ovsdb-tool"), "create", db, SCHEMA, netns=False)
        self._run(tool("ovsdb-server"), db, f"--remote=punix:{sock}", "--detach",
                  f"--pidfile={self.dir}/ovsdb-server.pid", f"--log-file={self.dir}/db.log",
                  f"--unixctl={self.dir}/ovsdb-server.ctl")
        self.vsctl("--no-wait", "init")
        self._run(tool("ovs-vswitchd"), f"unix:{sock}", "--disable-system", "--detach",
                  f"--pidfile={self.dir}/ovs-vswitchd.pid", f"--log-file={self.dir}/vs.log",
                  f"--unixctl={self.dir}/ovs-vswitchd.ctl")
        return self

    def vsctl(self, *args: str) -> subprocess.CompletedProcess:
        return self._run(tool("ovs-vsctl"), "--timeout=30", *args)

    def add_bridge(self, name: str) -> None:
        self.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")

    def has_bridge(self, name: str) -> bool:
        try:
            self.vsctl("br-exists", name)
            return True
        except subprocess.CalledProcessError as exc:
            if exc.returncode == 2:
                return False
            raise
