"""dnsmasq conf generation: our own versions of libvirt's 27 networkxml2conf cases (spec §6).

Each case is ``fixtures/dnsmasq/<case>.xml`` with the expected conf lines after the six header lines
in ``<case>.conf`` (written from §6 by hand, not generated), and where it matters the expected
``.hostsfile`` / ``.addnhosts``.
"""

from pathlib import Path

import pytest

import netupdate
from netupdate.render import dnsmasq
from netupdate.render.dnsmasq import Paths
from netupdate.sections import dns_host
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections import ip_dhcp_range as DHCP_RANGE

CASES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "dnsmasq"
CASES = sorted(p.stem for p in CASES_DIR.glob("*.xml"))


def _defs(case: str):
    return netupdate.load(CASES_DIR / f"{case}.xml").defs


def test_all_27_conftest_cases_are_here():
    assert len(CASES) == 27
    for case in CASES:
        assert (CASES_DIR / f"{case}.conf").exists(), case


@pytest.mark.parametrize("case", CASES)
def test_conf_lines(case):
    defs = _defs(case)
    lines = dnsmasq.conf_lines(defs, paths=Paths.libvirt(defs.name))
    expected = (CASES_DIR / f"{case}.conf").read_text().splitlines()
    assert len(lines[:6]) == 6 and all(line.startswith("##") for line in lines[:6])
    assert lines[2] == f"##    virsh net-edit {defs.name}"
    assert lines[6:] == expected


@pytest.mark.parametrize("case", [c for c in CASES if (CASES_DIR / f"{c}.hostsfile").exists()])
def test_hostsfile(case):
    expected = (CASES_DIR / f"{case}.hostsfile").read_text()
    assert dnsmasq.hostsfile_text(_defs(case)) == expected


@pytest.mark.parametrize("case", [c for c in CASES if (CASES_DIR / f"{c}.addnhosts").exists()])
def test_addnhosts(case):
    expected = (CASES_DIR / f"{case}.addnhosts").read_text()
    assert dnsmasq.addnhosts_text(_defs(case)) == expected


def test_conf_text_ends_with_newline_and_joins_lines():
    defs = _defs("nat-network")
    paths = Paths.libvirt(defs.name)
    text = dnsmasq.conf_text(defs, paths=paths)
    assert text.endswith("\n") and text.splitlines() == dnsmasq.conf_lines(defs, paths=paths)


def test_runtime_layout_uses_hostsdirs_pidfile_and_leasefile():
    defs = _defs("nat-network")
    paths = Paths(dir="/run/nu/n", name="nat-network", pid_file="/run/nu/n/dnsmasq.pid",
                  lease_file="/run/nu/n/leases", dhcp_hostsdir="/run/nu/n/dhcp-hosts",
                  hostsdir="/run/nu/n/dns-hosts")
    lines = dnsmasq.conf_lines(defs, paths=paths, bridge="nubr0")
    assert "pid-file=/run/nu/n/dnsmasq.pid" in lines
    assert lines.index("pid-file=/run/nu/n/dnsmasq.pid") < lines.index("except-interface=lo")
    assert "dhcp-leasefile=/run/nu/n/leases" in lines
    assert "interface=nubr0" in lines
    assert "dhcp-hostsdir=/run/nu/n/dhcp-hosts" in lines
    assert "hostsdir=/run/nu/n/dns-hosts" in lines
    assert not any(line.startswith(("dhcp-hostsfile=", "addn-hosts=")) for line in lines)
    # same position as the files they replace
    libvirt = dnsmasq.conf_lines(defs, paths=Paths.libvirt(defs.name))
    assert lines.index("dhcp-hostsdir=/run/nu/n/dhcp-hosts") - lines.index("enable-ra") == \
        libvirt.index(f"dhcp-hostsfile={dnsmasq.LIBVIRT_DIR}/nat-network.hostsfile") \
        - libvirt.index("enable-ra")


def test_dns_disabled_has_no_hostsdir():
    defs = _defs("routed-network-no-dns")
    paths = Paths(dir="/d", name="x", dhcp_hostsdir="/d/dh", hostsdir="/d/h")
    lines = dnsmasq.conf_lines(defs, paths=paths)
    assert "port=0" in lines and not any(line.startswith("hostsdir=") for line in lines)


