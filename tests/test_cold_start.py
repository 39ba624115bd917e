"""Cold start: a verb imports only what it uses, and the typed definitions generate no code.

The times are in ``benchmarks/bench_cli.py``; here: which modules a command line imports (each in
a fresh interpreter), and that definitions still behave as the dataclasses they are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.cli import build_parser, main
from netupdate.cli.output import MAX_HELP_COLUMNS
from netupdate.cli.tophelp import TEXT
from netupdate.model import defs as M
from netupdate.model.record import Def

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "networks" / "nat-default.xml"
HOST = "<host mac='52:54:00:aa:00:01' name='newvm' ip='192.168.122.201'/>"

# modules that cost start-up time, and the command lines that must not import them
HEAVY = ("signal", "json", "textwrap", "lxml.etree", "dataclasses", "socket", "uuid",
         "hashlib", "netupdate.model", "netupdate.sections", "netupdate.live",
         "typing", "pathlib", "shutil")   # shutil: argparse's formatter (cli.options.help_width)
NOT_IMPORTED = {
    ("--version",): (*HEAVY, "re", "contextlib", "argparse", "enum"),
    ("--help",): (*HEAVY, "argparse", "re", "gettext", "locale"),   # cli/tophelp.py
    ("edit", "--help"): tuple(m for m in HEAVY if m != "textwrap"),   # argparse wraps its help
    ("list", "--help"): tuple(m for m in HEAVY if m != "textwrap"),
    ("edit", str(NET), "add", "ip-dhcp-host", HOST, "-o", os.devnull):
        ("socket", "hashlib", "json", "netupdate.live.backend", "netupdate.live.connect",
         "netupdate.live.embedded", "netupdate.live.libvirt", "netupdate.live.txn",
         "netupdate.check", "netupdate.planning", "netupdate.render", "netupdate.cli.live",
         "pathlib", "shutil", "signal", "threading"),
}


def _imported(argv: tuple[str, ...]) -> set[str]:
    """The modules ``main(argv)`` imports, in an interpreter started as a fresh install's is:
    ``-S``, so that no ``.pth`` start-up hook of this machine's site-packages preloads what the
    command would import (the dependencies are found through PYTHONPATH instead)."""
    code = ("import sys, io\n"   # io is loaded at start-up anyway
            "before = set(sys.modules)\n"
            "sys.stdout = io.StringIO()\n"
            "from netupdate.cli import main\n"
            f"code = main({list(argv)!r})\n"
            "new = sorted(set(sys.modules) - before)\n"
            "import json\n"
            "sys.stderr.write(json.dumps([code, new]))\n")
    path = os.pathsep.join([str(ROOT), *site.getsitepackages(), site.getusersitepackages()])
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": path, "COLUMNS": "80"}, cwd=ROOT,
                            check=True)
    code, modules = json.loads(result.stderr.splitlines()[-1])
    assert code == 0
    return set(modules)


@pytest.mark.parametrize("argv", list(NOT_IMPORTED), ids=lambda argv: " ".join(argv[:2]))
def test_a_command_line_imports_only_what_it_uses(argv):
    imported = _imported(argv)
    loaded = sorted(name for name in NOT_IMPORTED[argv]
                    if any(m == name or m.startswith(name + ".") for m in imported))
    assert loaded == []


def test_definitions_generate_no_code_and_stay_dataclasses():
    classes = [cls for cls in vars(M).values()
               if isinstance(cls, type) and issubclass(cls, Def) and cls is not Def]
    assert len(classes) > 25
    for cls in classes:
        assert dataclasses.is_dataclass(cls)
        for name in ("__init__", "__setattr__", "__delattr__", "__eq__", "__hash__",
                     "__repr__"):
            assert getattr(cls, name) is getattr(Def, name), (cls, name)
    host = M.DhcpHost(mac="52:54:00:00:00:01", name="a")
    assert host == M.DhcpHost("52:54:00:00:00:01", None, "a")
    assert (host.ip, host.lease) == (None, None)
    assert dataclasses.replace(host, name="b").name == "b"
    assert [f.name for f in dataclasses.fields(host)] == ["mac", "id", "name", "ip", "lease"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        host.name = "c"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del host.name
    with pytest.raises(TypeError, match="unexpected keyword argument 'nmae'"):
        M.DhcpHost(nmae="a")
    with pytest.raises(TypeError, match="multiple values for argument 'mac'"):
        M.DhcpHost("52:54:00:00:00:01", mac="52:54:00:00:00:02")
    with pytest.raises(TypeError, match="at most 5 positional"):
        M.DhcpHost(*range(6))


def test_the_installed_command_imports_nothing_before_main():
    """pip installs ``bin/netupdate`` as the command (a console_scripts wrapper would import
    ``re`` first: more than all of ``--version``)."""
    from netupdate import __version__
    assert "\nscripts = bin/netupdate\n" in (ROOT / "setup.cfg").read_text()
    command = [sys.executable, "-S", "-X", "importtime", str(ROOT / "bin" / "netupdate")]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout == f"netupdate {__version__}\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()[1:]}
    assert "netupdate.cli" in imported
    assert imported.isdisjoint({"re", "enum", "typing", "argparse", "contextlib"})


@settings(max_examples=25)
@given(columns=st.one_of(st.sampled_from([w + 2 for w in TEXT]),
                         st.integers(min_value=1, max_value=400)))
def test_top_level_help_is_argparse_s_at_every_width(columns):
    """``netupdate --help`` prints the text contrib/generate.py stored for its width (no
    parser), and that text is what argparse formats; other widths are formatted as before."""
    import contextlib
    import io

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", str(columns))
        expected = build_parser("--help").format_help()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["--help"]) == 0
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["-h"]) == 0
    assert out.getvalue() == expected
    width = min(columns, MAX_HELP_COLUMNS) - 2
    assert TEXT.get(width, expected) == expected
