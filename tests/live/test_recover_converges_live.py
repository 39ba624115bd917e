"""Live tier, issue 13: ``recover`` always converges.  Each degraded state we can produce
(a failed verification whose rollback failed too, a killed dnsmasq, deleted host files, a missing
live definition, lo down, a deleted or replaced bridge, a deleted nft table, forwarding off)
ends, after one ``recover``, with a clean status and the runtime a fresh start makes."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from conftest import ip
from txnhelp import SHAPES, files

from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.driver import Driver, VerifyError
from netupdate.live.txn.journal import read_journal

pytestmark = pytest.mark.live


def fingerprint(conn, name: str, netns: str) -> dict:
    """The runtime of a network, minus what differs between two starts (ifindex, pid)."""
    record = conn.store.read_record(name)
    br = record["bridge"]["name"]
    ipr = NS.iproute(netns)
    try:
        bridge = BR.read(ipr, br)
        routes = BR.routes(ipr, br)
        lo = BR.is_up(ipr, "lo")
    finally:
        ipr.close()
    bridge.pop("ifindex", None)
    if "<mac " not in (files(conn, name)[0] or b"").decode():
        bridge.pop("mac", None)  # random at each start
    layout = DQ.Layout(conn.store.network_dir(name))
    hosts = {}
    for folder in (layout.dhcp_hostsdir, layout.hostsdir):
        lines = []
        for entry in sorted(os.listdir(folder)) if folder.exists() else ():
            lines += (DQ.read_file(folder / entry) or "").splitlines()
        hosts[folder.name] = sorted(line for line in lines if line.strip())
    fw = record.get("firewall")
    table = ip("netns", "exec", netns, "nft", "list", "table", fw["family"], fw["table"]).stdout \
        if fw else None
    dq = record.get("dnsmasq")
    forward = ip("netns", "exec", netns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
    return {"bridge": bridge, "routes": sorted(map(str, routes)), "lo": lo, "hosts": hosts,
            "nft": table, "forward": forward,
            "dnsmasq": dq is not None and DQ.alive(dq["pid"], dq["conf"]),
            "conf": DQ.read_file(layout.conf), "definitions": files(conn, name)}


def _verify_fails(self, *args, **kwargs):
    raise VerifyError("injected", "injected failure")


def failed_verify(conn, name, prefix, netns, monkeypatch):
    """An update whose verification and rollback both fail: its journal stays."""
    with monkeypatch.context() as patch:
        patch.setattr(Driver, "verify", _verify_fails)
        with pytest.raises(RuntimeFailure, match="ROLLBACK FAILED"):
            conn.update_batch(name, [("add", "ip-dhcp-host", _host(prefix, 70)),
                                     ("add", "ip-dhcp-host", _host(prefix, 71))])
    assert read_journal(conn.store, name) is not None


def killed_dnsmasq(conn, name, prefix, netns, monkeypatch):
    os.kill(conn.store.read_record(name)["dnsmasq"]["pid"], signal.SIGKILL)


def deleted_host_files(conn, name, prefix, netns, monkeypatch):
    layout = DQ.Layout(conn.store.network_dir(name))
    shutil.rmtree(layout.dhcp_hostsdir)
    shutil.rmtree(layout.hostsdir)


def missing_live_definition(conn, name, prefix, netns, monkeypatch):
    conn.store.live_path(name).unlink()


def lo_down(conn, name, prefix, netns, monkeypatch):
    ip("-n", netns, "link", "set", "lo", "down")


def deleted_bridge(conn, name, prefix, netns, monkeypatch):
    ip("-n", netns, "link", "del", conn.store.read_record(name)["bridge"]["name"])


def replaced_bridge(conn, name, prefix, netns, monkeypatch):
    br = conn.store.read_record(name)["bridge"]["name"]
    ip("-n", netns, "link", "del", br)
    ip("-n", netns, "link", "add", br, "type", "veth", "peer", "name", "nu-peer")


def deleted_nft_table(conn, name, prefix, netns, monkeypatch):
    fw = conn.store.read_record(name)["firewall"]
    ip("netns", "exec", netns, "nft", "delete", "table", fw["family"], fw["table"])


def forwarding_off(conn, name, prefix, netns, monkeypatch):
    ip("netns", "exec", netns, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward")


DEGRADE = [failed_verify, killed_dnsmasq, deleted_host_files, missing_live_definition, lo_down,
           deleted_bridge, replaced_bridge, deleted_nft_table, forwarding_off]


def _host(prefix: str, n: int) -> str:
    return f"<host mac='52:54:00:00:13:{n:02x}' name='vm{n}' ip='{prefix}.{n}'/>"


@pytest.mark.parametrize(("shape", "repair"), [("default", "recover"), ("nodns", "recover"),
                                               ("default", "start")])
@pytest.mark.parametrize("degrade", DEGRADE, ids=lambda f: f.__name__)
def test_recover_converges_to_a_fresh_start(conn, netns, monkeypatch, shape, degrade, repair):
    """... and so does 'start' of the degraded network."""
    xml, prefix = SHAPES[shape]
    name = conn.define(xml)
    conn.start(name)
    conn.update(name, "add", "ip-dhcp-host", _host(prefix, 9))  # a host of its own file
    degrade(conn, name, prefix, netns, monkeypatch)
    assert conn.status(name).state == "degraded"
    if repair == "start":
        conn.start(name)
    else:
        report = conn.recover()
        assert report.ok, report.to_text()
    status = conn.status(name)
    assert status.state == "active" and status.problems == (), status
    assert read_journal(conn.store, name) is None
    recovered = fingerprint(conn, name, netns)
    conn.stop(name)
    conn.start(name)
    assert recovered == fingerprint(conn, name, netns)
    assert conn.recover().to_text().count("repaired") == 0  # nothing left to do
