"""``netupdate diff OLD NEW``: text and JSON output, colour, exit codes, policy."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from netupdate.cli import main
from netupdate.cli.options import use_color

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "fixtures" / "plans"
POLICIES = ROOT / "fixtures" / "policies"


def _case(name: str) -> tuple[str, str]:
    return str(PLANS / name / "before.xml"), str(PLANS / name / "after.xml")


def test_text_output(capsys):
    assert main(["diff", *_case("dns-txt-modified")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dns-txt\n  ~ 'info' modified\n      value: lab network -> ")
    assert "plan: 1 live action" in out
    assert "1. dnsmasq-restart" in out and "SIGHUP does not re-read it" in out
    assert "\x1b[" not in out          # captured stdout is not a terminal


def test_no_changes(capsys):
    assert main(["diff", *_case("same-netmask-prefix")]) == 0
    assert capsys.readouterr().out == "no changes\n"


def test_json_output(capsys):
    assert main(["diff", *_case("combo-ordered"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"changes", "actions"}
    assert [a["kind"] for a in data["actions"]] == json.loads(
        (PLANS / "combo-ordered" / "expected.json").read_text())["kinds"]
    for action in data["actions"]:
        assert {"kind", "reason", "section", "detail"} <= set(action)
    for change in data["changes"]:
        assert set(change) == {"section", "op", "key", "fields", "before", "after"}


def test_json_no_changes(capsys):
    assert main(["diff", *_case("same-ipv6-spelling"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"changes": [], "actions": []}


def test_exit_code_option(capsys):
    assert main(["diff", *_case("bridge-stp-off"), "--exit-code"]) == 1
    assert main(["diff", *_case("same-host-order"), "--exit-code"]) == 0
    capsys.readouterr()
    assert main(["diff", str(PLANS / "bridge-stp-off" / "before.xml"), "/no/such.xml",
                 "--exit-code"]) == 2
    assert "netupdate: error:" in capsys.readouterr().err


@pytest.mark.parametrize("exit_code", [True, False])
@pytest.mark.parametrize("new", ["/no/such.xml", "malformed"])
def test_a_json_error_is_one_object_on_stdout_with_and_without_exit_code(capsys, tmp_path,
                                                                        exit_code, new):
    if new == "malformed":
        new = tmp_path / "bad.xml"
        new.write_text("<network")
    argv = ["diff", "--json", str(PLANS / "bridge-stp-off" / "before.xml"), str(new)]
    code = main(argv + (["--exit-code"] if exit_code else []))
    out, err = capsys.readouterr()
    assert code == (2 if exit_code else 1)
    assert json.loads(out)["exit"] == code and err.count("\n") == 1, (out, err)


def test_errors_without_exit_code(capsys):
    assert main(["diff", str(PLANS / "bridge-stp-off" / "before.xml"), "/no/such.xml"]) == 1
    err = capsys.readouterr().err   # the file named once, as the error's place
    assert "/no/such.xml: cannot read: No such file or directory" in err
    assert err.count("/no/such.xml") == 1, err


def test_color(capsys):
    assert main(["diff", *_case("dhcp-host-added"), "--color", "always"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[32m  + IPv4 mac=52:54:00:10:00:0c added\x1b[0m" in out
    assert main(["diff", *_case("dhcp-host-added"), "--color", "never"]) == 0
    assert "\x1b[" not in capsys.readouterr().out


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_auto_color_needs_a_tty_and_no_NO_COLOR(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color("auto", _Tty()) is True
    assert use_color("auto", io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color("auto", _Tty()) is False
    assert use_color("always", io.StringIO()) is True


def test_policy_allowed(capsys):
    before, after = _case("dhcp-host-added")
    assert main(["diff", before, after, "--policy", str(POLICIES / "dhcp-hosts.toml")]) == 0
    assert "policy: allowed by" in capsys.readouterr().out


def test_policy_refused(capsys):
    before, after = _case("domain-name")
    assert main(["diff", before, after, "--policy", str(POLICIES / "dhcp-hosts.toml")]) == 1
    captured = capsys.readouterr()
    assert "policy refuses domain modified (name)" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("flag", ["--json", None])
def test_subprocess(flag):
    args = [sys.executable, "-m", "netupdate", "diff", *_case("bridge-stp-off")]
    if flag:
        args.append(flag)
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    if flag:
        assert json.loads(out)["actions"][0]["kind"] == "bridge-stp"
    else:
        assert "bridge-stp (stp=off)" in out


def test_help_mentions_exit_codes(capsys):
    assert main(["diff", "--help"]) == 0
    assert "--exit-code" in capsys.readouterr().out


@pytest.mark.parametrize("old", ["./no/such.xml", "no/such.xml", "{folder}"])
def test_a_path_no_network_can_be_named_is_read_as_a_file(capsys, tmp_path, monkeypatch, old):
    """``diff OLD NEW`` with an OLD that no network name can be (a '/' in it, a directory)
    reports it as a file that cannot be read (exit 1), not as an undefined network (4)."""
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    old = old.format(folder=tmp_path)
    new = str(PLANS / "bridge-stp-off" / "before.xml")
    assert main(["diff", old, new]) == 1
    err = capsys.readouterr().err
    assert f"{old}: cannot read: " in err and "not defined" not in err, err
    assert main(["diff", str(tmp_path)]) == 4   # a directory alone: a network's name
    assert "network" in capsys.readouterr().err
