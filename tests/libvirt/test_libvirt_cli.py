"""``--connect URI`` on the command line, against libvirt's test driver (no daemon).

Each command line opens its own connection, so every invocation sees the networks of
``fixtures/libvirt/test-driver.xml`` afresh.  Skips without the libvirt binding, except in CI.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from netupdate.cli import connect as C
from netupdate.cli import main

pytestmark = pytest.mark.libvirt


ROOT = Path(__file__).resolve().parents[2]
URI = f"test://{ROOT / 'fixtures' / 'libvirt' / 'test-driver.xml'}"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(C.ENV, raising=False)


def _args(*argv: str) -> argparse.Namespace:
    """The namespace of ``netupdate ARGV`` (global options filled in)."""
    from netupdate.cli import parse
    from netupdate.cli.options import fill_defaults
    return fill_defaults(parse(list(argv)))


# ---------------------------------------------------------------------- the helpers
def test_connect_argument_and_environment(monkeypatch):
    assert C.connect_uri(_args("list")) is None
    assert C.connect_uri(_args("list", "--connect", URI)) == URI
    assert C.connect_uri(_args("-c", URI, "list")) == URI          # before the verb, like virsh
    assert C.connect_uri(_args(f"--connect={URI}", "list")) == URI
    monkeypatch.setenv(C.ENV, "test:///default")
    assert C.connect_uri(_args("list")) == "test:///default"
    assert C.connect_uri(_args("list", "--connect", URI)) == URI   # option wins
    assert _args("update", "n", "--restart").restart is True


def test_open_connection_gives_the_libvirt_backend(monkeypatch):
    from netupdate.live.libvirt.connection import LibvirtConnection
    with C.open_connection(_args("list", "--connect", URI)) as conn:
        assert isinstance(conn, LibvirtConnection) and conn.uri == URI
    monkeypatch.setenv(C.ENV, URI)
    with C.open_connection(argparse.Namespace(netns="ns1")) as conn:
        assert isinstance(conn, LibvirtConnection) and conn.netns == "ns1"


def test_open_connection_without_uri_is_the_embedded_runtime(tmp_path):
    from netupdate.live.embedded.connection import Connection
    with C.open_connection(argparse.Namespace(connect=None, state_dir=str(tmp_path),
                                              netns=None)) as conn:
        assert isinstance(conn, Connection)


def test_file_only_verbs_refuse_connect(monkeypatch, capsys):
    net = str(ROOT / "fixtures" / "networks" / "nat-default.xml")
    monkeypatch.setenv(C.ENV, URI)          # the environment does not make edit refuse
    assert main(["edit", net, "add", "dns-txt", "<txt name='a' value='b'/>"]) == 0
    capsys.readouterr()
    assert main(["-c", URI, "edit", net, "add", "dns-txt", "<txt name='a' value='b'/>"]) == 2
    assert "files only" in capsys.readouterr().err


def test_affect_flags():
    def flags(live=False, config=False):
        return C.affect_flags(argparse.Namespace(live=live, config=config))
    assert flags() == {"live": None, "config": None}
    assert flags(live=True) == {"live": True, "config": False}
    assert flags(config=True) == {"live": False, "config": True}
    assert flags(True, True) == {"live": True, "config": True}


def test_report_update_prints_and_returns_the_exit_code(capsys):
    from netupdate.live.libvirt.connection import LibvirtConnection
    with LibvirtConnection(URI) as conn:
        ok = conn.update("nu-nat", "add", "dns-txt", "<txt name='a' value='b'/>")
        stuck = conn.update("nu-nat", "modify", "domain", "<domain name='x.test'/>")
    out = io.StringIO()
    assert C.report_update(ok, stream=out) == 0
    assert "Updated network nu-nat persistent config and live state" in out.getvalue()
    out = io.StringIO()
    assert C.report_update(stuck, argparse.Namespace(json=True), stream=out) == 3
    data = json.loads(out.getvalue())
    assert data["restart_needed"] and data["live"] == "restart-needed"
    assert "differ until the network restarts" in capsys.readouterr().err


# ---------------------------------------------------------------------- the verbs
def test_list_and_dumpxml(capsys):
    assert main(["list", "--connect", URI]) == 0
    out = capsys.readouterr().out
    assert "nu-nat" in out and "nubr0" in out
    assert main(["list", "--connect", URI, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"nu-nat", "nu-pool"}
    assert main(["dumpxml", "--connect", URI, "nu-nat"]) == 0
    assert "<name>nu-nat</name>" in capsys.readouterr().out


def test_autostart_says_what_virsh_says(capsys, tmp_path, monkeypatch):
    """Through libvirt, ``autostart`` confirms as virsh does (libvirt starts its networks
    where its daemon runs: no namespace of netupdate's to name); the embedded runtime's
    confirmation names where the network will start."""
    assert main(["-c", URI, "autostart", "nu-routed"]) == 0
    assert capsys.readouterr().out == "Network nu-routed marked as autostarted\n"
    assert main(["-c", URI, "autostart", "--disable", "nu-routed"]) == 0
    assert capsys.readouterr().out == "Network nu-routed unmarked as autostarted\n"
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    assert main(["define", str(ROOT / "fixtures" / "networks" / "routed.xml")]) == 0
    capsys.readouterr()
    name = json.loads(_run_json(capsys, "list"))[0]["name"]
    assert main(["autostart", name]) == 0
    assert capsys.readouterr().out == \
        f"Network {name} marked as autostarted (in the host namespace)\n"


def _run_json(capsys, *argv) -> str:
    assert main(["--json", *argv]) == 0
    return capsys.readouterr().out


def test_status(capsys):
    assert main(["status", "--connect", URI, "nu-nat", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["active"] and data["uri"] == URI


def test_update_through_libvirt(capsys):
    code = main(["update", "--connect", URI, "nu-nat", "add", "ip-dhcp-host",
                 "<host mac='52:54:00:00:15:55' name='cli' ip='192.168.150.55'/>"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Updated network nu-nat persistent config and live state" in out
    assert "virNetworkUpdate" in out


def test_update_libvirt_refuses_says_restart_and_fails(capsys):
    code = main(["update", "--connect", URI, "nu-nat", "modify", "bridge",
                 "<bridge name='nubr0' stp='off'/>"])
    assert code == 3
    out = capsys.readouterr().out
    assert "needs a restart" in out and "bridge-stp" in out


def test_update_config_only_is_not_an_error(capsys):
    code = main(["update", "--connect", URI, "nu-nat", "modify", "bridge",
                 "<bridge name='nubr0' stp='off'/>", "--config"])
    assert code == 0
    assert "takes effect when the network restarts" in capsys.readouterr().out


def test_update_of_a_network_that_does_not_exist_exits_not_found(capsys):
    code = main(["update", "--connect", URI, "nu-nope", "add", "dns-txt",
                 "<txt name='a' value='b'/>"])
    assert code == 4
    assert "network 'nu-nope' is not defined" in capsys.readouterr().err


# ---------------------------------------------------------------------- apply / diff / validate
def _desired(tmp_path, *edits) -> str:
    from netupdate.edit.engine import update_xml
    from netupdate.live.libvirt.connection import LibvirtConnection
    with LibvirtConnection(URI) as conn:
        xml = conn.dumpxml("nu-nat", inactive=True)
    for command, section, fragment in edits:
        xml = update_xml(xml, command, section, fragment)
    path = tmp_path / "desired.xml"
    path.write_text(xml)
    return str(path)


def test_apply_verb(tmp_path, capsys):
    path = _desired(tmp_path, ("add", "dns-txt", "<txt name='new' value='1'/>"))
    assert main(["apply", "nu-nat", path, "--connect", URI]) == 0
    out = capsys.readouterr().out
    assert "Updated network nu-nat persistent config and live state" in out
    assert "virNetworkUpdate add-last dns-txt" in out
    path = _desired(tmp_path, ("modify", "domain", "<domain name='x.test'/>"))
    assert main(["-c", URI, "--json", "apply", "nu-nat", path]) == 3
    assert json.loads(capsys.readouterr().out)["pending"][0]["kind"] == "dnsmasq-restart"
    assert main(["apply", "nu-nat", path, "--connect", URI, "--restart"]) == 0
    assert "(network restarted)" in capsys.readouterr().out
    assert main(["apply", "nu-nat", path, "--connect", URI, "--dry-run", "--config"]) == 0
    assert "Would update network nu-nat persistent config" in capsys.readouterr().out


def test_dry_run_json_says_would_never_applied(tmp_path, capsys):
    assert main(["-c", URI, "--json", "update", "nu-nat", "add", "dns-txt",
                 "--name", "dry", "--value", "1", "--dry-run"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] is True and data["applied"] is False
    assert "applied" not in (data["live"], data["config"])
    assert data["live"].startswith("would-") and data["config"].startswith("would-")
    assert main(["-c", URI, "--json", "update", "nu-nat", "add", "dns-txt",
                 "--name", "wet", "--value", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["applied"] is True and data["config"] == "changed"


def test_network_by_uuid(capsys):
    from netupdate.live.libvirt.connection import LibvirtConnection
    with LibvirtConnection(URI) as conn:
        uuid = next(n.uuid for n in conn.list() if n.name == "nu-nat")
    assert main(["-c", URI, "dumpxml", uuid.upper()]) == 0
    assert "<name>nu-nat</name>" in capsys.readouterr().out
    assert main(["-c", URI, "status", "00000000-0000-0000-0000-000000000000"]) == 4


def test_diff_verb_alone(tmp_path, capsys):
    path = _desired(tmp_path, ("modify", "bridge", "<bridge name='nubr0' stp='off'/>"))
    assert main(["diff", "nu-nat", path, "--connect", URI, "--exit-code"]) == 1
    out = capsys.readouterr().out
    assert "bridge" in out and "restart" in out
    assert main(["diff", "nu-nat", "--connect", URI, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["base"] == "live"


def test_fetch_definitions_for_validate():
    import netupdate
    rows = C.fetch_definitions(argparse.Namespace(connect=URI), ["nu-nat", "nu-pool"])
    assert [label for label, _ in rows] == [f"{URI}#nu-nat", f"{URI}#nu-pool"]
    for _label, xml in rows:
        assert netupdate.is_valid(xml)


def test_diff_verb_with_connect(tmp_path, capsys):
    path = _desired(tmp_path, ("modify", "bridge", "<bridge name='nubr0' stp='off'/>"))
    assert main(["diff", "--connect", URI, "nu-nat", path, "--exit-code"]) == 1
    assert "bridge" in capsys.readouterr().out
    assert main(["diff", "--connect", URI, "nu-nat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["base"] == "live"


def test_diff_name_without_connect_is_the_embedded_runtime(capsys, tmp_path):
    state = ["--state-dir", str(tmp_path / "state")]
    assert main([*state, "diff", "nu-nat"]) == 4
    assert "network 'nu-nat' is not defined" in capsys.readouterr().err


def test_validate_verb_with_connect(capsys):
    assert main(["validate", "--connect", URI, "nu-nat", "nu-pool", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in report] == [f"{URI}#nu-nat", f"{URI}#nu-pool"]
    assert all(r["valid"] for r in report)
    assert main(["validate", "--connect", URI, "no-such-network"]) == 4
    assert "no-such-network" in capsys.readouterr().err
