"""Typed keyword arguments in the library (``netupdate.update_xml(xml, "add", "ip-dhcp-host",
mac=..., ip=..., name=...)``, ``netupdate.load(PATH).update(...)``, ``edit_file``,
``conn.network(NAME).update(...)``): generated values for each
section give the same result (or the same error) as the command line's typed options and as
the XML a user writes."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.cli import main

ROOT = Path(__file__).resolve().parent.parent
NAT = ROOT / "fixtures" / "networks" / "nat-default.xml"
DNS_TXT = ROOT / "fixtures" / "networks" / "nat-dns-txt.xml"

NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-."), min_size=1,
                max_size=12).filter(lambda n: n[0].isalpha())
ANY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
WORDS = st.one_of(NAMES, ANY)
MACS = st.lists(st.integers(0, 255), min_size=5, max_size=5).map(
    lambda b: ":".join(f"{x:02x}" for x in [0x52, *b]))
IPS = st.one_of(st.integers(2, 254).map(lambda n: f"192.168.122.{n}"),
                st.sampled_from(["10.0.0.1", "fe80::1", "192.168.122.300", "x"]))
NUMBERS = st.one_of(st.integers(0, 70000).map(str), st.sampled_from(["-1", "ten", ""]))


def _attrs(values: dict, order: tuple[str, ...], xml_names: dict | None = None) -> str:
    names = xml_names or {}
    return "".join(f" {names.get(k, k)}={quoteattr(values[k])}" for k in order if k in values)


def _host(v):
    return f"<host{_attrs(v, ('mac', 'name', 'ip'))}/>"


def _dns_host(v):
    names = "".join(f"<hostname>{h}</hostname>" for h in v["hostname"])
    return f"<host{_attrs(v, ('ip',))}>{names}</host>"


def _txt(v):
    return f"<txt{_attrs(v, ('name', 'value'))}/>"


def _srv(v):
    return f"<srv{_attrs(v, ('service', 'protocol', 'domain', 'target', 'port', 'priority', 'weight'))}/>"  # noqa: E501


def _portgroup(v):
    return f"<portgroup{_attrs(v, ('name',))}{' default=' + repr('yes') if v.get('default') else ''}/>"  # noqa: E501


def _bridge(v):
    return f"<bridge{_attrs(v, ('name', 'stp', 'delay'))}/>"


def _optional(strategy):
    return st.one_of(st.none(), strategy)


# (file, command, section, values strategy, the XML a user writes)
SECTIONS = {
    "ip-dhcp-host": (NAT, "add", st.fixed_dictionaries(
        {"mac": st.one_of(MACS, ANY), "ip": IPS}, optional={"name": WORDS}), _host),
    "dns-host": (NAT, "add", st.fixed_dictionaries(
        {"ip": IPS, "hostname": st.lists(NAMES, min_size=1, max_size=2)}), _dns_host),
    "dns-txt": (NAT, "add", st.fixed_dictionaries({"name": WORDS, "value": ANY}), _txt),
    "dns-srv": (NAT, "add", st.fixed_dictionaries(
        {"service": WORDS, "protocol": st.sampled_from(["tcp", "udp", "sctp"]),
         "domain": NAMES, "target": NAMES},
        optional={"port": NUMBERS, "priority": NUMBERS, "weight": NUMBERS}), _srv),
    "portgroup": (NAT, "add", st.fixed_dictionaries(
        {"name": WORDS}, optional={"default": st.just(True)}), _portgroup),
    "bridge": (NAT, "modify", st.fixed_dictionaries(
        {"name": st.one_of(NAMES, st.just("virbr0"))},
        optional={"stp": st.sampled_from(["on", "off"]), "delay": NUMBERS}), _bridge),
}


def run(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _options(values: dict) -> list[str]:
    options = []
    for key, value in values.items():
        for one in value if isinstance(value, list) else [value]:
            options += ([f"--{key}"] if one is True else [f"--{key}={one}"]
                        if one.startswith("-") else [f"--{key}", one])   # as argparse wants
    return options


def test_a_value_starting_with_a_dash_gets_the_spelling_that_works():
    code, out, err = run("edit", NAT, "add", "portgroup", "--name", "-x")
    assert code == 2 and out == ""
    assert err.endswith("error: argument --name: expected one argument\n"
                        "hint: a value that starts with '-' is written --name=VALUE\n")
    code, out, err = run("edit", NAT, "add", "portgroup", "--name=-x")
    assert code == 0 and "<portgroup name='-x'/>" in out, err


def _library(text: str, command: str, section: str, xml=None, **values):
    try:
        return netupdate.update_xml(text, command, section, xml, **values), None
    except netupdate.NetupdateError as exc:
        return None, exc


@settings(max_examples=60)
@given(data=st.data(), section=st.sampled_from(sorted(SECTIONS)))
def test_keywords_are_the_cli_options_and_the_hand_written_xml(data, section):
    path, command, values_strategy, by_hand = SECTIONS[section]
    values = data.draw(values_strategy)
    text = path.read_text()
    cli = run("edit", path, command, section, *_options(values))
    keywords, error = _library(text, command, section, **values)
    event(f"{section}: {'edited' if error is None else type(error).__name__}")
    if error is not None and error.line is None and error.path is None \
            and cli[2].startswith(f"netupdate: error: {section}: "):
        return    # no XML can carry the value (a NUL, ...): refused before any XML exists
    hand, hand_error = _library(text, command, section, by_hand(values))
    assert (keywords, type(error), getattr(error, "message", None),
            getattr(error, "path", None), getattr(error, "line", None)) == \
        (hand, type(hand_error), getattr(hand_error, "message", None),
         getattr(hand_error, "path", None), getattr(hand_error, "line", None))
    if error is None:
        assert cli == (0, keywords if keywords.endswith("\n") else keywords + "\n", "")
    else:
        assert cli[0] == netupdate.errors.exit_code(error) != 0
        assert " ".join(error.message.split()) in cli[2]
    # the same keywords to load(...).update and edit_file: the same result or refusal
    for edit in (lambda: _loaded(path, command, section, values),
                 lambda: netupdate.edit_file(path, command, section, **values).edited):
        try:
            assert (edit(), None) == (keywords, error)
        except netupdate.NetupdateError as exc:
            assert error is not None and exc.message == error.message, (exc, error)


def _loaded(path, command: str, section: str, values: dict) -> str:
    network = netupdate.load(path)
    network.update(command, section, **values)
    return network.to_xml()


def test_keywords_take_section_codes_and_refuse_xml_too():
    text = NAT.read_text()
    host = {"mac": "52:54:00:00:00:42", "ip": "192.168.122.42", "name": "web1"}
    assert netupdate.update_xml(text, "add", 4, **host) == \
        netupdate.update_xml(text, "add-last", "ip-dhcp-host", _host(host))
    with pytest.raises(netupdate.InvalidFragmentError, match="either the XML fragment or"):
        netupdate.update_xml(text, "add", "ip-dhcp-host", "<host/>", mac="52:54:00:00:00:42")
    with pytest.raises(netupdate.InvalidFragmentError, match="need a section"):
        netupdate.update_xml(text, "delete", None, node_spec="/network/ip", name="x")
    with pytest.raises(netupdate.InvalidFragmentError, match="no typed shortcut"):
        netupdate.update_xml(text, "modify", "ip", name="x")
    with pytest.raises(netupdate.InvalidFragmentError, match="takes id, ip, mac, name; not mca"):
        netupdate.update_xml(text, "add", "ip-dhcp-host", mca="52:54:00:00:00:42")
    # a delete by key, as the CLI's: delete dns-txt --name example
    deleted = netupdate.update_xml(DNS_TXT.read_text(), "delete", "dns-txt", name="example")
    assert "name='example'" in DNS_TXT.read_text() and "name='example'" not in deleted
    assert run("edit", DNS_TXT, "delete", "dns-txt", "--name", "example") == (0, deleted, "")


def test_a_network_handle_takes_keywords(tmp_path):
    """On a defined (not running) network of the embedded runtime: the config gets exactly the
    fragment; the handle's own options (dry_run, ...) still reach the update."""
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        conn.define(NAT.read_text())
        net = conn.network("default")
        net.update("add", "ip-dhcp-host", mac="52:54:00:00:00:42", ip="192.168.122.42",
                   name="web1", dry_run=True)
        assert "web1" not in conn.dumpxml("default", inactive=True)
        net.update("add", "dns-host", ip="192.168.122.50", hostname=["web", "www"])
        net.update("add", "ip-dhcp-host", mac="52:54:00:00:00:42", ip="192.168.122.42",
                   name="web1")
        by_hand = netupdate.update_xml(NAT.read_text(), "add", "dns-host",
                                       "<host ip='192.168.122.50'><hostname>web</hostname>"
                                       "<hostname>www</hostname></host>")
        by_hand = netupdate.update_xml(by_hand, "add", "ip-dhcp-host",
                                       "<host mac='52:54:00:00:00:42' name='web1' "
                                       "ip='192.168.122.42'/>")
        assert conn.dumpxml("default", inactive=True) == by_hand
        with pytest.raises(netupdate.NetupdateError, match="MAC"):
            net.update("add", "ip-dhcp-host", mac="zz", ip="192.168.122.43")
