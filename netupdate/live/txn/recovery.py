"""What ``recover`` and ``status`` look at in a running network: the live state against its
definition (bridge, routes, firewall, dnsmasq and its host files, stray processes), and
``RecoverReport``, what ``recover`` did."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from netupdate.errors import RuntimeFailure


def stray_dnsmasqs(conf_path, keep: int | None) -> list[int]:
    """dnsmasq processes started with our conf file other than ``keep`` (left by a process
    killed between starting dnsmasq and recording it)."""
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if entry.isdigit() and int(entry) != keep and DQ.alive(int(entry), conf_path):
            out.append(int(entry))
    return out


def kill_strays(conn, name: str, record: dict | None) -> list[int]:
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    conf_path = conn.store.network_dir(name) / "dnsmasq.conf"
    keep = ((record or {}).get("dnsmasq") or {}).get("pid")
    killed = []
    for pid in stray_dnsmasqs(conf_path, keep):
        with contextlib.suppress(RuntimeFailure):
            DQ.stop(pid, conf_path)
            killed.append(pid)
    return killed


def _lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.strip())


def host_files_problem(layout, defs) -> str | None:
    """None when the hostsdirs serve exactly ``defs``' hosts, in either layout (one ``base``
    file, or ``base`` plus one file per host changed live since)."""
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    dhcp, dns = DQ.base_texts(defs)
    for folder, text in ((layout.dhcp_hostsdir, dhcp), (layout.hostsdir, dns)):
        have: list[str] = []
        try:
            entries = [e for e in os.listdir(folder) if not e.startswith(".")]
        except FileNotFoundError:
            entries = []
        for entry in entries:
            have += (DQ.read_file(folder / entry) or "").splitlines()
        if sorted(line for line in have if line.strip()) != _lines(text):
            return f"the host files in {folder} do not hold the definition's hosts"
    return None


def live_problems(conn, name: str, record: dict, defs) -> list[str]:
    """What differs between the running network and ``defs`` (empty: in line).  Looks at the
    bridge, addresses, routes, the firewall table, dnsmasq (alive, conf, host files, strays)."""
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import dnsmasqd as DQ
    from netupdate.live.embedded.runtime import driver as D
    from netupdate.render import dnsmasq as conf
    from netupdate.render import nftables as firewall
    driver = conn.driver
    status = driver.inspect(record, defs)
    problems = list(status["problems"])
    if status.get("bridge") is None or not status["bridge"].get("present"):
        return problems
    netns = record.get("netns")
    layout = driver.layout(name)
    br = record["bridge"]["name"]
    if br != D.bridge_name(defs):
        problems.append(f"the bridge is {br}, the definition wants {D.bridge_name(defs)}")
    dq = record.get("dnsmasq")
    if conf.needs_dnsmasq(defs):
        if dq:
            text = DQ.render(defs, layout, name, br)
            if dq.get("conf_sha256") != DQ.conf_hash(text) or \
                    DQ.read_file(layout.conf) != text:
                problems.append("dnsmasq runs with another conf than the definition needs")
            problem = host_files_problem(layout, defs)
            if problem:
                problems.append(problem)
    elif dq:
        problems.append("dnsmasq runs although the definition needs none")
    strays = stray_dnsmasqs(layout.conf, (dq or {}).get("pid"))
    if strays:
        problems.append(f"stray dnsmasq processes: {', '.join(map(str, strays))}")
    try:
        have = {D._norm_route(r) for r in BR.routes(driver.ipr(netns), br)}
        missing = [r["address"] for r in D.want_routes(defs) if D._norm_route(r) not in have]
        if missing:
            problems.append(f"routes missing: {', '.join(missing)}")
    except Exception as exc:  # noqa: BLE001 - reported as a problem
        problems.append(f"cannot read routes: {exc}")
    want_fw = firewall.ruleset(defs, driver.table_name(name), br) is not None
    if want_fw != bool(record.get("firewall")):
        problems.append("the firewall table does not match the definition")
    return problems


@dataclass
class RecoverReport:
    """What ``recover`` did, per network: ``[(name, what, ok)]``."""

    entries: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, name: str, what: str, ok: bool = True) -> None:
        self.entries.append((name, what, ok))

    @property
    def ok(self) -> bool:
        return all(ok for _n, _w, ok in self.entries)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict:
        return {"ok": self.ok, "actions": [{"network": n, "action": w, "ok": ok}
                                           for n, w, ok in self.entries]}

    def to_text(self) -> str:
        if not self.entries:
            return "recover: nothing to do"
        return "\n".join(f"{name}: {what}" if ok else f"{name}: FAILED: {what}"
                         for name, what, ok in self.entries)
