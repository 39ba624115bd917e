"""``netupdate edit``: offline edits from the command line."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import netupdate
from netupdate.cli import main
from netupdate.model import defs as model

NETWORKS = Path(__file__).resolve().parent.parent / "fixtures" / "networks"
HOST = "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>"
HOST_LINE = "      " + HOST + "\n"


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.xml"
    shutil.copy(NETWORKS / "nat-default.xml", path)
    os.chmod(path, 0o640)
    return path


def run(capsys, *argv):
    code = main(["edit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, out, err, *words):
    assert code == 1
    assert out == ""
    assert err.startswith("netupdate: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_default_prints_the_edited_xml_and_leaves_the_file(capsys, net):
    original = net.read_bytes()
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST)
    assert code == 0 and err == ""
    assert out == original.decode().replace("    </dhcp>", HOST_LINE + "    </dhcp>")
    assert net.read_bytes() == original


def test_print_diff(capsys, net):
    code, out, _ = run(capsys, net, "add", "ip-dhcp-host", HOST, "--print-diff")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"--- {net}" and lines[1] == f"+++ {net}"
    assert "+" + HOST_LINE.rstrip("\n") in lines
    assert sum(1 for line in lines if line.startswith(("+", "-"))) == 3


def test_in_place_is_atomic_and_keeps_the_mode(capsys, net):
    inode = net.stat().st_ino
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST, "--in-place")
    assert (code, out, err) == (0, "", "")
    assert HOST_LINE in net.read_text()
    assert stat.S_IMODE(net.stat().st_mode) == 0o640
    assert net.stat().st_ino != inode            # a new file renamed over the old one
    assert sorted(p.name for p in net.parent.iterdir()) == ["net.xml"]   # no temp left


def test_in_place_with_diff_prints_the_diff(capsys, net):
    code, out, _ = run(capsys, net, "delete", "ip-dhcp-range",
                       "<range start='192.168.122.2' end='192.168.122.254'/>",
                       "--in-place", "--print-diff")
    assert code == 0 and out.startswith("---")
    assert "<dhcp>" not in net.read_text()


def test_output_file(capsys, net, tmp_path):
    out_path = tmp_path / "out.xml"
    original = net.read_bytes()
    code, out, _ = run(capsys, net, "add", "ip-dhcp-host", HOST, "-o", out_path)
    assert (code, out) == (0, "")
    assert net.read_bytes() == original
    assert HOST_LINE in out_path.read_text()
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o640


def test_fragment_from_a_file(capsys, net, tmp_path):
    fragment = tmp_path / "host.xml"
    fragment.write_text("<?xml version='1.0'?>\n" + HOST + "\n")
    code, out, _ = run(capsys, net, "add-first", "ip-dhcp-host", fragment)
    assert code == 0 and HOST_LINE in out


def test_parent_index_and_numeric_codes(capsys, tmp_path):
    path = tmp_path / "d.xml"
    shutil.copy(NETWORKS / "dual-stack-dhcp.xml", path)
    code, out, err = run(capsys, path, "3", "4", "<host name='eta' ip='fd00:106::20'/>",
                         "--parent-index", "1")
    assert code == 0, err
    assert model.load(out).defs.ips[1].dhcp.hosts[-1].name == "eta"


def test_node_spec_without_section_and_xml(capsys, net):
    code, out, err = run(capsys, net, "delete", "--node-spec", "/network/ip/dhcp/range",
                         "--print-diff")
    assert code == 0, err
    assert "-      <range start='192.168.122.2' end='192.168.122.254'/>" in out


def test_node_spec_with_xml_but_no_section(capsys, net):
    code, out, err = run(capsys, net, "add", "<mtu size='1400'/>", "--node-spec", "/network")
    assert code == 0, err
    assert "  <mtu size='1400'/>\n" in out
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST, "--node-spec",
                         "/network/ip/dhcp")
    assert code == 0, err


@pytest.mark.parametrize("argv,words", [
    (["add", "ip-dhcp-host", "<host mac='52:54:00:0a:cd:99' ip='192.168.122.2'/>"], []),
    (["add", "ip-dhcp-host", "missing-fragment.xml"], ["missing-fragment.xml: cannot read: No such file"]),
    (["add", "ip-dhcp-host", "<host"], ["invalid XML fragment"]),
    (["modify", "ip-dhcp-host", "<host mac='52:54:00:0a:cd:99' name='n' ip='192.168.122.9'/>"],
     ["couldn't locate an existing dhcp host entry"]),
    (["delete", "--node-spec", "//nothing"], ["matches no element"]),
])
def test_errors_are_one_line_exit_1_and_leave_the_file(capsys, net, argv, words):
    # the first case is fine on its own; run it twice to make the second a duplicate
    if not words:
        assert main(["edit", str(net), *argv, "--in-place"]) == 0
        capsys.readouterr()
        words = ["existing dhcp host entry"]
    original, mtime = net.read_bytes(), net.stat().st_mtime_ns
    code, out, err = run(capsys, net, *argv, "--in-place")
    assert_one_line_error(code, out, err, *words)
    assert net.read_bytes() == original and net.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in net.parent.iterdir()) == ["net.xml"]


@pytest.mark.parametrize("argv,words", [
    (["add", "bogus", "<x/>"], ["unknown section 'bogus'"]),
    (["add", "ip-dhcp-hots", "<x/>"], ["unknown section 'ip-dhcp-hots'", "'ip-dhcp-host'"]),
    (["frob", "ip-dhcp-host", HOST], ["unknown command 'frob'", "commands: add"]),
    (["modfy", "ip-dhcp-host", HOST], ["did you mean 'modify'"]),
    (["add", "ip-dhcp-host"], ["XML fragment"]),
    (["add"], ["SECTION is required"]),
    (["add", "ip-dhcp-host", HOST, "extra"], ["too many arguments: extra"]),
])
def test_usage_errors_exit_2_with_the_edit_usage(capsys, net, argv, words):
    original = net.read_bytes()
    code, out, err = run(capsys, net, *argv, "--in-place")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("usage: netupdate edit "), err
    for word in words:
        assert word in err
    assert net.read_bytes() == original


def test_missing_network_file(capsys, tmp_path):
    code, out, err = run(capsys, tmp_path / "nope.xml", "add", "ip-dhcp-host", HOST)
    assert_one_line_error(code, out, err, f"{tmp_path / 'nope.xml'}: cannot read: No such file")
    assert err.count("nope.xml") == 1, err   # named once
    assert main(["--json", "edit", str(tmp_path / "nope.xml"), "add", "ip-dhcp-host",
                 HOST]) == 1
    error = json.loads(capsys.readouterr().out)   # not malformed XML: a file it cannot read
    assert (error["code"], error["file"]) == ("unreadable", str(tmp_path / "nope.xml"))


def test_malformed_network_file(capsys, tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text("<network><name>x</name>")
    code, out, err = run(capsys, path, "add", "ip-dhcp-host", HOST)
    assert_one_line_error(code, out, err, "malformed XML")


def test_unwritable_output_leaves_everything(capsys, net, tmp_path):
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST, "-o",
                         tmp_path / "no-such-dir" / "out.xml")
    assert_one_line_error(code, out, err, "cannot write")


def test_encoding_and_bom_are_kept(capsys, tmp_path):
    path = tmp_path / "latin1.xml"
    shutil.copy(NETWORKS / "odd-latin1.xml", path)
    original = path.read_bytes()
    code, _, err = run(capsys, path, "add", "dns-txt", "<txt name='zz' value='v'/>", "--in-place")
    assert code == 0, err
    data = path.read_bytes()
    assert data.startswith(original[:40])
    assert b'<txt name="zz" value="v"/>' in data   # the file's own quote style
    data.decode("latin-1")
    assert model.load(path).defs.dns.txts[-1].name == "zz"


def test_plan_flag(capsys, net):
    """The plan goes to stderr while the XML goes to stdout: ``edit --plan > new.xml`` is XML;
    written to a file (-o), the plan is the output."""
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST, "--plan")
    assert code == 0, err
    assert out.startswith("<network>") and out.rstrip().endswith("</network>")
    change = netupdate.load(NETWORKS / "nat-default.xml").update("add", "ip-dhcp-host", HOST)
    plan_text = netupdate.plan_change(change).to_text().rstrip("\n")
    assert err.rstrip("\n") == plan_text
    model.load(out)   # stdout is a whole network definition, nothing appended
    code, out, err = run(capsys, net, "add", "ip-dhcp-host", HOST, "--plan", "-o",
                         net.parent / "out.xml")
    assert code == 0 and out.rstrip("\n") == plan_text and err == ""


def test_subprocess_error_has_no_traceback(net):
    result = subprocess.run([sys.executable, "-m", "netupdate", "edit", str(net), "add",
                             "ip-dhcp-range", "<range start='10.0.0.1' end='10.0.0.9'/>"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "not entirely within network 192.168.122.1/24" in result.stderr


def test_help_mentions_sections_and_examples(capsys):
    assert main(["edit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "ip-dhcp-host" in out and "--node-spec" in out and "--in-place" in out


POLICIES = NETWORKS.parent / "policies"


def test_policy_allows_what_it_lists(capsys, net):
    code, out, _ = run(capsys, net, "add", "ip-dhcp-host", HOST, "--in-place",
                       "--policy", POLICIES / "dhcp-hosts.toml")
    assert code == 0 and HOST_LINE in net.read_text()


@pytest.mark.parametrize("argv,words", [
    (["add", "ip-dhcp-host", "<host mac='00:16:3e:00:00:42' name='x' ip='192.168.122.43'/>"],
     ["policy refuses", "00:16:3e:00:00:42", "default deny"]),
    (["modify", "bridge", "<bridge name='virbr0' stp='off'/>"], ["bridge"]),
    # the nodeSpec form cannot bypass the policy: the change itself is checked
    (["modify", "<bridge name='virbr0' stp='off'/>", "--node-spec", "/network/bridge"],
     ["policy refuses", "bridge"]),
])
def test_policy_refusal_leaves_the_file_alone(capsys, net, argv, words):
    before = net.read_bytes()
    code, out, err = run(capsys, net, *argv, "--in-place",
                         "--policy", POLICIES / "dhcp-hosts.toml")
    assert_one_line_error(code, out, err, *words)
    assert net.read_bytes() == before


BAD = NETWORKS.parent / "bad"


@pytest.mark.parametrize("name,words", [
    ("malformed.xml", ["malformed XML"]),
    ("not-xml.txt", ["malformed XML"]),
    ("binary-garbage.bin", ["cannot decode"]),
    ("wrong-root.xml", ["root element is <domain>"]),
    ("billion-laughs.xml", ["DOCTYPE", "entity expansion"]),
    ("xxe-file.xml", ["DOCTYPE"]),
    ("xxe-network.xml", ["DOCTYPE"]),
    ("xxe-parameter-entity.xml", ["DOCTYPE"]),
    ("external-dtd.xml", ["DOCTYPE"]),
    ("bad-mac.xml", ["/network/ip/dhcp/host", "MAC"]),
    ("bad-ip.xml", ["/network/ip", "invalid IP"]),
    ("bad-int.xml", ["/network/mtu", "unsigned integer"]),
])
def test_bad_network_files_are_one_located_line_and_left_alone(capsys, tmp_path, name, words):
    path = tmp_path / name
    path.write_bytes((BAD / name).read_bytes())
    code, out, err = run(capsys, path, "add", "ip-dhcp-host", HOST, "--in-place")
    assert_one_line_error(code, out, err, str(path), *words)
    assert path.read_bytes() == (BAD / name).read_bytes()
    assert re.search(rf"error: {re.escape(str(path))}:\d+: ", err), err   # file:line first
