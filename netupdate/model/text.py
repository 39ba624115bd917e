"""The character sets of text values: what may reach dnsmasq, nft, a file name or a command.

This module is the one place that knows them.  The model reads each text field through one of
the converters below (a value outside its set is a located ``ModelError``, and ``NU-E021`` in
``validate``); the renderers (``dnsmasq``, ``firewall``) call the same converters again through
``ensure`` as a second line of defence, so a value that bypassed the model still cannot change
the structure of what they write.

Every converter refuses control characters (Unicode categories C*, and every separator but the
ASCII space: line and paragraph separators, no-break spaces).  The sets, in short
(``docs/validation.md`` has the table):

* host names (DHCP host, DNS ``<hostname>``, domain, forwarder domain, SRV domain and target,
  bootp server): RFC 1123, labels of letters, digits and inner hyphens, at most 63 each, at most
  253 in all.  A DHCP host name is also no lease time (``12h``) and none of dnsmasq's keywords
  ``ignore``, ``infinite`` or ``deprecated`` (dnsmasq would read it as that field).
* TXT name: labels of letters, digits, ``-`` and ``_`` (``_dmarc``), no ``-`` at a label's edge
  (dnsmasq's IDN check refuses ``aB-``); libvirt only refuses space and comma, its grammar
  allows no ``_``.  TXT value: any printable text, at most 1024
  characters; the renderer quotes what dnsmasq would otherwise read as syntax.
* SRV service: libvirt's set ``[A-Za-z0-9_+/*-]``, at most 62 (``_service`` is one DNS label),
  no ``-`` at either end (dnsmasq refuses ``_aB-`` as a bad SRV record; libvirt lets it through).
* paths (tftp root, bootp file): libvirt's file-path set without dnsmasq's separator ``,`` and
  quote and escape characters; at most 1024; the tftp root is absolute.
* interface names (bridge, forward devices): ``[A-Za-z0-9_.-]``, not ``.`` or ``..`` (the
  kernel's length limit is rule ``NU-E113``).
* network name: printable, no white space, none of ``/ , #``, no leading ``.``, at most 200
  bytes of UTF-8 (it is part of file names such as ``NAME.addnhosts``).
* any other one-line text: printable; description: printable lines.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

from netupdate.document.patterns import Pattern
from netupdate.errors import UnsafeValueError

CODE = "NU-E021"
DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"
MAX_NAME = 253          # a DNS name, without the final dot
MAX_LABEL = 63
MAX_TXT = 1024
MAX_PATH = 1024
MAX_NETWORK_NAME = 200  # bytes: NAME.addnhosts and friends must fit in NAME_MAX (255)
MAX_SERVICE = MAX_LABEL - 1

_HOST_LABEL = Pattern(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
_TXT_LABEL = Pattern(r"(?!-)[A-Za-z0-9_-]+(?<!-)\Z")
_SERVICE = Pattern(r"(?!-)[A-Za-z0-9_+/*-]+(?<!-)\Z")
_PATH = Pattern(r"[A-Za-z0-9_.+&;'<>/%:=@~-]+\Z")
_IFACE = Pattern(r"[A-Za-z0-9_.-]+\Z")
_NETWORK_BAD = Pattern(r"[/,#\s]")
_LEASE_TIME = Pattern(r"[0-9]+[smhdwSMHDW]?\Z")
DNSMASQ_KEYWORDS = frozenset({"ignore", "infinite", "deprecated"})


EXPLAINED = """
    A text value that reaches dnsmasq, nft, a file name or a command holds characters its field
    does not allow: a control character (a newline would start a new dnsmasq directive), a
    separator dnsmasq splits on (``,`` in a DHCP host name or a path, ``/`` in a domain), or it
    is too long.  The character set of each field is in ``docs/validation.md`` ("Character sets
    of text values"); the model refuses these values, so ``update``, ``define``, ``start`` and
    ``edit`` refuse them too."""


class UnsafeText(ValueError):
    """A text value outside its character set; ``code`` is its validation code."""

    code = CODE


def shown(value: str, limit: int = 60) -> str:
    """``value`` quoted on one line, control characters escaped, long values cut."""
    text = ascii(value[:limit]) if not value[:limit].isprintable() else repr(value[:limit])
    return text + ("..." if len(value) > limit else "")


def _fail(what: str, value: str, why: str):
    raise UnsafeText(f"{what} {shown(value)} {why}")


def _printable(what: str, value: str, allowed: str = "") -> None:
    stripped = value.translate({ord(c): None for c in allowed}) if allowed else value
    if not stripped.isprintable():
        bad = next(c for c in stripped if not c.isprintable())
        _fail(what, value, f"contains the control or separator character U+{ord(bad):04X}")


def one_line(value: str) -> str:
    """Any text on one line, without control characters (the default of the model)."""
    _printable("text", value)
    return value


def multi_line(value: str) -> str:
    """Text that may span lines (a description): no control characters but line breaks and
    tabs."""
    _printable("text", value, "\n\r\t")
    return value


def _dns_name(what: str, value: str, label: re.Pattern) -> str:
    if len(value) <= MAX_LABEL and label.match(value) and "--" not in value:   # one label: done
        return value
    _printable(what, value)
    if not value:
        _fail(what, value, "is empty")
    if len(value) > MAX_NAME:
        _fail(what, value, f"is longer than {MAX_NAME} characters")
    for part in value.split("."):
        if len(part) > MAX_LABEL:
            _fail(what, value, f"has a label longer than {MAX_LABEL} characters")
        if not label.match(part):
            _fail(what, value, "is not a valid DNS name (letters, digits and '-' in labels "
                  "separated by single dots; no '-' at a label's edge"
                  + (", '_' allowed)" if label is _TXT_LABEL else ")"))
        if part[2:4] == "--" and part[:4].lower() != "xn--":
            # a reserved label (RFC 5891): dnsmasq's IDN check (libidn2) refuses the whole
            # name, and the network with it, as soon as the name has an upper-case letter
            _fail(what, value, f"has the label {part!r}, with '--' as its third and fourth "
                  "characters: reserved for internationalized names ('xn--...')")
    return value


def hostname(value: str) -> str:
    """An RFC 1123 host or domain name."""
    return _dns_name("DNS name", value, _HOST_LABEL)


def srv_target(value: str) -> str:
    """An SRV target: a host name, or ``.`` (no service)."""
    return value if value == "." else _dns_name("SRV target", value, _HOST_LABEL)


def dhcp_host_name(value: str) -> str:
    """A DHCP host name: a host name that dnsmasq cannot read as another field of a
    ``dhcp-host`` line: not a lease time (``3600``, ``12h``) nor ``ignore``, ``infinite`` or
    ``deprecated``."""
    _dns_name("DHCP host name", value, _HOST_LABEL)
    if _LEASE_TIME.match(value) or value.lower() in DNSMASQ_KEYWORDS:
        _fail("DHCP host name", value, "would be read by dnsmasq as a lease time or keyword")
    return value


def txt_name(value: str) -> str:
    return _dns_name("TXT name", value, _TXT_LABEL)


def txt_value(value: str) -> str:
    _printable("TXT value", value)
    if len(value) > MAX_TXT:
        _fail("TXT value", value, f"is longer than {MAX_TXT} characters")
    return value


def srv_service(value: str) -> str:
    _printable("SRV service", value)
    if not _SERVICE.match(value) or len(value) > MAX_SERVICE:
        _fail("SRV service", value, f"must be 1 to {MAX_SERVICE} of letters, digits and _+/*- "
              "(no '-' at either end)")
    return value


def path(value: str) -> str:
    """A file path written into the dnsmasq conf."""
    _printable("path", value)
    if len(value) > MAX_PATH:
        _fail("path", value, f"is longer than {MAX_PATH} characters")
    if not _PATH.match(value):
        _fail("path", value, "may hold only letters, digits and _.+&;'<>/%:=@~- (no white "
              "space, ',', '\"', '\\' or '#')")
    return value


def absolute_path(value: str) -> str:
    path(value)
    if not value.startswith("/"):
        _fail("path", value, "must be absolute")
    return value


def iface_name(value: str) -> str:
    """A network interface name as it reaches nft, dnsmasq and ip."""
    _printable("interface name", value)
    if not _IFACE.match(value) or value in (".", ".."):
        _fail("interface name", value, "may hold only letters, digits and _.- (and is not "
              "'.' or '..')")
    return value


def network_name(value: str) -> str:
    _printable("network name", value)
    if not value or _NETWORK_BAD.search(value) or value.startswith("."):
        _fail("network name", value, "must be non-empty without white space, '/', ',' or "
              "'#', and not start with '.'")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NETWORK_NAME:
        _fail("network name", value, f"is longer than {MAX_NETWORK_NAME} bytes")
    return value


def server(value: str) -> str:
    """A bootp server: an IP address or a host name."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        return _dns_name("bootp server", value, _HOST_LABEL)


def dnsmasq_option(value: str) -> str:
    """A ``<dnsmasq:option value>``: one conf line (its content is the policy's business)."""
    _printable("dnsmasq option", value)
    return value


# <dnsmasq:options> that reach beyond the conf: validate warns about them (NU-W104) and a
# policy can deny options altogether (``dnsmasq-options = "deny"``).
_RUNS = "runs a program as root"
_READS = "makes dnsmasq read files"
_WRITES = "makes dnsmasq write a file"
_PRIVILEGE = "changes the user dnsmasq runs as"
RISKY_OPTIONS = {
    "dhcp-script": _RUNS, "dhcp-luascript": _RUNS, "conf-script": _RUNS,
    "conf-file": _READS, "conf-dir": _READS, "addn-hosts": _READS, "hostsdir": _READS,
    "dhcp-hostsfile": _READS, "dhcp-hostsdir": _READS, "dhcp-optsfile": _READS,
    "dhcp-optsdir": _READS, "servers-file": _READS, "resolv-file": _READS,
    "read-ethers": _READS, "tftp-root": "serves files to the guests",
    "pid-file": _WRITES, "dhcp-leasefile": _WRITES, "log-facility": _WRITES,
    "dumpfile": _WRITES, "user": _PRIVILEGE, "group": _PRIVILEGE, "dhcp-scriptuser": _PRIVILEGE,
}


OPTIONS_EXPLAINED = """
    A ``<dnsmasq:option>`` runs a program as root (``dhcp-script``, ``dhcp-luascript``,
    ``conf-script``), makes dnsmasq read or write files (``conf-file``, ``conf-dir``,
    ``addn-hosts``, ``hostsdir``, ``dhcp-hostsfile``, ``dhcp-optsfile``, ``servers-file``,
    ``pid-file``, ...) or changes its user.  Options are privileged input: anyone who may edit
    them may run code on the host.  Make sure this is meant; a policy can deny options
    (``dnsmasq-options = "deny"``, see ``docs/policy.md``)."""


def risky_options(root, values) -> Iterator[tuple[tuple[object, str], str]]:
    """The ``NU-W104`` check: ``((element, "value"), message)`` for each ``<dnsmasq:option>``
    of ``root`` whose value (as the model read it: ``values``) is one of ``RISKY_OPTIONS``."""
    elements = root.findall(f"{{{DNSMASQ_NS}}}options/{{{DNSMASQ_NS}}}option")
    for element, value in zip(elements, values, strict=False):
        name = (value or "").split("=", 1)[0].strip().removeprefix("--")
        if name in RISKY_OPTIONS:
            yield (element, "value"), f"dnsmasq option '{name}' {RISKY_OPTIONS[name]}"


def ensure(check: Callable[[str], object], value, where: str) -> str:
    """``value`` as text when ``check`` accepts it; else ``UnsafeValueError`` naming
    ``where`` (the renderers' second line of defence)."""
    if value is None:
        raise UnsafeValueError(f"refusing to write {where}: it is missing")
    text = str(value)
    try:
        check(text)
    except ValueError as exc:
        raise UnsafeValueError(f"refusing to write {where}: {exc}") from None
    return text
