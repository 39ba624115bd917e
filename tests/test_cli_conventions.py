"""The command line's conventions (issue 15): global options before or after the verb, options
and positionals intermixed, ``-`` for stdin, JSON errors, the exit-code table, did-you-mean,
the verb's own usage on its errors, wrong-order hints, hidden internal verbs, colour."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate import errors as E
from netupdate.cli import ALL_VERBS, main, parse
from netupdate.cli.options import fill_defaults

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "fixtures" / "networks"
NAT = NETWORKS / "nat-default.xml"
HOST = "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state(tmp_path, monkeypatch):
    """An empty state directory for the embedded runtime (no network is started)."""
    path = tmp_path / "state"
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(path))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    return path


def stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


# ---------------------------------------------------------------------- global options
# the positionals of each verb (what the parse needs, not a real network)
VERB_ARGS = {
    "edit": ["net.xml", "add", "dns-txt", "<txt name='a' value='b'/>"],
    "validate": ["net.xml"], "diff": ["a.xml", "b.xml"], "define": ["net.xml"],
    "start": ["n"], "stop": ["n"], "destroy": ["n"], "undefine": ["n"], "list": [],
    "dumpxml": ["n"], "status": ["n"], "update": ["n", "add", "dns-txt", "<txt/>"],
    "apply": ["n", "net.xml"], "change": ["status", "n"], "recover": [], "autostart": ["n"],
    "leases": ["n"], "check": ["n"], "server": ["status"],
}
GLOBALS = {  # option words -> (dest, value)
    ("-c", "test:///default"): ("connect", "test:///default"),
    ("--connect=test:///default",): ("connect", "test:///default"),
    ("--state-dir", "/tmp/nu-x"): ("state_dir", "/tmp/nu-x"),
    ("--json",): ("json", True),
    ("-q",): ("verbosity", -1),
    ("--verbose",): ("verbosity", 1),
    ("--color", "never"): ("color", "never"),
}


def test_the_table_covers_every_verb():
    assert set(VERB_ARGS) == set(ALL_VERBS)


@settings(max_examples=150)
@given(verb=st.sampled_from(sorted(VERB_ARGS)),
       chosen=st.lists(st.sampled_from(sorted(GLOBALS)), max_size=3,
                       unique_by=lambda o: GLOBALS[o][0]),
       data=st.data())
def test_global_options_work_before_and_after_the_verb(verb, chosen, data):
    """Wherever a global option goes (before the verb as with virsh and git, right after it,
    between or after the positionals), the command line means the same."""
    words = [verb, *VERB_ARGS[verb]]
    plain = vars(fill_defaults(parse(list(words))))
    for option in chosen:
        words.insert(data.draw(st.integers(0, len(words)), label=f"position of {option}"),
                     option)
    argv = [w for option in words for w in (option if isinstance(option, tuple) else (option,))]
    got = vars(fill_defaults(parse(argv)))
    expected = dict(plain, **dict(GLOBALS[o] for o in chosen))
    expected["connect_given"] = any(GLOBALS[o][0] == "connect" for o in chosen)
    from netupdate.cli.options import Parser
    assert {k: v for k, v in got.items() if not isinstance(v, Parser)} == \
        {k: v for k, v in expected.items() if not isinstance(v, Parser)}


def test_network_commands_take_the_connection_before_the_verb(capsys):
    pytest.importorskip("libvirt")
    code, out, err = run(capsys, "-c", "test:///default", "list", "--name")
    assert (code, out) == (0, "default\n"), err
    code, out, _ = run(capsys, "--json", "-c", "test:///default", "list")
    assert code == 0 and json.loads(out)[0]["name"] == "default"


def test_an_xml_fragment_may_follow_node_spec(capsys):
    """The batch format's order, ``modify --node-spec XPATH XML``, works on the command line."""
    code, out, err = run(capsys, "edit", NAT, "add", "--node-spec", "/network/ip/dhcp", HOST)
    assert code == 0, err and HOST in out
    code, out, err = run(capsys, "edit", NAT, "add", "ip-dhcp-host", "--print-diff", HOST)
    assert code == 0 and "+      <host mac='52:54:00:00:00:42'" in out, err


