"""Which files are documents: the ``*.xml`` files of the folders given to ``netupdate validate``.

This is the document layer's second entry that touches the file system (``source.read_file``
is the first, it reads one document): listing a folder is the same concern, choosing the bytes
that are network definitions, and it stays here so the command line only parses and prints.
"""

from __future__ import annotations

import os


def expand(arguments: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``(files, folders)``: the files to check in argument order (a folder gives its ``*.xml``
    files, searched recursively and sorted, hidden folders skipped, and only regular files:
    a FIFO named ``*.xml`` would block the read until something writes to it; a file given twice is
    listed once; ``-`` and missing files are kept, the reader reports them), and
    ``{folder argument: its files}`` for the folders among the arguments."""
    found: list[str] = []
    seen: set[str] = set()
    folders: dict[str, list[str]] = {}
    for argument in arguments:
        if argument != "-" and os.path.isdir(argument):
            candidates = folders[argument] = sorted(_xml_files(argument))
        else:
            candidates = [argument]
        for path in candidates:
            key = path if path == "-" else os.path.normpath(path)
            if key not in seen:
                seen.add(key)
                found.append(path)
    return found, folders


def _xml_files(folder: str) -> list[str]:
    inside = []
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        inside.extend(path for path in (os.path.join(directory, f) for f in files
                                        if f.endswith(".xml")) if os.path.isfile(path))
    return inside
