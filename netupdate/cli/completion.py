"""Shell completion through argcomplete (bash, zsh, fish): ``main`` calls ``complete()`` when
the shell's completion hook runs the program (``_ARGCOMPLETE`` is set).  Verbs, sections,
commands and options come from the argparse tree; network names from ``netupdate list``.

The scripts the shells load are generated, never written by hand (``contrib/completion/``,
installed by pip; ``python -m netupdate.cli.completion bash|zsh|fish`` prints one).
"""

from __future__ import annotations

import sys


def complete(parser) -> None:
    """Answer the shell's completion request for the full ``parser`` (and exit); after a
    section only the typed options it takes are offered, and no ``--batch``
    (``editargs.foreign_options``)."""
    import os

    import argcomplete

    from netupdate.cli.editargs import foreign_options
    line = os.environ.get("COMP_LINE", "")[:int(os.environ.get("COMP_POINT") or 0) or None]
    argcomplete.autocomplete(parser, always_complete_options=False,
                             exclude=foreign_options(line.split()))


def script(shell: str) -> str:
    """The completion script of ``shell`` (argcomplete's, for the ``netupdate`` program)."""
    import argcomplete
    return argcomplete.shellcode(["netupdate"], shell=shell)


if __name__ == "__main__":
    sys.stdout.write(script(sys.argv[1] if len(sys.argv) > 1 else "bash"))
