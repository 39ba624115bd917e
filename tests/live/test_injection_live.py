"""Live proof that the injections of issue 12 are refused on a running network: the exact
reproductions (a tftp root through ``update --node-spec``, a TXT value, a DHCP host name with a
second reservation) change nothing, and TXT values full of dnsmasq syntax are served as written.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from netupdate.live.embedded.runtime import netns as NS

pytestmark = pytest.mark.live

NET = """<network>
  <name>injnet</name>
  <forward mode='nat'/>
  <bridge name='nubr-inj' stp='off' delay='0'/>
  <dns><txt name='motd' value='first'/></dns>
  <ip address='10.77.0.1' prefix='24'>
    <dhcp><range start='10.77.0.100' end='10.77.0.150'/></dhcp>
  </ip>
</network>
"""

# The reproductions of the security review, word for word (but the network's addresses).
ATTACKS = [
    ("add", "<tftp root='/tmp&#10;dhcp-script=/tmp/x.sh'/>", "--node-spec", "/network/ip"),
    ("add", "dns-txt", "<txt name='evil' value='x&#10;dhcp-script=/tmp/x.sh'/>"),
    ("modify", "dns-txt", "<txt name='motd' value='x&#10;dhcp-script=/tmp/x.sh'/>"),
    ("add", "dns-txt", "<txt name='evil&#10;dhcp-script=/tmp/x.sh' value='x'/>"),
    ("add", "ip-dhcp-host", "<host mac='52:54:00:77:00:09' "
     "name='web-x&#10;00:16:3e:00:00:01,10.77.0.250,stolen' ip='10.77.0.9'/>"),
]


def _files(conn, name: str) -> dict[str, bytes]:
    """Every file of the network's dnsmasq (conf and host files), and its definitions."""
    layout = conn.driver.layout(name)
    found = {}
    for root, _dirs, names in os.walk(layout.dir):
        for file in names:
            if not file.endswith((".pid", ".leases")):
                path = os.path.join(root, file)
                with open(path, "rb") as handle:
                    found[path] = handle.read()
    return found


def test_the_reproductions_are_refused_on_a_running_network(conn, netns, state_dir):
    conn.define(NET)
    conn.start("injnet")
    before, xml = _files(conn, "injnet"), conn.dumpxml("injnet")
    assert any(path.endswith("dnsmasq.conf") for path in before)
    env = {**os.environ, "NETUPDATE_STATE_DIR": state_dir}
    for attack in ATTACKS:
        proc = subprocess.run([sys.executable, "-m", "netupdate", "update", "injnet", *attack],
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 1, (attack, proc.stdout, proc.stderr)
        assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("netupdate: error:") and "Traceback" not in proc.stderr
        assert "U+000A" in proc.stderr
    assert _files(conn, "injnet") == before and conn.dumpxml("injnet") == xml
    conn.stop("injnet")
    conn.start("injnet")     # the TXT finding showed at the next start: still nothing
    after = _files(conn, "injnet")
    assert not any(b"dhcp-script" in data or b"stolen" in data for data in after.values())
    assert conn.status("injnet").state == "active"


def test_txt_values_full_of_dnsmasq_syntax_are_served_as_written(conn, netns):
    values = ["a, b", ' "quoted" ', "x # not a comment", "back\\slash \\n", "  lead,trail  ",
              "sn\u2603w,,end", "=,#,\""]
    txts = "".join(f"<txt name='t{n}' value='{_attr(v)}'/>" for n, v in enumerate(values))
    conn.define(NET.replace("<txt name='motd' value='first'/>", txts))
    conn.start("injnet")
    for n, value in enumerate(values):
        answer = NS.call(netns, _strings, "10.77.0.1", f"t{n}")
        # dnsmasq makes each comma-separated part one string of the record, as with libvirt
        assert answer == [part.encode() for part in value.split(",")], (value, answer)


def test_a_live_txt_update_verifies_what_dnsmasq_serves(conn, netns):
    """A live add or modify of a TXT value with commas, quotes or more than 255 bytes is
    verified against the strings dnsmasq really serves (one per comma-separated part, cut at
    255 bytes), so it is kept rather than rolled back."""
    conn.define(NET)
    conn.start("injnet")
    values = ["a,b", 'x","y', "z" * 300, ",", "\u00e9" * 200]
    for n, value in enumerate(values):
        result = conn.update("injnet", "add", "dns-txt", f"<txt name='w{n}' value='{_attr(value)}'/>")
        assert result.live == "applied", result
        answer = NS.call(netns, _strings, "10.77.0.1", f"w{n}")
        assert b"".join(answer) == value.replace(",", "").encode(), (value, answer)
        assert len(answer) == sum(max(1, -(-len(p.encode()) // 255)) for p in value.split(","))
    conn.update("injnet", "modify", "dns-txt", "<txt name='motd' value='1,2,3'/>")
    assert NS.call(netns, _strings, "10.77.0.1", "motd") == [b"1", b"2", b"3"]


def _attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
            .replace('"', "&quot;"))


def _strings(server: str, name: str) -> list[bytes]:
    import dns.message
    import dns.query
    reply = dns.query.udp(dns.message.make_query(name, "TXT"), server, timeout=3)
    return [s for rrset in reply.answer for rr in rrset for s in rr.strings]

