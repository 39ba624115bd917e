"""The hostile corpus (``fixtures/hostile``, issue 12): every injection the security review found
is refused by ``validate``, ``edit``, ``edit --policy`` and the library's update path, with one
line, a non-zero exit, no traceback and nothing changed on disk."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import netupdate
from netupdate.check.semantic import validate
from netupdate.cli import main as cli_main
from netupdate.errors import NetupdateError

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "fixtures" / "hostile"
POLICY = str(ROOT / "fixtures" / "policies" / "web-team.toml")

# file -> (the hostile element, command, section or None, nodeSpec of its parent for add or of
#          itself for modify)
CASES = {
    "tftp-root-newline.xml": ("ip/tftp", "add", None, "/network/ip"),
    "txt-value-newline.xml": ("dns/txt[2]", "add", "dns-txt", "/network/dns"),
    "txt-name-newline.xml": ("dns/txt[2]", "add", "dns-txt", "/network/dns"),
    "srv-domain-newline.xml": ("dns/srv", "add", "dns-srv", "/network/dns"),
    "srv-target-newline.xml": ("dns/srv", "add", "dns-srv", "/network/dns"),
    "forwarder-domain-newline.xml": ("dns/forwarder", "add", None, "/network/dns"),
    "dhcp-host-name-newline.xml": ("ip/dhcp/host", "add", "ip-dhcp-host", "/network/ip/dhcp"),
    "dns-hostname-newline.xml": ("dns/host", "add", "dns-host", "/network/dns"),
    "network-name-newline.xml": ("name", "modify", None, "/network/name"),
}


def test_every_hostile_fixture_has_a_case_and_a_readme_line():
    files = {p.name for p in HOSTILE.glob("*.xml")}
    assert files == set(CASES)
    readme = (HOSTILE / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in files)


def split(name: str, tmp_path: Path) -> tuple[Path, str]:
    """(a copy of the network without the hostile element, that element as a fragment)."""
    where = CASES[name][0]
    root = etree.parse(str(HOSTILE / name)).getroot()
    element = root.find(where)
    fragment = etree.tostring(element, encoding="unicode", with_tail=False)
    if where == "name":
        element.text = "webnet"
    else:
        element.getparent().remove(element)
    base = tmp_path / "base.xml"
    base.write_bytes(etree.tostring(root))
    return base, fragment


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command line in a new interpreter (what a user runs: a traceback would show)."""
    return subprocess.run([sys.executable, "-m", "netupdate", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def main(*args: str) -> subprocess.CompletedProcess:
    """The command line in this process (faster; an uncaught exception fails the test)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def refused(proc: subprocess.CompletedProcess, *, stream: str = "stderr") -> str:
    text = getattr(proc, stream)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in text.splitlines() if line]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_refuses_with_one_located_issue(name):
    path = HOSTILE / name
    issues = validate(path)
    assert [i.code for i in issues] == ["NU-E021"], issues
    assert issues[0].line and issues[0].path.startswith("/network")
    line = refused(cli("validate", str(path)), stream="stdout")
    assert "NU-E021" in line and "U+000A" in line


@pytest.mark.parametrize("policy", [(), ("--policy", POLICY)], ids=["plain", "policy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_edit_refuses_the_hostile_file_and_the_hostile_fragment(name, policy, tmp_path):
    _where, command, section, node_spec = CASES[name]
    victim = tmp_path / name
    shutil.copy(HOSTILE / name, victim)
    before = victim.read_bytes()
    # editing anything in a file that holds a hostile value
    line = refused((cli if policy else main)(
        "edit", str(victim), "add", "dns-txt", "<txt name='web-ok' value='ok'/>", "--in-place",
        *policy))
    assert "U+000A" in line and victim.read_bytes() == before
    # the hostile value as the edit, section form and nodeSpec form
    base, fragment = split(name, tmp_path)
    clean = base.read_bytes()
    forms = [[command, fragment, "--node-spec", node_spec]]
    if section:
        forms.append([command, section, fragment])
    for args in forms:
        line = refused(main("edit", str(base), *args, "--in-place", *policy))
        assert line.startswith("netupdate: error: ") and "U+000A" in line
        assert base.read_bytes() == clean


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_library_update_path_refuses_and_leaves_the_document(name, tmp_path):
    _where, command, section, node_spec = CASES[name]
    base, fragment = split(name, tmp_path)
    for how in ({"node_spec": node_spec}, {"section": section}):
        if how.get("section", "") is None:
            continue
        network = netupdate.load(base)
        xml = network.to_xml()
        with pytest.raises(NetupdateError) as caught:
            network.update(command, xml=fragment, **how)
        assert "\n" not in str(caught.value) and "U+000A" in str(caught.value)
        assert network.to_xml() == xml
        with pytest.raises(NetupdateError):
            netupdate.update_xml(xml, command, how.get("section"), fragment,
                                 node_spec=how.get("node_spec"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_define_refuses_and_stores_nothing(name, tmp_path):
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        with pytest.raises(NetupdateError) as caught:
            conn.define(HOSTILE / name)
        assert "\n" not in str(caught.value) and "U+000A" in str(caught.value)
        assert conn.list() == []
    line = refused(cli("define", str(HOSTILE / name), "--state-dir", str(tmp_path / "cli")))
    assert "U+000A" in line
