"""Generated proof that no text value can inject anything (issue 12).

Arbitrary text (control characters, commas, quotes, ``#``, unicode) goes into every string field
of a network that reaches dnsmasq, nft or a file name.  Whatever the model accepts (the read that
``update``, ``define`` and ``start`` do before rendering) must render to exactly the intended
directives: the conf has the same directives as the same network with plain values, each value
reads back as written (TXT values through dnsmasq's quoting rules), real ``dnsmasq --test``
accepts the conf and every DHCP host line, each host file holds exactly the intended record, and
``nft -c`` accepts the ruleset.  Whatever the model refuses, ``validate`` reports as a model
error, on one line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

import netupdate
from netupdate.check.semantic import validate
from netupdate.errors import ModelError
from netupdate.render import dnsmasq
from netupdate.render import nftables as firewall

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
DMQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"

# field -> (element path from <network>, attribute or None for the element's text)
FIELDS = {
    "name": ("name", None),
    "bridge": ("bridge", "name"),
    "fwd_dev": ("forward", "dev"),
    "domain": ("domain", "name"),
    "fwd_domain": ("dns/forwarder", "domain"),
    "txt_name": ("dns/txt", "name"),
    "txt_value": ("dns/txt", "value"),
    "srv_service": ("dns/srv", "service"),
    "srv_domain": ("dns/srv", "domain"),
    "srv_target": ("dns/srv", "target"),
    "dns_hostname": ("dns/host/hostname", None),
    "tftp_root": ("ip/tftp", "root"),
    "dhcp_name": ("ip/dhcp/host", "name"),
    "bootp_file": ("ip/dhcp/bootp", "file"),
    "bootp_server": ("ip/dhcp/bootp", "server"),
    "option": (f"{{{DMQ_NS}}}options/{{{DMQ_NS}}}option", "value"),
}
BENIGN = {"name": "n", "bridge": "br0", "fwd_dev": "eth0", "domain": "d.test",
          "fwd_domain": "f.test", "txt_name": "t", "txt_value": "v", "srv_service": "s",
          "srv_domain": "s.test", "srv_target": "target.test", "dns_hostname": "h",
          "tftp_root": "/srv/tftp", "dhcp_name": "g", "bootp_file": "pxe.0",
          "bootp_server": "10.70.0.2", "option": "cache-size=10"}

TEMPLATE = f"""<network xmlns:dnsmasq='{DMQ_NS}'>
  <name/><forward mode='nat'/><bridge/><domain localOnly='yes'/>
  <dns>
    <forwarder addr='10.0.0.53'/><txt/><srv protocol='tcp' port='80'/>
    <host ip='10.70.0.5'><hostname/></host>
  </dns>
  <ip address='10.70.0.1' prefix='24'>
    <tftp/>
    <dhcp>
      <range start='10.70.0.100' end='10.70.0.150'/>
      <host mac='52:54:00:70:00:05' ip='10.70.0.5'/>
      <bootp/>
    </dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option/></dnsmasq:options>
