"""Live updates handed to the command server (netupdate/cmdserver): each is served, the name
or host is live when the command returns, and what the server replayed between commands never
leaks into the stored definitions (they are those of the same updates made by the library)."""

from __future__ import annotations

import pytest

from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.verify import query
from tests.test_cmdserver import Servers, wait

pytestmark = pytest.mark.live

NET = """<network>
  <name>served</name>
  <uuid>3f1e6a52-65b0-4c1d-9a3e-0c65a1d2e3f4</uuid>
  <bridge name='nubr-served' stp='off' delay='0'/>
  <dns><host ip='10.65.0.7'><hostname>seven</hostname></host></dns>
  <ip address='10.65.0.1' prefix='24'><dhcp><range start='10.65.0.100' end='10.65.0.150'/>
  </dhcp></ip>
</network>
"""


def updates(i: int) -> list[tuple[str, str]]:
    return [("dns-host", f"<host ip='10.65.1.{i}'><hostname>served{i}</hostname></host>"),
            ("ip-dhcp-host", f"<host mac='52:54:00:65:00:{i:02x}' ip='10.65.0.{i + 10}'/>")]


def test_served_live_updates_are_the_librarys(conn, netns, state_dir, tmp_path, make_netns):
    import netupdate
    conn.define(NET)
    conn.start("served")
    servers = Servers(tmp_path / "servers", NETUPDATE_STATE_DIR=state_dir)
    first = servers.run(["update", "served", "add", *updates(1)[0]], cwd=state_dir)
    assert first.returncode == 0, first.stderr   # run by the client itself; starts a server
    wait(lambda: servers.status(), "the server to start")
    for i in range(2, 7):
        for section, xml in updates(i):
            before = servers.served()
            result = servers.run(["update", "served", "add", section, xml], cwd=state_dir)
            assert result.returncode == 0, result.stderr
            assert servers.served() == before + 1
        assert NS.call(netns, query, "10.65.0.1", f"served{i}", "A")[1] == [f"10.65.1.{i}"]
    # the same updates through the library, on a second network: the same definition
    other = netupdate.connect(state_dir=tmp_path / "other", netns=make_netns())
    other.define(NET)
    for i in range(1, 7):
        for section, xml in updates(i)[:1 if i == 1 else 2]:
            other.update("served", "add", section, xml, config=True, live=False)
    assert conn.dumpxml("served", inactive=True) == other.dumpxml("served", inactive=True)
    assert conn.dumpxml("served") == conn.dumpxml("served", inactive=True)
    servers.stop()
