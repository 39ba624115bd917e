"""Network definition -> dnsmasq configuration text (pure: no I/O).

``conf_text`` follows libvirt's mapping (``networkDnsmasqConfContents``, see the spec §6) line by
line.  Two layouts of the host lists are supported:

* libvirt's: ``dhcp-hostsfile=<dir>/<name>.hostsfile`` and ``addn-hosts=<dir>/<name>.addnhosts``
  (``Paths.libvirt(name)``), which needs a SIGHUP for every host change;
* netupdate's runtime: ``dhcp-hostsdir=DIR`` and ``hostsdir=DIR`` *instead of* those two files,
  with one file per host (``dhcp_host_files``, ``dns_host_files``).  dnsmasq reads new and changed
  files there through inotify, so adding a DHCP host and any DNS host change need no signal at all;
  a DHCP host that is modified or deleted still needs a SIGHUP to forget the old record.
"""

from __future__ import annotations

from dataclasses import dataclass

from netupdate import sections as S
from netupdate.model import text as TC
from netupdate.model.defs import DhcpHost, Lease, NetworkDef
from netupdate.sections import dns as DNS
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import ip as IP
from netupdate.sections import ip_dhcp_host as HOST
from netupdate.sections import ip_dhcp_range as DHCP_RANGE

LIBVIRT_DIR = "/var/lib/libvirt/dnsmasq"
_safe = TC.ensure


@dataclass(frozen=True)
class Paths:
    """Where dnsmasq finds its files.

    With ``dhcp_hostsdir`` / ``hostsdir`` set, the conf names those directories instead of the
    ``hostsfile`` / ``addnhosts`` files.  ``pid_file`` and ``lease_file`` are written only when set
    (real runs).
    """

    dir: str
    name: str
    pid_file: str | None = None
    lease_file: str | None = None
    dhcp_hostsdir: str | None = None
    hostsdir: str | None = None
    servers_file: str | None = None   # the forwarders go there (SIGHUP re-reads it)

    @classmethod
    def libvirt(cls, name: str, dir: str = LIBVIRT_DIR) -> Paths:
        return cls(dir=dir, name=name)

    @property
    def hostsfile(self) -> str:
        return f"{self.dir}/{_xml_escape(self.name)}.hostsfile"

    @property
    def addnhosts(self) -> str:
        return f"{self.dir}/{_xml_escape(self.name)}.addnhosts"


def _xml_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


# ---------------------------------------------------------------------- helpers on the model


def needs_dnsmasq(defs: NetworkDef) -> bool:
    """False when libvirt would not start dnsmasq: no ``<ip>`` at all, or neither DHCP, TFTP nor
    DNS on any of them."""
    if not defs.ips:
        return False
    served = any(ip.has_dhcp or ip.tftp_root is not None for ip in defs.ips)
    return served or DNS.enabled(defs)


def _lease_suffix(lease: Lease | None) -> str:
    text = DHCP_RANGE.lease_text(lease)
    return f",{text}" if text else ""


# ---------------------------------------------------------------------- the conf
def header(name: str) -> list[str]:
    return [
        "##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE",
        "##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:",
        f"##    virsh net-edit {name}",
        "## or netupdate (netupdate update NAME COMMAND SECTION XML).",
        "##",
        "## dnsmasq conf file created by netupdate",
    ]


def conf_lines(defs: NetworkDef, *, paths: Paths, bridge: str | None = None) -> list[str]:
    """The dnsmasq conf as a list of lines (no newlines), in libvirt's order.  Every text value
    is checked again (``textcheck``): one that would change the structure of the conf raises
    ``UnsafeValueError``."""
    enabled = DNS.enabled(defs)
    bridge = bridge or (defs.bridge.name if defs.bridge is not None else None)
    out = header(_safe(TC.network_name, defs.name or paths.name, "the network name"))
    out.append("strict-order")
    out += _dns_head(defs, enabled, paths.servers_file)
    out += _slot("domain", defs)
    if enabled:
        out += _slot("ptr", defs)
    out += DNS.plain_names_lines(defs)
    if paths.pid_file:
        out.append(f"pid-file={_safe(TC.path, paths.pid_file, 'the pid file')}")
    if paths.lease_file:
        out.append(f"dhcp-leasefile={_safe(TC.path, paths.lease_file, 'the lease file')}")
    out.append("except-interface=lo")
    out.append("bind-dynamic")
    if bridge:
        out.append(f"interface={_safe(TC.iface_name, bridge, 'the bridge name')}")
    out += _slot("isolated", defs)
    if enabled:
        out += _slot("records", defs)
    out += _slot("tftp", defs)
    out += _slot("dhcp", defs)
    v4, v6 = IP.dhcp_ips(defs)
    if v4 is not None or v6 is not None:
        if paths.dhcp_hostsdir:
            out.append(f"dhcp-hostsdir={_safe(TC.path, paths.dhcp_hostsdir, 'a directory')}")
        else:
            out.append(f"dhcp-hostsfile={_safe(TC.path, paths.hostsfile, 'a file name')}")
    if enabled:
        if paths.hostsdir:
            out.append(f"hostsdir={_safe(TC.path, paths.hostsdir, 'a directory')}")
        else:
            out.append(f"addn-hosts={_safe(TC.path, paths.addnhosts, 'a file name')}")
    out += _slot("mtu", defs)
    out += _slot("ra", defs)
    out += [_safe(TC.dnsmasq_option, o, "a dnsmasq option") for o in defs.dnsmasq_options]
    for line in out:
        _safe(TC.one_line, line, "a dnsmasq conf line")
    return out


