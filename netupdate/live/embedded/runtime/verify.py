"""Live verification: after a change, the running network is checked against the definition
for what the change touched (``Driver.verify``, ``Driver.verify_host_change``).

DNS checks ask the network's dnsmasq from inside its namespace.  A freshly (re)started dnsmasq
reads all its host files before it answers (about 50 µs a host: 30,000 hosts take 1.5 s on an
idle machine, several seconds on a busy one), so the wait for an answer is not a fixed
timeout: it lasts while dnsmasq keeps working (its CPU time grows), and gives up ``timeout``
seconds after it stopped working without answering, or after ``LOAD_CAP`` seconds in all.  A
SIGINT/SIGTERM that arrives during the wait ends it at once (``txn.checkpoint`` then raises).
"""

from __future__ import annotations

import socket
import time

from netupdate import sections as S
from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import bridge as BR
from netupdate.live.embedded.runtime import devices as DEV
from netupdate.live.embedded.runtime import dnsmasqd as DQ
from netupdate.live.embedded.runtime import dnsquery
from netupdate.live.embedded.runtime import ipv6conf as V6
from netupdate.live.embedded.runtime import liveset as LS
from netupdate.live.embedded.runtime import netns as NS
from netupdate.live.embedded.runtime import nft as NFT
from netupdate.live.embedded.runtime.desired import _norm_route, want_routes
from netupdate.live.embedded.runtime.observe import bridge_mismatches
from netupdate.render import dnsmasq as conf
from netupdate.render import nftables as firewall
from netupdate.sections import dns as DNS
from netupdate.sections import dns_host as DNS_HOST
from netupdate.sections import ip as IP

VERIFY_TIMEOUT = 3.0
LOAD_CAP = 300.0      # seconds a dnsmasq that keeps working may take to answer at all
SETTLE = 0.3          # restoring: a dnsmasq still reading its hosts after this passes
BRIDGE_KINDS = frozenset({"bridge-stp", "bridge-delay", "bridge-mtu", "address-add",
                          "address-remove"})
HOST_SECTIONS = frozenset({"dns-host", "dns-txt", "dns-srv", "ip-dhcp-host"})


class VerifyError(RuntimeFailure):
    """A live check did not see the expected state; ``check`` names it."""

    def __init__(self, check: str, detail: str):
        super().__init__(f"verification failed: {check}: {detail}")
        self.check = check


def verify(driver, name: str, record: dict, defs, *, before, kinds=(), sections=(),
           timeout: float = VERIFY_TIMEOUT, settle: float | None = None) -> list[str]:
    """Check the live state matches ``defs`` for what the actions touched; raises
    ``VerifyError`` naming the failed check.  Returns the checks that passed.  ``settle`` is
    for callers restoring a previous state (a rollback, a recovery: ``SETTLE``): a dnsmasq that
    has not answered after that many seconds but is still working (reading its hosts) passes
    (its conf and host files are checked), and no signal cuts the check short."""
    if record.get("pool") is not None:
        return DEV.verify(record, defs, VerifyError)
    kinds = set(kinds)
    done: list[str] = []
    netns, br = record["netns"], record["bridge"]["name"]
    full = "network-restart" in kinds
    if full or kinds & BRIDGE_KINDS:
        state = BR.read(driver.ipr(netns), br)
        if state is None:
            raise VerifyError("bridge", f"{br} is missing")
        bad = bridge_mismatches(state, defs)
        if bad:
            raise VerifyError("bridge", "; ".join(bad))
        done.append("bridge")
        drift = V6.drift(netns, br, defs)
        if drift:
            raise VerifyError("IPv6 sysctls", "; ".join(f"{what} is {have}, expected {want}"
                                                          for what, want, have in drift))
        done.append("IPv6 sysctls")
    if full or kinds & {"route-add", "route-remove"}:
        have = {_norm_route(r) for r in BR.routes(driver.ipr(netns), br)}
        missing = [r["address"] for r in want_routes(defs) if _norm_route(r) not in have]
        if missing:
            raise VerifyError("routes", f"missing: {', '.join(missing)}")
        done.append("routes")
    if full or "firewall-reload" in kinds:
        fw = record.get("firewall")
        want = firewall.ruleset(defs, driver.table_name(name), br)
        if (want is not None) != bool(fw) or (fw and not NFT.exists(fw["table"], netns=netns)):
            raise VerifyError("firewall", "the nft table does not match the definition")
        done.append("firewall")
    done += LS.verify(driver, record, defs, kinds, VerifyError)
    if full or any(k.startswith("dnsmasq-") for k in kinds) or set(sections) & HOST_SECTIONS:
        done += _verify_dnsmasq(driver, name, record, defs, before, sections, timeout, settle)
    return done


