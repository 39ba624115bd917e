"""``ansible-test sanity`` on the collection, offline (tests/ansible_sanity.py): validate-modules,
compile, import, pep8, yamllint, ansible-doc, runtime-metadata and the file checks run for real;
pylint is skipped (its pinned version is fetched from the internet) and the skip says so."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests import ansible_sanity as S
from tests import ansiblehelp as A


@pytest.fixture(autouse=True)
def _ansible():
    A.require_ansible()
    for module in ("voluptuous", "antsibull_docs_parser", "pycodestyle", "yamllint"):
        try:
            __import__(module)
        except ImportError:
            message = f"{module} is missing: pip install '.[test]' brings the sanity tools"
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)


def test_sanity_passes_offline(tmp_path):
    done = S.run(tmp_path / "home", tmp_path / "work", [])
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("validate-modules", "compile", "import", "pep8", "yamllint"):
        assert f'Running sanity test "{name}"' in done.stderr + done.stdout


def test_validate_modules_catches_a_documentation_error(tmp_path):
    """The offline run is a real one: a module whose DOCUMENTATION lacks an option fails."""
    done = S.run(tmp_path / "home", tmp_path / "work", ["validate-modules"])
    assert done.returncode == 0, done.stdout + done.stderr
    module = tmp_path / "work" / "ansible_collections/netupdate/netupdate/plugins/modules"
    text = (module / "dns_txt.py").read_text()
    (module / "dns_txt.py").write_text(text.replace("  value:\n    description: The C(value) "
                                                    "attribute. Required for O(state=present).\n"
                                                    "    type: str\n", ""))
    env_home = tmp_path / "home"
    broken = subprocess.run([A.tool("ansible-test"), "sanity", "--local", "--python", S.PYTHON,
                             "--color", "no", "--test=validate-modules"],
                            cwd=module.parent.parent, capture_output=True, text=True,
                            env=dict(os.environ, HOME=str(env_home)), timeout=600)
    assert broken.returncode != 0
    assert "undocumented-parameter" in broken.stdout + broken.stderr
