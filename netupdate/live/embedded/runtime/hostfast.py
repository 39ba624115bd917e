"""The fast path of a single DHCP or DNS host edit: that host's file is written or removed from
the ``Change`` alone (no re-read or re-render of the whole network), see ``dnsmasqd`` for the
layout of the host directories."""

from __future__ import annotations

from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.render import dnsmasq as conf
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import ip_dhcp_host as HOST


def host_change_applies(record: dict, change, kinds) -> bool:
    """Whether ``apply_host_change`` may take this edit (it may still decline)."""
    return (getattr(change, "section", None) in ("ip-dhcp-host", "dns-host")
            and bool(record.get("dnsmasq"))
            and set(kinds) <= {"none", "dnsmasq-none", "dnsmasq-sighup"})

def apply_host_change(driver, name: str, record: dict, change, kinds) -> dict | None:
    """Apply one DHCP or DNS host edit from the ``Change`` alone (no re-read of the whole
    network): write or remove that host's file, SIGHUP when the plan (or dnsmasq's
    hostsdir rules) needs it.  Returns what ``verify_host_change`` needs, or None when the
    edit does not fit the fast path (another host shares the file, or the files are not
    what the definition says), so the caller takes the general path."""
    if not host_change_applies(record, change, kinds):
        return None
    section = change.section
    dq = record["dnsmasq"]
    layout = driver.layout(name)
    before, after = change.before, change.after
    if section == "ip-dhcp-host":
        version = HOST.fast_version(change)
        if version is None:
            return None
        folder = layout.dhcp_hostsdir
        old = new = None
        if before is not None:
            old = (HOST.file_name(before, version),
                   _line(conf.dhcp_host_line(before, version)))
        if after is not None:
            new = (HOST.file_name(after, version),
                   _line(conf.dhcp_host_line(after, version)))
    else:
        folder = layout.hostsdir
        old = DNS_HOST.file_of(before) if before is not None else None
        new = DNS_HOST.file_of(after) if after is not None else None
    # where the host is now: its own file, or a line of the base file
    base_path = folder / DQ.BASE
    own = old is not None and DQ.read_file(folder / old[0]) == old[1] and old[1] is not None
    base_lines = None
    if old is not None and not own:
        base_lines = (DQ.read_file(base_path) or "").splitlines(keepends=True)
        if old[1] is None or old[1] not in base_lines:
            return None  # not where the definition says: take the general path
        base_lines.remove(old[1])
    if new is not None and (not own or new[0] != old[0]) and \
            DQ.read_file(folder / new[0]) not in (None, ""):
        return None  # another host already has that file
    writes, removes = [], []
    if new is not None and new[1] is not None:
        writes.append((folder / new[0], new[1]))
    if base_lines is not None:
        writes.append((base_path, "".join(base_lines)))
    elif own and (new is None or new[0] != old[0]):
        if section == "dns-host":
            writes.append((folder / old[0], ""))  # tombstone, see dnsmasqd
        else:
            removes.append(folder / old[0])
    if writes:
        DQ.S.atomic_write_many(writes, mode=DQ.HOST_MODE)
    for path in removes:
        DQ.S.remove(path)
    sighup = "dnsmasq-sighup" in kinds or (section == "ip-dhcp-host"
                                           and HOST.needs_sighup(old is not None))
    if sighup:
        DQ.sighup(dq["pid"], dq["conf"], layout)
    return {"section": section, "writes": writes, "removes": removes, "sighup": sighup,
            "before": before, "after": after}


def _line(text: str | None) -> str | None:
    return None if text is None else text + "\n"
