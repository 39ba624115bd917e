"""The parse stage of ``validate``: any source (text, bytes, a path, a ``model.Network``) to a
``<network>`` element, safely (``document/source.py``: no DTD, no entities, no network, a size
limit), and each parse failure's stable code (``NU-E001`` .. ``NU-E006``)."""

from __future__ import annotations

import os

from netupdate.document import source as xmlsrc
from netupdate.errors import UnreadableError, XMLParseError
from netupdate.model import defs as M


def parse_code(exc: XMLParseError) -> str:
    message = exc.message
    if isinstance(exc, UnreadableError):
        return "NU-E005"
    if message.startswith("root element is"):
        return "NU-E006"
    if " is not allowed" in message and message.startswith("<!"):
        return "NU-E002"
    if "larger than" in message or message.endswith("(netupdate's parser limit)"):
        return "NU-E003"
    if "NUL bytes" in message or message.startswith("cannot decode"):
        return "NU-E004"
    return "NU-E001"



def _is_path(source) -> bool:
    return isinstance(source, os.PathLike) or (
        isinstance(source, str) and not source.lstrip().startswith("<"))


def read_source(source, filename: str | None = None):
    """Parse ``source`` (text, bytes, a path or a ``model.Network``) safely and return
    ``(root element, filename)``; raises ``XMLParseError``."""
    if isinstance(source, M.Network):
        return source.root, filename if filename is not None else source.filename
    if _is_path(source):
        filename = filename if filename is not None else os.fspath(source)
        source = xmlsrc.read_file(source, filename)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > xmlsrc.MAX_BYTES:
            raise XMLParseError(f"document is larger than {xmlsrc.MAX_BYTES // (1024 * 1024)} "
                                "MiB; refused without parsing", file=filename)
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            line = data.count(b"\n", 0, data.index(b"\x00")) + 1
            raise XMLParseError("document contains NUL bytes (binary data, not XML)",
                                file=filename, line=line)
        text, _encoding, _bom = xmlsrc.decode(data, filename)
    elif isinstance(source, str):
        text = source
    else:
        raise TypeError(f"cannot validate a {type(source).__name__}: expected XML text, bytes, "
                        "a path or a netupdate.Network")
    root = xmlsrc.parse_element(text, filename)
    if not isinstance(root.tag, str) or root.tag != "network":
        raise XMLParseError(f"root element is <{root.tag}>, expected <network>", file=filename,
                            line=root.sourceline, path=f"/{root.tag}")
    return root, filename

