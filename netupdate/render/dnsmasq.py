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

import ipaddress
from dataclasses import dataclass

from netupdate import sections as S
from netupdate.errors import NetupdateError
from netupdate.model import text as TC
from netupdate.model import values as T
from netupdate.model.defs import DhcpHost, IpDef, Lease, NetworkDef
from netupdate.sections import ip_dhcp_host as HOST

LIBVIRT_DIR = "/var/lib/libvirt/dnsmasq"
_LEASE_SUFFIX = {T.LeaseUnit.SECONDS: "s", T.LeaseUnit.MINUTES: "m", T.LeaseUnit.HOURS: "h"}
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
def dns_enabled(defs: NetworkDef) -> bool:
    return defs.dns is None or defs.dns.enabled


def _dhcp_ip(defs: NetworkDef, version: int) -> IpDef | None:
    """The first ``<ip>`` of the family with DHCP ranges or hosts (libvirt serves only that one)."""
    return next((ip for ip in defs.ips_of(version) if ip.has_dhcp), None)


def dhcp_ips(defs: NetworkDef) -> tuple[IpDef | None, IpDef | None]:
    """The IPv4 and IPv6 ``<ip>`` elements whose DHCP dnsmasq serves."""
    return _dhcp_ip(defs, 4), _dhcp_ip(defs, 6)


def needs_dnsmasq(defs: NetworkDef) -> bool:
    """False when libvirt would not start dnsmasq: no ``<ip>`` at all, or neither DHCP, TFTP nor
    DNS on any of them."""
    if not defs.ips:
        return False
    served = any(ip.has_dhcp or ip.tftp_root is not None for ip in defs.ips)
    return served or dns_enabled(defs)


def lease_text(lease: Lease | None) -> str | None:
    if lease is None or lease.expiry is None:
        return None
    if lease.expiry == 0:
        return "infinite"
    unit = lease.unit if lease.unit is not None else T.LeaseUnit.MINUTES
    suffix = _LEASE_SUFFIX.get(unit)
    if suffix is None:
        return f"{lease.seconds}s" if lease.seconds is not None else None
    return f"{lease.expiry}{suffix}"


def ptr_zone(ip: IpDef) -> str:
    """The reverse DNS zone of an ``<ip>``'s network (``122.168.192.in-addr.arpa``)."""
    network = ip.network
    if network is None:
        raise NetupdateError(f"<ip> without address cannot have localPtr: {ip!r}")
    step = 8 if network.version == 4 else 4
    if network.prefixlen % step:
        raise NetupdateError(
            f"PTR domain for IPv{network.version} network with prefix {network.prefixlen} "
            f"is not supported (the prefix must be a multiple of {step})")
    labels = network.network_address.reverse_pointer.split(".")
    suffix = 2  # in-addr.arpa / ip6.arpa
    keep = network.prefixlen // step
    return ".".join(labels[len(labels) - suffix - keep:])


def _netmask(ip: IpDef) -> str:
    return str(ip.network.netmask)


def _lease_suffix(lease: Lease | None) -> str:
    text = lease_text(lease)
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
    enabled = dns_enabled(defs)
    bridge = bridge or (defs.bridge.name if defs.bridge is not None else None)
    out = header(_safe(TC.network_name, defs.name or paths.name, "the network name"))
    out.append("strict-order")
    if not enabled:
        out.append("port=0")
    out += _dns_lines(defs, enabled)
    if paths.pid_file:
        out.append(f"pid-file={_safe(TC.path, paths.pid_file, 'the pid file')}")
    if paths.lease_file:
        out.append(f"dhcp-leasefile={_safe(TC.path, paths.lease_file, 'the lease file')}")
    out.append("except-interface=lo")
    out.append("bind-dynamic")
    if bridge:
        out.append(f"interface={_safe(TC.iface_name, bridge, 'the bridge name')}")
    if defs.forward is None:
        out += ["dhcp-option=3", "no-resolv", "ra-param=*,0,0"]
    if enabled:
        out += _slot("records", defs)
    tftp = [f"tftp-root={_safe(TC.absolute_path, ip.tftp_root, 'the tftp root')}"
            for ip in defs.ips_of(4) if ip.tftp_root is not None]
    out += ["enable-tftp", *tftp] if tftp else []
    v4, v6 = dhcp_ips(defs)
    out += _dhcp_lines(v4, v6)
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
    if defs.mtu is not None:
        out.append(f"dhcp-option=option:mtu,{defs.mtu}")
    if v6 is not None:
        out.append("enable-ra")
    else:
        out += [f"dhcp-range={ip.address},ra-only" for ip in defs.ips_of(6)
                if ip.address is not None]
    out += [_safe(TC.dnsmasq_option, o, "a dnsmasq option") for o in defs.dnsmasq_options]
    for line in out:
        _safe(TC.one_line, line, "a dnsmasq conf line")
    return out


