"""The command server (netupdate/cmdserver): a command handed to it behaves exactly as the same
command run by the process itself, and whatever could differ is refused rather than served.

Every command here runs the installed script (``bin/netupdate``) in a fresh process, with the
servers of a folder of the test's own (``NETUPDATE_SERVER_DIR``); ``served`` counts what a
server ran (``netupdate server status``), so each test also shows who ran its commands.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bin" / "netupdate"
NET = ROOT / "fixtures" / "networks" / "nat-default.xml"


class Servers:
    """A private folder of command servers and the environment that uses it."""

    def __init__(self, folder: Path, package: Path = ROOT, **extra: str):
        folder.mkdir(mode=0o700, exist_ok=True)
        self.folder = folder
        self.env = {**os.environ, "PYTHONPATH": str(package), "NETUPDATE_SERVER_DIR": str(folder),
                    "COLUMNS": "80", **extra}
        for name in ("NETUPDATE_SERVER", "NETUPDATE_CONNECT", "NO_COLOR"):
            self.env.pop(name, None)

    def run(self, argv, *, served: bool = True, prefix=(), **kwargs):
        env = dict(self.env) if served else {**self.env, "NETUPDATE_SERVER": "off"}
        return subprocess.run([*prefix, sys.executable, str(SCRIPT), *argv], env=env,
                              capture_output=True, text=True, **kwargs)

    def status(self) -> list[dict]:
        result = self.run(["server", "status", "--json"], check=True)
        return json.loads(result.stdout)["servers"]

    def served(self) -> int:
        return sum(server["commands"] for server in self.status())

    def started(self) -> None:
        """Start a server (the first command does) and wait until it serves."""
        self.run(["validate", str(NET)], check=True)
        wait(lambda: self.status(), "the server to start")

    def stop(self) -> None:
        self.run(["server", "stop"], check=True)


def wait(condition, what: str, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s for {what}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    found = Servers(tmp_path_factory.mktemp("cmdserver") / "servers")
    found.started()
    yield found
    found.stop()


# ------------------------------------------------------------------ the same as run here
HOSTS = st.builds(
    lambda mac, ip, name: f"<host mac='52:54:00:00:00:{mac:02x}' name='{name}' "
                          f"ip='192.168.122.{ip}'/>",
    st.integers(0, 255), st.integers(2, 254), st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True))
FRAGMENTS = st.one_of(HOSTS, st.sampled_from([
    "<host mac='zz' ip='192.168.122.9'/>", "<host", "<host mac='52:54:00:00:00:01'/>",
    "<host mac='52:54:00:00:00:01' ip='10.9.9.9'/>", "<ip address='1.2.3.4'/>"]))
OPTIONS = st.lists(st.sampled_from(["--print-diff", "--plan", "--json", "-q", "-v"]),
                   unique=True, max_size=3)


@st.composite
def command_lines(draw):
    """(argv, standard input) of edit, validate, diff and mistyped command lines."""
    kind = draw(st.sampled_from(["edit", "edit-stdin", "validate", "diff", "typo"]))
    options = draw(OPTIONS)
    if kind == "edit":
        section = draw(st.sampled_from(["ip-dhcp-host", "ip-dhcp-hots", "dns-host"]))
        return ["edit", str(NET), "add", section, draw(FRAGMENTS), *options], None
    if kind == "edit-stdin":
        return ["edit", str(NET), "add", "ip-dhcp-host", "-", *options], draw(FRAGMENTS)
    if kind == "validate":
        files = draw(st.lists(st.sampled_from(sorted((ROOT / "fixtures/networks").glob(
            "nat-*.xml"))), min_size=1, max_size=3))
        return ["validate", *map(str, files), *[o for o in options if o != "--plan"]], None
    if kind == "diff":
        return ["diff", str(NET), str(ROOT / "fixtures/networks/nat-hosts.xml"),
                *[o for o in options if o in ("--json", "-q")]], None
    return [draw(st.sampled_from(["edti", "valdate", "--stat", "update"])), *options], None


@settings(max_examples=20)
@given(line=command_lines())
def test_a_served_command_is_the_command_run_here(servers, line):
    """Output, errors and exit code of a served command are those of the process running it
    itself (``NETUPDATE_SERVER=off``), and the server did run it."""
    argv, stdin = line
    before = servers.served()
    served = servers.run(argv, input=stdin, cwd=ROOT)
    assert servers.served() == before + 1
    here = servers.run(argv, input=stdin, cwd=ROOT, served=False)
    assert (served.returncode, served.stdout, served.stderr) == \
        (here.returncode, here.stdout, here.stderr)


def test_relative_paths_are_the_clients(servers, tmp_path):
    host = "<host mac='52:54:00:00:00:99' ip='192.168.122.99'/>"
    before = servers.served()
    for served, name in ((True, "a.xml"), (False, "b.xml")):
        shutil.copy(NET, tmp_path / f"in-{name}")
        result = servers.run(["edit", f"in-{name}", "add", "ip-dhcp-host", host, "-o", name],
                             served=served, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()
    assert host.encode() in (tmp_path / "a.xml").read_bytes()
    assert servers.served() == before + 1


@settings(max_examples=15)
@given(umask=st.integers(0, 0o777),
       argv=st.lists(st.text(st.characters(blacklist_characters="\0",
                                           blacklist_categories=("Cs",)), max_size=8), max_size=4),
       value=st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                     max_size=12))
def test_the_child_takes_on_the_clients_process_settings(tmp_path_factory, umask, argv, value):
    """``client.request`` then ``command.take_on`` (in a forked child, as the server runs it):
    the child has the client's directory, umask, environment, command line and streams."""
    from netupdate.cmdserver import command
    from netupdate.cmdserver.client import request
    folder = tmp_path_factory.mktemp("cwd")
    old_mask, old_dir = os.umask(umask), os.getcwd()
    os.environ["NU_TEST_VALUE"] = value
    try:
        os.chdir(folder)
        fields = request("key", argv)[8:].split(b"\0")
    finally:
        os.chdir(old_dir)
        os.umask(old_mask)
        del os.environ["NU_TEST_VALUE"]
    read, write = os.pipe()
    out = os.open(folder / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    pid = os.fork()
    if pid == 0:
        try:
            command.take_on([os.dup(0), out, os.dup(2)], fields)
            print("to the client's stdout", flush=True)
            os.write(write, json.dumps([os.getcwd(), os.umask(0), os.environ.get("NU_TEST_VALUE"),
                                        sys.argv]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.close(out)
    with os.fdopen(read) as pipe:
        got = json.loads(pipe.read())
    os.waitpid(pid, 0)
    assert got == [str(folder), umask, value, ["netupdate", *argv]]
    assert (folder / "out").read_text() == "to the client's stdout\n"


@pytest.mark.parametrize("signum, code, said", [(signal.SIGTERM, 143, "netupdate: terminated"),
                                                (signal.SIGINT, 130, "netupdate: interrupted")])
def test_a_signal_to_the_client_reaches_the_command(servers, signum, code, said):
    """The command waits on its standard input (a pipe the test holds open); the signal sent to
    the client ends the command as it would end a command run here, and the server lives on."""
    before = servers.served()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "edit", "-", "add", "ip-dhcp-host",
                             "<host mac='52:54:00:00:00:01' ip='192.168.122.5'/>"],
                            env=servers.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait(lambda: servers.served() == before + 1, "the command to be served")
    time.sleep(1.0)   # until it reads its input
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert said in err
    assert servers.status() and servers.status()[0]["running"] == 0


# ------------------------------------------------------------------ refused, or not used
def test_a_changed_module_ends_the_server_and_the_command_runs_here(tmp_path):
    package = tmp_path / "tree"
    shutil.copytree(ROOT / "netupdate", package / "netupdate", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "rng", package / "rng")
    servers = Servers(tmp_path / "servers", package)
    servers.started()
    assert servers.run(["validate", str(NET)]).returncode == 0
    assert servers.served() == 1
    module = package / "netupdate" / "cli" / "validate.py"
    os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))
    result = servers.run(["validate", str(NET)])
    assert result.returncode == 0 and "all valid" in result.stderr
    assert wait(lambda: not servers.status(), "the old server to end") is True



