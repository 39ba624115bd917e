"""The update engine: change one node of a network definition, the way ``virsh net-update`` does.

An update is addressed either by *section* (libvirt's names and codes, see ``netupdate.sections``)
plus ``parent_index`` (which ``<ip>`` for DHCP hosts and ranges), or by an XPath *nodeSpec* that
selects one element of the document.  The XML fragment is the element to add, the replacement
for ``modify``, or the pattern that identifies what to ``delete``.

For the sections and commands libvirt implements, matching keys, duplicate rules, parent selection
and refusals are libvirt's (9.0, plus the DNS ``modify`` of newer releases).  Where libvirt is
silent or wrong we do better; each difference is listed, with the reason, in ``docs/update.md``.

Every edit is checked before the tree is touched, and edits whose checks can only run on the
result are undone when the checks fail: a refused update leaves the document byte-identical.  Only
the touched element is re-read into typed definitions; DHCP hosts are found through per-``<dhcp>``
indexes, so an update costs the same with ten hosts or ten thousand.

This module holds the public entry points; the work is done by ``context`` (the edit with undo),
``dispatch`` and ``handlers`` (one handler per section), ``nodespec``, ``placement`` and
``indexes`` (see docs/design.md).  It does no I/O.
"""

from __future__ import annotations

import re

from lxml import etree

from netupdate import sections as S
from netupdate.document.patterns import Pattern
from netupdate.document.source import Document, decode, parse_element
from netupdate.edit.context import Change, Edit, short
from netupdate.edit.dispatch import HANDLERS
from netupdate.errors import InvalidFragmentError, UnsupportedError, XMLParseError
from netupdate.model import defs as M
from netupdate.model import values as T

__all__ = ["COMMANDS", "Change", "EditableNetwork", "apply_update", "load", "normalize_command",
           "update_xml"]

COMMANDS = tuple(T.Command)
COMMAND_CODES = T.COMMAND_CODES


# ====================================================================== public API
class EditableNetwork(M.Network):
    """A network document that edits itself: what the public ``netupdate.load`` returns.

    The model's ``Network`` knows nothing of editing; this edit-layer subclass adds ``update``.
    The plan of a change is ``netupdate.plan_change(change)``.
    """

    def update(self, command, section=None, xml=None, *, parent_index: int = -1,
               node_spec: str | None = None, **values) -> Change:
        """Edit the document in place and return the ``Change`` (``apply_update``); the
        fragment as XML, or as typed keyword arguments (``mac=``, ``ip=``, ``name=``, ...:
        ``netupdate.edit.shortcuts``), exactly what the command line's ``--mac``, ... make."""
        if values:
            from netupdate.edit.shortcuts import typed
            xml = typed(section, xml, values)
        return apply_update(self, command, section, xml, parent_index=parent_index,
                            node_spec=node_spec)


def load(source, *, filename: str | None = None, check: bool = True) -> EditableNetwork:
    """``model.load`` giving an ``EditableNetwork`` (the public ``netupdate.load``)."""
    return EditableNetwork.from_source(source, filename=filename, check=check)


def update_xml(network_xml, command, section=None, xml=None, parent_index: int = -1,
               node_spec: str | None = None, **values) -> str:
    """One-shot update: network XML text (or bytes) in, edited XML text out; the fragment as
    XML, or as typed keyword arguments (``mac=``, ``ip=``, ``name=``, ...:
    ``netupdate.edit.shortcuts``) that make exactly the fragment the command line's ``--mac``,
    ``--ip``, ... make."""
    if isinstance(network_xml, bytes | bytearray):
        text, encoding, bom = decode(bytes(network_xml))
    else:
        text, encoding, bom = str(network_xml), "utf-8", b""
    network = EditableNetwork(Document(text, encoding=encoding, bom=bom))
    network.update(command, section, xml, parent_index=parent_index, node_spec=node_spec,
                   **values)
    return network.to_xml()


# a name, an alias (``add`` = ``add-last``) or libvirt's code -> a ``types.Command``
normalize_command = T.Command.of


def apply_update(network: M.Network, command, section=None, xml=None, *,
                 parent_index: int = -1, node_spec: str | None = None) -> Change:
    """Edit ``network`` in place and return the ``Change``; see the module docstring."""
    command = normalize_command(command)
    wanted = S.get(section) if section is not None else None
    if parent_index is None:
        parent_index = -1
    if not isinstance(parent_index, int) or isinstance(parent_index, bool):
        raise UnsupportedError(f"parent index must be an integer, not {parent_index!r}")
    ed = Edit(network, command, parent_index)
    if node_spec is None and wanted is None:
        raise UnsupportedError("an update needs a section or a node spec")
    if xml is None and not (command == "delete" and (
            node_spec is not None or (wanted is not None and not wanted.repeated
                                      and wanted.name != "network"))):
        raise InvalidFragmentError("an XML fragment is required"
                                   + ("" if node_spec is None else
                                      f" to {command} through a node spec"))
    ed.frag = _parse_fragment(xml) if xml is not None else None
    if node_spec is not None:
        if parent_index >= 0:
            raise UnsupportedError("a node spec selects the element itself: "
                                   "parent index and node spec cannot be combined")
        from netupdate.edit.nodespec import run_node_spec  # only what a nodeSpec edit needs

        ed.expected_section = wanted
        change = run_node_spec(ed, node_spec)
    else:
        change = HANDLERS[wanted.name].section_form(ed)
        # these change children of <ip>/<dhcp> only: the DNS host index stays true
        ed.dns_index_kept |= wanted.name in ("ip-dhcp-host", "ip-dhcp-range")
    ed.done()
    return change


# ====================================================================== fragments
_DECLARATION = Pattern(r"^\s*<\?xml\b[^>]*\?>", re.S)


def _parse_fragment(xml) -> etree._Element:
    if isinstance(xml, etree._Element):
        if not isinstance(xml.tag, str):
            raise InvalidFragmentError("the XML fragment must be an element")
        import copy
        element = copy.deepcopy(xml)
        element.tail = None
        return element
    if isinstance(xml, bytes | bytearray):
        try:
            text, _, _ = decode(bytes(xml))
        except XMLParseError as exc:
            raise InvalidFragmentError(f"invalid XML fragment: {exc.message}") from None
    elif isinstance(xml, str):
        text = xml
    else:
        raise InvalidFragmentError(f"the XML fragment must be text, not {type(xml).__name__}")
    text = text.lstrip("\ufeff")
    text = _DECLARATION.sub("", text, count=1).strip()
    if not text:
        raise InvalidFragmentError("the XML fragment is empty")
    if not text.startswith("<"):
        raise InvalidFragmentError(f"the XML fragment must start with '<': {short(text)!r}")
    try:
        element = parse_element(text, filename="XML fragment")
    except XMLParseError as exc:
        where = f" (line {exc.line})" if exc.line and exc.line > 1 else ""
        raise InvalidFragmentError(f"invalid XML fragment{where}: {exc.message}") from None
    element.tail = None
    return element