# ---------------------------------------------------------------------- stdin
def test_dash_reads_the_network_file_from_stdin(capsys, monkeypatch):
    stdin(monkeypatch, NAT.read_bytes())
    code, out, err = run(capsys, "edit", "-", "add", "ip-dhcp-host", HOST)
    assert code == 0, err
    assert "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>" in out


def test_dash_reads_the_fragment_from_stdin(capsys, monkeypatch):
    stdin(monkeypatch, HOST.encode())
    code, out, err = run(capsys, "edit", NAT, "add", "ip-dhcp-host", "-")
    assert code == 0 and HOST in out, err


def test_stdin_is_read_once(capsys, monkeypatch):
    stdin(monkeypatch, NAT.read_bytes())
    code, _, err = run(capsys, "edit", "-", "add", "ip-dhcp-host", "-")
    assert code == 2 and "can be read only once" in err


def test_dash_in_diff_and_define(capsys, monkeypatch, state):
    stdin(monkeypatch, NAT.read_bytes())
    code, out, err = run(capsys, "diff", "-", NETWORKS / "nat-hosts.xml")
    assert code == 0 and "ip-dhcp-host" in out, err
    stdin(monkeypatch, NAT.read_bytes())
    code, out, err = run(capsys, "define", "-")
    assert code == 0 and out == "Network default defined from -\n", err


# ---------------------------------------------------------------------- JSON
def test_errors_are_json_with_json(capsys):
    code, out, err = run(capsys, "edit", NAT, "add", "ip-dhcp-range",
                         "<range start='10.0.0.1' end='10.0.0.9'/>", "--json")
    assert code == E.EXIT_ERROR
    data = json.loads(out)
    assert data["exit"] == 1 and data["code"] == "invalid-operation"
    assert "not entirely within network" in data["error"]
    assert set(data) >= {"error", "code", "exit", "file", "line", "path"}
    assert err.startswith("netupdate: error: ") and err.count("\n") == 1


def test_usage_errors_are_json_with_json(capsys):
    code, out, err = run(capsys, "--json", "edit", NAT, "add", "ip-dhcp-hots", HOST)
    assert code == E.EXIT_USAGE
    data = json.loads(out)
    assert data["code"] == "usage" and data["exit"] == 2
    assert "did you mean 'ip-dhcp-host'" in data["error"]
    assert data["usage"].startswith("usage: netupdate edit")