def _dns_head(defs: NetworkDef, enabled: bool, servers_file: str | None) -> list[str]:
    """``port=0``, or the forwarders: as conf lines, or (the live runtime) in ``servers_file``,
    which SIGHUP re-reads, with only ``no-resolv`` left in the conf."""
    if not (enabled and servers_file):
        return _slot("dns", defs)
    return [f"servers-file={_safe(TC.path, servers_file, 'the servers file')}",
            *(["no-resolv"] if DNS.no_resolv(defs.dns) else [])]


def conf_text(defs: NetworkDef, *, paths: Paths, bridge: str | None = None) -> str:
    """The dnsmasq conf file for ``defs``; see ``conf_lines``."""
    return "\n".join(conf_lines(defs, paths=paths, bridge=bridge)) + "\n"


def _slot(name: str, defs: NetworkDef) -> list[str]:
    """The conf lines of the sections whose modules fill slot ``name`` (``DNSMASQ_SLOT``; a
    module filling several slots has a tuple and takes the slot), in the registry's order."""
    out = []
    for module in S.MODULES.values():
        slot = getattr(module, "DNSMASQ_SLOT", None)
        if slot == name:
            out += module.dnsmasq_lines(defs)
        elif isinstance(slot, tuple) and name in slot:
            out += module.dnsmasq_lines(defs, name)
    return out


# ---------------------------------------------------------------------- DHCP hosts
def dhcp_host_line(host: DhcpHost, version: int) -> str | None:
    """One ``dhcp-hostsfile`` line for ``host`` (None when dnsmasq could not use it)."""
    line = HOST.hosts_line(host, version)
    return None if line is None else line + _lease_suffix(host.lease)


def _dhcp_hosts(defs: NetworkDef):
    for ip in IP.dhcp_ips(defs):
        if ip is not None:
            for host in ip.dhcp.hosts:
                yield ip.version, host


def dhcp_host_lines(defs: NetworkDef) -> list[str]:
    """The ``dhcp-hostsfile`` lines: IPv4 hosts first, then IPv6, in document order."""
    return [line for version, host in _dhcp_hosts(defs)
            if (line := dhcp_host_line(host, version)) is not None]


def dhcp_host_files(defs: NetworkDef) -> dict[str, str]:
    """``{file name: content}`` for ``--dhcp-hostsdir``: one file per host (hosts that share a key
    share a file, one line each)."""
    files: dict[str, list[str]] = {}
    for version, host in _dhcp_hosts(defs):
        line = dhcp_host_line(host, version)
        if line is not None:
            files.setdefault(HOST.file_name(host, version), []).append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in files.items()}


# ---------------------------------------------------------------------- DNS hosts
def dns_host_lines(defs: NetworkDef) -> list[str]:
    """The ``addn-hosts`` lines: one per distinct address, in first-seen order, hostnames of
    every ``<host>`` with that address merged, each followed by a tab (libvirt's format)."""
    return [ip + "\t" + "".join(f"{name}\t" for name in names)
            for ip, names in DNS_HOST.by_address(defs).items()]


def dns_host_files(defs: NetworkDef) -> dict[str, str]:
    """``{file name: content}`` for ``--hostsdir``: one hosts-format file per address."""
    return {DNS_HOST.file_name(ip): f"{ip} {' '.join(names)}\n"
            for ip, names in DNS_HOST.by_address(defs).items() if names}


def addnhosts_text(defs: NetworkDef) -> str:
    return "".join(line + "\n" for line in dns_host_lines(defs))


def hostsfile_text(defs: NetworkDef) -> str:
    return "".join(line + "\n" for line in dhcp_host_lines(defs))