def _verify_dnsmasq(driver, name, record, defs, before, sections, timeout,
                    settle) -> list[str]:
    dq = record.get("dnsmasq")
    if not conf.needs_dnsmasq(defs):
        if dq:
            raise VerifyError("dnsmasq", "still recorded although not needed")
        return []
    if not dq or not DQ.alive(dq.get("pid"), dq.get("conf")):
        raise VerifyError("dnsmasq", "not running")
    layout = driver.layout(name)
    text = DQ.render(defs, layout, name, record["bridge"]["name"])
    if dq.get("conf_sha256") != DQ.conf_hash(text):
        raise VerifyError("dnsmasq conf", "the running dnsmasq was started with another conf "
                                          "than the definition needs (restart required)")
    done = ["dnsmasq", "dnsmasq conf"]
    problem = DQ.check_full(layout, defs)
    if problem:
        raise VerifyError("host files", problem)
    done.append("host files")
    server = IP.server_address(defs)
    if not DNS.enabled(defs) or server is None:
        return done
    wait_dns(record, server, _dns_expectations(defs, before, sections), timeout, settle)
    done.append("dns")
    return done


def verify_host_change(record: dict, applied: dict, server: str | None, dns_on: bool,
                       timeout: float = VERIFY_TIMEOUT, meanwhile=None) -> list[str]:
    """Verify what ``hostfast.apply_host_change`` did; ``meanwhile()`` runs while dnsmasq
    answers the first query (not at all when nothing is asked)."""
    dq = record["dnsmasq"]
    if not DQ.alive(dq.get("pid"), dq.get("conf")):
        raise VerifyError("dnsmasq", "not running")
    for path, text in applied["writes"]:
        if DQ.read_hosts(path) != text:
            raise VerifyError("host files", f"{path} does not hold the host")
    for path in applied["removes"]:
        if path.exists():
            raise VerifyError("host files", f"{path} still holds a host")
    done = ["dnsmasq", "host files"]
    if not dns_on or server is None:
        return done
    if applied["section"] == "dns-host":
        old = DNS_HOST.names_of(applied["before"])
        new = DNS_HOST.names_of(applied["after"])
        checks = DNS_HOST.answers(new, old)
    else:
        checks = [(None, "TXT", None, True)]
    wait_dns(record, server, checks, timeout, meanwhile=meanwhile)
    done.append("dns")
    return done


# ---------------------------------------------------------------------- DNS checks
def _dns_expectations(after, before, sections) -> list[tuple]:
    """(name, rdtype, expected values, present) for the records an update changed; with
    nothing specific, one liveness query (any answer will do)."""
    checks: list[tuple] = []
    for section in sections:
        expectations = S.hook(section, "dns_expectations")
        if expectations is not None:
            checks += expectations(after, before)
    if not checks:
        checks.append((None, "TXT", None, True))  # a round trip: dnsmasq is serving
    return checks


