"""Hard limits at parse, the nodeSpec cost budget, and linear grammar checks (rngthin).

Hostile inputs are generated here (nothing large is committed)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import netupdate
from netupdate.check import rnggrammar, rngthin
from netupdate.document import limits as xmllimits
from netupdate.document.source import parse_element
from netupdate.edit import xpathguard
from netupdate.errors import UnsupportedError, XMLParseError
from netupdate.model import defs as M

ROOT = Path(__file__).resolve().parent.parent


def network(body: str = "", hosts: int = 0) -> str:
    lines = "".join(f"<host mac='52:54:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}' "
                    f"name='vm{i}' ip='10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}'/>\n"
                    for i in range(1, hosts + 1))
    return ("<network>\n<name>big</name>\n" + body +
            "<ip address='10.255.255.1' netmask='255.0.0.0'>\n<dhcp>\n" + lines +
            "</dhcp>\n</ip>\n</network>\n")


def refused_at_parse(text: str, words: str) -> XMLParseError:
    for parse in (lambda: parse_element(text, "f.xml"),
                  lambda: M.load(text, filename="f.xml", check=False)):
        with pytest.raises(XMLParseError) as info:
            parse()
        message = str(info.value)
        assert message.startswith("f.xml:") and words in message, message
        assert "\n" not in message and len(message) < 300
    return info.value


# ---------------------------------------------------------------------- parser limits
@settings(max_examples=8)
@given(extra=st.integers(1, 3000))
def test_too_many_attributes_on_one_element(extra):
    count = xmllimits.MAX_ATTRIBUTES + extra
    attributes = " ".join(f"a{i}='v'" for i in range(count))
    error = refused_at_parse(network(f"<bridge {attributes}/>\n"), f"{count} attributes")
    assert error.line == 3


def test_attribute_count_at_the_limit_is_accepted():
    attributes = " ".join(f"a{i}='v'" for i in range(xmllimits.MAX_ATTRIBUTES))
    parse_element(network(f"<bridge {attributes}/>"))


@settings(max_examples=8)
@given(extra=st.integers(1, 10_000), where=st.sampled_from(["attribute", "text", "cdata",
                                                              "comment", "pi"]),
       char=st.sampled_from(["a", "<", "&amp;", "\u00e9"]))
def test_overlong_values_are_refused(extra, where, char):
    size = xmllimits.MAX_VALUE + extra
    if where == "attribute":
        value = ("a" if char == "<" else char) * size
        body = f"<bridge name='{value}'/>"
    elif where == "text":
        body = f"<description>{('x' if char == '<' else char) * size}</description>"
    elif where == "cdata":
        body = f"<description><![CDATA[{char.replace('&amp;', '&') * size}]]></description>"
    elif where == "comment":
        body = f"<!--{char.replace('&amp;', '&') * size}-->"
    else:
        body = f"<?note {char.replace('&amp;', '&') * size}?>"
    refused_at_parse(network(body), "longer than")


def test_a_long_value_at_the_limit_is_accepted():
    parse_element(network(f"<description>{'x' * xmllimits.MAX_VALUE}</description>"
                          f"<bridge name='{'b' * xmllimits.MAX_VALUE}'/>"))


def test_depth_beyond_the_limit_is_refused():
    depth = xmllimits.MAX_DEPTH   # <network> is 1, so this nests one level too deep
    refused_at_parse(network("<metadata>" + "<a>" * depth + "</a>" * depth + "</metadata>"),
                     "nested more than")
    ok = xmllimits.MAX_DEPTH - 2
    parse_element(network("<metadata>" + "<a>" * ok + "</a>" * ok + "</metadata>"))


def test_too_many_nodes_are_refused_and_100k_hosts_are_not():
    refused_at_parse(network("<metadata>" + "<a/>" * xmllimits.MAX_NODES + "</metadata>"),
                     "more than")
    parse_element(network(hosts=100_000))


def test_the_cli_refuses_a_hostile_file_in_one_line(tmp_path):
    path = tmp_path / "hostile.xml"
    path.write_text(network("<bridge " + " ".join(f"a{i}='v'" for i in range(100_000))
                            + "/>"))
    before = path.read_bytes()
    for argv in (["validate", str(path)],
                 ["edit", str(path), "add", "dns-host",
                  "<host ip='10.0.0.9'><hostname>x</hostname></host>", "--in-place"]):
        done = subprocess.run([sys.executable, "-m", "netupdate", *argv], capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 1, done
        lines = (done.stdout + done.stderr).strip().splitlines()
        assert any("hostile.xml:3" in line and "100000 attributes" in line for line in lines)
        assert "Traceback" not in done.stderr
    assert path.read_bytes() == before


# ---------------------------------------------------------------------- nodeSpec budget
HOSTILE = "//*[count(//*[count(//*) > 0]) > 0]"


def test_a_hostile_node_spec_is_stopped_and_changes_nothing():
    net = netupdate.load(network(hosts=3000))
    before = net.to_xml()
    with pytest.raises(UnsupportedError) as info:
        net.update("delete", None, None, node_spec=HOSTILE)
    assert "stopped after" in str(info.value) and net.to_xml() == before


@pytest.mark.parametrize("spec", ["string(/)", "concat(/network/name, string(/))",
                                  "count(//host)", "boolean(//host)"])
def test_a_node_spec_that_is_not_a_node_set_is_refused_without_its_value(spec):
    net = netupdate.load(network(f"<description>{'d' * 60_000}</description>", hosts=5000))
    with pytest.raises(UnsupportedError) as info:
        net.update("delete", None, None, node_spec=spec)
    message = str(info.value)
    assert "not to an element" in message and len(message) < 400
    assert "ddd" not in message and "vm1" not in message


def test_echoed_node_specs_are_capped():
    net = netupdate.load(network(hosts=3))
    spec = "/network/ip/dhcp/host[@name='" + "x" * 3000 + "']"
    with pytest.raises(netupdate.NotFoundError) as info:
        net.update("delete", None, None, node_spec=spec)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("spec,cheap", [
    ("/network/ip/dhcp/host[@mac='52:54:00:00:00:01']", True),
    ("//host[@name='vm1']", True),
    ("/network/dns/host[hostname='a']", True),
    ("(//host)[3]", True),
    ("//ip[@family='ipv6']/dhcp/host[contains(@name, 'x')]", True),
    (HOSTILE, False),
    ("//host[../range]", False),
    ("//*//*", False),
    ("//a | //b", False),
    ("/network/ip[count(//host) > 1]", False),
    ("//host[ancestor::ip]", False),
    ("string(/)", False),
])
def test_which_node_specs_run_in_process(spec, cheap):
    assert xpathguard.is_cheap(spec) is cheap


@settings(max_examples=20)
@given(position=st.integers(1, 400), costly=st.booleans())
def test_a_node_spec_selects_the_same_element_in_a_child_process(position, costly):
    net = netupdate.load(network(hosts=400))
    spec = f"/network/ip/dhcp/host[{position}]"
    if costly:   # not plainly linear: evaluated in the forked child
        spec = f"/network/ip/dhcp/host[{position}][count(../range) = 0]"
        assert not xpathguard.is_cheap(spec)
    change = net.update("delete", None, None, node_spec=spec)
    assert change.path == f"/network/ip/dhcp/host[{position}]"
    assert f"name='vm{position}'" not in net.to_xml()


# ---------------------------------------------------------------------- rngthin exactness
_HOST = st.sampled_from([
    "<host mac='52:54:00:00:00:{n:02x}' name='h{n}' ip='10.0.0.{n}'/>",
    "<host mac='52:54:00:00:00:{n:02x}' ip='10.0.0.{n}'><lease expiry='5'/></host>",
    "<host name='n{n}' ip='10.0.0.{n}'/>",
])
_ODD = st.sampled_from([
    "<host ip='10.0.0.{n}'/>",                              # no mac, no name
    "<host mac='52:54:00:00:00:{n:02x}' bogus='1'/>",       # unknown attribute
    "<host mac='zz' ip='10.0.0.{n}'/>",                     # bad value (pattern facet)
    "<host mac='52:54:00:00:00:{n:02x}'><x/></host>",       # unknown child
    "<bootp file='a'/>", "<bootp file='b'/>",               # at most one
    "<range start='10.0.0.1' end='10.0.0.9'/>",
    "<other/>",
    "text{n}",
])


@pytest.fixture
def thin_small():
    saved = rngthin.THRESHOLD, rngthin.CHUNK
    rngthin.THRESHOLD, rngthin.CHUNK = 3, 4     # thin (and chunk) even small documents
    yield
    rngthin.THRESHOLD, rngthin.CHUNK = saved


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hosts=st.lists(_HOST, min_size=4, max_size=30),
       odd=st.lists(st.tuples(st.integers(0, 30), _ODD), max_size=3))
def test_thinned_validation_answers_as_libxml2(thin_small, hosts, odd):
    parts = [h.format(n=n + 2) for n, h in enumerate(hosts)]
    for at, part in odd:
        parts.insert(min(at, len(parts)), part.format(n=at + 2))
    text = ("<network><name>n</name><ip address='10.0.0.1' prefix='8'><dhcp>"
            + "\n".join(parts) + "</dhcp></ip></network>")
    root = etree.fromstring(text)
    for start, loose in (("network", ""), ("network", "all"), ("dhcp", "")):
        element = root if start == "network" else root.find("ip/dhcp")
        for shallow in (False, True):
            expected = rnggrammar.rng_validator(start, loose, shallow).validate(
                copy.deepcopy(element))
            checker = rnggrammar.rng_acceptor(start, "").checker(loose, shallow)
            assert checker.validate(element) == expected, (start, loose, shallow)
        verdict = rnggrammar.rng_acceptor(start, loose).accepts(element)
        assert verdict is None or verdict == rnggrammar.rng_validator(start, loose, False).validate(
            copy.deepcopy(element))
