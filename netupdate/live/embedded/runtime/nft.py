"""The network's nftables table, loaded with ``nft -f`` (in the network's namespace)."""

from __future__ import annotations

import os
import shutil

from netupdate.errors import RuntimeFailure
from netupdate.live.embedded.runtime import netns as NS
from netupdate.render import nftables as firewall


def binary() -> str | None:
    found = shutil.which("nft")
    if found is None and os.access("/usr/sbin/nft", os.X_OK):
        found = "/usr/sbin/nft"
    return found


def require_binary() -> str:
    found = binary()
    if found is None:
        raise RuntimeFailure("nft is not installed (apt-get install nftables)")
    return found


def owner_id(run_dir) -> str:
    """A short id of a store (its resolved run directory), part of the table names
    (``firewall.table_name``): two state directories never touch each other's tables."""
    import hashlib
    real = os.path.realpath(run_dir)
    return hashlib.sha256(real.encode(errors="surrogateescape")).hexdigest()[:8]


def load(script: str, *, netns: str | None = None) -> None:
    """Run an ``nft -f`` script: one transaction, all or nothing."""
    NS.run([require_binary(), "-f", "-"], netns=netns, input=script, timeout=15)


def replace(defs, table: str, bridge: str, *, netns: str | None = None) -> bool:
    """Replace the network's table atomically; False (and the table deleted) when the network
    needs no rules."""
    script = firewall.replace_script(defs, table, bridge)
    if script is None:
        delete(table, netns=netns)
        return False
    load(script, netns=netns)
    return True


def delete(table: str, *, netns: str | None = None) -> None:
    load(firewall.delete_script(table), netns=netns)


def exists(table: str, *, netns: str | None = None) -> bool:
    proc = NS.run([require_binary(), "list", "table", firewall.FAMILY, table], netns=netns,
                  check=False, timeout=15)
    return proc.returncode == 0
