"""The docs of the command line keep their word (issue 15, "Docs"): every typed-shortcut example
of the README and docs/cli.md runs, every ``netupdate.X`` the docs name exists, and
``dir(netupdate)`` shows the lazy exports."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path

import pytest

import netupdate
from netupdate.cli import main

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ROOT / "fixtures" / "networks"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# what an example edits: a network holding what a delete or modify names
FIXTURE = {"delete": NETWORKS / "nat-dns-txt.xml"}


def _commands(path: Path) -> list[str]:
    """The ``netupdate edit|update ...`` command lines of a document that use typed options:
    code lines (continuations joined) and inline code of the prose."""
    text = path.read_text().replace("\\\n", " ")
    found = re.findall(r"^\s*(netupdate (?:edit|update) .*)$", text, re.M)
    found += re.findall(r"`(netupdate (?:edit|update) [^`]*)`", " ".join(text.split()))
    return [c for c in dict.fromkeys(found) if " --" in c and "<" not in c and "FILE" not in c
            and "NAME" not in c and len(c.split()) > 4]


EXAMPLES = [command for path in (ROOT / "README.md", ROOT / "docs" / "cli.md")
            for command in _commands(path)]


def test_the_readme_shows_a_typed_shortcut():
    assert any("--mac" in command for command in _commands(ROOT / "README.md"))


@pytest.mark.parametrize("command", EXAMPLES)
def test_every_typed_shortcut_example_runs(command):
    """An ``update NAME`` example runs as the ``edit`` of a file holding network NAME (the
    same arguments, parsed by the same code)."""
    words = shlex.split(command)[1:]
    verb, target, rest = words[0], words[1], words[2:]
    rest = [w for w in rest if w not in ("--in-place",)]
    path = FIXTURE.get(rest[0], NETWORKS / "nat-default.xml")
    assert verb == "edit" and target.endswith(".xml") or verb == "update", command
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["edit", str(path), *rest])
    assert code == 0, (command, err.getvalue())
    assert out.getvalue().startswith("<network")


def _api_names() -> set[str]:
    names = set()
    for path in DOCS:
        names |= set(re.findall(r"`(netupdate(?:\.[A-Za-z_]\w*)+)", path.read_text()))
    return {n for n in names if not n.startswith("netupdate.netupdate")}   # Ansible's FQCN


def _resolve(name: str):
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(name)


@pytest.mark.parametrize("name", sorted(_api_names()))
def test_every_api_name_the_docs_give_exists(name):
    assert _resolve(name) is not None


def test_dir_shows_the_lazy_exports():
    names = dir(netupdate)
    assert set(netupdate.__all__) <= set(names)
    assert {"connect", "load", "validate", "plan_change", "fragment"} <= set(names)
