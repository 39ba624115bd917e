"""How results and errors are printed: text, or one JSON object with ``--json``.

An error with ``--json`` is one object on stdout, ``{"error": message, "code": kind, "exit":
status, "file": ..., "line": ..., "path": ...}``, and its one line on stderr as usual; a usage
error adds ``"usage"``.  A dry run's JSON never says ``applied``: its outcome words read
``would-...`` and ``"applied": false``.
"""

from __future__ import annotations

import sys


def emit_json(data, stream=None) -> None:
    import json
    stream = stream or sys.stdout
    stream.write(json.dumps(data, indent=2, default=str) + "\n")
    stream.flush()


def emit_json_line(data, stream=None) -> None:
    """One JSON line (the output of a long operation or a batch: its events, its result,
    its error)."""
    import json
    stream = stream or sys.stdout
    stream.write(json.dumps(data, default=str) + "\n")
    stream.flush()


def result_json(result) -> dict:
    """An ``UpdateResult``'s JSON (a dry run's outcomes read ``would-...``), with ``applied``."""
    data = result.to_json()
    data["applied"] = not result.dry_run and result.changed
    return data


def error_json(exc: BaseException, status: int, *, usage: str | None = None) -> dict:
    from netupdate.errors import EXIT_PERMISSION
    kind = "permission" if status == EXIT_PERMISSION else getattr(exc, "kind", None)
    data = {"error": getattr(exc, "message", None) or str(exc),
            "code": kind or ("usage" if usage is not None else "os"),
            "exit": status, "file": getattr(exc, "file", None),
            "line": getattr(exc, "line", None) or getattr(exc, "batch_line", None),
            "path": getattr(exc, "path", None)}
    if isinstance(exc, OSError):
        data["file"] = getattr(exc, "filename", None)
    if usage is not None:
        data["usage"] = usage
    return data


def error_line(data: dict, exc: BaseException) -> None:
    """With ``--json``, the error of a verb that writes JSON lines (``args.json_lines``: a long
    operation, a batch) is its last line: the error object ``data`` with the event's keys."""
    from netupdate.errors import restored
    emit_json_line({"event": "error", "message": data["error"], "restored": restored(exc),
                    **data})


def say(args, text: str, stream=None) -> None:
    """An informational line (not the result itself): left out with ``--quiet``."""
    if getattr(args, "verbosity", 0) >= 0:
        print(text, file=stream or sys.stdout)


def result_text(result, args) -> str:
    """An update's result as text: with ``--quiet`` its summary line only (what was done, or
    what waits for a restart), without the actions, checks and impact under it."""
    text = result.to_text()
    return text.split("\n", 1)[0] if getattr(args, "verbosity", 0) < 0 else text
