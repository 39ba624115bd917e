"""Shell completion through argcomplete (bash, zsh, fish): ``main`` calls ``complete()`` when
the shell's completion hook runs the program (``_ARGCOMPLETE`` is set).  Verbs, sections,
commands and options come from the argparse tree; network names from ``netupdate list``.

The scripts the shells load are generated, never written by hand (``contrib/completion/``,
installed by pip; ``python -m netupdate.cli.completion bash|zsh|fish`` prints one).
"""

from __future__ import annotations

import sys


def network_names(prefix: str = "", parsed_args=None, **_kwargs) -> list[str]:
    """The defined networks (of ``-c URI`` when given): completion of NAME arguments."""
    try:
        from netupdate.cli.connect import open_connection
        from netupdate.cli.options import fill_defaults
        with open_connection(fill_defaults(parsed_args), readonly=True) as conn:
            return [n.name for n in conn.list() if n.name.startswith(prefix)]
    except Exception:   # noqa: BLE001 - completion must never print a traceback
        return []


def words(prefix: str, parsed_args=None, **_kwargs) -> list[str]:
    """COMMAND then SECTION of ``edit``/``update``, by position."""
    from netupdate.cli.editargs import COMMANDS, section_names
    done = len(getattr(parsed_args, "words", None) or [])
    choices = COMMANDS if done == 0 else section_names() if done == 1 else ()
    return [c for c in choices if c.startswith(prefix)]


def complete() -> None:
    import argcomplete
    from netupdate.cli import build_parser
    argcomplete.autocomplete(build_parser(), always_complete_options="long")


def script(shell: str) -> str:
    """The completion script of ``shell`` (argcomplete's, for the ``netupdate`` program)."""
    import argcomplete
    return argcomplete.shellcode(["netupdate"], shell=shell)


if __name__ == "__main__":
    sys.stdout.write(script(sys.argv[1] if len(sys.argv) > 1 else "bash"))
