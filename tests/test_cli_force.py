"""``--force`` on ``update``, ``update --batch`` and ``apply``: the conflict pre-flight's refusal
is one line and exit 1; ``--force`` lets a forcible conflict through (docs/cli.md)."""

from __future__ import annotations

import pytest

import netupdate
from netupdate.cli import main

MINE = ("<network><name>mine</name><bridge name='nubr-mine'/><ip address='10.90.0.1' "
        "prefix='24'><dhcp><host mac='52:54:00:90:00:01' ip='10.90.0.10'/></dhcp></ip></network>")
OTHER = ("<network><name>other</name><bridge name='nubr-other'/><ip address='10.91.0.1' "
         "prefix='24'><dhcp><host mac='52:54:00:91:00:01' ip='10.91.0.10'/></dhcp></ip>"
         "</network>")
TAKEN = "<host mac='52:54:00:91:00:01' ip='10.90.0.11'/>"


@pytest.fixture
def state(tmp_path, monkeypatch):
    """``mine`` defined, ``other`` marked running in the store as a start does (its record
    and live definition: all the pre-flight reads of it; no kernel here)."""
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    conn = netupdate.connect(state_dir=tmp_path / "state")
    conn.define(MINE)
    conn.define(OTHER)
    conn.store.live_path("other").parent.mkdir(parents=True, exist_ok=True)
    conn.store.live_path("other").write_text(OTHER)
    conn.store.write_record("other", {"netns": None, "bridge": {"name": "nubr-other"}})
    conn.close()
    return tmp_path


def _run(capsys, argv) -> tuple[int, list[str]]:
    status = main(argv)
    return status, capsys.readouterr().err.splitlines()


def _config(capsys) -> str:
    assert main(["dumpxml", "mine", "--inactive"]) == 0
    return capsys.readouterr().out


def _verbs(tmp_path) -> dict:
    desired = tmp_path / "desired.xml"
    desired.write_text(MINE.replace("</dhcp>", TAKEN + "</dhcp>"))
    batch = tmp_path / "batch.txt"
    batch.write_text(f"add ip-dhcp-host {TAKEN}\n")
    return {"update": ["update", "mine", "add", "ip-dhcp-host", TAKEN, "--config"],
            "batch": ["update", "mine", "--batch", str(batch), "--config"],
            "apply": ["apply", "mine", str(desired), "--config"]}


@pytest.mark.parametrize("verb", ["update", "batch", "apply"])
def test_a_conflict_is_one_line_and_force_lets_it_through(capsys, state, verb):
    argv = _verbs(state)[verb]
    status, err = _run(capsys, argv)
    assert status == 1 and err == ["netupdate: error: conflict: MAC 52:54:00:91:00:01 is "
                                   "reserved in network mine and in network other "
                                   "(--force overrides it)"]
    assert "52:54:00:91:00:01" not in _config(capsys)
    assert _run(capsys, [*argv, "--force"])[0] == 0
    assert "52:54:00:91:00:01" in _config(capsys)
