"""Parsed definitions cached per file identity (inode, mtime, size, ctime): repeated updates of a
big network do not re-read it from disk; an update whose live and persistent definitions have the
same bytes edits one shared parsed document."""

from __future__ import annotations

import os

from netupdate.errors import NetupdateError, StateError


class Doc:
    """A parsed definition, the bytes it was read from and the identity of the file.

    ``defs`` are the typed definitions of ``data`` (computed when first needed: reading 1,000
    hosts costs tens of milliseconds, and a host update does not need them)."""

    __slots__ = ("stamp", "data", "network", "_defs")

    def __init__(self, stamp, data: bytes, network, defs=None):
        self.stamp, self.data, self.network, self._defs = stamp, data, network, defs

    @property
    def defs(self):
        if self._defs is None:
            from netupdate.model.defs import NetworkDef, load
            network = self.network
            if network.source.is_modified():   # edited in place: read ``data`` again
                self._defs = load(self.data).defs
            else:   # the tree still is ``data``: no second parse (issue 12)
                self._defs = NetworkDef.from_element(network.root, filename=network.filename)
        return self._defs


# Past this many edit marks (``Document.edits``), a written document is not kept: the next
# update parses the file afresh (~40 ms for 1,000 hosts, once) rather than every update paying
# for the marks of all the edits before it (~1 ms at 1,000).
COMPACT_AFTER = 256


def kept(network) -> bool:
    """Whether an edited document is still worth keeping (``COMPACT_AFTER``)."""
    return network.source.edits <= COMPACT_AFTER


def file_stamp(path) -> tuple | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


# Definitions read ahead by a command server (netupdate/cmdserver) between commands: the
# connections of its children start from them.  Each is used only while its file's stamp is the
# one it was read with; a process that is not a server leaves this empty.
SEED: dict[str, Doc] = {}
# In a command server's child: the updates it wrote, for the server to replay on its own parsed
# definitions (``replay``) rather than parse the files again.  None elsewhere: nothing is kept.
RECORD: list | None = None


def recorded(paths, command: str, section, xml: str | None, parent_index: int,
             node_spec: str | None) -> None:
    """An update wrote ``paths`` (``Connection.update``)."""
    if RECORD is not None and (section is None or isinstance(section, str)):
        RECORD.append([[os.fspath(path) for path in paths], command, section, xml,
                       parent_index, node_spec])


def replay(edits: list) -> None:
    """Apply the updates a child recorded, in order, to the parsed definitions in ``SEED``:
    a file whose bytes are then exactly its edited document's is kept with its new stamp,
    together with the host indexes the edits maintained; any other is dropped
    (``read_ahead`` reads it again), and so is a file that shared an edited document but was
    not written with it."""
    from netupdate.edit.engine import apply_update
    touched: dict[str, object] = {}   # path -> its edited network (None: dropped)
    for paths, command, section, xml, parent_index, node_spec in edits:
        current = {path: touched[path] if path in touched
                   else getattr(SEED.pop(path, None), "network", None) for path in paths}
        edited: dict[int, object] = {}   # id(network before) -> after (None: refused)
        for path, network in current.items():
            if network is not None and id(network) not in edited:
                try:
                    apply_update(network, command, section, xml, parent_index=parent_index,
                                 node_spec=node_spec)
                    edited[id(network)] = network
                except NetupdateError:
                    edited[id(network)] = None
            current[path] = edited.get(id(network))
        shared = [path for path, doc in SEED.items() if id(doc.network) in edited]
        for path in shared:
            del SEED[path]
        shared += [path for path, network in touched.items()
                   if id(network) in edited and path not in current]
        touched.update(dict.fromkeys(shared))   # shared the edited tree, not written: read again
        touched.update(current)
    for path, network in touched.items():
        if network is None:
            continue   # not read ahead, or refused: read again
        data, stamp = network.to_bytes(tracked=True), file_stamp(path)
        try:
            with open(path, "rb") as handle:
                same = handle.read() == data
        except OSError:
            same = False
        if same and stamp is not None and stamp == file_stamp(path) and kept(network):
            network.source.written(data)   # its lines are the file's
            SEED[path] = Doc(stamp, data, network)


