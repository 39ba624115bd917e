"""What pip installs for the shell: the man page and the completion scripts, both generated
from the argument parser (contrib/generate.py), so they never drift from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATE = ROOT / "contrib" / "generate.py"
BASH_SCRIPT = ROOT / "contrib" / "completion" / "netupdate"
NAT = ROOT / "fixtures" / "networks" / "nat-default.xml"


def test_the_generated_files_are_up_to_date():
    pytest.importorskip("build_manpages")
    result = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_setup_installs_them():
    text = (ROOT / "setup.cfg").read_text()
    for path in ("contrib/man/netupdate.1", "contrib/completion/netupdate",
                 "contrib/completion/_netupdate", "contrib/completion/netupdate.fish"):
        assert f"= {path}\n" in text and (ROOT / path).is_file()


def test_the_man_page_renders():
    if not shutil.which("man"):
        pytest.skip("no man(1)")
    result = subprocess.run(["man", "-l", str(ROOT / "contrib" / "man" / "netupdate.1")],
                            capture_output=True, text=True, env={**os.environ, "MANPAGER": "cat",
                                                                 "PAGER": "cat",
                                                                 "MANWIDTH": "100"})
    assert result.returncode == 0, result.stderr
    page = result.stdout
    for words in ("NETUPDATE(1)", "SYNOPSIS", "netupdate edit", "netupdate update",
                  "--connect", "--mac", "exit status:", "4   no such network"):
        assert words in page, words
    assert "_expire" not in page
    # laid-out blocks stay as written (man fills paragraphs): the examples one per line, the
    # exit table one code per line, a usage's continuation lines under it
    from netupdate.errors import EXIT_CODES
    lines = [line.strip() for line in page.splitlines()]
    for code, text in EXIT_CODES.items():
        assert f"{code:<3} {text}" in lines, (code, text)
    assert "netupdate -c test:///default list" in lines
    at = lines.index("netupdate edit fixtures/networks/nat-default.xml add ip-dhcp-host \\")
    assert lines[at + 1] == "--mac 52:54:00:00:00:10 --ip 192.168.122.10 --name vm1"


@pytest.fixture
def shell_env(tmp_path):
    """PATH with a ``netupdate`` that runs this tree, and a state dir with network
    'default'."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    program = bindir / "netupdate"
    program.write_text(f"#!/bin/sh\nexec {sys.executable} -m netupdate \"$@\"\n")
    program.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "NETUPDATE_STATE_DIR": str(tmp_path / "state")}
    env.pop("NETUPDATE_CONNECT", None)
    subprocess.run([str(program), "define", str(NAT)], env=env, check=True,
                   capture_output=True)
    return env


COMPLETE = r'''
source "$1"; shift
complete -p netupdate >/dev/null || exit 9
for line in "$@"; do
    COMP_LINE="$line"; COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<< "$line"; [[ "$line" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    _python_argcomplete netupdate "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
    compgen -W "${COMPREPLY[*]}" -- "${COMP_WORDS[-1]}" | sort | tr '\n' ' '; echo
done
'''


def complete(env, *lines: str) -> list[set[str]]:
    if not shutil.which("bash"):
        pytest.skip("no bash")
    result = subprocess.run(["bash", "-c", COMPLETE, "bash", str(BASH_SCRIPT), *lines],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [set(row.split()) for row in result.stdout.splitlines()]


def test_bash_completes_verbs_commands_sections_options_and_networks(shell_env):
    got = complete(shell_env, "netupdate ed", "netupdate edit net.xml a",
                   "netupdate edit net.xml add ip-dhcp-h", "netupdate update default add "
                   "ip-dhcp-host --ma", "netupdate status ", "netupdate change ",
                   "netupdate --sta")
    assert got == [{"edit"}, {"add", "add-first", "add-last"}, {"ip-dhcp-host"}, {"--mac"},
                   {"default"}, {"start", "commit", "rollback", "status"}, {"--state-dir"}]


def test_bash_completes_the_networks_of_the_connection_given(shell_env, tmp_path):
    """Network names come from ``-c URI`` or ``--state-dir DIR`` wherever they are on the line
    (before or after the verb), and no internal verb is offered."""
    pytest.importorskip("libvirt")
    empty = tmp_path / "empty"
    env = {**shell_env, "NETUPDATE_STATE_DIR": str(empty)}   # no embedded network
    got = complete(env, "netupdate -c test:///default dumpxml ",
                   "netupdate dumpxml -c test:///default d",
                   f"netupdate --state-dir {tmp_path / 'state'} status ", "netupdate change _",
                   "netupdate update default add dns-host --ip 1.2.3.4 --hostn")
    assert got == [{"default"}, {"default"}, {"default"}, set(), {"--hostname"}]


def test_bash_offers_after_a_section_only_the_typed_options_it_takes(shell_env):
    """Every section with typed shortcuts, through ``update`` and ``edit``: after it, the typed
    options of that section and none of another's (the verb's other options stay); before a
    section, or for one without shortcuts, none of another section's."""
    from netupdate.cli.editargs import SHORTCUTS
    from netupdate.edit.shortcuts import FIELDS, keywords
    typed = {flag: key for key, (flags, _kw) in SHORTCUTS.items() for flag in flags}
    sections = sorted(FIELDS)
    lines = [f"netupdate update default add {section} --" for section in sections] + \
        [f"netupdate edit net.xml modify {section} --" for section in sections] + \
        ["netupdate update default add ip --", "netupdate update default add --"]
    got = complete(shell_env, *lines)
    for section, offered in zip(sections * 2, got[:-2], strict=True):
        assert {typed[f] for f in offered if f in typed} == set(keywords(section)), section
        assert "--parent-index" in offered and "--node-spec" in offered, section
        assert "--batch" not in offered, section
    no_shortcuts, no_section = got[-2:]
    assert not no_shortcuts & set(typed) and "--dry-run" in no_shortcuts
    assert set(typed) <= no_section and "--batch" in no_section