def test_edit_json(capsys):
    code, out, err = run(capsys, "edit", NAT, "add", "ip-dhcp-host", HOST, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["changed"] is True and HOST in data["xml"] and "+      <host" in data["diff"]
    assert [a["kind"] for a in data["plan"]] == ["dnsmasq-none"]


def test_define_dumpxml_and_undefine_json(capsys, state):
    assert json.loads(run(capsys, "--json", "define", NAT)[1]) == {
        "network": "default", "defined": True, "file": str(NAT)}
    data = json.loads(run(capsys, "dumpxml", "default", "--json")[1])
    assert data["network"] == "default" and "<name>default</name>" in data["xml"]
    code, out, _ = run(capsys, "undefine", "--json", "default")
    assert code == 0 and json.loads(out)["undefined"] is True


# ---------------------------------------------------------------------- exit codes
def test_the_exit_code_table_is_in_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for status, meaning in E.EXIT_CODES.items():
        assert f"  {status:<4}{meaning}" in out
    assert len(set(E.EXIT_CODES)) == len(E.EXIT_CODES) == 10


def test_not_defined_exits_4_on_every_network_verb(capsys, state):
    for argv in (["status", "nosuch"], ["dumpxml", "nosuch"], ["start", "nosuch"],
                 ["stop", "nosuch"], ["undefine", "nosuch"], ["change", "status", "nosuch"],
                 ["update", "nosuch", "add", "ip-dhcp-host", HOST], ["diff", "nosuch"]):
        code, _, err = run(capsys, *argv)
        assert code == E.EXIT_NOT_FOUND, argv
        assert err == "netupdate: error: network 'nosuch' is not defined\n", argv


def test_not_defined_suggests_a_close_name(capsys, state):
    run(capsys, "define", NAT)
    code, _, err = run(capsys, "status", "defualt")
    assert code == 4 and "did you mean 'default'?" in err


def test_degraded_is_not_not_defined(capsys, state, monkeypatch):
    from netupdate.live.embedded.connection import Connection
    run(capsys, "define", NAT)
    code, out, _ = run(capsys, "status", "default")
    assert code == 0 and "state:      inactive" in out
    real = Connection.status

    def degraded(self, name):
        import dataclasses
        return dataclasses.replace(real(self, name), problems=("dnsmasq is not running",))
    monkeypatch.setattr(Connection, "status", degraded)
    code, out, _ = run(capsys, "status", "default")
    assert code == E.EXIT_DEGRADED and "problem:    dnsmasq is not running" in out


def test_a_network_by_uuid(capsys, state):
    run(capsys, "define", NAT)
    for uuid in ("208ebe26-4295-4998-bdf6-e2d2f56b644a", "208EBE26429549 98BDF6E2D2F56B644A"
                 .replace(" ", "")):
        code, out, err = run(capsys, "dumpxml", uuid)
        assert code == 0 and "<name>default</name>" in out, err
    code, _, err = run(capsys, "status", "00000000-0000-0000-0000-000000000000")
    assert code == 4


# ---------------------------------------------------------------------- messages
def _typo(word: str, data) -> str:
    index = data.draw(st.integers(0, len(word) - 1), label="where")
    kind = data.draw(st.sampled_from(["drop", "swap", "double", "replace"]), label="typo")
    if kind == "drop":
        return word[:index] + word[index + 1:]
    if kind == "swap" and index < len(word) - 1:
        return word[:index] + word[index + 1] + word[index] + word[index + 2:]
    if kind == "replace":
        return word[:index] + data.draw(st.sampled_from("aeiouxz")) + word[index + 1:]
    return word[:index] + word[index] + word[index:]


@settings(max_examples=60)
@given(verb=st.sampled_from([v for v in ALL_VERBS if len(v) >= 4]), data=st.data())
def test_a_mistyped_verb_gets_did_you_mean(verb, data):
    typo = _typo(verb, data)
    if typo in ALL_VERBS:
        return
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([typo])
    assert code == 2
    assert f"unknown command {typo!r}; did you mean " in err.getvalue()
    assert repr(verb) in err.getvalue().split("did you mean", 1)[1]


@settings(max_examples=60)
@given(section=st.sampled_from(["ip-dhcp-host", "ip-dhcp-range", "dns-host", "dns-txt",
                                "dns-srv", "portgroup", "forward-interface"]),
       data=st.data())
def test_a_mistyped_section_gets_did_you_mean(section, data):
    from netupdate import sections
    typo = _typo(section, data)
    if typo.lower().replace("_", "-") in sections.BY_NAME:
        return
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["edit", str(NAT), "add", typo, "<x/>"])
    assert code == 2
    assert f"unknown section {typo!r}; did you mean " in err.getvalue()
    assert repr(section) in err.getvalue()


def test_a_mistyped_option_gets_did_you_mean(capsys):
    code, _, err = run(capsys, "update", "n", "add", "ip-dhcp-host", HOST, "--dry-rn")
    assert code == 2 and err.startswith("usage: netupdate update ")
    assert "did you mean '--dry-run' instead of '--dry-rn'?" in err


def test_the_wrong_order_gets_a_hint(capsys):
    code, _, err = run(capsys, "edit", "add", "ip-dhcp-host", NAT, HOST)
    assert code == 2 and "'add' is a COMMAND, but the FILE comes first" in err
    code, _, err = run(capsys, "update", "add", "default", "ip-dhcp-host", HOST)
    assert code == 2 and "but the NAME comes first" in err
    code, _, err = run(capsys, NAT, "edit", "add", "ip-dhcp-host", HOST)
    assert code == 2 and f"hint: the command comes first: netupdate edit {NAT}" in err
    # a typo of a command followed by a command word: a typo, not the wrong order
    code, _, err = run(capsys, "chnage", "status", "n")
    assert code == 2 and "did you mean 'change'?" in err and "comes first" not in err


