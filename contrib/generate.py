"""Write the files generated from the code so they never drift from it: the man page
(argparse-manpage) and the shell completion scripts (argcomplete: bash, zsh, fish), which pip
installs next to the program, and the list of validation codes in docs/validation.md (from the
rules' registry).  tests/test_cli_shell.py and tests/test_validate.py check they are up to date.

    python contrib/generate.py            # rewrite them
    python contrib/generate.py --check    # exit 1 when one is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MAN = HERE / "man" / "netupdate.1"
VALIDATION_DOCS = HERE.parent / "docs" / "validation.md"
COMPLETIONS = {"bash": HERE / "completion" / "netupdate",
               "zsh": HERE / "completion" / "_netupdate",
               "fish": HERE / "completion" / "netupdate.fish"}


def man_page() -> str:
    from build_manpages.manpage import Manpage

    from netupdate import __version__
    from netupdate.cli import build_parser
    data = {"project_name": "netupdate", "version": __version__, "date": __version__,
            "description": "edit libvirt network definitions and apply the edits live",
            "url": "", "authors": [], "manual_section": "1",
            "manual_title": "netupdate manual"}
    return str(Manpage(build_parser(), _data=data, format="pretty"))


def completion(shell: str) -> str:
    from netupdate.cli.completion import script
    return script(shell)


def validation_docs() -> str:
    """docs/validation.md with its code list (between the markers) generated again."""
    from netupdate.check.ruledocs import DOCS_BEGIN, DOCS_END, rules_markdown
    head, rest = VALIDATION_DOCS.read_text(encoding="utf-8").split(DOCS_BEGIN, 1)
    _old, tail = rest.split(DOCS_END, 1)
    return f"{head}{DOCS_BEGIN}{rules_markdown().strip()}\n{DOCS_END}{tail}"


def wanted() -> dict[Path, str]:
    out = {MAN: man_page(), VALIDATION_DOCS: validation_docs()}
    out.update({path: completion(shell) for shell, path in COMPLETIONS.items()})
    return out


def main(argv: list[str]) -> int:
    stale = [path for path, text in wanted().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"stale: {path.relative_to(HERE.parent)} (run python contrib/generate.py)")
        return 1 if stale else 0
    for path, text in wanted().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
