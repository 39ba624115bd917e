"""``netupdate.edit_file``: the offline edit of a network XML file as a library verb (what
``netupdate edit`` prints): to a new file, in place, refused by a policy with nothing written."""

from __future__ import annotations

import os

import pytest

import netupdate
from netupdate.errors import InvalidOperationError, NetupdateError, PolicyError
from tests.test_txn import NET

HOST = "<host mac='52:54:00:00:00:42' ip='10.81.0.42'/>"
ALLOW_TXT = "[[allow]]\nsection='dns-txt'\n"


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.xml"
    path.write_text(NET)
    path.chmod(0o640)
    return path


def test_edit_to_another_file_keeps_the_source_and_its_mode(net, tmp_path):
    out = tmp_path / "out.xml"
    result = netupdate.edit_file(net, "add", "ip-dhcp-host", HOST, output=out)
    assert result.changed and HOST in out.read_text() and net.read_text() == NET
    assert out.stat().st_mode & 0o777 == 0o640
    assert result.edited == out.read_text() and result.change.command == "add-last"


def test_edit_in_place_and_from_bytes(net):
    result = netupdate.edit_file(net, "add", "ip-dhcp-host", HOST, in_place=True)
    assert net.read_text() == result.edited and HOST in result.edited
    again = netupdate.edit_file(NET.encode(), "modify", "dns-txt",
                                "<txt name='motd' value='second'/>", filename="<stdin>")
    assert "second" in again.edited and "first" in again.original


def test_a_refused_edit_writes_nothing(net, tmp_path):
    out = tmp_path / "out.xml"
    for target in ({"in_place": True}, {"output": out}):
        with pytest.raises(PolicyError):
            netupdate.edit_file(net, "add", "ip-dhcp-host", HOST, policy=ALLOW_TXT, **target)
    with pytest.raises(NetupdateError, match="<stdin>"):
        netupdate.edit_file(b"<network>", "add", "ip-dhcp-host", HOST, filename="<stdin>",
                            output=out)
    with pytest.raises(InvalidOperationError, match="needs a file"):
        netupdate.edit_file(NET.encode(), "add", "ip-dhcp-host", HOST, in_place=True)
    assert net.read_text() == NET and not out.exists()
    kept = netupdate.edit_file(net, "modify", "dns-txt", "<txt name='motd' value='ok'/>",
                               policy=ALLOW_TXT, in_place=True)
    assert "'ok'" in net.read_text() and kept.changed


def test_an_unwritable_target_is_one_error_naming_it(net, tmp_path):
    missing = tmp_path / "no" / "out.xml"
    with pytest.raises(NetupdateError, match=f"cannot write {missing}"):
        netupdate.edit_file(net, "add", "ip-dhcp-host", HOST, output=missing)
    with pytest.raises(NetupdateError, match="cannot edit .* in place"):
        netupdate.edit_file(tmp_path / "gone.xml", "add", "ip-dhcp-host", HOST, in_place=True)
    assert os.listdir(tmp_path) == ["net.xml"]


def test_output_to_a_fifo_writes_through_it_and_keeps_it(net, tmp_path):
    """``-o /dev/null`` once replaced /dev/null with a regular file: a device or FIFO at the
    output path is written to, never renamed over."""
    import stat
    import threading
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = netupdate.edit_file(net, "add", "ip-dhcp-host", HOST, output=fifo)
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == [result.encoded()] and sorted(p.name for p in tmp_path.iterdir()) == [
        "net.xml", "pipe"]