def test_subcommand_errors_show_the_subcommand_usage(capsys):
    code, _, err = run(capsys, "validate", "--format", "yaml", NAT)
    assert code == 2 and err.startswith("usage: netupdate validate ")
    code, _, err = run(capsys, "change", "start")
    assert code == 2 and err.startswith("usage: netupdate change start ")


def test_internal_verbs_are_not_listed(capsys):
    code, out, _ = run(capsys, "change", "--help")
    assert code == 0 and "_expire" not in out
    code, _, err = run(capsys, "change", "comit", "n")
    assert code == 2 and "did you mean 'commit'?" in err and "_expire" not in err


def test_quiet_and_verbose(capsys, state):
    code, out, err = run(capsys, "-q", "define", NAT)
    assert (code, out) == (0, "")
    code, out, err = run(capsys, "validate", "-q", NAT)
    assert (code, out, err) == (0, "", "")
    code, _, err = run(capsys, "-v", "status", "nosuch")
    assert code == 4 and "Traceback" in err and err.endswith(
        "netupdate: error: network 'nosuch' is not defined\n")


def test_the_plan_never_mixes_into_the_xml_nor_contradicts_itself(capsys):
    code, out, err = run(capsys, "edit", NAT, "add", "dns-host", "--ip", "192.168.122.50",
                         "--hostname", "web", "--plan")
    assert code == 0 and out.rstrip().endswith("</network>")
    assert err.startswith("plan: no live action needed\n") and "1." not in err


# ---------------------------------------------------------------------- colour
def test_print_diff_colour(capsys, monkeypatch):
    code, out, _ = run(capsys, "edit", NAT, "add", "ip-dhcp-host", HOST, "--print-diff",
                       "--color", "always")
    assert code == 0 and "\x1b[32m+      <host" in out and "\x1b[1m--- " in out
    code, out, _ = run(capsys, "--color=never", "edit", NAT, "add", "ip-dhcp-host", HOST,
                       "--print-diff")
    assert "\x1b[" not in out
    code, out, _ = run(capsys, "edit", NAT, "add", "ip-dhcp-host", HOST, "--print-diff")
    assert "\x1b[" not in out   # auto: not a terminal


def test_color_auto_honours_no_color(monkeypatch):
    from netupdate.cli.options import use_color

    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color("auto", Tty()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color("auto", Tty()) is False and use_color("always", Tty()) is True


# ---------------------------------------------------------------------- non-root
def test_a_non_root_user_gets_one_line_and_the_permission_code(tmp_path, monkeypatch, capsys):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    import tempfile

    from asuser import as_user
    tmp_path = Path(tempfile.mkdtemp(prefix="nu-cli-", dir="/tmp"))   # others may enter it
    root_owned = tmp_path / "state"
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(root_owned))
    verbs = (["list"], ["status", "default"], ["dumpxml", "default"], ["define", str(NAT)],
             ["start", "default"], ["stop", "default"],
             ["update", "default", "add", "ip-dhcp-host", HOST])
    for argv in verbs:   # as root first: every module is imported before the switch
        main(argv)
    capsys.readouterr()
    os.chmod(tmp_path, 0o755)
    shutil.copy(NAT, tmp_path / "nat.xml")
    for argv in verbs:
        code, err = as_user(main, argv)
        assert code == E.EXIT_PERMISSION, (argv, err)
        assert err.startswith("netupdate: error: refusing state directory: ") and \
            err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    shutil.rmtree(tmp_path)


