"""``netupdate validate DIR`` reports the conflicts between the definitions of a folder (issue
16), generated: sets of small networks written to a folder, whose conflicts the command must
report exactly when a brute-force model (address sets, plain equality) says they collide."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from netupdate.cli import main

# small IPv4 subnets in 10.0.0.0/24: their address sets are cheap to enumerate
SUBNETS = st.builds(lambda prefix, n: ipaddress.ip_network(f"10.0.0.{n}/{prefix}", strict=False),
                    st.integers(26, 30), st.integers(0, 255))
MACS = [f"52:54:00:00:00:0{i}" for i in range(1, 4)]
NETWORK = st.fixed_dictionaries({
    "name": st.sampled_from(["n0", "n1", "n2", "n3", "n4"]),
    "bridge": st.sampled_from([None, "br0", "br1"]),
    "mode": st.sampled_from([None, "nat", "bridge"]),
    "subnets": st.lists(SUBNETS, max_size=2, unique=True),
    "hosts": st.lists(st.tuples(st.sampled_from(MACS), st.integers(1, 6)), max_size=2),
})


def network_xml(net: dict) -> str:
    """One definition, an element per line (so each has its own line number)."""
    lines = ["<network>", f"  <name>{net['name']}</name>"]
    if net["mode"]:
        lines.append(f"  <forward mode='{net['mode']}'/>")
    if net["bridge"]:
        lines.append(f"  <bridge name='{net['bridge']}'/>")
    for i, subnet in enumerate(net["subnets"]):
        lines.append(f"  <ip address='{subnet.network_address}' prefix='{subnet.prefixlen}'>")
        if i == 0 and net["hosts"]:
            lines.append("    <dhcp>")
            lines += [f"      <host mac='{mac}' ip='10.0.1.{n}'/>" for mac, n in net["hosts"]]
            lines.append("    </dhcp>")
        lines.append("  </ip>")
    return "\n".join(lines + ["</network>", ""])


def expected(a: dict, b: dict) -> Counter:
    """The conflicts of ``a`` with ``b`` by brute force."""
    found = Counter()
    found["NU-E142"] = int(a["name"] == b["name"])
    found["NU-E140"] = sum(bool(set(x) & set(y)) for x in a["subnets"] for y in b["subnets"])
    found["NU-E141"] = int(a["bridge"] is not None and a["bridge"] == b["bridge"]
                           and not a["mode"] == b["mode"] == "bridge")
    if a["subnets"] and b["subnets"]:   # reservations live in the first <ip>
        found["NU-W140"] = sum(mac in {m for m, _ in b["hosts"]} for mac, _ in a["hosts"])
        found["NU-W141"] = sum(n in {m for _, m in b["hosts"]} for _, n in a["hosts"])
    return +found


@settings(max_examples=60)
@given(st.lists(NETWORK, min_size=2, max_size=4))
def test_a_folder_reports_exactly_the_conflicts_between_its_networks(tmp_path_factory, nets):
    folder = tmp_path_factory.mktemp("nets")
    files = []
    for i, net in enumerate(nets):
        path = folder / f"f{i}.xml"
        path.write_text(network_xml(net))
        files.append(str(path))
    try:
        main(["validate", "--format", "json", "--select", "NU-E14,NU-W14", "-o",
              str(folder / "report.json"), str(folder)])
    except SystemExit as exc:   # pragma: no cover - a usage error is a failure here
        raise AssertionError(exc) from exc
    report = json.loads((folder / "report.json").read_text())
    got = Counter()
    for entry in report:
        for issue in entry["issues"]:
            other = issue["message"].rsplit(" (", 1)[1]
            theirs, line, path = other.rstrip(")").split(":")
            got[entry["file"], theirs, issue["code"]] += 1
            # both sides located: a line, and elements of one kind (ip, host, bridge, name)
            assert issue["source"] == "folder" and issue["line"] >= 1 and int(line) >= 1
            assert re.sub(r"\[\d+\]", "", path.strip()) == re.sub(r"\[\d+\]", "", issue["path"])
    want = Counter({(files[i], files[j], code): count
                    for i in range(len(nets)) for j in range(i + 1, len(nets))
                    for code, count in expected(nets[i], nets[j]).items()})
    assert got == want
    for entry in report:   # an error makes its file invalid, a warning does not
        codes = {i["code"] for i in entry["issues"]}
        assert entry["valid"] == (not any(c.startswith("NU-E") for c in codes))


def test_text_lines_name_both_files_and_ignore_silences(tmp_path, capsys):
    shared = {"bridge": "br0", "mode": None, "subnets": [ipaddress.ip_network("10.0.0.0/24")],
              "hosts": [(MACS[0], 5)]}
    (tmp_path / "a.xml").write_text(network_xml({**shared, "name": "a"}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.xml").write_text(network_xml({**shared, "name": "b"}))
    only = ("--select", "NU-E14,NU-W14")   # the hosts are outside the subnet (NU-E105)
    status = main(["validate", *only, str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    a, b = tmp_path / "a.xml", tmp_path / "sub" / "b.xml"
    assert status == 1 and out == [
        f"{a}:3: /network/bridge: NU-E141 bridge name br0 of network a is also the bridge of "
        f"network b ({b}:3: /network/bridge)",
        f"{a}:4: /network/ip[1]: NU-E140 subnet 10.0.0.0/24 of network a overlaps subnet "
        f"10.0.0.0/24 of network b ({b}:4: /network/ip[1])",
        f"{a}:6: /network/ip[1]/dhcp/host[1]: NU-W140 MAC {MACS[0]} is reserved in network a and "
        f"in network b ({b}:6: /network/ip[1]/dhcp/host[1])",
        f"{a}:6: /network/ip[1]/dhcp/host[1]: NU-W141 IP 10.0.1.5 is reserved in network a and "
        f"in network b ({b}:6: /network/ip[1]/dhcp/host[1])"]
    assert main(["validate", *only, "--ignore", "NU-E14", str(tmp_path)]) == 0   # warnings
    assert main(["validate", *only, "--ignore", "NU-E14", "--strict", str(tmp_path)]) == 1
    # files named one by one are checked alone: a folder is what groups definitions
    assert main(["validate", *only, str(a), str(b)]) == 0


def test_a_folder_checks_its_regular_files_only(tmp_path):
    """A FIFO, a socket, a directory or a dangling link named ``*.xml`` in a folder is passed
    over: reading a FIFO blocked ``validate DIR`` until something wrote to it (forever, in a
    folder such as /tmp).  A link to a regular file is read."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "defs"
    (folder / "sub").mkdir(parents=True)
    nat = (root / "fixtures" / "networks" / "nat-default.xml").read_text()
    (folder / "a.xml").write_text(nat)
    os.symlink(root / "fixtures" / "networks" / "routed.xml", folder / "sub" / "link.xml")
    os.mkfifo(folder / "fifo.xml")
    os.symlink(folder / "fifo.xml", folder / "sub" / "to-fifo.xml")
    os.symlink(folder / "nowhere", folder / "dangling.xml")
    (folder / "dir.xml").mkdir()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "sock.xml"))
        result = subprocess.run([sys.executable, "-m", "netupdate", "validate", str(folder),
                                 "--format", "json"], capture_output=True, text=True,
                                timeout=60, cwd=root,
                                env={**os.environ, "NETUPDATE_SERVER": "off"})
    assert result.returncode == 0, result.stderr
    files = sorted(Path(entry["file"]).relative_to(folder).as_posix()
                   for entry in json.loads(result.stdout))
    assert files == ["a.xml", "sub/link.xml"], files
