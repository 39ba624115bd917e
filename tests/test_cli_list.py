"""``netupdate list``: virsh net-list's filters and forms (``--all``, ``--active``/``--inactive``,
``--persistent``/``--transient``, ``--autostart``/``--no-autostart``, ``--name``, ``--uuid``),
and the bridge of a network that does not run."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.cli import main, parse
from netupdate.cli.listing import FILTERS, keep

ROOT = Path(__file__).resolve().parent.parent
NAT = ROOT / "fixtures" / "networks" / "nat-default.xml"
ROWS = st.fixed_dictionaries({key: st.booleans() for key in ("active", "persistent",
                                                              "autostart")})
OPPOSITE = {"--active": "--inactive", "--persistent": "--transient",
            "--autostart": "--no-autostart"}
OPPOSITE.update({b: a for a, b in OPPOSITE.items()})
WORDS = sorted(OPPOSITE)


def kept(words, row) -> bool:
    return keep(parse(["list", *words]), row)


@settings(max_examples=100)
@given(row=ROWS, words=st.lists(st.sampled_from(WORDS + ["--all"]), unique=True))
def test_filters_are_virsh_s(row, words):
    """No filter (or ``--all``) keeps every network; a filter and its opposite split them;
    filters of different kinds keep what each keeps (and two opposites, what either keeps)."""
    assert kept([], row) and kept(["--all"], row)
    assert sorted(f"--{dest.replace('_', '-')}" for dest in FILTERS) == WORDS
    for dest, (key, value, _text) in FILTERS.items():
        assert kept([f"--{dest.replace('_', '-')}"], row) == (row[key] == value)
    assert kept(words, row) == all(kept([word], row) or OPPOSITE.get(word) in words
                                   for word in words)


def test_list_filters_forms_and_the_bridge_of_an_inactive_network(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    second = tmp_path / "second.xml"
    second.write_text(NAT.read_text().replace("<name>default</name>", "<name>second</name>")
                      .replace("virbr0", "virbr7").replace("192.168.122", "192.168.127")
                      .replace(NAT.read_text().split("<uuid>")[1].split("</uuid>")[0],
                               "6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e70"))
    for path in (NAT, second):
        assert main(["define", str(path)]) == 0
    assert main(["autostart", "second"]) == 0
    capsys.readouterr()

    def listed(*words) -> str:
        assert main(["list", *words]) == 0
        return capsys.readouterr().out
    assert listed("--name") == listed("--all", "--name") == "default\nsecond\n"
    assert listed("--autostart", "--name") == "second\n"
    assert listed("--no-autostart", "--inactive", "--persistent", "--name") == "default\n"
    assert listed("--active", "--name") == listed("--transient", "--name") == ""
    assert listed("--autostart", "--uuid") == "6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e70\n"
    assert listed("--autostart", "--uuid", "--name") == \
        "6b1f4c5e-2a7d-4a35-9d6e-0c1b2a3d4e70 second\n"
    rows = {row["name"]: row for row in json.loads(listed("--json"))}
    assert (rows["default"]["bridge"], rows["second"]["bridge"]) == ("virbr0", "virbr7")
    assert [line.split()[4] for line in listed().splitlines()[2:]] == ["virbr0", "virbr7"]
