"""The backend interface: the ``Backend`` both backends implement, and what they share.

``netupdate.connect()`` (live/connect.py) returns a ``Backend``: the embedded runtime
(``live.embedded.connection.Connection``) or libvirt (``live.libvirt.connection.
LibvirtConnection``).  Both have the verbs below with the same
signatures, return the same result types (``live.results``: ``UpdateResult``, ``NetworkInfo``,
``NetworkStatus``, ``DiffResult``) and raise the same error classes (netupdate.errors).  A verb
one backend cannot do raises ``UnsupportedError`` naming the backend (``unsupported``);
docs/live.md has the table.

A backend opened with ``policy=`` (a ``policy.Policy``, TOML text or a path) checks the
ChangeSet of every edit (update, nodeSpec update, update_batch, apply) against it before
anything is changed, and raises ``PolicyError`` when a rule refuses it.
"""

from __future__ import annotations

import abc
import os

from netupdate.errors import InvalidOperationError, NetupdateError, PolicyError, UnsupportedError
from netupdate.live.results import DiffResult, NetworkInfo, NetworkStatus, UpdateResult
from netupdate.live.world import WorldVerbs


def unsupported(backend: str, what: str) -> UnsupportedError:
    """The error of a verb (or option) the ``backend`` cannot do."""
    return UnsupportedError(f"the {backend} backend does not support {what}")


def check_policy(policy, before, after, command: str | None) -> None:
    """Check the changes from ``before`` to ``after`` (XML text, bytes, ``Network``) against
    ``policy`` (None: nothing to check); raises ``PolicyError``."""
    if policy is None:
        return
    from netupdate.planning.policy import enforce
    enforce(policy, _text(before), _text(after), command=command)


def check_changes(policy, changes, command: str | None) -> None:
    """Check a computed ``ChangeSet`` against ``policy`` (None: nothing to check)."""
    if policy is not None and changes is not None:
        policy.check(changes, command=command)


def load_policy(policy):
    """The ``Policy`` of ``connect(policy=...)``: a ``Policy``, a path to a ``.toml`` file
    (``os.PathLike``, or a ``str`` of one line without ``=``), or TOML text; None: no policy."""
    from netupdate.planning.policy import Policy
    if policy is None or isinstance(policy, Policy):
        return policy
    if isinstance(policy, os.PathLike) or (isinstance(policy, str) and policy.strip()
                                           and "\n" not in policy and "=" not in policy
                                           and "[" not in policy):
        filename = os.fspath(policy)
        try:
            with open(filename, "rb") as handle:
                return Policy.from_toml(handle.read(), filename=filename)
        except OSError as exc:
            raise PolicyError(f"cannot read policy: {exc.strerror}", file=filename) from None
    return Policy.from_toml(policy)


