"""Running the Ansible collection (ansible/) from the tests: a collection path, inventories of
several hosts (each the local connection with its own state dir, and for the live tier its own
namespace), ``ansible-playbook`` runs with their per-host recap, and the modules in process
(for generated tests: the same ``main()`` without a process per task)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "ansible"
MODULES = ("network", "network_info", "dhcp_host", "dhcp_range", "dns_host", "dns_txt",
           "dns_srv", "portgroup")
COUNTS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.M)


def require_ansible() -> None:
    """Skip without ansible-core, except in CI (CI=true), where the tier must run."""
    try:
        import ansible  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and ansible-core is missing: pip install '.[test]'",
                        pytrace=False)
        pytest.skip("ansible-core is not installed (pip install '.[ansible]')")


def tool(name: str) -> str:
    """An ansible command installed with this Python (its bin dir first, then PATH)."""
    import shutil
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def collection_path(tmp: Path) -> Path:
    """A collections path holding ansible_collections/netupdate/netupdate -> ansible/."""
    base = tmp / "collections"
    target = base / "ansible_collections" / "netupdate"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "netupdate"
    if not link.exists():
        link.symlink_to(COLLECTION)
    return base


def environment(tmp: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collection_path(tmp)),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
               ANSIBLE_REMOTE_TEMP=str(tmp / "ansible-remote-tmp"),
               ANSIBLE_HOME=str(tmp / "ansible-home"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_PIPELINING="1", ANSIBLE_GATHERING="explicit",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in
                                           env.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.pop("NETUPDATE_STATE_DIR", None)
    env.update(extra)
    return env


def inventory(tmp: Path, hosts: dict[str, dict]) -> Path:
    """An inventory (YAML-compatible JSON) of ``hosts``: name -> host vars; every host uses the
    local connection."""
    data = {"all": {"hosts": {name: dict(ansible_connection="local", **hostvars)
                              for name, hostvars in hosts.items()}}}
    path = tmp / "inventory.json"
    path.write_text(json.dumps(data, indent=1))
    return path


class Run:
    """One ``ansible-playbook`` run: its output and the per-host recap."""

    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc, self.out = proc.returncode, proc.stdout + proc.stderr
        self.recap = {m.group(1): dict(zip(COUNTS, map(int, m.groups()[1:]), strict=True))
                      for m in RECAP.finditer(self.out)}

    def count(self, host: str, what: str) -> int:
        assert host in self.recap, f"{host} did not run:\n{self.out}"
        return self.recap[host][what]

    def changed(self, host: str) -> int:
        return self.count(host, "changed")

    def failed(self, host: str) -> int:
        return self.count(host, "failed")


def playbook(tmp: Path, play: str, inv: Path, *args: str, check_rc: int | None = 0,
             env: dict | None = None) -> Run:
    """Run the playbook text ``play`` against ``inv``."""
    path = tmp / f"play-{len(list(tmp.glob('play-*.yml')))}.yml"
    path.write_text(play)
    proc = subprocess.run([tool("ansible-playbook"), "-i", str(inv), str(path), *args],
                          capture_output=True, text=True, env=env or environment(tmp),
                          timeout=600, cwd=tmp)
    run = Run(proc)
    if check_rc is not None:
        assert run.rc == check_rc, run.out
    return run


def results(tmp: Path, host: str) -> dict:
    """What the playbook's ``save results`` task wrote for ``host``."""
    return json.loads((tmp / f"results-{host}.json").read_text())


SAVE = """
    - name: save results
      ansible.builtin.copy:
        content: "{{ %s | to_json }}"
        dest: "%s/results-{{ inventory_hostname }}.json"
        mode: "0600"
      check_mode: false
      diff: false
      changed_when: false
"""


def save_task(tmp: Path, expression: str) -> str:
    """A task writing ``expression`` (a Jinja dict) to results-HOST.json."""
    return SAVE % (expression, tmp)


# ---------------------------------------------------------------------- in process
def run_module(name: str, args: dict, *, check_mode: bool = False, diff: bool = False) -> dict:
    """Run module ``name``'s ``main()`` in this process with ``args``; returns its result
    (``failed`` set when it called fail_json)."""
    from ansible.module_utils.testing import patch_module_args
    sys.path.insert(0, str(collection_path(_inproc_tmp())))
    try:
        import importlib
        module = importlib.import_module(f"ansible_collections.netupdate.netupdate.plugins."
                                         f"modules.{name}")
    finally:
        sys.path.pop(0)
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), \
            pytest.raises(SystemExit):
        module.main()
    return json.loads(out.getvalue())


_TMP: list[Path] = []


def _inproc_tmp() -> Path:
    if not _TMP:
        import atexit
        import shutil
        import tempfile
        _TMP.append(Path(tempfile.mkdtemp(prefix="nu-ansible-")))
        atexit.register(shutil.rmtree, _TMP[0], True)
    return _TMP[0]
