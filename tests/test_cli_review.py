"""A demanding user's review of issue 15: what the conventions promised and a first try missed.

Did-you-mean for a global option mistyped before the verb and for a short option with two
letters swapped; a typed option that the section does not take is a usage error (exit 2, with
the verb's usage; in a batch, located by its line); ``--state-dir`` with ``-c URI`` is a usage
error; committing or rolling back a change that is not open is "not found" (exit 4);
``--quiet`` prints an update's summary line only."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netupdate import errors as E
from netupdate.cli import build_parser, main
from netupdate.cli.editargs import SHORTCUTS
from netupdate.cli.options import GLOBAL_FLAGS
from netupdate.edit.shortcuts import FIELDS, keywords

NAT = Path(__file__).resolve().parent.parent / "fixtures" / "networks" / "nat-default.xml"
VERBS = ("list", "update", "edit", "status", "apply")
POSITIONALS = {"list": [], "update": ["default", "add", "ip-dhcp-host", "<host/>"],
               "edit": ["f.xml", "add", "ip-dhcp-host", "<host/>"], "status": ["default"],
               "apply": ["default", "f.xml"]}


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    return tmp_path / "state"


def _swap(word: str, index: int) -> str:
    return word[:index] + word[index + 1] + word[index] + word[index + 2:]


# ---------------------------------------------------------------------- did-you-mean
@settings(max_examples=60)
@given(verb=st.sampled_from(VERBS), data=st.data())
def test_two_swapped_letters_of_any_option_get_it_suggested(verb, data):
    """``--mca`` is ``--mac``: a swap in a short option is below difflib's ratio."""
    options = build_parser(verb).verbs[verb].option_names()
    option = data.draw(st.sampled_from([o for o in options if len(o) >= 4]))
    bare = option.lstrip("-")
    typo = option[:len(option) - len(bare)] + _swap(bare, data.draw(
        st.integers(0, len(bare) - 2)))
    assume(typo not in options and not any(o.startswith(typo) for o in options))
    code, _, err = run(verb, *POSITIONALS[verb], typo)
    assert code == 2 and f"did you mean '{option}' instead of {typo!r}?" in err, err


@settings(max_examples=40)
@given(option=st.sampled_from(sorted(f for f in GLOBAL_FLAGS if f.startswith("--"))),
       data=st.data())
def test_a_global_option_mistyped_before_the_verb_gets_did_you_mean(option, data):
    bare = option[2:]
    index = data.draw(st.integers(0, len(bare) - 2))
    typo = "--" + data.draw(st.sampled_from([_swap(bare, index),
                                             bare[:index] + bare[index + 1:]]))
    assume(not any(f.startswith(typo) for f in GLOBAL_FLAGS))
    code, out, err = run("--json", typo, "list")
    assert code == 2 and f"unknown option {typo!r} before the command" in err
    assert f"did you mean {option!r}?" in err
    assert json.loads(out)["code"] == "usage"


def test_a_wrong_global_option_gets_no_suggestion():
    code, _, err = run("--bogus", "list")
    assert code == 2 and "did you mean" not in err


# ---------------------------------------------------------------------- typed options
@st.composite
def misfits(draw):
    """(section, an option it does not take)."""
    section = draw(st.sampled_from(sorted(FIELDS)))
    key = draw(st.sampled_from(sorted(set(SHORTCUTS) - keywords(section))))
    return section, key


def _value(key: str) -> str:
    return {"stp": "on", "local": "yes"}.get(key, "1")


@settings(max_examples=40)
@given(misfit=misfits())
def test_an_option_the_section_does_not_take_is_a_usage_error(misfit):
    section, key = misfit
    option = SHORTCUTS[key][0][0]
    argv = [option] if key == "default" else [option, _value(key)]
    code, out, err = run("--json", "edit", NAT, "add", section, *argv)
    assert code == E.EXIT_USAGE, err
    assert err.startswith("usage: netupdate edit ") and f"not {option}" in err
    assert "Traceback" not in err and json.loads(out)["code"] == "usage"


@settings(max_examples=40)
@given(misfit=misfits(), before=st.integers(0, 3))
def test_a_batch_line_with_a_misfit_option_names_its_line_once(misfit, before):
    from netupdate.cli.batchlines import expand
    from netupdate.cli.options import Usage
    section, key = misfit
    option = SHORTCUTS[key][0][0]
    line = f"add {section} {option}" + ("" if key == "default" else f" {_value(key)}")
    good = "add dns-host --ip 192.168.122.5 --hostname a"
    with pytest.raises(Usage) as caught:
        expand("\n".join([good] * before + [line]) + "\n")
    assert caught.value.batch_line == before + 1
    assert str(caught.value).startswith(f"batch line {before + 1}: {section} takes ")
    assert f"not {option}" in str(caught.value)


