"""Typed shortcuts (``add ip-dhcp-host --mac M --ip I --name N``): each gives exactly the edit
the hand-written fragment gives, in ``edit``, ``update --batch`` lines and the library
(``netupdate.fragment``); a bad value gets the same located error as bad XML.  Also: every
example in the ``--help`` texts runs (from the source tree) and exits 0."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.cli import ALL_VERBS, main

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "fixtures" / "networks"
NAT = NETWORKS / "nat-default.xml"

# (file, command, section, options, the XML a user writes)
CASES = [
    (NAT, "add", "ip-dhcp-host", ["--mac", "52:54:00:00:00:42", "--ip", "192.168.122.42",
                                  "--name", "web1"],
     "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>"),
    (NAT, "add", "dns-host", ["--ip", "192.168.122.50", "--hostname", "web", "--hostname",
                              "www"],
     "<host ip='192.168.122.50'><hostname>web</hostname><hostname>www</hostname></host>"),
    (NAT, "add", "dns-txt", ["--name", "example", "--value", "v=spf1 -all"],
     "<txt name='example' value='v=spf1 -all'/>"),
    (NAT, "add", "dns-srv", ["--service", "ldap", "--protocol", "tcp", "--domain",
                             "example.com", "--target", "ldap.example.com", "--port", "389",
                             "--priority", "10", "--weight", "5"],
     "<srv service='ldap' protocol='tcp' domain='example.com' target='ldap.example.com' "
     "port='389' priority='10' weight='5'/>"),
    (NETWORKS / "isolated.xml", "add", "ip-dhcp-range", ["--start", "172.16.10.100",
                                                         "--end", "172.16.10.120"],
     "<range start='172.16.10.100' end='172.16.10.120'/>"),
    (NAT, "add", "portgroup", ["--name", "engineering", "--default"],
     "<portgroup name='engineering' default='yes'/>"),
    (NAT, "modify", "bridge", ["--name", "virbr0", "--stp", "off", "--delay", "2"],
     "<bridge name='virbr0' stp='off' delay='2'/>"),
    (NETWORKS / "nat-dns-txt.xml", "delete", "dns-txt", ["--name", "example"],
     "<txt name='example'/>"),
]


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path,command,section,options,xml", CASES,
                         ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_a_shortcut_is_the_fragment_a_user_writes(path, command, section, options, xml):
    by_hand = run("edit", path, command, section, xml)
    typed = run("edit", path, command, section, *options)
    assert typed == by_hand and by_hand[0] == 0, by_hand[2]


def test_the_library_takes_keywords():
    assert netupdate.fragment("ip-dhcp-host", mac="52:54:00:00:00:42", name="web1",
                              ip="192.168.122.42") == \
        '<host mac="52:54:00:00:00:42" name="web1" ip="192.168.122.42"/>'
    assert netupdate.fragment("bridge", stp=False, delay=0) == '<bridge stp="off" delay="0"/>'
    with pytest.raises(netupdate.InvalidFragmentError, match="takes"):
        netupdate.fragment("dns-txt", mac="x")


MACS = st.lists(st.integers(0, 255), min_size=5, max_size=5).map(
    lambda b: ":".join(f"{x:02x}" for x in [0x52, *b]))
NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1,
                max_size=12).filter(lambda n: n[0].isalpha())
ANY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=40)
@given(mac=st.one_of(MACS, ANY), last=st.integers(2, 254), name=st.one_of(NAMES, ANY))
@example(mac="52:00:00:00:00:00", last=2, name="--")   # argparse < 3.12 made --name=-- []
@example(mac="zz:00:00:00:00:01", last=9, name="web")   # placed in the file, it is not there
@example(mac="52:00:00:00:00:01", last=9, name="a b")
def test_generated_hosts_match_the_hand_written_xml_errors_included(mac, last, name):
    """Whatever the values (valid, malformed, quotes, ``<``, control characters), the shortcut
    gives the result, or the same error line, as the XML with the same values."""
    from xml.sax.saxutils import quoteattr
    ip = f"192.168.122.{last}"
    # --opt=VALUE: a value that starts with '-' is an option name when it stands alone (as in
    # git and every argparse tool)
    typed = run("edit", NAT, "add", "ip-dhcp-host", f"--mac={mac}", f"--ip={ip}",
                f"--name={name}")
    try:
        xml = f"<host mac={quoteattr(mac)} name={quoteattr(name)} ip='{ip}'/>"
        netupdate.fragment("ip-dhcp-host", mac=mac, name=name, ip=ip)
    except netupdate.InvalidFragmentError:   # no XML can carry the value (NUL, ...)
        assert typed[0] == 1 and typed[2].startswith("netupdate: error: ip-dhcp-host: ")
        return
    by_hand = run("edit", NAT, "add", "ip-dhcp-host", xml)
    assert typed == by_hand
    if "invalid <host>" in typed[2] or "Cannot parse" in typed[2]:
        assert str(NAT) not in typed[2], typed[2]   # a bad value of the fragment: not in FILE


def test_shortcuts_and_xml_together_are_refused():
    code, _, err = run("edit", NAT, "add", "ip-dhcp-host", "<host/>", "--mac", "x")
    assert code == 2 and "either the XML fragment or the typed options" in err


def test_batch_lines_take_shortcuts():
    from netupdate.cli.batchlines import expand
    from netupdate.edit.batch import parse_batch
    typed = ("# hosts\nadd ip-dhcp-host --mac 52:54:00:00:00:42 --ip 192.168.122.42 --name w\n"
             "add dns-host --ip 192.168.122.50 --hostname web\n"
             "delete --node-spec=/network/dns/txt[1]\n"
             "add ip-dhcp-range --parent-index 0 --start 192.168.122.2 --end 192.168.122.9\n")
    got = parse_batch(expand(typed))
    assert [(u.line, u.command, u.section, u.parent_index, u.node_spec) for u in got] == [
        (2, "add", "ip-dhcp-host", -1, None), (3, "add", "dns-host", -1, None),
        (4, "delete", None, -1, "/network/dns/txt[1]"), (5, "add", "ip-dhcp-range", 0, None)]
    network = netupdate.load(NAT)
    for update in got:
        if update.section:
            network.update(update.command, update.section, update.xml,
                           parent_index=update.parent_index)
    from netupdate.cli.options import Usage
    with pytest.raises(Usage, match="batch line 2: unknown section"):
        expand("\nadd ip-dhcp-hots --mac 52:54:00:00:00:42\n")


# ---------------------------------------------------------------------- the --help examples
def _examples(text: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("examples"):
            inside = True
            continue
        if inside and not line.startswith("  "):
            inside = False
        if inside and lines and lines[-1].endswith("\\"):   # continued, as in a shell
            lines[-1] = lines[-1][:-1] + line.strip()
        elif inside and "netupdate " in line:
            lines.append(line.strip().split("   ")[0])
    return lines


def test_help_is_at_most_100_columns():
    """docs/cli.md: help text is at most 100 columns wide (a long example is continued)."""
    for verb in ([], *([v] for v in ALL_VERBS)):
        text = run(*verb, "--help")[1]
        assert max(map(len, text.splitlines())) <= 100, verb


def test_every_help_example_runs(tmp_path):
    """Parsed out of --help (top level and each verb) and run in a copy of the source tree's
    fixtures, with network 'default' defined: each exits 0."""
    pytest.importorskip("libvirt")   # one example uses -c test:///default
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "netupdate").write_text(f"#!/bin/sh\nexec {sys.executable} -m netupdate \"$@\"\n")
    (bindir / "netupdate").chmod(0o755)
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "NETUPDATE_STATE_DIR": str(tmp_path / "state")}
    env.pop("NETUPDATE_CONNECT", None)
    subprocess.run(["netupdate", "define", str(NAT)], env=env, check=True, capture_output=True)
    examples = []
    for verb in ([], ["edit"], ["validate"], ["diff"], ["update"]):
        examples += _examples(run(*verb, "--help")[1])
    assert len(examples) >= 12 and any(re.search(r"validate .*fixtures", e) for e in examples)
    for line in examples:
        result = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, (line, result.stderr)


def test_update_takes_shortcuts_and_batch_lines_from_stdin(tmp_path, monkeypatch):
    """On a defined network of the embedded runtime (not running: its config is edited)."""
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    assert run("define", NAT)[0] == 0
    code, out, err = run("--json", "update", "default", "add", "ip-dhcp-host", "--mac",
                         "52:54:00:00:00:42", "--ip", "192.168.122.42", "--name", "web1",
                         "--dry-run")
    import json
    data = json.loads(out)
    assert code == 0 and data["config"] == "would-change" and data["applied"] is False, err
    assert "web1" not in run("dumpxml", "default", "--inactive")[1]
    code, out, err = run("update", "default", "add", "ip-dhcp-host", "--mac",
                         "52:54:00:00:00:42", "--ip", "192.168.122.42", "--name", "web1")
    assert code == 0, err
    assert "<host mac='52:54:00:00:00:42' name='web1' ip='192.168.122.42'/>" in \
        run("dumpxml", "default", "--inactive")[1]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        b"add dns-host --ip 192.168.122.50 --hostname web\n"
        b"add dns-txt --name example --value v1\n")))
    code, out, err = run("update", "default", "--batch", "-")
    assert code == 0, err
    xml = run("dumpxml", "default", "--inactive")[1]
    assert "<hostname>web</hostname>" in xml and "<txt name='example' value='v1'/>" in xml
