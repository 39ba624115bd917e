"""What a running network looks like, as data, for the generated live tests (test_generated.py).

``observe(conn, name)`` reads everything the runtime made for the network: both definitions,
the runtime record, every file in its run directory (dnsmasq conf, host files), the nft table
the record names (``nft list table``), and the kernel state through netlink (bridge STP, delay,
MTU, MAC, up, addresses; routes), the namespace's forwarding sysctls and the bridge's IPv6
ones.

Three views of an observation compare two states:

- ``exact``: everything, to the byte, pids and interface indexes included (nothing was touched:
  a refused update or batch);
- ``same``: what the network *is* (a rollback may restart dnsmasq, rewrite host files as
  tombstones or re-create the bridge: the definitions, conf, nft ruleset, kernel attributes and
  the hosts dnsmasq serves must be as before; a MAC the definition does not fix is the kernel's
  random choice and is left out);
- ``fresh``: ``same`` with what names the state directory replaced (paths, the nft table name),
  to compare a network with a fresh ``start`` of its definition under another state directory.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

SYSCTLS = ("net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding")
SKIP_FILES = {"dnsmasq.leases", "dnsmasq.pid", "dnsmasq.restart-ms"}  # volatile observations


BRIDGE_SYSCTLS = ("disable_ipv6", "accept_ra", "autoconf")   # the bridge's, libvirt's


def _read_sysctls(bridge: str) -> dict:
    keys = list(SYSCTLS)
    if os.path.isdir(f"/proc/sys/net/ipv6/conf/{bridge}"):
        keys += [f"net/ipv6/conf/{bridge}/{field}" for field in BRIDGE_SYSCTLS]
    out = {}
    for key in keys:
        with open(f"/proc/sys/{key}") as handle:
            out[key] = handle.read().strip()
    return out


def _files(directory: Path) -> dict[str, bytes]:
    out = {}
    for root, _dirs, files in os.walk(directory):
        for entry in files:
            path = Path(root) / entry
            rel = str(path.relative_to(directory))
            if rel not in SKIP_FILES:
                out[rel] = path.read_bytes()
    return out


def _hosts(files: dict[str, bytes], folder: str) -> list[str]:
    lines = []
    for rel, data in files.items():
        if rel.startswith(folder + "/"):
            lines += [line for line in data.decode().splitlines() if line.strip()]
    return sorted(lines)


def _nft(netns: str | None, record: dict) -> str | None:
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.embedded.runtime import nft as NFT
    fw = record.get("firewall")
    if not fw:
        return None
    proc = NS.run([NFT.require_binary(), "list", "table", fw["family"], fw["table"]],
                  netns=netns, check=False)
    return proc.stdout if proc.returncode == 0 else f"missing: {proc.stderr.strip()}"


def _kernel(netns: str | None, bridge: str) -> dict:
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.live.embedded.runtime import netns as NS
    ipr = NS.iproute(netns)
    try:
        state = BR.read(ipr, bridge)
        if state is not None:
            state["addresses"] = sorted(str(ipaddress.ip_interface(a))
                                        for a in state["addresses"])
        routes = sorted((r["address"], r["gateway"], r["metric"] or 0)
                        for r in BR.routes(ipr, bridge))
    finally:
        ipr.close()
    return {"bridge": state, "routes": routes, "sysctls": NS.call(netns, _read_sysctls, bridge)}


def observe(conn, name: str) -> dict:
    """Everything about network ``name`` of ``conn`` (see the module docstring)."""
    import netupdate
    from netupdate.live.txn.journal import read_journal
    from netupdate.live.txn.state import read_bytes
    store = conn.store
    record = store.read_record(name)
    config, live = read_bytes(store.config_path(name)), read_bytes(store.live_path(name))
    out = {"config": config, "live": live, "record": record,
           "journal": read_journal(store, name) is not None}
    if record is None:
        return out
    netns = record.get("netns")
    files = _files(Path(record["dir"])) if record.get("dir") else {}
    out.update(files=files, nft=_nft(netns, record),
               hosts={"dhcp": _hosts(files, "dhcp-hosts"), "dns": _hosts(files, "dns-hosts")},
               **_kernel(netns, record["bridge"]["name"]))
    out["fixed_mac"] = live is not None and netupdate.load(live).defs.mac is not None
    status = conn.status(name)
    out["status"] = (status.state, status.problems, status.diverged)
    out["dirs"] = (str(store.run_dir), str(store.config_dir))
    return out


def exact(obs: dict) -> dict:
    return obs


def same(obs: dict) -> dict:
    """The observation without pids, interface indexes, per-host file layout, random MAC."""
    if obs.get("record") is None:
        return obs
    out = dict(obs)
    record = dict(obs["record"])
    record.pop("started_at", None)
    record["addresses"] = sorted(record.get("addresses") or [])
    record["routes"] = sorted(str(sorted(r.items())) for r in record.get("routes") or [])
    if record.get("dnsmasq"):
        record["dnsmasq"] = {k: v for k, v in record["dnsmasq"].items() if k != "pid"}
    out["record"] = record
    files = {k: v for k, v in obs["files"].items() if not k.startswith(("dhcp-hosts/",
                                                                         "dns-hosts/"))}
    out["files"] = files
    if obs["bridge"] is not None:
        bridge = {k: v for k, v in obs["bridge"].items() if k != "ifindex"}
        if not obs["fixed_mac"]:
            bridge.pop("mac", None)
        out["bridge"] = bridge
    return out


def fresh(obs: dict) -> dict:
    """``same`` with the state directory's names replaced, to compare across state dirs."""
    out = same(obs)
    if out.get("record") is None:
        return out
    run_dir, config_dir = obs["dirs"]
    table = (obs["record"].get("firewall") or {}).get("table")

    def norm(text: str) -> str:
        text = text.replace(run_dir, "<RUN>").replace(config_dir, "<CONFIG>")
        return text.replace(table, "<TABLE>") if table else text

    record = dict(out["record"])
    record.pop("netns", None)
    if isinstance(record.get("sysctls"), str):  # the id of the namespace's forwarding ledger
        record["sysctls"] = "<LEDGER>"
    record["dir"] = norm(record["dir"])
    if record.get("firewall"):
        record["firewall"] = {**record["firewall"], "table": "<TABLE>"}
    if record.get("dnsmasq"):
        # the conf hash covers the paths; the conf itself is compared below
        record["dnsmasq"] = {"conf": norm(record["dnsmasq"]["conf"])}
    out["record"] = record
    out["files"] = {k: norm(v.decode()) for k, v in out["files"].items()}
    out["nft"] = norm(out["nft"]) if out["nft"] else out["nft"]
    out.pop("dirs")
    return out


def diff(a: dict, b: dict) -> list[str]:
    """The keys where two views differ, with both values (for an assertion message)."""
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{key}:\n  before/expected: {a.get(key)!r}\n  after/actual:    "
                       f"{b.get(key)!r}")
    return out
