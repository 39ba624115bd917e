"""The libvirt tier needs the libvirt Python binding (``pip install 'netupdate[libvirt]'``).

Without it the tier is not collected (the report header says so), except in CI (``CI=true``),
where its absence is an error: the tier must run there.
"""

import os

import pytest

try:
    import libvirt  # noqa: F401
    MISSING = None
except ImportError:  # pragma: no cover - depends on the environment
    MISSING = "the libvirt Python binding is not installed: pip install 'netupdate[libvirt]'"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the libvirt tier cannot run: {MISSING}", pytrace=False)
    collect_ignore_glob = ["test_*.py"]


def pytest_report_header(config):
    return f"libvirt tier: not collected, {MISSING}" if MISSING else None