def refuse_invalid(desired, what: str = "the desired definition") -> None:
    """Refuse a desired definition (a ``model.Network``, or bytes) with validation errors
    (warnings are fine), naming it ``what`` (define: "the definition").  A ``Network`` is
    checked as it is: not serialised and parsed again, its typed definitions not read again."""
    from netupdate.check.semantic import validate
    from netupdate.live.txn.interrupts import checkpoint
    errors = [i for i in validate(desired) if i.is_error]
    checkpoint()   # validating 100,000 hosts takes seconds: a signal deferred meanwhile stops here
    if errors:
        shown = "; ".join(f"line {i.line}: {i.code} {i.message}" if i.line else
                          f"{i.code} {i.message}" for i in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidOperationError(f"{what} is invalid: {shown}{more}")


def read_fragment(xml):
    """An update's XML fragment: text, or (virsh: not starting with '<') a file name."""
    if xml is not None and not isinstance(xml, bytes) and \
            not str(xml).lstrip().startswith("<") and os.path.exists(str(xml)):
        with open(xml, encoding="utf-8") as handle:
            return handle.read()
    return xml


def edit_kept(network, command, section, xml, *, parent_index: int = -1,
              node_spec: str | None = None):
    """``edit.apply_update`` on a backend's own copy of a definition: a refusal is placed by its
    XPath alone, with no file and line of that copy (the backend's, not a file the user has;
    the message names the network).  Returns the engine's Change."""
    from netupdate.edit import engine as edit
    try:
        return edit.apply_update(network, command, section, xml, parent_index=parent_index,
                                 node_spec=node_spec)
    except NetupdateError as exc:
        if exc.file == network.filename:   # the copy's (a libvirt one has no file name)
            exc.file = exc.line = None
        raise


def batch_edit(network, item) -> None:
    """One update of a batch (an ``edit.batch.BatchUpdate``) on ``network``; a refused one
    raises ``BatchError`` naming its line, with the refusal's code (``kind``)."""
    from netupdate.edit.batch import BatchError
    try:
        edit_kept(network, item.command, item.section, item.xml,
                  parent_index=item.parent_index, node_spec=item.node_spec)
    except NetupdateError as exc:
        refused = BatchError(f"{exc.reason()}; nothing was changed", line=item.line,
                             path=exc.path, item=item.item)
        refused.kind = exc.kind
        raise refused from exc


def skeleton(name: str) -> str:
    """The empty network a new definition is checked against (policy)."""
    return f"<network><name>{name}</name></network>"


def _text(doc):
    if isinstance(doc, bytes):
        return doc.decode("utf-8")
    if hasattr(doc, "to_xml"):
        return doc.to_xml()
    return doc


# ---------------------------------------------------------------------- the interface
class Backend(WorldVerbs, abc.ABC):
    """The verbs of a ``netupdate.connect()`` connection, identical on both backends."""

    #: the backend's name in errors ("embedded", "libvirt")
    backend_name = ""

    # -- plumbing
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def network(self, name: str):
        """A handle on one network: the verbs without the name."""
        from netupdate.store import check_name
        return NetworkHandle(self, check_name(name))

    # -- definitions
    @abc.abstractmethod
    def define(self, xml: str | bytes | os.PathLike, *, force: bool = False) -> str: ...

    @abc.abstractmethod
    def undefine(self, name: str) -> list[str]: ...

    @abc.abstractmethod
    def list(self) -> list[NetworkInfo]: ...

    @abc.abstractmethod
    def dumpxml(self, name: str, inactive: bool = False) -> str: ...

    # -- lifecycle
    @abc.abstractmethod
    def start(self, name: str, *, netns: str | None = None, force: bool = False) -> None: ...

    @abc.abstractmethod
    def stop(self, name: str) -> list[str]: ...

    def destroy(self, name: str) -> list[str]:
        """``stop`` (virsh's spelling)."""
        return self.stop(name)

    @abc.abstractmethod
    def status(self, name: str) -> NetworkStatus: ...

    @abc.abstractmethod
    def set_autostart(self, name: str, enabled: bool = True, *,
                      netns: str | None = None) -> None: ...

    @abc.abstractmethod
    def autostart_netns(self, name: str) -> str | None: ...

    # -- edits
    @abc.abstractmethod
    def update(self, name: str, command, section=None, xml: str | None = None, *,
               parent_index: int = -1, node_spec: str | None = None, live: bool | None = None,
               config: bool | None = None, restart: bool = False, dry_run: bool = False,
               release_conflicting: bool = False, force: bool = False) -> UpdateResult: ...

    @abc.abstractmethod
    def update_batch(self, name: str, updates, *, live: bool | None = None,
                     config: bool | None = None, dry_run: bool = False,
                     restart: bool = False, progress=None,
                     force: bool = False) -> UpdateResult: ...

    @abc.abstractmethod
    def apply(self, name: str, desired_xml, *, live: bool | None = None,
              config: bool | None = None, dry_run: bool = False, restart: bool = False,
              try_seconds: float | None = None, check=None, progress=None,
              validate: bool = True, force: bool = False) -> UpdateResult: ...

    @abc.abstractmethod
    def diff(self, name: str, other_xml: str | None = None) -> DiffResult: ...

    # -- change transactions and recovery (the embedded runtime's; UnsupportedError elsewhere)
    def change_start(self, name: str, *, rollback_after: float | None = None, check=None,
                     _allow_missing: bool = False):
        raise unsupported(self.backend_name, "change transactions (change_start)")

    def change_commit(self, name: str, *, token: str | None = None):
        raise unsupported(self.backend_name, "change transactions (change_commit)")

    def change_rollback(self, name: str, *, token: str | None = None,
                        reason: str = "requested", progress=None,
                        _from_timer: bool = False) -> UpdateResult:
        raise unsupported(self.backend_name, "change transactions (change_rollback)")

    def change_status(self, name: str | None = None):
        raise unsupported(self.backend_name, "change transactions (change_status)")

    def transaction(self, name: str, *, rollback_after: float | None = None, check=None):
        raise unsupported(self.backend_name, "change transactions (transaction)")

    def recover(self, *, progress=None):
        raise unsupported(self.backend_name, "recover")

    def try_window(self, name: str, info, *, confirm=None):
        """The try window of ``apply(name, ..., try_seconds=S)``: ``info`` is the result's
        ``change_info``; ``confirm(timeout)`` waits for the user (True: keep the change, False:
        not yet, None: no answer can come any more).  Keeps the change when confirmed, rolls it
        back at once on Ctrl-C or SIGTERM, else reports what the timer did at the deadline;
        without ``confirm`` the change stays open.  Returns a ``txn.trywindow.TryOutcome``."""
        from netupdate.live.txn.trywindow import try_window
        return try_window(self, name, info, confirm)

    def interruptible(self, *, immediate: bool = False):
        """A context for a run of verbs (``apply`` and its ``try_window``) with one Ctrl-C and
        SIGTERM handler: an operation notes a signal and puts the network back at its next
        safe point; with ``immediate`` a signal before the first change raises
        ``KeyboardInterrupt`` at once (nothing changed yet)."""
        from netupdate.live.txn.interrupts import Interrupts
        return Interrupts(immediate=immediate)


class NetworkHandle:
    """One network of a connection: ``net.update(...)``, ``net.apply(xml)``,
    ``with net.transaction(): ...``."""

    def __init__(self, conn: Backend, name: str):
        self.conn, self.name = conn, name

    def __repr__(self) -> str:
        return f"<NetworkHandle {self.name!r} of {self.conn!r}>"

    def update(self, command, section=None, xml=None, **kwargs):
        """``conn.update`` of this network; the fragment as XML, or as typed keyword arguments
        (``mac=``, ``ip=``, ``name=``, ...: ``netupdate.edit.shortcuts``), exactly what the
        command line's ``--mac``, ``--ip``, ... make."""
        from netupdate.edit.shortcuts import split, typed
        values, options = split(kwargs)
        return self.conn.update(self.name, command, section, typed(section, xml, values),
                                **options)

    def update_batch(self, updates, **kwargs):
        return self.conn.update_batch(self.name, updates, **kwargs)

    def apply(self, desired_xml, **kwargs):
        return self.conn.apply(self.name, desired_xml, **kwargs)

    def transaction(self, **kwargs):
        return self.conn.transaction(self.name, **kwargs)

    def change_start(self, **kwargs):
        return self.conn.change_start(self.name, **kwargs)

    def commit(self, **kwargs):
        return self.conn.change_commit(self.name, **kwargs)

    def rollback(self, **kwargs):
        return self.conn.change_rollback(self.name, **kwargs)

    def status(self):
        return self.conn.status(self.name)

    def dumpxml(self, inactive: bool = False) -> str:
        return self.conn.dumpxml(self.name, inactive=inactive)
