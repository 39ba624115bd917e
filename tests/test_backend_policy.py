"""Policy is enforced by the backend: ``connect(policy=...)`` refuses every way of editing a
network the policy does not allow (section update, nodeSpec update, batch, whole-definition
apply, redefinition), on both backends, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import netupdate
from netupdate.errors import PolicyError
from netupdate.planning.policy import Policy

NET = ("<network><name>nu-pol</name><ip address='10.153.0.1' prefix='24'/>"
       "<dns><txt name='info' value='x'/></dns></network>")
EDITS = {
    "update": lambda c: c.update("nu-pol", "add-last", "dns-txt", "<txt name='n' value='v'/>"),
    "node-spec": lambda c: c.update("nu-pol", "delete", None, None,
                                    node_spec="/network/dns/txt[@name='info']"),
    "batch": lambda c: c.update_batch("nu-pol", [("add-last", "dns-txt",
                                                  "<txt name='n' value='v'/>")]),
    "apply": lambda c: c.apply("nu-pol", NET.replace("value='x'", "value='y'")),
    "define": lambda c: c.define(_changed(c.dumpxml("nu-pol", inactive=True))),
}


def _changed(xml: str) -> str:
    """The definition with another TXT value (a redefinition keeps libvirt's uuid)."""
    return xml.replace("value='x'", "value='y'").replace('value="x"', 'value="y"')


def _open(backend, tmp_path, policy):
    if backend == "libvirt":
        pytest.importorskip("libvirt")
        return netupdate.connect("test:///default", policy=policy)
    return netupdate.connect(state_dir=tmp_path, policy=policy)


@pytest.mark.parametrize("backend", ["embedded", pytest.param("libvirt",
                                                              marks=pytest.mark.libvirt)])
@pytest.mark.parametrize("how", sorted(EDITS))
def test_policy_refuses_every_way_of_editing(tmp_path, backend, how):
    with _open(backend, tmp_path, None) as conn:
        conn.define(NET)
        before = conn.dumpxml("nu-pol", inactive=True)
        conn.policy = Policy()                          # default deny, no rule
        with pytest.raises(PolicyError):
            EDITS[how](conn)
        assert conn.dumpxml("nu-pol", inactive=True) == before
        conn.policy = None                              # without a policy the edit is made
        EDITS[how](conn)
        assert conn.dumpxml("nu-pol", inactive=True) != before
        conn.undefine("nu-pol")


@pytest.mark.parametrize("backend", ["embedded", pytest.param("libvirt",
                                                              marks=pytest.mark.libvirt)])
def test_connect_takes_the_policy(tmp_path, backend):
    policy = Policy()
    with _open(backend, tmp_path, policy) as conn:
        assert conn.policy is policy
        with pytest.raises(PolicyError):               # creating a network is an edit too
            conn.define(NET)
        assert "nu-pol" not in {entry.name for entry in conn.list()}


# ------------------------------------------------------------------------- the command line
POLICY = str(Path(__file__).resolve().parent.parent / "fixtures" / "policies" / "dhcp-hosts.toml")
TXT = "<txt name='cli' value='v'/>"


def _cli_edits(tmp_path):
    state = ["--state-dir", str(tmp_path / "state")]
    desired = tmp_path / "desired.xml"
    desired.write_text(_changed(NET))
    batch = tmp_path / "batch"
    batch.write_text(f"add-last dns-txt {TXT}\n")
    return {
        "update": ["update", "nu-pol", "add-last", "dns-txt", TXT, *state],
        "node-spec": ["update", "nu-pol", "delete", "--node-spec",
                      "/network/dns/txt[@name='info']", *state],
        "batch": ["update", "nu-pol", "--batch", str(batch), *state],
        "apply": ["apply", "nu-pol", str(desired), *state],
        "define": ["define", str(desired), *state],
    }


@pytest.mark.parametrize("how", sorted(EDITS))
def test_cli_policy_on_every_editing_verb(tmp_path, capsys, how):
    from netupdate.cli import main
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        conn.define(NET)
        defined = conn.dumpxml("nu-pol", inactive=True)   # NET and the uuid it was given
    argv = _cli_edits(tmp_path)[how]
    assert main([*argv, "--policy", POLICY]) == 1
    assert "policy refuses" in capsys.readouterr().err
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        assert conn.dumpxml("nu-pol", inactive=True) == defined
    assert main(argv) == 0                              # without --policy it is made
    with netupdate.connect(state_dir=tmp_path / "state") as conn:
        assert conn.dumpxml("nu-pol", inactive=True) != NET


@pytest.mark.libvirt
def test_cli_policy_with_connect(capsys):
    pytest.importorskip("libvirt")
    from netupdate.cli import main
    argv = ["update", "default", "add-last", "dns-txt", TXT, "--config",
            "--connect", "test:///default"]
    assert main([*argv, "--policy", POLICY]) == 1
    assert "policy refuses dns-txt" in capsys.readouterr().err