def wait_dns(record: dict, server: str, checks: list[tuple], timeout: float,
             settle: float | None = None, meanwhile=None) -> None:
    """Ask the network's dnsmasq until ``checks`` hold (see the module's doc for how long),
    from the calling thread, on a UDP socket of the network's namespace (``NS.udp_socket``).
    Verifying a change (no ``settle``), a signal raises ``txn.Interrupted`` at once; restoring
    (a rollback, a recovery: ``settle``) is not cut short."""
    from netupdate.live.txn.interrupts import checkpoint, current_interrupts
    interrupts = current_interrupts() if settle is None else None
    stop = None if interrupts is None else (lambda: interrupts.pending)
    pid = (record.get("dnsmasq") or {}).get("pid")
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with NS.udp_socket(record["netns"], family) as sock:
        done = dns_wait(server, checks, timeout, busy=DQ.Progress(pid), stop=stop,
                        settle=settle, sock=sock, meanwhile=meanwhile)
    if not done:
        checkpoint()


def query(server: str, name: str, rdtype: str, *, timeout: float = 0.5,
          rdclass: str = "IN", sock: socket.socket | None = None,
          stop=None, meanwhile=None) -> tuple[str, list[str]]:
    """(rcode text, answer values) of one UDP query (``dnsquery``), on ``sock`` or else on a
    socket of the calling thread's namespace (``NS.call`` it there)."""
    ask = {"rdclass": rdclass, "timeout": timeout, "stop": stop, "meanwhile": meanwhile}
    if sock is not None:
        return dnsquery.exchange(sock, server, name, rdtype, **ask)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as own:
        return dnsquery.exchange(own, server, name, rdtype, **ask)


def _failed(server: str, check: tuple, sock=None, stop=None,
            timeout: float = 0.5, meanwhile=None) -> str | None:
    """None when ``check`` holds now, else why not."""
    name, rdtype, value, present = check
    ask = {"sock": sock, "stop": stop, "timeout": timeout, "meanwhile": meanwhile}
    try:
        if name is None:  # answered by dnsmasq itself, never forwarded
            query(server, "version.bind", "TXT", rdclass="CH", **ask)
            return None
        rcode, values = query(server, name, rdtype, **ask)
    except Exception as exc:  # noqa: BLE001 - timeouts and refusals are retried
        return f"no answer from {server}: {exc.__class__.__name__} {exc}".strip()
    if ((value in values) if present else (value not in values)):
        return None
    return (f"{rdtype} {name} answers {', '.join(values) or rcode}, expected "
            f"{'' if present else 'no '}{value}")


def dns_wait(server: str, checks: list[tuple], timeout: float, *, busy=None, stop=None,
             settle: float | None = None, sock=None, meanwhile=None) -> bool:
    """Retry ``checks`` until all hold (True), ``stop()`` says so (False), or ``timeout``
    seconds pass without ``busy()`` (the server still working) and without success: raises
    ``VerifyError``.  With ``settle``: True as well when the server was busy all of its first
    ``settle`` seconds.  ``meanwhile()`` runs once the first query is sent
    (``dnsquery.exchange``)."""
    pending, last = list(checks), ""
    started = time.monotonic()
    deadline = started + timeout
    pause = 0.0005          # dnsmasq usually answers at once: retry soon, then less often
    while True:
        failed = []
        for check in pending:
            # a settling wait asks no longer than its settle time (then looks at busy())
            ask = 0.5 if settle is None else max(0.05, min(0.5, started + settle
                                                          - time.monotonic()))
            why, meanwhile = _failed(server, check, sock, stop, ask, meanwhile), None
            if why is not None:
                failed.append((check, why))
                if stop is not None and stop():
                    return False     # the caller's checkpoint raises
        if not failed:
            return True
        pending, last = [check for check, _ in failed], failed[-1][1]
        now = time.monotonic()
        if settle is not None and now - started >= settle:
            if busy is not None and busy():
                return True
            settle = None
        if now >= deadline:
            if busy is None or not busy() or now - started >= LOAD_CAP:
                raise VerifyError("dns", last)
            deadline = now + min(timeout, 1.0)   # still reading its hosts: wait on
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
