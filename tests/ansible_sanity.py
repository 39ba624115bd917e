"""``ansible-test sanity`` on the collection without the internet.

ansible-test runs each sanity check in a virtual environment of its own, made the first time by
downloading a pip bootstrap script and the check's pinned requirements.  Offline that fails.
Here each of those environments is made beforehand, where ansible-test looks for it (under a
HOME of the caller's choosing), as ``venv --system-site-packages`` of this Python: the check then
runs for real with the packages installed here (``pip install '.[test]'`` brings them:
voluptuous, antsibull-docs-parser, pycodestyle, yamllint).  A check whose tool is not installed
here (pylint: pinned, large, fetched from the internet) is skipped by name, and the
caller says so.

Usage: ``python -m tests.ansible_sanity HOME WORKDIR [TEST ...]`` copies ansible/ to
WORKDIR/ansible_collections/netupdate/netupdate and runs the checks; exit status is
ansible-test's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# checks with requirements that this environment provides (the tool is imported to tell)
SEEDED = {"validate-modules": "voluptuous", "pep8": "pycodestyle", "import": "yaml",
          "import.plugin": "yaml",
          "yamllint": "yamllint", "runtime-metadata": "voluptuous", "ansible-doc": "jinja2"}
# checks that need tools fetched from the internet: skipped, and reported as skipped
NEEDS_INTERNET = ("pylint",)
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _venv_hashes(content_root: Path) -> dict[str, str]:
    """ansible-test's environment name for each seeded check (its hash of the pip commands)."""
    import ansible_test
    sys.path.insert(0, str(Path(ansible_test.__file__).parent.parent))
    cwd = os.getcwd()
    os.chdir(content_root)
    try:
        from ansible_test._internal.commands.sanity import hash_pip_commands
        from ansible_test._internal.host_configs import NativePythonConfig
        from ansible_test._internal.python_requirements import collect_requirements
        python = NativePythonConfig(version=PYTHON, path=sys.executable)
        out = {}
        for name in SEEDED:
            commands = collect_requirements(python=python, controller=True, command=None,
                                            ansible=False, coverage=False, minimize=False,
                                            sanity=name)
            out[name] = hash_pip_commands(commands)
        return out
    finally:
        os.chdir(cwd)
        sys.path.pop(0)


def seed(home: Path, content_root: Path) -> None:
    """Make ansible-test's per-check environments under ``home`` from this Python."""
    for name, digest in _venv_hashes(content_root).items():
        path = home / ".ansible" / "test" / "venv" / f"sanity.{name}" / PYTHON / digest
        if (path / "marker.txt").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(path)], check=True)
        (path / "meta.install.json").write_text("[]")
        (path / "meta.yaml.json").write_text(json.dumps({"yaml": True, "cloader": True}))
        (path / "marker.txt").touch()


def copy_collection(workdir: Path) -> Path:
    target = workdir / "ansible_collections" / "netupdate" / "netupdate"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "ansible", target,
                    ignore=shutil.ignore_patterns("__pycache__", "tests/output", "*.tar.gz"))
    return target


def run(home: Path, workdir: Path, tests: list[str]) -> subprocess.CompletedProcess:
    content = copy_collection(workdir)
    seed(home, content)
    from tests.ansiblehelp import tool
    args = [tool("ansible-test"), "sanity", "--local", "--python", PYTHON, "--color", "no"]
    args += [f"--test={t}" for t in tests]
    if not tests:
        args += [f"--skip-test={t}" for t in NEEDS_INTERNET]
    env = dict(os.environ, HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run(args, cwd=content, env=env, capture_output=True, text=True,
                          timeout=900)


if __name__ == "__main__":
    done = run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    print(done.stdout + done.stderr)
    sys.exit(done.returncode)