def _dns_lines(defs: NetworkDef, enabled: bool) -> list[str]:
    """Forwarders, the domain and the local zones."""
    dns, out = defs.dns, []
    if enabled and dns is not None and dns.forwarders:
        for fwd in dns.forwarders:
            line = "server="
            if fwd.domain:
                line += f"/{_safe(TC.hostname, fwd.domain, 'a forwarder domain')}/"
            if fwd.addr is not None:
                line += str(fwd.addr)
                if fwd.port is not None:
                    line += f"#{fwd.port}"
            else:
                line += "#"
            out.append(line)
        if any(f.addr is not None and not f.domain for f in dns.forwarders):
            out.append("no-resolv")
    out += _slot("domain", defs)
    if enabled:
        out += [f"local=/{ptr_zone(ip)}/" for ip in defs.ips if ip.local_ptr is True]
        if dns is not None and dns.forward_plain_names is False:
            out += ["domain-needed", "local=//"]
    return out


def _dhcp_lines(v4: IpDef | None, v6: IpDef | None) -> list[str]:
    """The DHCP ranges (or static mode), the bootp line and the lease limit."""
    out, lease_max = [], 0
    for ip in (v4, v6):
        if ip is None:
            continue
        for rng in ip.dhcp.ranges:
            size = _netmask(ip) if ip.version == 4 else ip.effective_prefix
            out.append(f"dhcp-range={rng.start},{rng.end},{size}{_lease_suffix(rng.lease)}")
            if rng.start is not None and rng.end is not None:
                lease_max += max(rng.size, 0)
        if not ip.dhcp.ranges:
            extra = f",{ip.effective_prefix}" if ip.version == 6 else ""
            out.append(f"dhcp-range={ip.address},static{extra}")
        if ip.version == 4:
            out += ["dhcp-no-override", "dhcp-authoritative"]
            bootp = ip.dhcp.bootp
            if bootp is not None and bootp.file:
                server = _safe(TC.server, bootp.server, "the bootp server") if bootp.server \
                    else None
                out.append(f"dhcp-boot={_safe(TC.path, bootp.file, 'the bootp file')}"
                           + (f",,{server}" if server else ""))
    if lease_max:
        out.append(f"dhcp-lease-max={lease_max}")
    return out


def conf_text(defs: NetworkDef, *, paths: Paths, bridge: str | None = None) -> str:
    """The dnsmasq conf file for ``defs``; see ``conf_lines``."""
    return "\n".join(conf_lines(defs, paths=paths, bridge=bridge)) + "\n"


def _slot(name: str, defs: NetworkDef) -> list[str]:
    """The conf lines of the sections whose modules fill slot ``name`` (``DNSMASQ_SLOT``), in
    the registry's order."""
    return [line for module in S.MODULES.values() if getattr(module, "DNSMASQ_SLOT", None) == name
            for line in module.dnsmasq_lines(defs)]


# ---------------------------------------------------------------------- DHCP hosts
def dhcp_host_line(host: DhcpHost, version: int) -> str | None:
    """One ``dhcp-hostsfile`` line for ``host`` (None when dnsmasq could not use it)."""
    line = HOST.hosts_line(host, version)
    return None if line is None else line + _lease_suffix(host.lease)


def _dhcp_hosts(defs: NetworkDef):
    for ip in dhcp_ips(defs):
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
def _dns_hosts(defs: NetworkDef) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    if defs.dns is None:
        return merged
    for host in defs.dns.hosts:
        if host.ip is None:
            continue
        names = merged.setdefault(_safe(T.ip_address, host.ip, "a DNS host"), [])
        names.extend(_safe(TC.hostname, name, "a DNS host name") for name in host.hostnames
                     if name)
    return merged


def dns_host_lines(defs: NetworkDef) -> list[str]:
    """The ``addn-hosts`` lines: one per distinct address, in first-seen order, hostnames of
    every ``<host>`` with that address merged, each followed by a tab (libvirt's format)."""
    return [ip + "\t" + "".join(f"{name}\t" for name in names)
            for ip, names in _dns_hosts(defs).items()]


def dns_host_file_name(ip) -> str:
    """A stable file name for the DNS records of address ``ip`` in ``--hostsdir``."""
    return "ip-" + str(ipaddress.ip_address(str(ip))).replace(":", "-")


def dns_host_files(defs: NetworkDef) -> dict[str, str]:
    """``{file name: content}`` for ``--hostsdir``: one hosts-format file per address."""
    return {dns_host_file_name(ip): f"{ip} {' '.join(names)}\n"
            for ip, names in _dns_hosts(defs).items() if names}


def addnhosts_text(defs: NetworkDef) -> str:
    return "".join(line + "\n" for line in dns_host_lines(defs))


def hostsfile_text(defs: NetworkDef) -> str:
    return "".join(line + "\n" for line in dhcp_host_lines(defs))
