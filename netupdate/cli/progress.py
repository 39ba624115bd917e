"""How the live verbs show a long operation: progress (a bar on a terminal, JSON lines with
``--json``), Ctrl-C (exit 130 or 143, saying whether the network was put back), the result."""

from __future__ import annotations

import sys


class Reporter:
    """Progress of a long operation: JSON lines on stdout with ``--json``, a progress bar on
    stderr when it is a terminal, nothing otherwise."""

    WIDTH = 30

    def __init__(self, args, stream=None, err=None):
        self.json = bool(getattr(args, "json", False))
        self.out = stream or sys.stdout
        self.err = err or sys.stderr
        self.tty = not self.json and self.err.isatty()
        self.drawn = False

    def __call__(self, event: dict) -> None:
        if self.json:
            self.line(event)
            return
        if not self.tty:
            return
        kind = event.get("event")
        if kind == "progress" and event.get("total"):
            done, total = event["done"], event["total"]
            filled = int(self.WIDTH * done / total)
            self._draw(f"{event.get('phase', '')} [{'#' * filled}{'-' * (self.WIDTH - filled)}]"
                       f" {100 * done // total:3d}% {done}/{total}")
        elif kind == "step":
            self._draw(f"{event['step']}...")
        elif kind == "rollback":
            self._draw(f"failed at {event.get('step')}: rolling back...")
        elif kind == "armed":
            self._draw("rollback timer armed")

    def _draw(self, text: str) -> None:
        self.err.write("\r\033[K" + text)
        self.err.flush()
        self.drawn = True

    def line(self, event: dict) -> None:
        from netupdate.cli.report import emit_json_line
        emit_json_line(event, self.out)

    def done(self) -> None:
        if self.drawn:
            self.err.write("\r\033[K")
            self.err.flush()
            self.drawn = False


def long_operation(args, run):
    """Run ``run(reporter)`` (a long operation): Ctrl-C means put back and exit 130; with
    ``--json`` the result (or the error) is the last JSON line."""
    from netupdate.cli import Terminated, end_now
    from netupdate.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, NetupdateError, restored
    reporter = Reporter(args)
    args.json_lines = reporter.json
    try:
        result = run(reporter)
    except KeyboardInterrupt as exc:
        reporter.done()
        back = restored(exc)
        message = ("interrupted: the network is as it was before the operation" if back else
                   "interrupted; run 'netupdate recover' to make sure the network is consistent")
        if reporter.json:
            reporter.line({"event": "interrupted", "restored": back, "message": message})
        print(f"netupdate: {message}", file=sys.stderr)
        import signal
        term = isinstance(exc, Terminated) or getattr(exc, "signum", None) == signal.SIGTERM
        return end_now(EXIT_TERMINATED if term else EXIT_INTERRUPTED), None
    except NetupdateError:
        reporter.done()   # the error: the last JSON line with --json (``report.error_line``)
        raise
    reporter.done()
    return 0, result


def emit_result(args, result, reporter_json: bool) -> None:
    from netupdate.cli.connect import warn_restart
    if reporter_json:
        from netupdate.cli.report import emit_json_line, result_json
        emit_json_line({"event": "result", **result_json(result)})
    else:
        from netupdate.cli.report import result_text
        print(result_text(result, args))
    warn_restart(result)
