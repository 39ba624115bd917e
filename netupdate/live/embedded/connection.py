"""The embedded runtime's ``Backend`` (``netupdate.connect()`` without a URI, live/backend.py).

Networks are defined in a state store and run by netupdate itself (bridge through netlink, one
dnsmasq per network, one nftables table), in the host or in a named network namespace.

``Connection`` is the verbs of the operation modules next to this one, each a mixin over the
same state (the store, the namespace, the policy, the driver and the parsed-definition cache):

- ``lifecycle``: define, undefine, dumpxml, list, start, stop, status, autostart;
- ``update``: update and update_batch; ``apply``: apply and diff;
- ``transition``: the one live transition (apply -> verify -> save) and its rollback;
- ``changes``: change start/commit/rollback/status, transaction; ``recovery``: recover and
  the undoing of interrupted operations;
- ``cache``: parsed definitions, cached per file identity, so repeated updates of a big network
  do not re-read it from disk.
"""

from __future__ import annotations

import os

from netupdate.live.backend import Backend, load_policy
from netupdate.live.embedded.apply import ApplyVerbs
from netupdate.live.embedded.cache import SEED, Doc, DocCache
from netupdate.live.embedded.changes import ChangeVerbs
from netupdate.live.embedded.lifecycle import LifecycleVerbs
from netupdate.live.embedded.recovery import Recovery
from netupdate.live.embedded.transition import Transitions
from netupdate.live.embedded.update import UpdateVerbs
from netupdate.store import Store


class Connection(LifecycleVerbs, UpdateVerbs, ApplyVerbs, ChangeVerbs, Recovery, Transitions,
                 DocCache, Backend):
    """The embedded runtime's verbs: ``define``, ``start``, ``update``, ``stop`` (``destroy``),
    ``undefine``, ``list``, ``dumpxml``, ``status``."""

    uri = "netupdate:///embedded"
    backend_name, world_module = "embedded", "netupdate.live.embedded.world"  # issue 16 verbs

    def __init__(self, *, state_dir: str | os.PathLike | None = None, netns: str | None = None,
                 policy=None):
        self.store = Store(state_dir)
        self.netns = netns
        self.policy = load_policy(policy)
        self._driver = None
        # a command server's read-ahead, if any: the first connection takes it (it may edit
        # these trees in place; a later one reads for itself)
        self._docs: dict[str, Doc] = SEED.copy()
        SEED.clear()

    def close(self) -> None:
        from netupdate.store.atomic import settle
        if self._driver is not None:
            self._driver.close()
        self._docs.clear()
        settle()   # the replaced definitions still being unlinked in the background

    def __repr__(self) -> str:
        return f"<netupdate.Connection config={self.store.config_dir} run={self.store.run_dir}>"

    @property
    def driver(self):
        if self._driver is None:
            from netupdate.live.embedded.runtime.driver import Driver
            self._driver = Driver(self.store)
        return self._driver
