"""The libc calls netupdate makes through ctypes (``netupdate.libc``): the background fsync
(glibc's ``aio_fsync``, or the fallback that starts the writeback and syncs in ``wait``), on
real files."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate import libc


@pytest.fixture(params=["aio", "fallback"])
def way(request, monkeypatch):
    if request.param == "fallback":
        monkeypatch.setitem(libc._FOUND, "aio", False)
    elif not libc._aio():
        pytest.skip("no glibc aio_fsync here")
    return request.param


@settings(max_examples=30, deadline=None)
@given(writes=st.lists(st.tuples(st.binary(max_size=70000), st.booleans()), min_size=1,
                       max_size=6))
def test_a_background_fsync_leaves_the_file_as_written(tmp_path_factory, writes):
    """Writes, each fsynced in the background and waited for at once or after the next
    write: the file holds what was written last, no control block stays in flight, and a
    second wait does nothing."""
    path = tmp_path_factory.mktemp("fsync") / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        waiting = []
        for data, now in writes:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
            waiting.append(libc.Fsync(fd))
            if now:
                while waiting:
                    waiting.pop().wait()
        for sync in waiting:
            sync.wait()
            sync.wait()
        assert path.read_bytes() == writes[-1][0]
        assert libc._IN_FLIGHT == {}
    finally:
        os.close(fd)


def test_both_ways_sync_and_report_errors(tmp_path, way):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, b"data")
    libc.Fsync(fd).wait()
    os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"data"
    closed = os.open(tmp_path / "g", os.O_RDWR | os.O_CREAT, 0o600)
    os.close(closed)
    sync = libc.Fsync(closed)   # a closed descriptor: the error comes from wait()
    with pytest.raises(OSError) as raised:
        sync.wait()
    assert raised.value.errno == errno.EBADF and libc._IN_FLIGHT == {}


def test_the_aio_control_block_names_the_descriptor():
    """netupdate sets aio_fildes in glibc's struct aiocb by its offset: a request for a
    closed descriptor fails with EBADF (at a wrong offset glibc would see descriptor 0, whose
    fsync does not fail so)."""
    if not libc._aio():
        pytest.skip("no glibc aio_fsync here")
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    with pytest.raises(OSError) as raised:
        libc.Fsync(fd + 100).wait()
    assert raised.value.errno == errno.EBADF
