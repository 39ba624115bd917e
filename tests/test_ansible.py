"""The Ansible collection (ansible/, issue 18) through real ``ansible-playbook`` runs against an
inventory of three hosts, each the local connection with its own state: config-only on the
embedded runtime (its own NETUPDATE_STATE_DIR, no root needed), and on libvirt's test driver
through ``uri``.  The live tier (networks running in namespaces) is tests/live/test_ansible_live.py;
generated sequences of entry tasks are tests/test_ansible_generated.py."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

import netupdate
from tests import ansiblehelp as A

pytestmark = pytest.mark.usefixtures("ansible_ready")
FIXTURE = A.ROOT / "fixtures" / "networks" / "nat-default.xml"
HOSTS = ("hv1", "hv2", "hv3")
WEB1 = "mac: '52:54:00:00:00:42'\n        name: web1\n        ip: 192.168.122.42"


@pytest.fixture
def ansible_ready():
    A.require_ansible()


def _fleet(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """Three hosts, each with its own embedded state dir holding the default network."""
    dirs = {}
    for host in HOSTS:
        state = tmp_path / f"state-{host}"
        state.mkdir(mode=0o755)
        with netupdate.connect(state_dir=state) as conn:
            conn.define(FIXTURE)
        dirs[host] = state
    inv = A.inventory(tmp_path, {h: {"nu_state_dir": str(d)} for h, d in dirs.items()})
    return inv, dirs


def _config(state: Path, name: str = "default") -> str:
    with netupdate.connect(state_dir=state) as conn:
        return conn.dumpxml(name, inactive=True)


def _play(tasks: str, *, serial: str = "") -> str:
    return f"""
- hosts: all
  gather_facts: false
  {serial}
  environment:
    NETUPDATE_STATE_DIR: "{{{{ nu_state_dir }}}}"
  tasks:
{tasks}
"""


RESERVE = f"""
    - name: reserve web1
      netupdate.netupdate.dhcp_host:
        network: default
        {WEB1}
      register: host
    - name: web resolves
      netupdate.netupdate.dns_host:
        network: default
        ip: 192.168.122.42
        hostnames: [web1, www]
      register: dns
"""


def test_every_module_documents_options_examples_returns_and_attributes(tmp_path):
    env = A.environment(tmp_path)
    names = [f"netupdate.netupdate.{m}" for m in A.MODULES]
    out = subprocess.run([A.tool("ansible-doc"), "-j", *names], capture_output=True, text=True,
                         env=env, check=True).stdout
    docs = json.loads(out)
    assert sorted(docs) == sorted(f"netupdate.netupdate.{m}" for m in A.MODULES)
    for name, doc in docs.items():
        assert doc["examples"].strip() and doc["return"], name
        attributes = doc["doc"]["attributes"]
        assert {"check_mode", "diff_mode", "platform"} <= set(attributes), name
        assert "netupdate" in " ".join(doc["doc"]["requirements"]), name
    text = subprocess.run([A.tool("ansible-doc"), "netupdate.netupdate.dhcp_host"],
                          capture_output=True, text=True, env=env, check=True).stdout
    assert "modified in place" in text


def test_choices_are_netupdate_own_values():
    """The validated choices of the typed options are netupdate's enums (no drift)."""
    from netupdate.model import values as T
    from tests.ansiblehelp import COLLECTION
    texts = {m: (COLLECTION / "plugins" / "modules" / f"{m}.py").read_text()
             for m in ("dhcp_host", "dns_srv", "portgroup")}
    assert f'choices=["{T.SrvProtocol.TCP}", "{T.SrvProtocol.UDP}"]' in texts["dns_srv"]
    def choices(enum) -> str:
        return "choices=[" + ", ".join(f'"{u}"' for u in enum) + "]"
    assert choices(T.LeaseUnit) in texts["dhcp_host"]
    assert choices(T.VirtualPortType) in texts["portgroup"]
    assert choices(T.NativeMode) in texts["portgroup"]


