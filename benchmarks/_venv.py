"""A throwaway virtual environment holding netupdate as a fresh machine has it after
``pip install '.[EXTRAS]'``: no system site packages (so none of this machine's ``.pth``
start-up hooks, which cost tens of milliseconds per process here), the dependencies installed
once and kept (``stamp``), and a regular (non-editable) install of this tree made afresh.

    python = prepare(Path("/tmp/nu-bench-live-venv"), extras=("live",))
"""

from __future__ import annotations

import configparser
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {key: value for key, value in os.environ.items()
       if key not in ("NETUPDATE_CONNECT", "PYTHONPATH", "PYTHONSTARTUP")}
# what ``pip install .`` needs of this tree
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "netupdate", "rng", "contrib", "bin")


def requirements(extras=()) -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    needed = config["options"]["install_requires"].split()
    for extra in extras:
        needed += config["options.extras_require"][extra].split()
    return needed


def prepare(venv: Path, extras=()) -> Path:
    """``venv`` with netupdate's dependencies (made once, then reused) and this tree installed
    into it afresh; returns its interpreter."""
    needed = ["wheel", "setuptools>=61", *requirements(extras)]
    stamp = hashlib.sha256(f"{sys.version} {needed}".encode()).hexdigest()
    python = venv / "bin" / "python"
    if not (venv / "stamp").is_file() or (venv / "stamp").read_text() != stamp:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=ENV)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *needed], check=True,
                       env=ENV)
        (venv / "stamp").write_text(stamp)
    with tempfile.TemporaryDirectory(prefix="nu-bench-src-") as src:
        for name in SOURCES:   # a copy: pip would leave build/ and egg-info/ in the tree
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, Path(src, name), symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__"))
            elif (ROOT / name).exists():
                shutil.copy2(ROOT / name, Path(src, name))
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "--force-reinstall", src],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
    # byte-compiled once, as pip does on a real install (PYTHONDONTWRITEBYTECODE is set here)
    subprocess.run([str(python), "-m", "compileall", "-q", str(venv / "lib")], env=ENV,
                   stdout=subprocess.DEVNULL, check=False)
    return python