def test_a_state_dir_the_user_cannot_make_is_named_with_the_way_out(monkeypatch, capsys):
    """A non-root user whose default state directory cannot be made (HOME=/nonexistent, as
    for nobody) is told which directory it is and how to choose another, exit 6."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    from asuser import as_user
    monkeypatch.delenv("NETUPDATE_STATE_DIR", raising=False)
    for name in ("XDG_DATA_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    main(["list"])   # as root first: every module is imported before the switch
    capsys.readouterr()
    monkeypatch.setenv("HOME", "/nonexistent")
    for argv in (["define", str(NAT)],):   # (list: nothing is defined there, exit 0)
        code, err = as_user(main, argv)
        assert code == E.EXIT_PERMISSION, (argv, err)
        assert re.fullmatch(r"netupdate: error: cannot make the state directory "
                            r"/nonexistent/\.local/share/(run/)?netupdate: /nonexistent: "
                            r"Permission denied \(choose one with --state-dir DIR or "
                            r"\$NETUPDATE_STATE_DIR\)\n", err), err


def test_starting_in_a_namespace_as_a_non_root_user_says_what_it_needs(monkeypatch, capsys):
    """``start NAME --netns NS`` without the privileges gives the same clear line as without
    ``--netns`` (it said "failed to open netns"), exit 6."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    import tempfile

    from asuser import NOBODY, as_user
    folder = Path(tempfile.mkdtemp(prefix="nu-cli-", dir="/tmp"))
    os.chmod(folder, 0o755)
    state = folder / "state"
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(state))
    pytest.importorskip("pyroute2")   # as root first: every module is imported before the switch
    import ctypes  # noqa: F401

    from netupdate import libc  # noqa: F401
    from netupdate.live.embedded import world  # noqa: F401
    main(["list"])
    capsys.readouterr()
    state.mkdir(mode=0o755)
    os.chown(state, NOBODY, NOBODY)
    try:
        assert as_user(main, ["define", str(NAT)])[0] == 0
        for extra in ([], ["--netns", "nu-no-such-ns"]):
            code, err = as_user(main, ["start", "default", *extra])
            assert code == E.EXIT_PERMISSION, (extra, err)
            assert err.startswith("netupdate: error: running a network needs root with "
                                  "CAP_NET_ADMIN (running as not root)") and \
                err.count("\n") == 1, (extra, err)
    finally:
        shutil.rmtree(folder)


def test_a_file_the_user_may_not_read_or_write_exits_with_the_permission_code(monkeypatch,
                                                                             capsys):
    """EACCES on a file the command reads or writes (the network file, an output file, a file
    edited in place) exits 6 as the table says, in one line, with the JSON code
    ``permission``."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    import tempfile

    from asuser import as_user
    folder = Path(tempfile.mkdtemp(prefix="nu-cli-", dir="/tmp"))
    os.chmod(folder, 0o755)
    private, shared = folder / "private.xml", folder / "shared.xml"
    shutil.copy(NAT, private)
    shutil.copy(NAT, shared)
    os.chmod(private, 0o600)
    os.chmod(shared, 0o644)
    out = folder / "out.json"
    out.touch()
    os.chmod(out, 0o666)
    edit = ["add", "ip-dhcp-host", HOST]
    cases = (["edit", private, *edit], ["edit", shared, *edit, "--in-place"],
             ["edit", shared, *edit, "-o", folder / "new.xml"])
    main(["edit", str(shared), *edit, "--json"])   # as root first: every module is imported
    capsys.readouterr()

    def json_run(argv):
        with open(out, "w") as handle, contextlib.redirect_stdout(handle):
            return main(["--json", *map(str, argv)])
    try:
        for argv in cases:
            code, err = as_user(json_run, argv)
            assert code == E.EXIT_PERMISSION, (argv, err)
            assert err.startswith("netupdate: error: ") and err.count("\n") == 1 and \
                "Permission denied" in err, (argv, err)
            data = json.loads(out.read_text())
            assert (data["code"], data["exit"]) == ("permission", E.EXIT_PERMISSION), data
        assert shared.read_bytes() == NAT.read_bytes() and not (folder / "new.xml").exists()
    finally:
        shutil.rmtree(folder)


def test_a_failed_rollback_is_reported_as_failed():
    from netupdate.live.txn.trywindow import expired_message as _expired
    assert _expired("n", {"outcome": "rolled-back", "reason": "timer expired"}) == (
        "No confirmation within the try window: the change was rolled-back (timer expired)")
    text = _expired("n", {"outcome": "rollback-failed", "reason": "timer expired"})
    assert "NOT rolled back: the rollback FAILED" in text and "netupdate recover" in text
    assert "was rolled back" not in text


def test_diff_of_one_file_asks_for_the_other(capsys, state):
    code, _, err = run(capsys, "diff", NAT)
    assert code == 2 and "is a file: give NEW too" in err and err.startswith("usage: netupdate diff")
