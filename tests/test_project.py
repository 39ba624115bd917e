"""The project's own promises: README commands, CI script, packaging."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```\n(.*?)```", text, re.S)][:2]


def test_readme_shows_two_one_line_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert commands[0].startswith("pip install . && netupdate ")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci


def test_ci_treats_no_tests_as_failure():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$rc" -eq 5' in ci and "exit 1" in ci


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "netupdate", "--version"], capture_output=True,
                         text=True, check=True)
    import netupdate
    assert out.stdout.strip() == f"netupdate {netupdate.__version__}"


def test_help_lists_examples():
    out = subprocess.run([sys.executable, "-m", "netupdate", "--help"], capture_output=True,
                         text=True, check=True)
    assert "examples:" in out.stdout and "netupdate edit" in out.stdout


def test_every_package_is_listed_in_setup_cfg():
    import configparser
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "netupdate").rglob("__init__.py")} | {"netupdate.rng"}
    assert listed == found


def test_verb_table_matches_what_the_groups_register():
    import argparse
    import importlib

    from netupdate import cli
    for group, verbs in cli.VERBS.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"netupdate.cli.{group}").register(sub)
        assert set(sub.choices) == set(verbs), group
