"""A process as /proc shows it, read with ``os.read`` (``statedir.read_file``): the fields of
its stat line and its command line.  The runtime asks about dnsmasq (``dnsmasqd``), the
transactions about their timer (``txn.state``)."""

from __future__ import annotations

from netupdate.store.statedir import read_file

PF_EXITING = 0x4   # in the flags of the stat line: set as the process starts exiting


def stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first, flags seventh, user
    and system time twelfth and thirteenth); None: no such process."""
    try:
        data = read_file(f"/proc/{pid}/stat")
    except OSError:
        return None
    return None if data is None or b")" not in data else data.rsplit(b")", 1)[1].split()


def living(fields: list[bytes] | None) -> bool:
    """Whether ``stat`` fields are a process's that is neither gone nor a zombie."""
    return fields is not None and fields[0] not in (b"Z", b"X")


def running(fields: list[bytes] | None) -> bool:
    """``living``, and not exiting either (its command line already reads empty then, and
    its sockets may still be open)."""
    return living(fields) and not int(fields[6]) & PF_EXITING


def cmdline(pid: int) -> list[str] | None:
    """The arguments of ``pid`` (empty for an exiting process or a kernel thread); None: no
    such process."""
    try:
        raw = read_file(f"/proc/{pid}/cmdline")
    except OSError:
        return None
    return None if raw is None else [part.decode(errors="replace")
                                     for part in raw.split(b"\0") if part]