BAD_LINES = [   # typed and XML lines: usage errors (2) and refusals (1)
    "add dns-host --mac 52:54:00:00:00:01 --ip 192.168.122.9",
    "add ip-dhcp-hots --mac 52:54:00:00:00:01 --ip 192.168.122.9",
    "add dns-host --ip 192.168.122.9 --hostnmae x",
    "ip-dhcp-host add --mac 52:54:00:00:00:01 --ip 192.168.122.9",
    "add ip-dhcp-host --mac 52:54:00:00:00:0g --ip 192.168.122.9",
    "add ip-dhcp-hots <host/>",
    "ad ip-dhcp-host <host mac='52:54:00:00:00:01' ip='192.168.122.9'/>",
    "ip-dhcp-host add <host mac='52:54:00:00:00:01' ip='192.168.122.9'/>",
    "add ip-dhcp-host <host mac='zz:54:00:00:00:01' ip='192.168.122.9'/>",
    "delete dns-host <host ip='192.168.122.250'/>",
    "add ip-dhcp-range <range start='10.0.0.1' end='10.0.0.9'/>",
]


@settings(max_examples=40, deadline=None)
@given(bad=st.sampled_from(BAD_LINES), before=st.integers(0, 2), json_out=st.booleans())
def test_a_bad_batch_line_exits_as_the_same_update_would(tmp_path_factory, bad, before,
                                                           json_out):
    """A refused batch line exits with the code, and the error code, of the same words given
    to ``update`` on the command line (a usage error 2 with its hint or did-you-mean, a
    refusal 1), named by the batch file and its line; with --json the error is the last JSON
    line of the batch's output, whenever it was found, and the only error object."""
    import shlex
    folder = tmp_path_factory.mktemp("batch")
    state = folder / "state"
    batch = folder / "b.txt"
    good = [f"add dns-host --ip 192.168.122.{5 + i} --hostname a{i}" for i in range(before)]
    batch.write_text("\n".join([*good, bad]) + "\n")
    assert run("--state-dir", state, "define", NAT)[0] == 0
    words = shlex.split(bad) if "<" not in bad else bad.split(" ", 2)
    direct, out, err = run("--json", "--state-dir", state, "update", "default", *words)
    kind, why = json.loads(out)["code"], json.loads(out)["error"]
    assert direct in (E.EXIT_USAGE, E.EXIT_ERROR) and "Traceback" not in err
    code, out, err = run("--state-dir", state, "update", "default", "--batch", batch,
                         *(["--json"] if json_out else []))
    assert code == direct, (bad, err)
    place = f"batch line {before + 1}: " if code == E.EXIT_USAGE else f"{batch}:{before + 1}: "
    same = re.split("[:;]", why)[0]   # the same reason (the hint's order names no NAME)
    assert place in err and same in err and "Traceback" not in err, err
    if json_out:
        lines = [json.loads(line) for line in out.splitlines()]
        assert [e["event"] for e in lines].count("error") == 1 and lines[-1]["event"] == "error"
        assert (lines[-1]["exit"], lines[-1]["code"]) == (direct, kind)
        assert (lines[-1]["file"], lines[-1]["line"]) == (str(batch), before + 1)
    else:
        assert out == ""
    assert run("--state-dir", state, "dumpxml", "default")[1] == NAT.read_text()


def test_a_batch_line_typo_gets_did_you_mean_and_one_location():
    from netupdate.cli.batchlines import expand
    from netupdate.cli.options import Usage
    with pytest.raises(Usage) as caught:
        expand("add ip-dhcp-host --mca 52:54:00:00:00:01\n")
    assert str(caught.value) == ("batch line 1: unrecognized arguments: --mca "
                                 "52:54:00:00:00:01; did you mean '--mac' instead of '--mca'?")
    with pytest.raises(Usage) as caught:
        expand("\nadd dns-hots --ip 192.168.122.5\n")
    assert str(caught.value).startswith("batch line 2: unknown section 'dns-hots'")


# ---------------------------------------------------------------------- exit codes
@pytest.mark.parametrize("command", ["commit", "rollback"])
def test_no_open_change_is_not_found(state, command):
    assert run("define", NAT)[0] == 0
    code, out, err = run("--json", "change", command, "default")
    assert code == E.EXIT_NOT_FOUND, err
    assert err == "netupdate: error: no change is open on network 'default'\n"
    last = json.loads(out) if command == "commit" else json.loads(out.splitlines()[-1])
    assert last["code"] == "not-found"


BATCH = "add dns-txt <txt name='a' value='b'/>\nadd dns-host <host ip='zz'><hostname>a</hostname></host>\n"