def test_galaxy_build_produces_the_tarball(tmp_path):
    subprocess.run([A.tool("ansible-galaxy"), "collection", "build", str(A.COLLECTION),
                    "--output-path", str(tmp_path)], capture_output=True, text=True, check=True,
                   env=A.environment(tmp_path))
    tarball, = tmp_path.glob("netupdate-netupdate-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert {f"plugins/modules/{m}.py" for m in A.MODULES} <= names
    assert {"MANIFEST.json", "FILES.json", "plugins/module_utils/entries.py"} <= names


def test_fleet_check_first_run_second_run_diff(tmp_path):
    inv, dirs = _fleet(tmp_path)
    before = {h: _config(d) for h, d in dirs.items()}
    play = _play(RESERVE + A.save_task(tmp_path, "{'host': host, 'dns': dns}"))

    check = A.playbook(tmp_path, play, inv, "--check", "--diff")
    for host in HOSTS:    # predicted, nothing changed, the diff shown
        assert check.changed(host) == 2 and _config(dirs[host]) == before[host]
        saved = A.results(tmp_path, host)
        assert saved["host"]["commands"] == {"config": "add-last"}
        assert "+      <host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'" in check.out
    first = A.playbook(tmp_path, play, inv, "--diff")
    for host in HOSTS:
        assert first.changed(host) == 2
        defs = netupdate.load(_config(dirs[host])).defs
        assert [str(h.ip) for h in defs.ips[0].dhcp.hosts] == ["192.168.122.42"]
        assert [d.hostnames for d in defs.dns.hosts] == [("web1", "www")]
    after = {h: _config(d) for h, d in dirs.items()}
    second = A.playbook(tmp_path, play, inv, "--diff")
    for host in HOSTS:
        assert second.changed(host) == 0 and _config(dirs[host]) == after[host]
        assert A.results(tmp_path, host)["host"]["commands"] == {"config": None}
    # a changed reservation is modified in place (not deleted and added)
    moved = play.replace("ip: 192.168.122.42", "ip: 192.168.122.43", 1)
    run = A.playbook(tmp_path, moved, inv)
    for host in HOSTS:
        assert run.changed(host) == 1
        assert A.results(tmp_path, host)["host"]["commands"] == {"config": "modify"}
        hosts = netupdate.load(_config(dirs[host])).defs.ips[0].dhcp.hosts
        assert [(str(h.mac), str(h.ip)) for h in hosts] == [("52:54:00:00:00:42",
                                                             "192.168.122.43")]


def test_a_conflicting_reservation_fails_that_host_only(tmp_path):
    inv, dirs = _fleet(tmp_path)
    with netupdate.connect(state_dir=dirs["hv2"]) as conn:   # hv2: .42 belongs to another MAC
        conn.update("default", "add", "ip-dhcp-host",
                    "<host mac='52:54:00:00:00:99' name='db' ip='192.168.122.42'/>")
    held = _config(dirs["hv2"])
    run = A.playbook(tmp_path, _play(RESERVE), inv, check_rc=2)
    assert run.failed("hv2") == 1 and run.changed("hv2") == 0 and _config(dirs["hv2"]) == held
    assert run.changed("hv1") == 2 and run.changed("hv3") == 2
    line, = [ln for ln in run.out.splitlines() if ln.startswith("fatal: [hv2]")]
    assert "192.168.122.42" in line and "Traceback" not in run.out


def test_serial_rollout_stops_at_the_failing_host(tmp_path):
    inv, dirs = _fleet(tmp_path)
    with netupdate.connect(state_dir=dirs["hv2"]) as conn:
        conn.update("default", "add", "ip-dhcp-host",
                    "<host mac='52:54:00:00:00:99' name='db' ip='192.168.122.42'/>")
    untouched = _config(dirs["hv3"])
    run = A.playbook(tmp_path, _play(RESERVE, serial="serial: 1"), inv, check_rc=2)
    assert run.changed("hv1") == 2 and run.failed("hv2") == 1
    assert "hv3" not in run.recap and _config(dirs["hv3"]) == untouched
    # fixed on hv2: the same rollout goes through, one host at a time, hv1 already done
    with netupdate.connect(state_dir=dirs["hv2"]) as conn:
        conn.update("default", "delete", "ip-dhcp-host", "<host mac='52:54:00:00:00:99'/>")
    run = A.playbook(tmp_path, _play(RESERVE, serial="serial: 1"), inv)
    assert [run.changed(h) for h in HOSTS] == [0, 2, 2]
    assert run.out.count("PLAY [all]") == 3


def _state(tmp_path: Path) -> Path:
    """One embedded state dir holding the default network (the in-process tests)."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    with netupdate.connect(state_dir=state) as conn:
        conn.define(FIXTURE)
    return state


def test_network_module_desired_state_and_lifecycle(tmp_path):
    """Check mode (with diff) predicts and changes nothing, then define + autostart, then
    nothing to do, then absent (in process: the playbook runs above cover the fleet)."""
    state = _state(tmp_path)
    desired = FIXTURE.read_text().replace("<name>default</name>", "<name>lab</name>").replace(
        "virbr0", "virbr-lab").replace("208ebe26-4295-4998-bdf6-e2d2f56b644a",
                                       "0b7ac1c5-6c0a-4d43-9b43-5d9a6bd1ec61")
    (tmp_path / "lab.xml").write_text(desired)
    task = dict(name="lab", src=str(tmp_path / "lab.xml"), autostart=True, state_dir=str(state))

    def names():
        with netupdate.connect(state_dir=state) as conn:
            return [(n.name, n.autostart) for n in conn.list()]

    check = A.run_module("network", task, check_mode=True, diff=True)
    assert check["changed"] and check["steps"] == ["apply", "autostart"]
    assert check["diff"] == [dict(before_header="lab config definition (before)",
                                  after_header="lab config definition (after)",
                                  before="", after=desired)]
    assert names() == [("default", False)]
    first = A.run_module("network", task, diff=True)
    assert first["changed"] and first["steps"] == ["apply", "autostart"]
    assert first["result"]["config"] == "changed" and first["diff"][0]["after"] == desired
    assert names() == [("default", False), ("lab", True)] and _config(state, "lab") == desired
    second = A.run_module("network", task)
    assert second["changed"] is False and second["steps"] == []
    absent = dict(name="lab", state="absent", state_dir=str(state))
    assert A.run_module("network", absent, check_mode=True)["steps"] == ["undefine"]
    assert _config(state, "lab") == desired
    assert A.run_module("network", absent)["changed"]
    assert names() == [("default", False)]
    assert A.run_module("network", absent)["changed"] is False


def test_network_info_gathers_what_netupdate_provides(tmp_path):
    state = _state(tmp_path)
    info = A.run_module("network_info", dict(state_dir=str(state),
                                             gather=["status", "xml", "drift", "leases",
                                                     "check", "change"]))
    assert info["changed"] is False and info["missing"] == []
    net, = info["networks"]
    assert net["name"] == "default" and net["state"] == "inactive"
    assert net["xml"]["config"] == _config(state)
    assert net["status"]["persistent"] is True and net["drift"]["changes"] == []
    assert net["change"]["state"] == "none"
    assert ("leases" in net) != ("leases" in net["unavailable"])
    assert net["check"]["running"] is False and net["check"]["ok"] is True
    only = A.run_module("network_info", dict(state_dir=str(state), names=["default", "nope"]))
    assert [n["name"] for n in only["networks"]] == ["default"] and only["missing"] == ["nope"]


def test_bad_input_fails_with_one_line_and_changes_nothing(tmp_path):
    state = _state(tmp_path)
    held = _config(state)
    for check_mode in (True, False):
        bad = A.run_module("dhcp_host", dict(network="default", state_dir=str(state),
                                             mac="52:54:00:zz:00:42", ip="192.168.122.42"),
                           check_mode=check_mode)
        assert bad["failed"] and "\n" not in bad["msg"] and "52:54:00:zz:00:42" in bad["msg"]
        assert _config(state) == held
    missing = A.run_module("dns_txt", dict(network="nope", state_dir=str(state), name="a",
                                           value="b"))
    assert missing["failed"] and missing["msg"] == "network 'nope' is not defined"


def test_missing_netupdate_on_the_target_is_one_clear_line(tmp_path):
    inv, _dirs = _fleet(tmp_path)
    shadow = tmp_path / "shadow" / "netupdate"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named netupdate')\n")
    env = A.environment(tmp_path)
    env["PYTHONPATH"] = str(shadow.parent)   # the target's python finds no usable netupdate
    run = A.playbook(tmp_path, _play(RESERVE), inv, check_rc=2, env=env)
    fatal = [ln for ln in run.out.splitlines() if ln.startswith("fatal: [hv1]")]
    msg = json.loads(fatal[0].split("=> ", 1)[1])["msg"]
    assert msg.startswith("netupdate is not importable on the target") and "\n" not in msg


# ---------------------------------------------------------------------- libvirt (test driver)
def _libvirt_fleet(tmp_path: Path, xml: dict[str, str]) -> Path:
    """Three hosts, each a libvirt test driver (``test:///FILE``) holding its network."""
    hosts = {}
    for host in HOSTS:
        node = tmp_path / f"node-{host}.xml"
        node.write_text(f"<node>\n{xml[host]}\n</node>\n")
        hosts[host] = {"nu_uri": f"test://{node}"}
    return A.inventory(tmp_path, hosts)


LIBVIRT_PLAY = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: reserve web1
      netupdate.netupdate.dhcp_host:
        uri: "{{{{ nu_uri }}}}"
        network: default
        {WEB1}
      register: host
"""


def test_libvirt_fleet_through_uri(tmp_path):
    """libvirt's test driver keeps no state between processes: each task starts from the
    host's test:///FILE, so the second run is made against the definitions the first run
    produced (written back to each host's file)."""
    pytest.importorskip("libvirt")
    base = FIXTURE.read_text()
    conflict = base.replace("</dhcp>", "  <host mac='52:54:00:00:00:99' ip='192.168.122.42'/>\n"
                                       "    </dhcp>")
    inv = _libvirt_fleet(tmp_path, {"hv1": base, "hv2": conflict, "hv3": base})
    play = LIBVIRT_PLAY + A.save_task(tmp_path, "host")
    check = A.playbook(tmp_path, play, inv, "--check", "--diff", check_rc=2)
    assert check.changed("hv1") == 1 and check.failed("hv2") == 1
    first = A.playbook(tmp_path, play, inv, "--diff", check_rc=2)
    assert first.changed("hv1") == first.changed("hv3") == 1 and first.failed("hv2") == 1
    result = A.results(tmp_path, "hv1")
    assert result["results"][0]["via"] == "virNetworkUpdate"
    assert set(result["commands"]) == {"live", "config"}
    after = result["diff"][0]["after"]
    assert "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>" in after
    inv = _libvirt_fleet(tmp_path, {"hv1": after, "hv2": after, "hv3": after})
    second = A.playbook(tmp_path, play, inv)
    assert all(second.changed(h) == 0 for h in HOSTS)


def test_policy_is_enforced_in_process(tmp_path):
    """``policy`` (a file on the host) refuses what it does not allow, in check mode too, with
    one line and nothing changed (the module's main() in this process: no playbook needed)."""
    state = _state(tmp_path)
    held = _config(state)
    policy = str(A.ROOT / "fixtures" / "policies" / "dhcp-hosts.toml")
    common = dict(network="default", state_dir=str(state), policy=policy)
    for check_mode in (True, False):
        refused = A.run_module("dns_txt", dict(common, name="motd", value="hi"),
                               check_mode=check_mode)
        assert refused["failed"] and "policy refuses dns-txt 'motd' added" in refused["msg"]
        assert "\n" not in refused["msg"] and _config(state) == held
    allowed = A.run_module("dhcp_host", dict(common, mac="52:54:00:00:00:42", ip="192.168.122.42"))
    assert allowed["changed"] and "192.168.122.42" in _config(state)


def test_network_module_edges_in_process(tmp_path):
    """stopped defines without starting; change with nothing open does nothing; try_seconds
    on libvirt fails with netupdate's one line; xml and src together are refused."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    common = dict(name="default", state_dir=str(state))
    done = A.run_module("network", dict(common, src=str(FIXTURE), state="stopped"))
    assert done["changed"] and done["steps"] == ["apply"] and done["info"]["active"] is False
    assert _config(state) == FIXTURE.read_text()
    again = A.run_module("network", dict(common, xml=FIXTURE.read_text(), state="stopped"))
    assert again["changed"] is False and again["steps"] == []
    assert A.run_module("network", dict(common, change="commit"))["changed"] is False
    both = A.run_module("network", dict(common, xml="<network/>", src=str(FIXTURE)))
    assert both["failed"] and "mutually exclusive" in both["msg"]
    pytest.importorskip("libvirt")
    libvirt = A.run_module("network", dict(name="default", uri="test:///default",
                                           xml=FIXTURE.read_text(), try_seconds=30))
    assert libvirt["failed"] and "libvirt backend does not support" in libvirt["msg"]
    assert "\n" not in libvirt["msg"]
