"""The libvirt lease pre-flight (``live/libvirt/guests.py``) where presence cannot be probed: a
remote daemon, or a local one without root.  Every holder then counts as present (a lease is
never released as stale behind a guest's back), a reservation of a held address is refused in
one line naming the holder and the expiry, and ``release_conflicting`` cannot release on a
remote daemon (a note says so).  The network is a stand-in reporting what
``virNetworkGetDHCPLeases`` reports; tests/live/test_backend_contract_live.py runs the probed
case against a real libvirtd."""

from __future__ import annotations

import time

import pytest

from netupdate.errors import InvalidOperationError
from netupdate.live.libvirt import guests
from netupdate.live.results import UpdateResult

pytestmark = pytest.mark.libvirt

HOLDER, TAKER, X = "52:54:00:aa:00:01", "52:54:00:aa:00:02", "10.99.0.10"
EXPIRY = int(time.time()) + 3600


def network(hosts: str) -> str:
    return (f"<network><name>nu-g</name><bridge name='nugbr0'/>"
            f"<ip address='10.99.0.1' prefix='24'><dhcp><range start='10.99.0.100' "
            f"end='10.99.0.150'/>{hosts}</dhcp></ip></network>")


class Net:
    def isActive(self):
        return 1

    def bridgeName(self):
        return "nugbr0"

    def DHCPLeases(self):
        return [{"ipaddr": X, "mac": HOLDER, "expirytime": EXPIRY, "hostname": "held",
                 "clientid": None, "iaid": None}]


class Conn:
    netns = None

    def __init__(self, local: bool):
        self.local = local
        self.uri = "qemu:///system" if local else "qemu+ssh://far/system"


@pytest.fixture(params=["remote", "local-not-root"])
def conn(request, monkeypatch):
    if request.param == "local-not-root":
        monkeypatch.setattr("os.geteuid", lambda: 1000)
    return Conn(request.param != "remote")


def test_taking_a_held_address_is_refused_in_one_line(conn):
    after = network(f"<host mac='{TAKER}' ip='{X}'/>")
    with pytest.raises(InvalidOperationError) as caught:
        guests.guard(conn, Net(), network(""), after, ())
    line = str(caught.value)
    assert "\n" not in line and f"{X} is leased until" in line and HOLDER in line
    dry = guests.guard(conn, Net(), network(""), after, (), dry_run=True)
    assert [d.action for d in dry.decisions] == ["refuse"]


def test_a_holder_that_cannot_be_probed_keeps_its_lease(conn):
    result = UpdateResult("nu-g", "delete", "ip-dhcp-host")
    found = guests.guard(conn, Net(), network(f"<host mac='{HOLDER}' ip='{X}'/>"),
                         network(""), ())
    assert [d.action for d in found.decisions] == ["keep"]     # not released as stale
    note, = guests.after(conn, Net(), found, result)
    assert note.startswith(f"lease {X} of MAC {HOLDER} (held): keep")


def test_release_conflicting_on_a_remote_daemon_says_it_could_not():
    remote = Conn(False)
    found = guests.guard(remote, Net(), network(""), network(f"<host mac='{TAKER}' ip='{X}'/>"),
                         (), release_conflicting=True)
    assert [d.action for d in found.decisions] == ["release"]
    note, = guests.after(remote, Net(), found, UpdateResult("nu-g", "add", "ip-dhcp-host"))
    assert note.startswith(f"could not release the lease of {X}: qemu+ssh://far/system is not "
                           "a local daemon")
