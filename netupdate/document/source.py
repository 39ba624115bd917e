"""Safe parsing and a source-preserving XML document.

``Document`` holds an lxml tree and, for every node that came from the input, the exact text it
was written with (``document/sourcemap.py`` finds it).  Serialising copies every untouched node
verbatim, so an unedited document is written back byte-for-byte (comments, processing instructions, quote style, attribute spacing,
character references, CDATA, indentation, line endings).  Edited elements are re-rendered: an
element whose attributes changed keeps the original text of the attributes that did not change,
and new elements are written in the document's own quote style and indentation.

Parsing is defensive: no DTD (so no entity expansion and no external entities), no network, and
size and shape limits (``xmllimits``).  Errors are ``XMLParseError`` with file and line.
"""

from __future__ import annotations

import codecs
import itertools
import os
import re

from lxml import etree

from netupdate.document.bulk import bulk
from netupdate.document.limits import parse as _lxml_parse
from netupdate.document.paths import element_path  # noqa: F401  (re-exported)
from netupdate.document.patterns import Pattern
from netupdate.document.sourcemap import Node, map_source, number_lines
from netupdate.errors import UnreadableError, XMLParseError

MAX_BYTES = 32 * 1024 * 1024

_ATTR = Pattern(r"""(\s+)([^\s=/>]+)(\s*=\s*)(["'])(.*?)\4""", re.S)
_DECL_ENCODING = Pattern(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode(data: bytes, filename: str | None = None) -> tuple[str, str, bytes]:
    """Return (text, encoding, bom) for raw document bytes."""
    bom, encoding = b"", "utf-8"
    for mark, name in _BOMS:
        if data.startswith(mark):
            bom, encoding = mark, name
            break
    if not bom:
        match = _DECL_ENCODING.match(data)
        if match:
            encoding = match.group(1).decode("ascii").lower()
    try:
        codecs.lookup(encoding)
        text = data[len(bom):].decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise XMLParseError(f"cannot decode document as {encoding}: {exc}", file=filename,
                            line=1) from None
    return text, encoding, bom


def read_file(path, filename: str | None = None) -> bytes:
    """The bytes of a document file, refusing one larger than ``MAX_BYTES`` before reading it
    (and reading only what the file holds: a small file costs a small buffer)."""
    path = os.fspath(path)
    filename = filename if filename is not None else path
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_BYTES:
                raise XMLParseError(f"document is larger than {MAX_BYTES // (1024 * 1024)} MiB "
                                    f"({size} bytes); refused without parsing", file=filename)
            data = handle.read(size + 1)
            if len(data) > size:  # it grew, or has no size (a pipe)
                data += handle.read(MAX_BYTES + 1 - len(data))
    except OSError as exc:   # the path again only when the file is named otherwise
        why = exc.strerror or exc
        head = "cannot read" if path == filename else f"cannot read {path}"
        raise UnreadableError(f"{head}: {why}", file=filename) from exc
    if len(data) > MAX_BYTES:
        raise XMLParseError(f"document is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                            file=filename)
    return data


def _check_text(text: str, filename: str | None) -> None:
    if len(text) > MAX_BYTES:
        raise XMLParseError(f"document is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                            file=filename)
    if "\x00" in text:
        raise XMLParseError("document contains NUL bytes (binary data, not XML)", file=filename,
                            line=text.count("\n", 0, text.index("\x00")) + 1)


def parse_element(text: str, filename: str | None = None) -> etree._Element:
    """Parse a small XML text (an update fragment) safely; returns its root element."""
    _check_text(text, filename)
    _refuse_declarations(text, filename)
    return _lxml_parse(text, filename).getroot()


def _refuse_declarations(text: str, filename: str | None) -> None:
    match = re.search(r"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise XMLParseError(f"<!{match.group(1)}> is not allowed: network XML takes no DTD "
                            "(refused to protect against entity expansion and external "
                            "entities)", file=filename, line=line)


class Document:
    """An XML document that remembers how it was written."""

    def __init__(self, text: str, *, filename: str | None = None, encoding: str = "utf-8",
                 bom: bytes = b""):
        _check_text(text, filename)
        _refuse_declarations(text, filename)
        self.filename, self.encoding, self.bom = filename, encoding, bom
        with bulk():   # 100,000 hosts: see document.bulk
            self.tree = _lxml_parse(text, filename)
            self.root = self.tree.getroot()
            self._read(text)

    def written(self, data: bytes) -> None:
        """``data``, this document's serialization now, was written to its file: the lines
        ``line_of`` gives are that file's from now on (counted when first asked for)."""
        self._written = (data, self._marks)

    def line_of(self, element) -> int | None:
        """The line of ``element`` in the file last read or written (None: edited in since)."""
        if self._written is not None:
            (data, marks), self._written = self._written, None
            self._lines = marks == self._marks   # else unknown until the next write
            if self._lines:   # parsed from the written text, as a fresh read would be
                with bulk():
                    text = decode(data, self.filename)[0]
                    self._read(text)
                    number_lines(self._nodes, text)
        return element.sourceline if self._lines and element in self._nodes else None

    def _read(self, text: str) -> None:
        self.text = text
        # a write not yet counted (``written``), edits made since read, lxml's lines the file's
        self._written, self._marks, self._lines = None, 0, True
        self._nodes, self._prolog, self._epilog = map_source(text, self.root, self.filename)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self._touched: set = set()    # changed in place (see touch): children read one by one
        self._edited: set = set()     # parents whose children insert/remove/replace changed
        self._changed: set = set()    # inserted by the edits, or given another tail by them
        self._fresh: dict = {}        # rendering of each inserted element, for tracked writes
        body = text[len(self._prolog):len(text) - len(self._epilog)]
        self.quote = '"' if len(re.findall(r'=\s*"', body)) > len(re.findall(r"=\s*'", body)) \
            else "'"
        self.indent_unit = self._detect_indent_unit()

    # ------------------------------------------------------------------ writing
    def serialize(self, *, tracked: bool = False) -> str:
        """The document text.  By default every node is compared with what was read, so any
        edit shows, however made.  ``tracked=True`` trusts the edit marks (``touch``): nodes
        outside the marked paths are copied unseen, so a one-host edit of thousands of hosts
        is cheap; only for documents edited solely through insert/remove/replace/touch."""
        out: list[str] = [self._prolog]
        self._emit(self.root, out, self._marked_paths() if tracked else None)
        out.append(self._epilog)
        return "".join(out)

    def to_bytes(self, *, tracked: bool = False) -> bytes:
        return self.encode(self.serialize(tracked=tracked))

    def encode(self, text: str) -> bytes:   # a serialization, in the document's encoding
        return self.bom + text.encode(self.encoding, "xmlcharrefreplace")

    def touch(self, *elements) -> None:
        """Mark elements whose attributes, text or children were changed in place."""
        self._marks += 1
        self._touched.update(elements)

    def _marked_paths(self) -> dict:
        """The elements to write piece by piece (touched ones and the ancestors of every
        touched or changed one), each with its children to write one by one (in document
        order); every other element is written from its source text, or its first rendering."""
        paths: dict = {element: [] for element in (*self._touched, *self._edited)}
        for element in self._changed:
            parent = element.getparent()
            if parent is not None:
                paths.setdefault(parent, []).append(element)
        for element in list(paths):
            parent = element.getparent()
            while parent is not None:
                known = parent in paths
                paths.setdefault(parent, []).append(element)
                if known:
                    break
                element, parent = parent, parent.getparent()
        return paths

    def render(self, element) -> str:
        """The text of one element (without its tail) as ``serialize`` writes it."""
        out: list[str] = []
        self._emit(element, out, None)
        return "".join(out)

    @property
    def edits(self) -> int:   # nodes the edit marks name: a tracked write handles each (~1 us)
        return len(self._touched) + len(self._edited) + len(self._changed)

    def is_modified(self) -> bool:
        return not self._clean(self.root)

    def _clean(self, node) -> bool:
        record = self._nodes.get(node)
        if record is None or record.tag != node.tag or record.text != node.text:
            return False
        if isinstance(node.tag, str):
            if record.attrib != tuple(node.attrib.items()):
                return False
            children = tuple(node)
            if children != record.children:
                return False
            for child in children:
                if child.tail != self._nodes[child].tail or not self._clean(child):
                    return False
        return True

    def _emit(self, node, out: list[str], marked: dict | None) -> None:
        record = self._nodes.get(node)
        if marked is not None and node not in marked:
            if record is not None:
                out.append(self.text[record.start:record.end])
                return
            fresh = self._fresh.get(node)   # an inserted element, unchanged since written
            if fresh is None:
                part: list[str] = []
                self._emit(node, part, None)
                fresh = self._fresh[node] = "".join(part)
            out.append(fresh)
            return
        if record is not None and marked is None and self._clean(node):
            out.append(self.text[record.start:record.end])
            return
        if isinstance(node, etree._Comment):
            out.append(f"<!--{node.text or ''}-->")
            return
        if isinstance(node, etree._ProcessingInstruction):
            out.append(f"<?{node.target} {node.text or ''}?>" if node.text else
                       f"<?{node.target}?>")
            return
        name = self._qname(node, node.tag)
        out.append("<" + name + self._attributes(node, record))
        if not node.text and next(node.iterchildren(), None) is None:
            if (record is not None and not record.self_closing and not record.children
                    and not record.text):   # written as <x></x> in the input: keep that
                out.append(">" + self.text[record.end_tag_start:record.end])
            else:
                out.append(record.close if record is not None and record.self_closing
                           else "/>")
            return
        if record is not None and record.self_closing:
            out.append(record.close[:-2].rstrip() + ">")
        else:
            out.append(record.close if record is not None else ">")
        if record is not None and node.text == record.text:
            out.append(self.text[record.tag_end:record.text_end])
        elif node.text:
            out.append(escape_text(node.text))
        if marked is not None and record is not None and node not in self._touched:
            self._emit_edited_children(node, out, marked)
        else:
            for child in node:
                self._emit_child(child, out, marked)
        if record is not None and not record.self_closing:
            out.append(self.text[record.end_tag_start:record.end])
        else:
            out.append(f"</{name}>")

    def _emit_child(self, child, out: list[str], marked: dict | None) -> None:
        self._emit(child, out, marked)
        child_record = self._nodes.get(child)
        if child_record is not None and child.tail == child_record.tail:
            out.append(self.text[child_record.end:child_record.tail_end])
        elif child.tail:
            out.append(escape_text(child.tail))

    def _emit_edited_children(self, node, out: list[str], marked: dict) -> None:
        """The children of an element only ``insert``/``remove``/``replace`` changed: the runs
        between the edited ones (those edits mark each child they insert or re-tail, and the
        one after each they remove) are a slice of the source each, whatever their number."""
        unseen, edited, child = set(marked[node]), [], next(reversed(node), None)
        while unseen and child is not None:   # in document order, from the end (where hosts
            if child in unseen:   # are added most often); marks may name former children
                unseen.discard(child)
                edited.append(child)
            child = child.getprevious()
        edited.reverse()
        start = next(node.iterchildren(), None)
        for child in (*edited, None):
            last = child.getprevious() if child is not None else \
                next(node.iterchildren(reversed=True), None)
            if start is not None and last is not None and start is not child:
                # unedited siblings start .. last: one slice of the source
                out.append(self.text[self._nodes[start].start:self._nodes[last].tail_end])
            if child is not None:
                self._emit_child(child, out, marked)
                start = child.getnext()

    def _attributes(self, node, record: Node | None) -> str:
        """The attribute text of a start tag: original text for what did not change."""
        if record is None:
            return "".join(self._namespace_declarations(node)) + "".join(
                self._render_attr(node, key, value) for key, value in node.attrib.items())
        current = dict(node.attrib)
        key_of = {self._qname(node, key, attribute=True): key for key in current}
        parts: list[str] = []
        start, end = record.attrs_span
        for name, raw, value in ((a.group(2), a.group(0), a.group(5))
                                 for a in _ATTR.finditer(self.text, start, end)):
            if name == "xmlns" or name.startswith("xmlns:"):
                parts.append(raw)  # namespace declarations are not lxml attributes
                continue
            key = key_of.get(name)
            if key is None:
                continue  # attribute removed
            new_value = current.pop(key)
            if new_value == dict(record.attrib).get(key, value):
                parts.append(raw)
            else:
                quote = raw[-1]
                parts.append(raw[:raw.index(quote)] + quote + escape_attr(new_value, quote)
                             + quote)
        parts.extend(self._render_attr(node, key, value) for key, value in current.items())
        return "".join(parts)

    def _render_attr(self, node, key: str, value: str) -> str:
        q = self.quote
        return f" {self._qname(node, key, attribute=True)}={q}{escape_attr(value, q)}{q}"

    def _namespace_declarations(self, node) -> list[str]:
        parent = node.getparent()
        inherited = parent.nsmap if parent is not None else {}
        q = self.quote
        decls = []
        for prefix, uri in node.nsmap.items():
            if inherited.get(prefix) != uri:
                name = f"xmlns:{prefix}" if prefix else "xmlns"
                decls.append(f" {name}={q}{escape_attr(uri, q)}{q}")
        return decls

    @staticmethod
    def _qname(node, tag: str, attribute: bool = False) -> str:
        if not tag.startswith("{"):
            return tag
        uri, local = tag[1:].split("}", 1)
        if uri == "http://www.w3.org/XML/1998/namespace":
            return f"xml:{local}"
        for prefix, ns in node.nsmap.items():
            if ns == uri and (prefix or not attribute):
                return f"{prefix}:{local}" if prefix else local
        return local

    # ------------------------------------------------------------------ layout
    def _detect_indent_unit(self) -> str:
        """The smallest indentation step of the document, judged on its first nodes (enough:
        the root's children and theirs show it)."""
        best = None
        for record in itertools.islice(self._nodes.values(), 256):
            indent = self._raw_indent(record.start)
            if indent is None:
                continue
            if indent.startswith("\t"):
                return "\t"
            if indent and (best is None or len(indent) < len(best)):
                best = indent
        return best or "  "

    def _raw_indent(self, offset: int) -> str | None:
        prefix = self.text[self.text.rfind("\n", 0, offset) + 1:offset]
        return prefix if prefix.strip() == "" else None

    def indent_of(self, element) -> str:
        """The indentation of the line an element starts on (computed for new elements)."""
        record = self._nodes.get(element)
        if record is not None:
            indent = self._raw_indent(record.start)
            if indent is not None:
                return indent
        parent = element.getparent()
        if parent is None:
            return ""
        previous = element.getprevious()
        ws = previous.tail if previous is not None else parent.text
        if ws and ws.strip() == "" and "\n" in ws:
            return ws.rsplit("\n", 1)[1]
        return self.indent_of(parent) + self.indent_unit

    # ------------------------------------------------------------------ formatting-aware edits
    def insert(self, parent, index: int | None, element) -> None:
        """Insert ``element`` as child ``index`` of ``parent``, indented like its siblings.

        As with ``list.insert``, a negative ``index`` counts from the end; ``None`` appends.
        Only the neighbours are visited (``parent[index]`` walks from the end it is given), so
        inserting near either end of a parent with thousands of children stays cheap."""
        self._marks += 1
        self._edited.add(parent)
        self._fresh.pop(element, None)
        last = next(parent.iterchildren(reversed=True), None)
        nl = self.newline
        if last is not None:
            target = None
            if index is not None:
                try:
                    target = parent[index]
                except IndexError:
                    target = None if index >= 0 else parent[0]
            if target is not None:
                previous = target.getprevious()
                before = previous.tail if previous is not None else parent.text
                ws = self._native(before if before is not None and before.strip() == "" else "")
                target.addprevious(element)
                element.tail = ws
                self._changed.add(element)
                child_indent = ws.rsplit("\n", 1)[1] if "\n" in ws else ""
            else:
                previous = last.getprevious()
                before = previous.tail if previous is not None else parent.text
                ws = self._native(before if before is not None and before.strip() == "" else "")
                element.tail = self._native(last.tail)
                last.tail = ws
                parent.append(element)
                self._changed.update((element, last))
                child_indent = ws.rsplit("\n", 1)[1] if "\n" in ws else ""
        else:
            parent_indent = self.indent_of(parent)
            child_indent = parent_indent + self.indent_unit
            parent.text = nl + child_indent
            element.tail = nl + parent_indent
            parent.append(element)
            self._changed.add(element)
        self._reindent(element, child_indent)

    def _reindent(self, element, indent: str) -> None:
        children = list(element)
        if not children:
            return
        inner = indent + self.indent_unit
        nl = self.newline
        if element.text is None or element.text.strip() == "":
            element.text = nl + inner
        for position, child in enumerate(children):
            if child.tail is None or child.tail.strip() == "":
                child.tail = nl + (inner if position < len(children) - 1 else indent)
            if isinstance(child.tag, str):
                self._reindent(child, inner)

    def remove(self, element) -> None:
        """Remove ``element`` and the whitespace that introduced it."""
        self._marks += 1
        parent = element.getparent()
        self._edited.add(parent)
        previous, following = element.getprevious(), element.getnext()
        if following is not None:
            self._changed.add(following)   # the source runs on from the removed element
        tail = element.tail
        if following is None:
            # the last child's tail is the parent's closing indentation: keep it
            if previous is not None:
                previous.tail = self._native(tail)
                self._changed.add(previous)
            else:
                parent.text = self._native(tail) if tail and tail.strip() else None
        elif tail and tail.strip():
            # non-whitespace text after the element must survive
            if previous is not None:
                previous.tail = self._native((previous.tail or "") + tail)
                self._changed.add(previous)
            else:
                parent.text = self._native((parent.text or "") + tail)
        parent.remove(element)

    def replace(self, old, new) -> None:
        """Put ``new`` where ``old`` is, with the same surrounding whitespace."""
        self._marks += 1
        parent = old.getparent()
        self._edited.add(parent)
        new.tail = self._native(old.tail)
        parent.replace(old, new)
        self._changed.add(new)
        self._fresh.pop(new, None)
        self._reindent(new, self.indent_of(new))

    def _native(self, value: str | None) -> str | None:
        """Text the edits move around, with the document's own line ends (lxml reads '\n')."""
        if value is None or self.newline == "\n":
            return value
        return value.replace("\r\n", "\n").replace("\n", self.newline)


def escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(value: str, quote: str = "'") -> str:
    value = (value.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "&#10;")
             .replace("\r", "&#13;").replace("\t", "&#9;"))
    return value.replace("'", "&apos;") if quote == "'" else value.replace('"', "&quot;")
