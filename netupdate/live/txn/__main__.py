"""``python -m netupdate.live.txn _expire NAME --token T --config-dir C --run-dir R``: the
detached auto-rollback timer of a change (``timer.spawn_timer`` starts it)."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """The timer process ``spawn_timer`` starts, on the embedded runtime's store in C and R."""
    import argparse

    from netupdate.errors import NetupdateError
    from netupdate.live.connect import connect
    from netupdate.live.txn.state import TIMER_VERB
    from netupdate.live.txn.timer import log, run_timer
    parser = argparse.ArgumentParser(prog="python -m netupdate.live.txn")
    parser.add_argument("verb", choices=[TIMER_VERB])
    parser.add_argument("name")
    parser.add_argument("--token", required=True)
    parser.add_argument("--config-dir", required=True)
    parser.add_argument("--run-dir", required=True)
    args = parser.parse_args(argv)
    try:
        conn = connect()
        conn.store.use_dirs(Path(args.config_dir), Path(args.run_dir))
    except NetupdateError as exc:
        log(f"cannot open the store: {exc}")
        return 1
    with conn:
        return run_timer(conn, args.name, args.token)


if __name__ == "__main__":
    sys.exit(main())
