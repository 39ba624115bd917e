"""A refused update of a defined network reads the same through ``update`` and through a
``--batch`` line (generated over network shapes and refused updates, tests/netshapes.py): one
error, exit 1, the refusal's own code (a batch line used to say ``invalid-operation`` for
every refusal), placed by its XPath alone: never by netupdate's own copy of the definition (the
stored file, which the user does not edit), and nothing changed."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netshapes import NAME, network_shapes, updates

import netupdate
from netupdate.cli import main


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(xml=network_shapes(), data=st.data())
def test_a_refusal_reads_the_same_through_update_and_batch(tmp_path_factory, monkeypatch,
                                                           capsys, xml, data):
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("NETUPDATE_STATE_DIR", str(state))
    monkeypatch.delenv("NETUPDATE_CONNECT", raising=False)
    netupdate.connect(state_dir=str(state)).define(xml)
    stored = sorted((p, p.read_bytes()) for p in state.rglob("*") if p.is_file())
    network = netupdate.load(xml)
    command, section, body, refused = data.draw(updates(network.defs, refused=True))
    assert refused and "\n" not in body
    batch = tmp_path_factory.mktemp("batch") / "b.txt"
    batch.write_text(f"{command} {section} {body}\n")
    seen = []
    for argv in (["update", NAME, command, section, body], ["update", NAME, "--batch", batch]):
        code = main(["--json", *map(str, argv)])
        out, err = capsys.readouterr()
        # one indented object, or the last of a batch's JSON lines
        error = json.loads(out if out.startswith("{\n") else out.splitlines()[-1])
        assert code == 1 == error["exit"] and err.count("\n") == 1, (argv, out, err)
        assert str(state) not in out + err, (argv, out, err)   # no file of netupdate's own
        assert error["file"] == (str(batch) if "--batch" in argv else None), error
        seen.append((error["code"], error["path"]))
    assert seen[0] == seen[1] and seen[0][0] != "error", seen   # the same code and XPath
    assert sorted((p, p.read_bytes()) for p in state.rglob("*") if p.is_file()) == stored