def test_dhcp_host_files_one_per_host_with_stable_names():
    defs = _defs("dhcp6-nat-network")
    files = dnsmasq.dhcp_host_files(defs)
    assert files == {
        "v4-mac-52-54-00-aa-00-01": "52:54:00:aa:00:01,192.168.160.10\n",
        "v4-name-byname": "byname,192.168.160.11\n",
        "v6-id-0-3-0-1-0-16-3e-44-55-33": "id:0:3:0:1:0:16:3e:44:55:33,[2001:db8:160::1:23]\n",
    }
    # the content of the files is exactly the hostsfile
    assert sorted("".join(files.values()).splitlines()) == sorted(dnsmasq.dhcp_host_lines(defs))


def test_dhcp_host_file_name_ignores_mac_spelling_and_hashes_odd_names():
    a = netupdate.load("<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp>"
                       "<host mac='52:54:00:AB:00:01' ip='10.0.0.5'/>"
                       f"<host name='{'a' * 60}.{'b' * 59}' ip='10.0.0.6'/>"
                       "</dhcp></ip></network>").defs
    h1, h2 = a.ips[0].dhcp.hosts
    assert HOST.file_name(h1, 4) == "v4-mac-52-54-00-ab-00-01"
    odd = HOST.file_name(h2, 4)
    assert odd.startswith("v4-name-x") and len(odd) < 40   # too long a name is hashed
    assert odd == HOST.file_name(h2, 4)


def test_dns_host_files_one_per_address_merged():
    defs = _defs("nat-network-dns-hosts")
    assert dnsmasq.dns_host_files(defs) == {
        "ip-192.168.154.1": "192.168.154.1 host gateway third\n",
        "ip-192.168.154.2": "192.168.154.2 other\n",
        "ip-2001-db8--5": "2001:db8::5 six\n",
    }
    assert dns_host.file_name("2001:db8:0::5") == "ip-2001-db8--5"


def test_needs_dnsmasq():
    assert dnsmasq.needs_dnsmasq(_defs("nat-network"))
    assert dnsmasq.needs_dnsmasq(_defs("routed-network"))  # DNS on
    no_ip = netupdate.load("<network><name>n</name><bridge name='b'/></network>").defs
    assert not dnsmasq.needs_dnsmasq(no_ip)
    silent = netupdate.load("<network><name>n</name><dns enable='no'/>"
                            "<ip address='10.0.0.1' prefix='24'/></network>").defs
    assert not dnsmasq.needs_dnsmasq(silent)


def test_ptr_zone_refuses_odd_prefix():
    defs = netupdate.load("<network><name>n</name>"
                          "<ip address='10.0.0.1' prefix='20' localPtr='yes'/></network>").defs
    with pytest.raises(netupdate.NetupdateError, match="multiple of 8"):
        dnsmasq.conf_lines(defs, paths=Paths.libvirt("n"))


def test_lease_text():
    defs = _defs("leasetime-seconds")
    rng = defs.ips[0].dhcp.ranges[0]
    assert DHCP_RANGE.lease_text(rng.lease) == "3600s"
    assert DHCP_RANGE.lease_text(None) is None


@pytest.mark.parametrize("version, client, name, line", [
    (4, "52:54:00:00:00:01", "vm", "52:54:00:00:00:01,{ip},vm"),
    (4, "52:54:00:00:00:01", None, "52:54:00:00:00:01,{ip}"),
    (4, None, "vm", "vm,{ip}"),
    (4, None, None, None),
    (6, "0:3:0:1", "vm", "id:0:3:0:1,vm,[{ip}]"),
    (6, "0:3:0:1", None, "id:0:3:0:1,[{ip}]"),
    (6, None, "vm", "vm,[{ip}]"),
    (6, None, None, None),
])
def test_dhcp_host_line_shapes(version, client, name, line):
    """The spec's hostsfile shapes: the client (MAC, or id: for IPv6) first, the name after the
    address for IPv4 and before it for IPv6; no client and no name, no line."""
    from netupdate.model import values as T
    from netupdate.model.defs import DhcpHost
    ip = T.parse_ip("192.168.9.10" if version == 4 else "2001:db8::10")
    client_field = {} if client is None else (
        {"mac": T.MAC(client)} if version == 4 else {"id": T.DUID(client)})
    host = DhcpHost(name=name, ip=ip, **client_field)
    assert dnsmasq.dhcp_host_line(host, version) == (None if line is None
                                                     else line.format(ip=ip))
