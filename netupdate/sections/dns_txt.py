"""``dns-txt`` (libvirt section 11): ``<network><dns><txt name value>``.

Keyed by ``name``; libvirt implements add and delete (modify since 10.x, which netupdate
follows).  Each record is a dnsmasq ``txt-record=`` conf line, so a change restarts dnsmasq.
"""

from __future__ import annotations

from collections.abc import Iterator

from netupdate.errors import InvalidFragmentError
from netupdate.model import defs as M
from netupdate.model import text as TC
from netupdate.sections._spec import ADD_DELETE, ALL_OPS, CONF, MODIFY, Finding, Section, row

SECTION = Section("dns-txt", 11, ("network", "dns", "txt"), M.DnsTxt, True, ADD_DELETE,
                  ("name",), newer=MODIFY)

# no coded rule: the name's characters are the grammar's (NU-S004) and the text check's (NU-E021)
RULES = ()


def check_fragment(element, n: str, full: bool = True) -> Iterator[Finding]:
    """libvirt's parser on one ``<txt>`` (``full``: for add and modify, which need a value)."""
    name = element.get("name")
    if name is None:
        yield Finding(element, f"missing required name attribute in DNS TXT record of network {n}",
                      error=InvalidFragmentError)
        return
    if " " in name or "," in name:
        yield Finding(element, f"prohibited character in DNS TXT record name '{name}' of network "
                      f"{n}", error=InvalidFragmentError)
    elif full and element.get("value") is None:
        yield Finding(element, f"missing required value attribute in DNS TXT record named "
                      f"'{name}' of network {n}", error=InvalidFragmentError)


# how a diff names a record: by its name, quoted
KEY_IS_NAME = True

# the rule scopes the update engine re-checks after an edit of this section
RECHECK = ("dns",)

PLAN_ROWS = (
    row("dns-txt", "dns-txt", "*", ALL_OPS,
        ("dnsmasq-restart", "TXT records are txt-record= lines; " + CONF),
        libvirt="dnsmasq restart"),
)

DNSMASQ_SLOT = "records"   # after the interface lines, with the SRV records (libvirt's order)


def dnsmasq_lines(defs: M.NetworkDef) -> list[str]:
    """``txt-record=`` lines (when DNS is served: the caller checks)."""
    if defs.dns is None:
        return []
    return [f"txt-record={TC.ensure(TC.txt_name, txt.name, 'a TXT name')},"
            f"{txt_text(txt.value) if txt.value is not None else ''}" for txt in defs.dns.txts]


def txt_text(value: str) -> str:
    """A TXT value as dnsmasq reads it back.  Each comma-separated string (dnsmasq makes each
    one string of the record, as with libvirt) is written as it is when dnsmasq takes it
    literally, else double-quoted with ``\\`` and ``\"`` escaped: when it holds ``"``, ``\\``
    or ``#``, or starts (first string) or ends (last string) with spaces dnsmasq would strip."""
    parts = TC.ensure(TC.txt_value, value, "a TXT value").split(",")
    last = len(parts) - 1
    return ",".join(part if not (set(part) & set('"\\#') or (i == 0 and part[:1] == " ")
                                 or (i == last and part[-1:] == " ")) else
                    '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for i, part in enumerate(parts))


def txt_wire(value: str) -> str:
    """The character-strings dnsmasq serves for a TXT value (``txt_text``), newline-joined:
    one per comma-separated part, a part longer than 255 bytes cut into 255-byte strings."""
    strings = []
    for part in value.split(","):
        raw = part.encode()
        strings += [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return b"\n".join(strings).decode(errors="replace")


def dns_expectations(after: M.NetworkDef, before: M.NetworkDef | None) -> list[tuple]:
    """What the live check asks dnsmasq after a change of TXT records: (name, "TXT", the
    strings it must serve, present) for each record added, changed or removed."""
    def txts(defs):
        return {t.name: txt_wire(t.value or "") for t in (defs.dns.txts if defs and defs.dns
                                                          else ())}
    new, old = txts(after), txts(before)
    checks = [(name, "TXT", value, True) for name, value in new.items() if old.get(name) != value]
    return checks + [(name, "TXT", value, False) for name, value in old.items()
                     if name not in new]