@pytest.mark.parametrize("argv", [["change", "rollback", "default"],
                                  ["apply", "default", NAT.parent / "routed.xml"],
                                  ["update", "default", "--batch", "BATCH"]])
def test_a_json_lines_stream_ends_in_one_error_line(state, tmp_path, argv):
    """``apply``, ``--batch`` and ``change rollback`` print JSON lines: their error is the last
    line, with the error object's keys, not an indented object after it."""
    assert run("define", NAT)[0] == 0
    (tmp_path / "batch").write_text(BATCH)
    code, out, _ = run("--json", *[tmp_path / "batch" if a == "BATCH" else a for a in argv])
    assert code in (E.EXIT_ERROR, E.EXIT_NOT_FOUND)
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["event"] == "error" and lines[-1]["exit"] == code
    assert {"error", "code", "file", "line", "path", "restored"} <= set(lines[-1])
    if "--batch" in argv:
        assert lines[-1]["line"] == 2


@pytest.mark.parametrize("where", ["before", "after"])
def test_state_dir_with_a_libvirt_uri_is_a_usage_error(tmp_path, where):
    options = ["-c", "test:///default", "--state-dir", tmp_path]
    argv = [*options, "list"] if where == "before" else ["list", *options]
    code, out, err = run("--json", *argv)
    assert code == E.EXIT_USAGE and err.startswith("usage: netupdate list")
    assert "--state-dir is the embedded runtime's" in err and "uri=None" not in err
    assert json.loads(out)["code"] == "usage"


def test_quiet_update_prints_its_summary_only(monkeypatch):
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    argv = ["-c", "test:///default", "update", "default", "add", "dns-host", "--ip",
            "192.168.122.9", "--hostname", "quiet", "--config", "--dry-run"]
    code, full, _ = run(*argv)
    assert code == 0 and len(full.splitlines()) > 1
    code, out, _ = run("-q", *argv)
    assert code == 0 and out == full.splitlines()[0] + "\n"
    assert out.startswith("Would update network default")


# ---------------------------------------------------------------------- wrong order
@settings(max_examples=30)
@given(section=st.sampled_from(sorted(FIELDS)),
       command=st.sampled_from(["add", "add-first", "modify", "delete"]),
       verb=st.sampled_from(["edit", "update", "batch"]))
def test_the_section_before_the_command_gets_a_hint(section, command, verb):
    from netupdate.cli.batchlines import expand
    from netupdate.cli.options import Usage
    order = {"edit": "FILE COMMAND SECTION XML", "update": "NAME COMMAND SECTION XML",
             "batch": "COMMAND SECTION XML"}[verb]
    hint = f"{section!r} is a SECTION, but the COMMAND comes first: {order} (e.g. add {section}"
    if verb == "batch":
        with pytest.raises(Usage) as caught:
            expand(f"{section} {command} --name x\n")
        assert str(caught.value).startswith(f"batch line 1: {hint}")
        return
    code, _, err = run(verb, "f.xml" if verb == "edit" else "default", section, command,
                       "<x/>")
    assert code == E.EXIT_USAGE and f"netupdate {verb}: error: {hint}" in err


@pytest.mark.parametrize("fmt", ["text", "github", "junit"])
def test_json_with_another_format_is_a_usage_error(fmt):
    """``--format`` silently won over ``--json``: the two ask for different outputs."""
    code, out, err = run("validate", "--json", "--format", fmt,
                         "fixtures/networks/nat-default.xml")
    assert code == 2
    assert json.loads(out)["error"] == f"--json conflicts with --format {fmt}"
    assert run("validate", "--json", "--format", "json",
               "fixtures/networks/nat-default.xml")[0] == 0


def test_a_refused_item_of_a_json_batch_is_named_as_an_item(tmp_path):
    """A JSON batch's updates are items, not lines: ``b.json: batch item 2: PATH: ...`` (a
    line number of that file would point elsewhere)."""
    state, batch = tmp_path / "state", tmp_path / "b.json"
    batch.write_text(json.dumps([["add", "dns-txt", "<txt name='a' value='1'/>"],
                                 ["delete", "dns-host", "<host ip='192.168.122.250'/>"]]))
    assert run("--state-dir", state, "define", NAT)[0] == 0
    code, out, err = run("--state-dir", state, "update", "default", "--batch", batch)
    assert code == E.EXIT_ERROR and err.startswith(f"netupdate: error: {batch}: batch item 2: ")
    code, out, err = run("--json", "--state-dir", state, "update", "default", "--batch", batch)
    error = json.loads(out.splitlines()[-1])
    assert (error["file"], error["line"], error["code"]) == (str(batch), 2, "not-found")
    assert run("--state-dir", state, "dumpxml", "default")[1] == NAT.read_text()