</network>"""


def _xml_char(c: str) -> bool:
    code = ord(c)
    return (code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or code >= 0x10000)


SYNTAX = list(",;#/\\\"'= \n\r\t:@*+._-") + ["\x85", "\u2028", "\xa0", "\x7f", "\u200b"]
WILD = st.text(st.one_of(st.sampled_from(SYNTAX), st.sampled_from("aZ09"),
                         st.characters(blacklist_categories=("Cs",)).filter(_xml_char)),
               max_size=24)
LABEL = r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?"
HOST = st.from_regex(rf"[a-z]([a-z0-9-]{{0,6}}[a-z0-9])?(\.{LABEL}){{0,2}}", fullmatch=True)
PRINTABLE = st.text(st.characters(blacklist_categories=("C", "Zl", "Zp"))
                    .filter(lambda c: c == " " or c.isprintable()), max_size=30)
GOOD = {
    "name": st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_:+@&'<>=-]{0,12}", fullmatch=True),
    "bridge": st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True),
    "fwd_dev": st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True),
    "domain": HOST, "fwd_domain": HOST, "srv_domain": HOST, "srv_target": HOST,
    "dns_hostname": HOST, "dhcp_name": HOST,
    "txt_name": st.from_regex(r"[a-z_][a-z0-9_-]{0,6}(\.[a-z0-9_-]{1,6}){0,2}", fullmatch=True),
    "txt_value": PRINTABLE,
    "srv_service": st.from_regex(r"[a-zA-Z0-9_+/*-]{1,12}", fullmatch=True),
    "tftp_root": st.from_regex(r"/[a-zA-Z0-9_.+&;'<>/%:=@~-]{0,20}", fullmatch=True),
    "bootp_file": st.from_regex(r"[a-zA-Z0-9_.+&;'<>/%:=@~-]{1,20}", fullmatch=True),
    "bootp_server": st.one_of(HOST, st.sampled_from(["10.70.0.2", "fd00::2"])),
    "option": st.sampled_from(["cache-size=10", "log-queries", "address=/x.test/10.0.0.9"]),
}


@st.composite
def networks(draw):
    """Values for every field: most plain, up to three arbitrary."""
    wild = draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=3))
    return {field: draw(WILD if field in wild else GOOD[field]) for field in FIELDS}


def build(values: dict) -> str:
    root = etree.fromstring(TEMPLATE)
    for field, (where, attribute) in FIELDS.items():
        element = root.find(where)
        if attribute is None:
            element.text = values[field]
        else:
            element.set(attribute, values[field])
    return etree.tostring(root, encoding="unicode")


@pytest.fixture(scope="module")
def nft_check():
    """nft_check(script) -> nft's verdict on the script, checked (-c) in a namespace made for
    this module (never the host's)."""
    if os.geteuid() != 0 or shutil.which("nft") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the injection property needs root and nft in CI")
        pytest.skip("nft -c needs root and nft")
    name = f"nu-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)

    def check(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", name, "nft", "-c", "-f", "-"],
                              input=script, capture_output=True, text=True)
    yield check
    subprocess.run(["ip", "netns", "del", name], check=True)


def dnsmasq_fields(line: str) -> list[str]:
    """The comma-separated fields of a conf line's value as dnsmasq reads them: the line is
    stripped, ``"..."`` quotes with ``\\\\`` and ``\\"`` escapes hide commas, an unquoted ``#``
    after white space starts a comment, unquoted white space around the first comma goes (a
    quoted space stays: dnsmasq serves ``txt-record=t," "`` as one space)."""
    fields, current, quoted, i, text = [], [], False, 0, line.strip()
    while i < len(text):    # current: (character, whether it was quoted)
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            current.append((text[i + 1], True))
            i += 1
        elif c == '"':
            quoted = not quoted
        elif not quoted and c == ",":
            fields.append(current)
            current = []
        elif not quoted and c == "#" and (i == 0 or text[i - 1] == " "):
            break
        else:
            current.append((c, quoted))
        i += 1
    assert not quoted, f"unbalanced quotes in {line!r}"
    fields.append(current)
    if len(fields) > 1:
        while fields[0] and fields[0][-1] == (" ", False):
            fields[0].pop()
        while fields[1] and fields[1][0] == (" ", False):
            fields[1].pop(0)
    return ["".join(c for c, _ in field) for field in fields]


def render(defs, tmp: str) -> list[str]:
    paths = dnsmasq.Paths(dir=tmp, name=defs.name, pid_file=f"{tmp}/pid",
                          lease_file=f"{tmp}/leases", dhcp_hostsdir=f"{tmp}/dh",
                          hostsdir=f"{tmp}/h")
    return dnsmasq.conf_lines(defs, paths=paths)


def keys(lines: list[str]) -> list[str]:
    return [line[:2] if line.startswith("##") else line.split("=", 1)[0] for line in lines]


def check_conf(lines: list[str], values: dict, tmp: str, defs) -> None:
    v = values
    assert lines[2] == f"##    virsh net-edit {v['name']}"
    assert lines[-1] == v["option"]
    by_key = {}
    for line in lines[6:-1]:
        key, _, rest = line.partition("=")
        by_key.setdefault(key, []).append(rest)
    assert by_key["server"] == [f"/{v['fwd_domain']}/10.0.0.53"]
    assert by_key["local"] == [f"/{v['domain']}/"] and by_key["domain"] == [v["domain"]]
    assert by_key["interface"] == [v["bridge"]]
    assert by_key["tftp-root"] == [v["tftp_root"]]
    assert by_key["dhcp-boot"] == [f"{v['bootp_file']},,{v['bootp_server']}"]
    target = "" if v["srv_target"] == "." else f",{v['srv_target']},80"
    assert by_key["srv-host"] == [f"_{v['srv_service']}._tcp.{v['srv_domain']}{target}"]
    (txt,) = by_key["txt-record"]
    assert dnsmasq_fields(txt) == [v["txt_name"], *v["txt_value"].split(",")]
    hosts = dnsmasq.dhcp_host_lines(defs)
    assert [h.split(",") for h in hosts] == [["52:54:00:70:00:05", "10.70.0.5", v["dhcp_name"]]]
    conf = os.path.join(tmp, "dnsmasq.conf")
    with open(conf, "w") as handle:
        # the option is free text (privileged input, NU-W104): its one line is checked above
        handle.write("\n".join(lines[:-1] + [f"dhcp-host={h}" for h in hosts]) + "\n")
    proc = subprocess.run([DNSMASQ, "--test", f"--conf-file={conf}"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


@settings(max_examples=int(os.environ.get("NU_INJECTION_EXAMPLES", "150")))
@given(values=networks())
@example(values={**BENIGN, "txt_value": " "})   # a quoted space: dnsmasq keeps it
# an upper-case letter and a reserved label: dnsmasq's IDN check refused the SRV record
@example(values={**BENIGN, "srv_service": "A", "srv_domain": "a0--0"})
def test_whatever_the_model_accepts_renders_exactly_the_intended_directives(values, nft_check):
    xml = build(values)
    try:
        defs = netupdate.load(xml).defs
    except ModelError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        found = [i for i in validate(xml, schema=None) if i.source == "model"]
        assert found and {i.code for i in found} <= {"NU-E020", "NU-E021"}, found
        assert all("\n" not in str(i) for i in found)
        return
    assert not [i for i in validate(xml, schema=None) if i.source == "model"]
    if not values["name"]:      # no name: define refuses it (NU-E126), nothing is rendered
        assert "NU-E126" in {i.code for i in validate(xml, schema=None)}
        return
    dot = values["srv_target"] == "."     # a target of '.' means "no service": no port
    twin = netupdate.load(build({**BENIGN, **({"srv_target": "."} if dot else {})})).defs
    with tempfile.TemporaryDirectory() as tmp:
        lines = render(defs, tmp)
        assert keys(lines[:-1]) == keys(render(twin, tmp)[:-1])
        check_conf(lines, values, tmp, defs)
    files = dnsmasq.dhcp_host_files(defs)
    assert list(files.values()) == [f"52:54:00:70:00:05,10.70.0.5,{values['dhcp_name']}\n"]
    assert all("/" not in name and not name.startswith(".") for name in files)
    dns_files = dnsmasq.dns_host_files(defs)
    assert [c.split() for c in dns_files.values()] == [["10.70.0.5", values["dns_hostname"]]]
    table = firewall.table_name(values["name"], "0123abcd")
    script = firewall.replace_script(defs, table, values["bridge"])
    twin_script = firewall.replace_script(twin, firewall.table_name("n", "0123abcd"), "br0")
    assert len(script.splitlines()) == len(twin_script.splitlines())
    assert f'"{values["bridge"]}"' in script and f'"{values["fwd_dev"]}"' in script
    proc = nft_check(script)
    assert proc.returncode == 0, proc.stderr
