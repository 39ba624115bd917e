"""``define`` refuses what ``validate`` calls an error, on both backends, as libvirt's
net-define refuses it at parse time (an ``<ip>`` or ``<route>`` whose family does not match its
address, an unreachable gateway, ...), and stores nothing then.  Generated over routes (the
strategy and libvirt oracle of tests/test_route_rules.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import netupdate
from netupdate.check.semantic import validate
from netupdate.errors import InvalidOperationError, NetupdateError
from tests.test_backend_contract import LIBVIRT_URI, _have_libvirt
from tests.test_route_rules import BASE, ROUTES, oracle, route_xml

BACKENDS = ["embedded", pytest.param("libvirt", marks=pytest.mark.libvirt)]


@pytest.fixture(params=BACKENDS)
def conn(request, tmp_path):
    if request.param == "libvirt":
        if not _have_libvirt():
            pytest.skip("the libvirt binding is not installed")
        opened = netupdate.connect(LIBVIRT_URI)
    else:
        opened = netupdate.connect(state_dir=tmp_path / "state")
    yield opened
    opened.close()


def _names(conn) -> set[str]:
    return {entry.name for entry in conn.list()}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=ROUTES)
def test_define_refuses_exactly_what_libvirt_refuses_and_stores_nothing(conn, route):
    xml = BASE.format(route_xml(route)).replace("<name>t</name>", "<name>rt</name>")
    errors = [i.code for i in validate(xml) if i.is_error]
    assert oracle(route) is None or errors      # libvirt's refusals are among them
    before = _names(conn)
    if not errors:
        assert conn.define(xml) == "rt"
        conn.undefine("rt")
        return
    with pytest.raises(NetupdateError) as refused:   # a value the model cannot read: ModelError
        conn.define(xml)
    assert not isinstance(refused.value, InvalidOperationError) or \
        f"the definition is invalid: line 1: {errors[0]}" in str(refused.value)
    assert _names(conn) == before


def test_an_ip_family_mismatch_is_refused_on_both(conn):
    xml = BASE.format("").replace("family='ipv6' address='fd00::1'", "family='ipv4' address='fd00::1'")
    with pytest.raises(NetupdateError, match="NU-E125 family 'ipv4' does not match"):
        conn.define(xml)
    assert "t" not in _names(conn)


@pytest.mark.parametrize("verb,body", [
    (verb, body) for verb in ("define", "apply")
    for body in ["<network><name>nat</name>",                             # malformed
                 "<network><name>nat</name><mtu size='x'/></network>"]    # a bad value
] + [("apply", "<network><name>other</name></network>")])                 # another network
def test_the_command_line_names_the_file_of_a_refused_definition(tmp_path, capsys, verb, body):
    """``define FILE`` and ``apply NAME FILE`` name FILE in the error (with its line when it
    has one), as ``edit`` and ``validate`` do: the library takes its bytes, not its name."""
    import json

    from netupdate.cli import main
    path = tmp_path / "net.xml"
    path.write_text(body)
    state = ["--state-dir", str(tmp_path / "state")]
    argv = [*state, verb, *(["nat"] if verb == "apply" else []), str(path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"netupdate: error: {path}") and err.count("\n") == 1, err
    assert main(["--json", *argv]) == 1
    out = capsys.readouterr().out   # one object, or the last of apply's JSON lines
    error = json.loads(out if out.startswith("{\n") else out.splitlines()[-1])
    assert error["file"] == str(path), error
