"""Bring a recorded network to exactly what a fresh start of a definition makes: in place when
it can (``Driver.reconcile``), else by tearing it down and starting it again in its namespace.
``recover``, ``start`` of a degraded network and the undo of an interrupted operation all end
here, so none of them leaves a network that only ``stop`` + ``start`` could repair."""

from __future__ import annotations

from netupdate.errors import NetupdateError, RuntimeFailure, StateError
from netupdate.live.embedded.runtime.verify import SETTLE

FULL = ("network-restart",)  # verify everything


def teardown(store, driver, name: str, record: dict, failure: str = "") -> None:
    """Undo everything ``record`` lists; what could not be undone stays in the stored record
    (for another try) and raises ``RuntimeFailure`` (``failure`` + the problems)."""
    problems = driver.teardown(record)
    if problems:
        store.write_record(name, record)
        raise RuntimeFailure(failure + "; ".join(problems))


def default_mtu(driver, record: dict, defs, kinds) -> None:
    """``reconcile`` leaves the MTU alone when the definition has no ``<mtu>``; after a step
    that set one, put the default back (what the plan's bridge-mtu does)."""
    if "bridge-mtu" not in kinds or defs.mtu is not None:
        return
    from netupdate.live.embedded.runtime import bridge as BR
    from netupdate.planning.planner import DEFAULT_MTU
    ipr = driver.ipr(record.get("netns"))
    state = BR.read(ipr, record["bridge"]["name"])
    if state is not None and state["mtu"] != DEFAULT_MTU:
        BR.set_mtu(ipr, record["bridge"]["name"], DEFAULT_MTU)


def restart(store, driver, name: str, record: dict | None, defs, netns) -> dict:
    """Under the lock: tear down what ``record`` lists and start ``defs`` afresh, verified."""
    if record is not None:
        teardown(store, driver, name, record)
        store.delete_record(name)
    record = driver.start(name, defs, netns=netns)
    driver.verify(name, record, defs, before=None, kinds=FULL, sections=(), settle=SETTLE)
    return record


def converge(store, driver, name: str, record: dict, defs, kinds=()) -> dict:
    """Under the lock: make the running network ``defs`` in place, verified; when that cannot be
    done (say the bridge's name now belongs to another kind of link), restart it.  Returns the
    new record."""
    from netupdate.live.embedded.runtime import netns as NS
    from netupdate.live.embedded.runtime import nft as NFT
    from netupdate.render import nftables as firewall
    netns = record.get("netns")
    try:
        record = driver.reconcile(name, record, defs)
        default_mtu(driver, record, defs, kinds)
        table = driver.table_name(name)
        if firewall.ruleset(defs, table, record["bridge"]["name"]) is None:
            NFT.delete(table, netns=netns)  # a table a killed step had loaded
        driver.verify(name, record, defs, before=None, kinds=FULL, sections=(), settle=SETTLE)
    except (NetupdateError, OSError, LookupError, TypeError):
        if not NS.exists(netns):
            raise  # nowhere to start it again: stop finds everything in the record
        return restart(store, driver, name, record, defs, netns)
    return record


def repair_running(conn, name: str, record: dict) -> list[str]:
    """Under the lock: make a recorded network what a fresh start of its live definition makes
    (of its persistent one when a start failed before writing the live one), and write that
    live definition.  Returns what was wrong (nothing is done when nothing was)."""
    from netupdate.live import txn
    from netupdate.model.defs import load
    store = conn.store
    data = txn.read_bytes(store.live_path(name))
    problems = [] if data is not None else ["the live definition was missing"]
    if data is None:
        data = txn.read_bytes(store.config_path(name))
        if data is None:
            raise StateError(f"network '{name}' is running without a definition")
    defs = load(data).defs
    problems += txn.live_problems(conn, name, record, defs)
    if not problems:
        return []
    converge(store, conn.driver, name, record, defs)
    if txn.read_bytes(store.live_path(name)) != data:
        store.write_live(name, data)
    return problems
