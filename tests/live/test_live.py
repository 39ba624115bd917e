"""Live tier: networks run for real inside namespaces made per test (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import netupdate
from netupdate.errors import RuntimeFailure, StateError
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime.driver import query

pytestmark = pytest.mark.live

NAT = """<network>
  <name>natnet</name>
  <forward mode='nat'/>
  <bridge name='nubr-nat' stp='off' delay='0'/>
  <domain name='nat.test' localOnly='yes'/>
  <dns>
    <txt name='motd' value='first'/>
    <host ip='10.61.0.7'><hostname>seven</hostname></host>
  </dns>
  <ip address='10.61.0.1' prefix='24'>
    <dhcp>
      <range start='10.61.0.100' end='10.61.0.150'/>
      <host mac='52:54:00:61:00:05' name='five' ip='10.61.0.5'/>
    </dhcp>
  </ip>
  <route address='10.62.0.0' prefix='16' gateway='10.61.0.254'/>
</network>
"""

ISOLATED = """<network>
  <name>isonet</name>
  <bridge name='nubr-iso' stp='on' delay='3'/>
  <ip address='10.63.0.1' prefix='24'>
    <dhcp>
      <range start='10.63.0.10' end='10.63.0.20'/>
    </dhcp>
  </ip>
</network>
"""


def ask(netns: str, server: str, name: str, rdtype: str = "A") -> list[str]:
    return NS.call(netns, query, server, name, rdtype)[1]


def bridge_state(netns: str, name: str) -> dict | None:
    from netupdate.live.embedded.runtime import bridge as BR
    ipr = NS.iproute(netns)
    try:
        return BR.read(ipr, name)
    finally:
        ipr.close()


def dnsmasq_pid(conn, name: str) -> int:
    return conn.store.read_record(name)["dnsmasq"]["pid"]


def links(netns: str) -> list[str]:
    out = subprocess.run(["ip", "-n", netns, "-o", "link"], capture_output=True, text=True,
                         check=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def nft_tables(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "tables"],
                          capture_output=True, text=True, check=True).stdout


def test_start_nat_and_isolated_in_a_fresh_namespace(conn, netns):
    assert conn.define(NAT) == "natnet"
    assert conn.define(ISOLATED) == "isonet"
    conn.start("natnet")
    conn.start("isonet")
    rows = {row.name: row for row in conn.list()}
    assert rows["natnet"].active and rows["isonet"].active
    assert rows["natnet"].netns == netns and rows["isonet"].bridge == "nubr-iso"
    for name in ("natnet", "isonet"):
        status = conn.status(name)
        assert status.state == "active", status.problems
        assert status.dnsmasq["alive"] and status.bridge_state["present"]
    nat = bridge_state(netns, "nubr-nat")
    assert nat["stp"] is False and "10.61.0.1/24" in nat["addresses"]
    iso = bridge_state(netns, "nubr-iso")
    assert iso["stp"] is True and iso["delay"] == 3
    tables = nft_tables(netns)
    assert "netupdate_natnet" in tables and "netupdate_isonet" in tables
    # the NAT network masquerades, the isolated one does not; the static route is there
    table = conn.store.read_record("natnet")["firewall"]["table"]
    assert table == conn.driver.table_name("natnet")
    ruleset = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "table", "inet",
                              table], capture_output=True, text=True).stdout
    assert "masquerade" in ruleset
    routes = subprocess.run(["ip", "-n", netns, "route"], capture_output=True, text=True).stdout
    assert "10.62.0.0/16 via 10.61.0.254" in routes
    # DNS of both networks answers on their own address
    assert ask(netns, "10.61.0.1", "seven") == ["10.61.0.7"]
    assert ask(netns, "10.61.0.1", "motd", "TXT") == ["first"]
    with pytest.raises(StateError, match="already running"):
        conn.start("natnet")


def test_dns_host_added_live_answers_without_touching_dnsmasq(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    pid = dnsmasq_pid(conn, "natnet")
    result = conn.update("natnet", "add", "dns-host",
                         "<host ip='10.61.0.42'><hostname>answer</hostname>"
                         "<hostname>life</hostname></host>")
    assert result.live == "applied" and result.config == "changed"
    assert "dns" in result.checks
    assert [a.kind for a in result.actions] == ["dnsmasq-none"]
    assert ask(netns, "10.61.0.1", "answer") == ["10.61.0.42"]
    assert ask(netns, "10.61.0.1", "life.nat.test") == ["10.61.0.42"]
    assert dnsmasq_pid(conn, "natnet") == pid and DQ.alive(pid, conn.status("natnet")
                                                              .dnsmasq["conf"])
    assert "answer" in conn.dumpxml("natnet") and "answer" in conn.dumpxml("natnet",
                                                                            inactive=True)
    # delete: the name stops answering, still without a signal or restart
    conn.update("natnet", "delete", "dns-host", "<host ip='10.61.0.42'/>")
    assert ask(netns, "10.61.0.1", "answer") == []
    assert dnsmasq_pid(conn, "natnet") == pid


def test_dhcp_reservation_added_live_is_leased_to_a_real_client(conn, netns, dhcp_client):
    conn.define(NAT)
    conn.start("natnet")
    pid = dnsmasq_pid(conn, "natnet")
    result = conn.update("natnet", "add", "ip-dhcp-host",
                         "<host mac='52:54:00:61:00:77' name='guest77' ip='10.61.0.77'/>")
    assert dnsmasq_pid(conn, "natnet") == pid  # no restart for a host
    # not signalled, dnsmasq reads the host file itself (inotify); it handles its inotify
    # events before DNS queries, so an answer proves the host was read
    assert result.checks == ("dnsmasq", "host files", "dns")
    assert dhcp_client(netns, "nubr-nat", "52:54:00:61:00:77") == "10.61.0.77"
    # an unknown MAC gets an address from the dynamic range instead
    other = dhcp_client(netns, "nubr-nat", "52:54:00:61:00:78")
    assert other is not None and 100 <= int(other.rsplit(".", 1)[1]) <= 150
    assert dnsmasq_pid(conn, "natnet") == pid


def test_dhcp_reservation_modified_live_moves_the_client(conn, netns, dhcp_client):
    conn.define(NAT)
    conn.start("natnet")
    pid = dnsmasq_pid(conn, "natnet")
    result = conn.update("natnet", "modify", "ip-dhcp-host",
                         "<host mac='52:54:00:61:00:05' name='five' ip='10.61.0.55'/>")
    assert [a.kind for a in result.actions] == ["dnsmasq-sighup"]
    assert "dns" in result.checks   # signalled: it must still answer
    assert dnsmasq_pid(conn, "natnet") == pid
    assert dhcp_client(netns, "nubr-nat", "52:54:00:61:00:05") == "10.61.0.55"


def test_stp_and_delay_toggle_live_through_netlink(conn, netns):
    conn.define(ISOLATED)
    conn.start("isonet")
    pid = dnsmasq_pid(conn, "isonet")
    result = conn.update("isonet", "modify", "bridge",
                         "<bridge name='nubr-iso' stp='off' delay='7'/>")
    assert {a.kind for a in result.actions} == {"bridge-stp", "bridge-delay"}
    state = bridge_state(netns, "nubr-iso")
    assert state["stp"] is False and state["delay"] == 7
    conn.update("isonet", "modify", "bridge", "<bridge name='nubr-iso' stp='on' delay='4'/>")
    state = bridge_state(netns, "nubr-iso")
    assert state["stp"] is True and state["delay"] == 4
    assert dnsmasq_pid(conn, "isonet") == pid
    assert "stp='on' delay='4'" in conn.dumpxml("isonet", inactive=True)


def test_stp_off_restores_a_zero_delay(conn, netns):
    # with STP on the kernel holds the forward delay at 2 s at least; switching STP off must
    # bring back the definition's delay 0 (the plan has only bridge-stp: delay did not change)
    conn.define(ISOLATED.replace("delay='3'", "delay='0'"))
    conn.start("isonet")
    assert bridge_state(netns, "nubr-iso")["delay"] == 2
    result = conn.update("isonet", "modify", "bridge", "<bridge name='nubr-iso' stp='off' "
                                                       "delay='0'/>")
    assert [a.kind for a in result.actions] == ["bridge-stp"]
    state = bridge_state(netns, "nubr-iso")
    assert state["stp"] is False and state["delay"] == 0


def test_txt_record_change_gives_the_new_answer(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    assert ask(netns, "10.61.0.1", "motd", "TXT") == ["first"]
    result = conn.update("natnet", "modify", "dns-txt", "<txt name='motd' value='second'/>")
    assert [a.kind for a in result.actions] == ["dnsmasq-restart"]
    assert ask(netns, "10.61.0.1", "motd", "TXT") == ["second"]
    assert conn.status("natnet").state == "active"


def test_killed_dnsmasq_is_reported_and_start_repairs_it(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    pid = dnsmasq_pid(conn, "natnet")
    os.kill(pid, 9)
    for _ in range(100):
        if not DQ.alive(pid, conn.status("natnet").dnsmasq["conf"]):
            break
        time.sleep(0.02)
    status = conn.status("natnet")
    assert status.state == "degraded"
    assert any("dnsmasq" in problem for problem in status.problems)
    conn.start("natnet")  # repairs
    status = conn.status("natnet")
    assert status.state == "active" and status.dnsmasq["pid"] != pid
    assert ask(netns, "10.61.0.1", "seven") == ["10.61.0.7"]


def test_vanished_bridge_is_reported_and_update_repairs_it(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    subprocess.run(["ip", "-n", netns, "link", "del", "nubr-nat"], check=True)
    assert any("bridge" in p for p in conn.status("natnet").problems)
    result = conn.update("natnet", "add", "dns-host",
                         "<host ip='10.61.0.43'><hostname>back</hostname></host>")
    assert any("repaired" in note for note in result.notes)
    assert conn.status("natnet").state == "active"
    assert ask(netns, "10.61.0.1", "back") == ["10.61.0.43"]


def test_stop_with_an_edited_config_leaves_nothing_behind(conn, netns, state_dir):
    conn.define(NAT)
    conn.start("natnet")
    for number in (2, 3):   # live updates keep the version before each definition as a spare
        conn.update("natnet", "add", "dns-host",
                    f"<host ip='10.61.0.{number}'><hostname>h{number}</hostname></host>")
    pid = dnsmasq_pid(conn, "natnet")
    record = conn.store.read_record("natnet")
    # the persistent definition now names another bridge, no DNS, no firewall-relevant mode
    conn.define(NAT.replace("nubr-nat", "nubr-other").replace("mode='nat'", "mode='open'"))
    conn.stop("natnet")
    assert "nubr-nat" not in links(netns) and "nubr-other" not in links(netns)
    assert not Path(f"/proc/{pid}").exists() or not DQ.alive(pid, record["dnsmasq"]["conf"])
    assert "netupdate_natnet" not in nft_tables(netns)
    assert not Path(record["dir"]).exists()
    assert not conn.store.record_path("natnet").exists()
    assert not conn.store.live_path("natnet").exists()
    assert not [entry for entry in os.listdir(conn.store.live_path("natnet").parent)
                if "natnet" in entry]                     # nor the live definition's spare
    assert "10.62.0.0" not in subprocess.run(["ip", "-n", netns, "route"], capture_output=True,
                                             text=True).stdout
    defs = netupdate.load(conn.dumpxml("natnet")).defs   # the uuid define gave it
    assert [entry.to_json() for entry in conn.list()] == [
        {"name": "natnet", "active": False, "state": "inactive", "persistent": True,
         "autostart": False, "bridge": defs.bridge.name, "netns": None,
         "uuid": str(defs.uuid)}]
    # even with the config deleted, a running network is torn down from its record
    conn.start("natnet")
    conn.undefine("natnet")
    conn.stop("natnet")
    assert "nubr-other" not in links(netns)
    assert conn.list() == []


def test_failed_verification_rolls_back_live_and_config(conn, netns, monkeypatch):
    conn.define(NAT)
    conn.start("natnet")
    before_live, before_config = conn.dumpxml("natnet"), conn.dumpxml("natnet", inactive=True)
    from netupdate.live.embedded.runtime import driver as D

    def broken(*args, **kwargs):
        raise D.VerifyError("dns", "injected failure")
    monkeypatch.setattr(D.Driver, "verify_host_change", broken)
    with pytest.raises(RuntimeFailure, match="rolled back.*dns"):
        conn.update("natnet", "add", "dns-host",
                    "<host ip='10.61.0.44'><hostname>ghost</hostname></host>")
    monkeypatch.undo()
    assert conn.dumpxml("natnet") == before_live
    assert conn.dumpxml("natnet", inactive=True) == before_config
    assert ask(netns, "10.61.0.1", "ghost") == []
    layout = DQ.Layout(conn.store.network_dir("natnet"))
    leftover = layout.hostsdir / "ip-10.61.0.44"
    assert not leftover.exists() or leftover.read_text() == ""
    # and the next update works normally
    conn.update("natnet", "add", "dns-host",
                "<host ip='10.61.0.44'><hostname>real</hostname></host>")
    assert ask(netns, "10.61.0.1", "real") == ["10.61.0.44"]


def test_failed_verification_after_the_definitions_were_written_puts_them_back(
        conn, netns, monkeypatch):
    """The fast path puts the definitions in place while dnsmasq answers its first query: a
    failed check that comes after they are in place must still leave both byte for byte as
    they were."""
    conn.define(NAT)
    conn.start("natnet")
    live_path, config_path = conn.store.live_path("natnet"), conn.store.config_path("natnet")
    before_live, before_config = live_path.read_bytes(), config_path.read_bytes()
    from netupdate.live.embedded.runtime import driver as D

    def late(*args, meanwhile, **kwargs):
        meanwhile()
        assert b"ghost" in config_path.read_bytes() and b"ghost" in live_path.read_bytes()
        raise D.VerifyError("dns", "injected failure")
    monkeypatch.setattr(D.Driver, "verify_host_change", late)
    with pytest.raises(RuntimeFailure, match="rolled back.*dns"):
        conn.update("natnet", "add", "dns-host",
                    "<host ip='10.61.0.44'><hostname>ghost</hostname></host>")
    monkeypatch.undo()
    assert live_path.read_bytes() == before_live and config_path.read_bytes() == before_config
    assert ask(netns, "10.61.0.1", "ghost") == []
    assert conn.update("natnet", "add", "dns-host",
                       "<host ip='10.61.0.44'><hostname>real</hostname></host>").live == "applied"
    assert ask(netns, "10.61.0.1", "real") == ["10.61.0.44"]


def test_a_failed_host_file_after_the_definitions_went_into_place_puts_them_back(
        conn, netns, monkeypatch):
    """The fast path puts the definitions in place before it writes the host file when they
    are on disk already: a host file that cannot be written must still leave both definitions
    byte for byte as they were, and nothing served."""
    conn.define(NAT)
    conn.start("natnet")
    live_path, config_path = conn.store.live_path("natnet"), conn.store.config_path("natnet")
    before_live, before_config = live_path.read_bytes(), config_path.read_bytes()
    from netupdate.live.embedded.runtime import hostfast
    from netupdate.store import atomic
    real_commit, placed = atomic.PendingWrites.commit, []

    def commit(self, *, wait=True):
        real_commit(self, wait=wait)
        if not placed:   # the update's own (the undo writes the old bytes back through one)
            placed.append(b"ghost" in config_path.read_bytes() and b"ghost" in
                          live_path.read_bytes())

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", "dns-hosts/ip-10.61.0.44")
    monkeypatch.setattr(atomic.PendingWrites, "commit", commit)
    monkeypatch.setattr(atomic.PendingWrites, "on_disk", lambda self: True)   # commit waits
    monkeypatch.setattr(hostfast, "apply_host_change", broken)
    with pytest.raises(RuntimeFailure, match="rolled back"):
        conn.update("natnet", "add", "dns-host",
                    "<host ip='10.61.0.44'><hostname>ghost</hostname></host>")
    monkeypatch.undo()
    assert placed == [True]    # in place before the host file was tried
    assert live_path.read_bytes() == before_live and config_path.read_bytes() == before_config
    assert ask(netns, "10.61.0.1", "ghost") == []


def test_failed_step_rolls_back_a_restart(conn, netns, monkeypatch):
    conn.define(NAT)
    conn.start("natnet")
    from netupdate.live.embedded.runtime import driver as D
    real = D.Driver.verify

    def broken(self, name, record, defs, **kwargs):
        if kwargs.get("before") is not None:
            raise D.VerifyError("dnsmasq conf", "injected failure")
        return real(self, name, record, defs, **kwargs)
    monkeypatch.setattr(D.Driver, "verify", broken)
    with pytest.raises(RuntimeFailure, match="dnsmasq conf"):
        conn.update("natnet", "modify", "dns-txt", "<txt name='motd' value='never'/>")
    assert ask(netns, "10.61.0.1", "motd", "TXT") == ["first"]
    assert "never" not in conn.dumpxml("natnet", inactive=True)
    assert conn.status("natnet").state == "active"


def test_config_only_and_current(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    result = conn.update("natnet", "add", "dns-host",
                         "<host ip='10.61.0.50'><hostname>later</hostname></host>",
                         live=False, config=True)
    assert result.live == "not-requested" and result.config == "changed"
    assert ask(netns, "10.61.0.1", "later") == []
    assert "later" in conn.dumpxml("natnet", inactive=True)
    assert "later" not in conn.dumpxml("natnet")
    assert conn.status("natnet").diverged is True
    conn.stop("natnet")
    with pytest.raises(StateError, match="not running"):
        conn.update("natnet", "add", "dns-host",
                    "<host ip='10.61.0.51'><hostname>x</hostname></host>", live=True)


def test_missing_namespace_and_dnsmasq_are_clear_errors(state_dir, netns, monkeypatch):
    conn = netupdate.connect(state_dir=state_dir, netns="nu-does-not-exist")
    conn.define(NAT)
    with pytest.raises(StateError, match="namespace 'nu-does-not-exist' does not exist"):
        conn.start("natnet")
    assert conn.store.read_record("natnet") is None
    monkeypatch.setattr(DQ, "binary", lambda: None)
    with pytest.raises(RuntimeFailure, match="dnsmasq is not installed"):
        conn.start("natnet", netns=netns)
    assert conn.store.read_record("natnet") is None and "nubr-nat" not in links(netns)
    conn.close()


def test_nft_rulesets_load_for_every_mode(netns):
    from netupdate.live.embedded.runtime import nft
    from netupdate.render import nftables as firewall
    root = Path(__file__).resolve().parents[2] / "fixtures"
    for path in [root / "dnsmasq" / "nat-network.xml", root / "dnsmasq" / "routed-network.xml",
                 root / "dnsmasq" / "isolated-network.xml", root / "networks" / "nat-ports.xml"]:
        defs = netupdate.load(path).defs
        table = firewall.table_name(defs.name, "0123abcd")
        assert nft.replace(defs, table, defs.bridge.name, netns=netns)
        assert nft.exists(table, netns=netns)
        nft.replace(defs, table, defs.bridge.name, netns=netns)  # replace is idempotent
        nft.delete(table, netns=netns)
        assert not nft.exists(table, netns=netns)


def test_cli_live_verbs(state_dir, netns, tmp_path):
    xml = tmp_path / "natnet.xml"
    xml.write_text(NAT)
    env = {**os.environ, "NETUPDATE_STATE_DIR": state_dir}

    def cli(*args, check=True):
        proc = subprocess.run([sys.executable, "-m", "netupdate", *args], capture_output=True,
                              text=True, env=env)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    assert "defined" in cli("define", str(xml)).stdout
    assert "started" in cli("start", "natnet", "--netns", netns).stdout
    out = cli("update", "natnet", "add", "dns-host",
              "<host ip='10.61.0.60'><hostname>cli</hostname></host>").stdout
    assert out.startswith("Updated network natnet persistent config and live state")
    assert ask(netns, "10.61.0.1", "cli") == ["10.61.0.60"]
    shown = cli("status", "natnet", "--json")
    status = json.loads(shown.stdout)
    assert status["state"] == "active" and status["netns"] == netns
    assert shown.stderr == ""   # a forked namespace helper's SIGTERM is not the CLI's
    assert "cli" in cli("dumpxml", "natnet").stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["name"] == "natnet" and listed[0]["active"]
    dry = cli("update", "natnet", "modify", "dns-txt", "<txt name='motd' value='x'/>",
              "--dry-run").stdout
    assert "Would update" in dry and "dnsmasq-restart" in dry
    current = cli("update", "natnet", "add", "dns-host",
                  "<host ip='10.61.0.61'><hostname>cur</hostname></host>", "--current").stdout
    assert current.startswith("Updated network natnet live state")
    bad = cli("update", "natnet", "add", "dns-host", "<host ip='10.61.0.60'>"
              "<hostname>dup</hostname></host>", check=False)
    assert bad.returncode == 1 and "netupdate: error:" in bad.stderr
    assert "destroyed" in cli("destroy", "natnet").stdout
    assert "netupdate_natnet" not in nft_tables(netns)
    assert cli("status", "natnet").returncode == 0
    assert "undefined" in cli("undefine", "natnet").stdout


def test_namespace_deleted_behind_our_back(conn, netns):
    conn.define(NAT)
    conn.start("natnet")
    record = conn.store.read_record("natnet")
    pid = record["dnsmasq"]["pid"]
    subprocess.run(["ip", "netns", "del", netns], check=True)  # dnsmasq keeps it alive
    status = conn.status("natnet")
    assert status.state == "vanished"
    assert any("namespace" in problem for problem in status.problems)
    with pytest.raises(StateError, match="namespace"):
        conn.update("natnet", "add", "dns-host",
                    "<host ip='10.61.0.45'><hostname>x</hostname></host>")
    conn.stop("natnet")  # still tears down what it can reach: dnsmasq, files, record
    assert not DQ.alive(pid, record["dnsmasq"]["conf"])
    assert not Path(record["dir"]).exists() and conn.store.read_record("natnet") is None
    subprocess.run(["ip", "netns", "add", netns], check=True)  # for the fixture's cleanup


def _forwarding(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "cat", "/proc/sys/net/ipv4/ip_forward"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_forwarding_is_put_back_when_the_last_forwarding_network_stops(conn, netns, state_dir):
    routed = NAT.replace("natnet", "routenet").replace("nubr-nat", "nubr-rt").replace(
        "mode='nat'", "mode='route'").replace("10.61.", "10.64.").replace("10.62.", "10.65.") \
        .replace("52:54:00:61:", "52:54:00:64:")  # one MAC on two running networks: a conflict
    assert _forwarding(netns) == "0"
    conn.define(NAT)
    conn.define(routed)
    conn.start("natnet")
    conn.start("routenet")
    assert _forwarding(netns) == "1"
    conn.stop("natnet")
    assert _forwarding(netns) == "1"         # the routed network still forwards
    conn.stop("routenet")
    assert _forwarding(netns) == "0"         # as it was before netupdate changed it
    from netupdate.live.embedded.runtime import forwarding
    assert not (forwarding.ledger_dir() / f"{forwarding.namespace_id(netns)}.json").exists()