def read_ahead(state_dir=None) -> None:
    """Parse every definition of the store at ``state_dir`` (default: as ``Store`` finds it)
    into ``SEED``, with its host indexes; unchanged files keep their parsed documents."""
    from netupdate.edit.indexes import index_all
    from netupdate.store import Store
    store = Store(state_dir)
    reader = DocCache()
    reader._docs = dict(SEED)
    fresh = {}
    for name in store.names():
        live = reader._load(store.live_path(name))
        config = reader._load(store.config_path(name), like=live)
        for path, doc in ((store.live_path(name), live), (store.config_path(name), config)):
            if doc is not None:
                fresh[os.fspath(path)] = doc
    old = {id(doc.network) for doc in SEED.values()}
    for network in {id(doc.network): doc.network for doc in fresh.values()}.values():
        if id(network) not in old:
            index_all(network)
    SEED.clear()
    SEED.update(fresh)


class DocCache:
    """The cache of a ``Connection`` (``self._docs``: path -> ``Doc``)."""

    def _load(self, path, *, like: Doc | None = None):
        """The parsed document at ``path`` (cached while the file is unchanged).  With ``like``,
        a file with the same bytes shares ``like``'s parsed document instead of parsing again."""
        from netupdate.model.defs import load
        key = os.fspath(path)
        stamp = file_stamp(path)
        if stamp is None:
            self._docs.pop(key, None)
            return None
        doc = self._docs.get(key)
        if doc is not None and doc.stamp == stamp:
            return doc
        with open(path, "rb") as handle:
            data = handle.read()
        if like is not None and like.data == data:
            doc = Doc(stamp, data, like.network, like._defs)
        else:
            doc = Doc(stamp, data, load(data, filename=key, check=False))
        self._docs[key] = doc
        return doc

    def _forget(self, *paths) -> None:
        for path in paths:
            self._docs.pop(os.fspath(path), None)

    def _remember(self, path, data: bytes, network, defs=None) -> None:
        """``network``, as just written to ``path`` as ``data`` (kept unless it carries too
        many edit marks: ``COMPACT_AFTER``)."""
        network.source.written(data)
        stamp = file_stamp(path) if kept(network) else None
        if stamp is not None:
            self._docs[os.fspath(path)] = Doc(stamp, data, network, defs)
        else:
            self._forget(path)

    def _defs(self, path):
        doc = self._load(path)
        return doc.defs if doc is not None else None

    def _edit_targets(self, name: str, live: bool, config: bool) -> dict[str, Doc]:
        """The documents an update edits.  When the live and persistent definitions have the same
        bytes (the usual case), both sides share one parsed document, edited once: libvirt
        applies the edit to each copy, and identical copies give identical results."""
        paths = {"live": self.store.live_path(name), "config": self.store.config_path(name)}
        docs = {}
        for side in ("live", "config"):
            if (side == "live" and live) or (side == "config" and config):
                doc = self._load(paths[side], like=docs.get("live"))
                if doc is None:
                    raise StateError(f"network '{name}': {paths[side]} is missing")
                docs[side] = doc
        if len(docs) == 2:
            a, b = docs["live"], docs["config"]
            if a.network is not b.network and a.data == b.data:
                docs["config"] = self._docs[os.fspath(paths["config"])] = Doc(
                    b.stamp, b.data, a.network, a._defs)
        else:
            # one side only: the other side must not share the tree about to be edited
            (side, doc), = docs.items()
            other = paths["config" if side == "live" else "live"]
            cached = self._docs.get(os.fspath(other))
            if cached is not None and cached.network is doc.network:
                self._forget(other)
        return docs