def test_a_command_runs_in_the_child_forked_ahead_of_it(servers, tmp_path):
    """The server forks the next command's child while none runs (the spare): the command is
    handed to it, and once the command ended a new spare waits."""
    (status,) = servers.status()
    pid = status["pid"]

    def children() -> list[str]:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    (spare,) = wait(children, "the spare")
    assert os.readlink(f"/proc/{spare}/cwd") == "/"   # the server's: no command yet
    command = subprocess.Popen([sys.executable, str(SCRIPT), "validate", "-"], cwd=tmp_path,
                               env=servers.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait(lambda: os.readlink(f"/proc/{spare}/cwd") == str(tmp_path),
         "the spare to take on the command")   # it waits for its standard input
    out, err = command.communicate(NET.read_text(), timeout=60)
    assert command.returncode == 0 and "valid" in err
    (after,) = wait(lambda: [child for child in children() if child != spare],
                    "the next spare")
    assert os.readlink(f"/proc/{after}/cwd") == "/"
    assert spare not in children()

def test_another_network_namespace_is_refused(servers):
    """A client in another network namespace: its command runs in that namespace, never in the
    server's (``identity``)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1)")
    before = servers.served()
    result = servers.run(["validate", str(NET)], prefix=["unshare", "--net"])
    assert result.returncode == 0 and "all valid" in result.stderr
    assert servers.served() == before


@pytest.mark.parametrize("mode, link", [(0o755, False), (0o700, True)])
def test_a_socket_folder_not_ours_alone_is_not_used(tmp_path, mode, link):
    real = tmp_path / "real"
    real.mkdir(mode=mode)
    real.chmod(mode)
    folder = real
    if link:
        folder = tmp_path / "link"
        folder.symlink_to(real)
    servers = Servers(folder)
    for _ in range(2):
        result = servers.run(["validate", str(NET)])
        assert result.returncode == 0 and "all valid" in result.stderr
    time.sleep(0.5)
    assert list(real.iterdir()) == []


def test_off_never_starts_a_server(tmp_path):
    servers = Servers(tmp_path / "servers")
    result = servers.run(["validate", str(NET)], served=False)
    assert result.returncode == 0
    time.sleep(0.5)
    assert list((tmp_path / "servers").iterdir()) == []
    assert servers.run(["server", "status"]).stdout == "no command server is running\n"


def test_an_idle_server_ends(tmp_path):
    servers = Servers(tmp_path / "servers", NETUPDATE_SERVER_IDLE="0.5")
    servers.started()
    assert wait(lambda: not servers.status(), "the idle server to end") is True
    assert not any(p.suffix == ".sock" for p in (tmp_path / "servers").iterdir())


def test_stop_and_status(tmp_path):
    servers = Servers(tmp_path / "servers")
    servers.started()
    (status,) = servers.status()
    assert status["commands"] == 0 and status["running"] == 0
    os.kill(status["pid"], 0)
    text = servers.run(["server", "stop"]).stdout
    assert text.startswith(f"stopped: pid {status['pid']},")
    wait(lambda: not Path(f"/proc/{status['pid']}").exists()
         or "zombie" in Path(f"/proc/{status['pid']}/status").read_text(), "the server to end")
    bad = servers.run(["server", "restart"])
    assert bad.returncode == 2 and "unknown server command 'restart'" in bad.stderr


@pytest.mark.parametrize("served", [True, False])
@pytest.mark.parametrize("before", [["--json"], ["-q"], ["--state-dir", "/nonexistent/nu"],
                                    ["--json", "-v"]])
def test_global_options_may_come_before_the_server_verb(tmp_path, before, served):
    """``netupdate --json server status`` is ``netupdate server status --json``, served or not
    (the program answers ``server`` itself wherever it stands)."""
    servers = Servers(tmp_path / "servers")
    servers.started()
    (status,) = servers.status()
    result = servers.run([*before, "server", "status"], served=served)
    assert result.returncode == 0, result.stderr
    if "--json" in before:
        assert json.loads(result.stdout)["servers"][0]["pid"] == status["pid"]
    else:
        assert result.stdout.startswith(f"running: pid {status['pid']},")
    servers.stop()


def test_the_client_imports_nothing_of_the_command(servers):
    """A served command's process imports the client alone (beyond what the interpreter
    imports to do nothing, this machine's start-up hooks included): no argparse, re, enum,
    lxml, nor any of the command line (``-X importtime`` is not part of the server's key)."""
    def imported(*argv):
        result = subprocess.run([sys.executable, "-X", "importtime", *argv], env=servers.env,
                                capture_output=True, text=True, check=True)
        return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    before = servers.served()
    client = imported(str(SCRIPT), "validate", str(NET)) - imported("-c", "pass")
    assert servers.served() == before + 1
    assert {"netupdate.cmdserver", "netupdate.cmdserver.client"} <= client
    assert client.isdisjoint({"re", "enum", "typing", "argparse", "lxml", "lxml.etree",
                              "netupdate.cli", "socket", "signal", "json"})


@pytest.mark.parametrize("body", [b"", b"key", b"k\0/\0x\0" + b"1", b"k\0/\x000\0" + b"9\0a",
                                  b"k\0relative\x000\x000", b"\xff" * 64])
def test_a_malformed_request_is_refused_and_the_server_serves_on(servers, body):
    import socket

    from netupdate.cmdserver import MAGIC
    (status,) = servers.status()
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(status["socket"])
        with open(os.devnull, "rb") as null:
            fds = [null.fileno()] * 3
            raw.sendmsg([MAGIC + len(body).to_bytes(4, "big") + body],
                        [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                          b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds))])
        reply = raw.recv(256)
    assert reply.startswith(b"R") or reply == b""
    before = servers.served()
    assert servers.run(["validate", str(NET)]).returncode == 0
    assert servers.served() == before + 1
