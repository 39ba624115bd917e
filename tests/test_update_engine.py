"""The update engine's contract: API, Change, refusals, formatting, indexes, speed."""

import time
from pathlib import Path

import pytest
from lxml import etree

import netupdate
from netupdate import sections as S
from netupdate.document.source import Document
from netupdate.edit.engine import COMMAND_CODES, Change, apply_update, normalize_command, update_xml
from netupdate.model import defs as M

NETWORKS = Path(__file__).resolve().parent.parent / "fixtures" / "networks"


def load(name: str) -> M.Network:
    return netupdate.load(NETWORKS / f"{name}.xml")


def text(name: str) -> str:
    return (NETWORKS / f"{name}.xml").read_text()


HOST = "<host mac='52:54:00:12:34:56' name='newvm' ip='192.168.122.77'/>"


# ---------------------------------------------------------------------- API surface
def test_public_names():
    from netupdate.edit import engine  # update_xml, typed keywords too (mac=..., ...)
    assert netupdate.update_xml is engine.update_xml
    assert netupdate.Change is Change
    for name in ("NotFoundError", "DuplicateError", "AmbiguousError", "InvalidFragmentError",
                 "UnsupportedError", "InvalidOperationError"):
        assert issubclass(getattr(netupdate, name), netupdate.NetupdateError)


def test_update_xml_one_shot():
    out = update_xml(text("nat-default"), "add", "ip-dhcp-host", HOST)
    assert HOST in out
    assert out.replace("      " + HOST + "\n", "") == text("nat-default")


def test_update_xml_accepts_bytes_and_keeps_other_bytes():
    out = update_xml(text("nat-default").encode(), "add-first", 4, HOST, -1)
    assert HOST in out


def test_network_update_delegates_and_returns_change():
    network = load("nat-default")
    change = network.update("add", "ip-dhcp-host", HOST)
    assert isinstance(change, Change)
    assert network.defs.ips[0].dhcp.hosts[-1].name == "newvm"


def test_only_the_edit_layer_edits():
    path = NETWORKS / "nat-default.xml"
    assert not hasattr(M.load(path), "update")          # the model has no editing method
    network = netupdate.load(path)
    assert isinstance(network, M.Network) and isinstance(network, netupdate.EditableNetwork)
    copy = network.copy()
    assert type(copy) is netupdate.EditableNetwork
    copy.update("add", "ip-dhcp-host", HOST)
    assert copy.to_xml() != network.to_xml() == M.load(path).to_xml()


@pytest.mark.parametrize("given,expected", [
    ("add", "add-last"), ("add-last", "add-last"), ("add-first", "add-first"),
    ("modify", "modify"), ("delete", "delete"), ("ADD_FIRST", "add-first"),
    (1, "modify"), (2, "delete"), (3, "add-last"), (4, "add-first"), ("3", "add-last"),
])
def test_commands_and_libvirt_codes(given, expected):
    assert normalize_command(given) == expected


@pytest.mark.parametrize("bad", [0, 5, "frob", None, True])
def test_unknown_command_is_unsupported(bad):
    with pytest.raises(netupdate.UnsupportedError):
        normalize_command(bad)


def test_section_codes_follow_libvirt():
    assert COMMAND_CODES == {1: "modify", 2: "delete", 3: "add-last", 4: "add-first"}
    names = {code: S.get(code).name for code in range(1, 13)}
    assert names == {1: "bridge", 2: "domain", 3: "ip", 4: "ip-dhcp-host", 5: "ip-dhcp-range",
                     6: "forward", 7: "forward-interface", 8: "forward-pf", 9: "portgroup",
                     10: "dns-host", 11: "dns-txt", 12: "dns-srv"}
    assert S.get("IP_DHCP_HOST").name == "ip-dhcp-host"


@pytest.mark.parametrize("bad", [0, 13, "bogus", "", None])
def test_unknown_section_is_unsupported(bad):
    network = load("nat-default")
    with pytest.raises(netupdate.UnsupportedError):
        network.update("add", bad, HOST) if bad is not None else network.update("add", None, HOST)


def test_numeric_section_and_command_work_end_to_end():
    network = load("nat-default")
    change = network.update(3, 4, HOST)
    assert (change.command, change.section) == ("add-last", "ip-dhcp-host")


# ---------------------------------------------------------------------- fragments
@pytest.mark.parametrize("fragment", [
    "  \n" + HOST + "\n  ",
    "<?xml version='1.0' encoding='UTF-8'?>\n" + HOST,
    "\ufeff" + HOST,
    HOST.encode(),
    etree.fromstring(HOST),
])
def test_fragment_forms_libvirt_tolerates(fragment):
    network = load("nat-default")
    change = network.update("add", "ip-dhcp-host", fragment)
    assert change.after.name == "newvm"


@pytest.mark.parametrize("fragment,words", [
    ("", "empty"), ("host.xml", "must start with '<'"), ("<host", "invalid XML fragment"),
    ("<host/><host/>", "invalid XML fragment"),
    ("<!DOCTYPE x [<!ENTITY e 'x'>]><host name='&e;' ip='192.168.122.9'/>", "not allowed"),
])
def test_bad_fragments_are_invalid_fragment_errors(fragment, words):
    network = load("nat-default")
    before = network.to_xml()
    with pytest.raises(netupdate.InvalidFragmentError) as info:
        network.update("add", "ip-dhcp-host", fragment)
    assert words in info.value.message
    assert network.to_xml() == before


def test_missing_fragment_is_refused_except_for_singleton_and_nodespec_delete():
    network = load("nat-default")
    with pytest.raises(netupdate.InvalidFragmentError):
        network.update("add", "ip-dhcp-host", None)
    with pytest.raises(netupdate.InvalidFragmentError):
        network.update("delete", "ip-dhcp-host", None)
    change = network.update("delete", "bridge", None)
    assert change.before.name == "virbr0"


def test_unknown_attributes_and_children_are_kept_as_given():
    network = load("nat-default")
    change = network.update("add", "ip-dhcp-host",
                            "<host mac='52:54:00:12:34:56' ip='192.168.122.77' x='1'><y/></host>")
    assert change.after.mac == "52:54:00:12:34:56"
    assert "x='1'" in network.to_xml()


# ---------------------------------------------------------------------- Change contract
def test_change_fields_for_a_host_add():
    network = load("nat-hosts")
    change = network.update("add-first", "ip-dhcp-host", HOST.replace("122", "100"))
    assert change.network == "nat-hosts"
    assert change.command == "add-first"
    assert change.section == "ip-dhcp-host"
    assert change.path == "/network/ip[1]/dhcp/host[1]"
    assert change.before is None and change.before_xml is None
    assert isinstance(change.after, M.DhcpHost)
    assert change.after_xml == HOST.replace("122", "100")
    ctx = change.context
    assert ctx["ip_version"] == 4
    assert ctx["dhcp_active_before"] is True and ctx["dhcp_active_after"] is True
    assert ctx["forward_mode"] == "nat"
    assert network.root.xpath(change.path)[0].get("name") == "newvm"


def test_change_for_modify_and_delete_paths_point_at_the_element():
    network = load("nat-hosts")
    change = network.update("modify", "ip-dhcp-host",
                            "<host name='db1' ip='192.168.100.21'/>")
    assert change.path == "/network/ip[1]/dhcp/host[4]"
    assert change.before.ip != change.after.ip
    assert change.before_xml == "<host name='db1' ip='192.168.100.20'/>"
    change = network.update("delete", "ip-dhcp-host", "<host name='cache'/>")
    assert change.path == "/network/ip[1]/dhcp/host[5]"
    assert change.after is None and change.after_xml is None
    assert change.before.name == "cache"


def test_change_dhcp_active_tracks_the_family():
    network = load("isolated")
    change = network.update("delete", "ip-dhcp-range",
                            "<range start='172.16.10.10' end='172.16.10.99'/>")
    assert change.context["dhcp_active_before"] and change.context["dhcp_active_after"]
    change = network.update("delete", "ip-dhcp-host", "<host name='builder'/>")
    assert change.context["dhcp_active_before"] and not change.context["dhcp_active_after"]
    change = network.update("add", "ip-dhcp-host",
                            "<host mac='52:54:00:10:0a:09' ip='172.16.10.9'/>")
    assert not change.context["dhcp_active_before"] and change.context["dhcp_active_after"]


def test_change_ipv6_context():
    network = load("dual-stack-dhcp")
    change = network.update("add", "ip-dhcp-host", "<host name='eta' ip='fd00:106::20'/>")
    assert change.context["ip_version"] == 6
    assert change.path == "/network/ip[2]/dhcp/host[6]"


def test_change_context_for_other_sections():
    network = load("nat-default")
    change = network.update("modify", "forward", "<forward mode='route'/>")
    assert change.context["ip_version"] is None
    assert change.context["forward_mode"] == "route"
    assert change.context["forward_mode_before"] == "nat"
    assert isinstance(change.before, M.ForwardDef) and change.after.mode == "route"


def test_change_is_a_frozen_value_planned_by_the_planner():
    change = load("nat-default").update("add", "ip-dhcp-host", HOST)
    with pytest.raises(AttributeError):
        change.section = "x"
    assert not hasattr(change, "plan")         # the edit layer does not import the planner
    plan = netupdate.plan_change(change)
    assert hasattr(plan, "to_text")
    assert plan.kinds == netupdate.plan_change(change).kinds


# ---------------------------------------------------------------------- refusals
def test_refusal_messages_are_one_line_with_location():
    network = netupdate.load(NETWORKS / "nat-hosts.xml")
    with pytest.raises(netupdate.DuplicateError) as info:
        network.update("add", "ip-dhcp-host",
                       "<host mac='52:54:00:a1:00:10' name='x' ip='192.168.100.99'/>")
    err = info.value
    assert err.file.endswith("nat-hosts.xml") and err.line == 10
    assert err.path == "/network/ip[1]/dhcp/host[1]"
    assert "\n" not in str(err)
    assert "'nat-hosts'" in err.message and "52:54:00:a1:00:10" in err.message


def test_guarded_edit_is_undone_byte_for_byte():
    """A refusal found only after the tree was edited (a structural rule) leaves no trace."""
    network = load("nat-default")
    before = network.to_xml()
    with pytest.raises(netupdate.InvalidOperationError):
        network.update("modify", "forward", "<forward mode='bridge'/>")
    with pytest.raises(netupdate.InvalidOperationError):
        network.update("delete", "ip", "<ip address='192.168.122.1'/>")
    with pytest.raises(netupdate.InvalidOperationError):
        network.update("modify", "network", "<mac address='03:00:00:00:00:01'/>")
    assert network.to_xml() == before
    assert network.source.is_modified() is False


def test_problems_the_file_already_had_do_not_block_unrelated_edits():
    broken = text("nat-default").replace("<forward mode='nat'/>",
                                         "<forward mode='nat'><nat><port start='9' end='1'/>"
                                         "</nat></forward>")
    network = netupdate.load(broken)
    network.update("add", "domain", "<domain name='ok.example'/>")
    with pytest.raises(netupdate.InvalidOperationError):
        network.update("modify", "forward", "<forward mode='route'><nat/></forward>")


# ---------------------------------------------------------------------- libvirt behaviour kept
def test_forward_dev_follows_the_first_interface():
    network = load("macvtap-pool")
    network.update("add-first", "forward-interface", "<interface dev='eth0'/>")
    assert network.root.find("forward").get("dev") == "eth0"
    network.update("delete", "forward-interface", "<interface dev='eth0'/>")
    assert network.root.find("forward").get("dev") == "enp5s0"
    network = load("nat-dns-srv")
    network.update("delete", "forward-interface", "<interface dev='eth1'/>")
    assert "dev" not in network.root.find("forward").attrib
    assert "<forward mode='nat'>" in network.to_xml() or "<forward mode='nat'/>" in \
        network.to_xml()


def test_delete_last_entry_keeps_bootp_and_drops_empty_dhcp_and_dns():
    network = load("tftp-bootp")
    network.update("delete", "ip-dhcp-range",
                   "<range start='192.168.108.2' end='192.168.108.254'/>")
    assert network.defs.ips[0].dhcp.bootp.file == "pxelinux.0"
    network = load("isolated")
    network.update("delete", "ip-dhcp-host", "<host name='builder'/>")
    network.update("delete", "ip-dhcp-range", "<range start='172.16.10.10' end='172.16.10.99'/>")
    assert network.root.find("ip/dhcp") is None
    assert "<ip address='172.16.10.1' prefix='24'>\n  </ip>" in network.to_xml()
    network = load("nat-dns-txt")
    for name in ("example", "policy.lab.example", "build-info"):
        network.update("delete", "dns-txt", f"<txt name='{name}'/>")
    assert network.root.find("dns") is None
    network = load("no-dns")   # <dns enable='no'/> has an attribute: it stays
    assert network.root.find("dns") is not None


def test_add_creates_missing_containers_in_libvirt_order():
    network = load("nat-default")
    network.update("add", "dns-txt", "<txt name='a' value='b'/>")
    out = network.to_xml()
    assert out.index("<dns>") < out.index("<ip ")
    assert out.index("<mac ") < out.index("<dns>")
    assert "  <dns>\n    <txt name='a' value='b'/>\n  </dns>\n" in out
    network = load("routed")
    network.update("add", "ip-dhcp-host", "<host name='v6' ip='2001:db8:10::5'/>")
    assert ("  <ip family='ipv6' address='2001:db8:10::1' prefix='64'>\n    <dhcp>\n"
            "      <host name='v6' ip='2001:db8:10::5'/>\n    </dhcp>\n  </ip>\n") in \
        network.to_xml()


def test_new_singleton_lands_where_libvirt_puts_it():
    network = load("nat-default")
    network.update("add", "domain", "<domain name='example.com'/>")
    lines = network.to_xml().splitlines()
    assert lines[6] == "  <domain name='example.com'/>"      # after <mac>, before <ip>
    assert lines[5].startswith("  <mac ")
    network = load("isolated")
    network.update("add", "forward", "<forward mode='nat'/>")
    assert network.to_xml().splitlines()[3] == "  <forward mode='nat'/>"   # after <uuid>


def test_new_elements_get_sibling_indentation():
    for name in ("odd-tabs", "odd-crlf", "odd-spacing-quotes"):
        network = load(name)
        first = next(network.root.iterchildren("ip"), None)
        if first is None:
            continue
        change = network.update("add", "dns-txt", "<txt name='zz' value='v'/>")
        out = network.to_xml()
        assert netupdate.load(out).defs.dns.txts[-1].name == "zz", name
        assert change.after_xml in out
    network = load("odd-tabs")
    network.update("add", "dns-txt", "<txt name='zz' value='v'/>")
    assert "\t\t<txt name=" in network.to_xml() or "\t<dns>" in network.to_xml()


def test_multiline_fragment_is_reindented():
    network = load("openvswitch-portgroups")
    network.update("add", "portgroup", "<portgroup name='g'>\n<vlan>\n<tag id='5'/>\n</vlan>"
                                       "\n</portgroup>")
    assert ("  <portgroup name='g'>\n    <vlan>\n      <tag id='5'/>\n    </vlan>\n"
            "  </portgroup>\n</network>") in network.to_xml()


def test_crlf_document_stays_crlf():
    network = load("odd-crlf")
    network.update("add", "dns-txt", "<txt name='zz' value='v'/>")
    out = network.to_xml()
    assert "\n" not in out.replace("\r\n", "")
    network.update("delete", "dns-txt", "<txt name='zz'/>")
    network.update("modify", "ip-dhcp-host",
                   "<host mac='52:54:00:34:00:10' name='win' ip='192.168.134.11'/>")
    assert "\n" not in network.to_xml().replace("\r\n", "")


def test_add_first_among_hosts_goes_after_ranges():
    network = load("nat-hosts")
    network.update("add-first", "ip-dhcp-host",
                   "<host mac='52:54:00:a1:00:77' name='first' ip='192.168.100.77'/>")
    dhcp = network.root.find("ip/dhcp")
    assert [c.tag for c in dhcp][:2] == ["range", "host"]
    assert dhcp.find("host").get("name") == "first"


# ---------------------------------------------------------------------- indexes
def _big(hosts: int) -> str:
    lines = [f"      <host mac='52:54:00:{i >> 8 & 255:02x}:{i & 255:02x}:01' name='h{i}' "
             f"ip='10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}'/>" for i in range(1, hosts + 1)]
    return ("<network>\n  <name>big</name>\n  <forward mode='nat'/>\n"
            "  <ip address='10.255.255.1' prefix='8'>\n    <dhcp>\n"
            "      <range start='10.200.0.1' end='10.200.0.9'/>\n" + "\n".join(lines)
            + "\n    </dhcp>\n  </ip>\n</network>\n")


def test_direct_lxml_edits_do_not_leave_a_stale_index():
    network = netupdate.load(_big(50))
    network.update("add", "ip-dhcp-host", "<host mac='52:54:00:99:00:01' name='a' ip='10.9.9.1'/>")
    dhcp = network.root.find("ip/dhcp")
    # appended behind the engine's back: seen by the cheap plausibility check
    dhcp.append(etree.fromstring("<host mac='52:54:00:99:00:02' name='b' ip='10.9.9.2'/>"))
    with pytest.raises(netupdate.DuplicateError):
        network.update("add", "ip-dhcp-host", "<host mac='52:54:00:99:00:02' ip='10.9.9.3'/>")
    # an entry changed in place: its old key no longer verifies, so the index is rebuilt
    host = dhcp.find("host[@name='h10']")
    host.set("mac", "52:54:00:99:00:03")
    with pytest.raises(netupdate.NotFoundError):
        network.update("delete", "ip-dhcp-host", "<host mac='52:54:00:00:0a:01'/>")
    change = network.update("delete", "ip-dhcp-host", "<host mac='52:54:00:99:00:03'/>")
    assert change.before.name == "h10"
    # removed behind the engine's back
    dhcp.remove(dhcp.find("host[@name='h20']"))
    with pytest.raises(netupdate.NotFoundError):
        network.update("delete", "ip-dhcp-host", "<host name='h20'/>")
    # inserted in the middle: touched() is the documented way to say so
    dhcp.insert(5, etree.fromstring("<host mac='52:54:00:99:00:04' name='c' ip='10.9.9.4'/>"))
    network.touched()
    with pytest.raises(netupdate.DuplicateError):
        network.update("add", "ip-dhcp-host", "<host name='c' ip='10.9.9.5'/>")


def test_index_positions_stay_right_through_many_edits():
    network = netupdate.load(_big(30))
    network.update("add-first", "ip-dhcp-host", "<host name='f1' ip='10.9.9.1'/>")
    network.update("add-first", "ip-dhcp-host", "<host name='f2' ip='10.9.9.2'/>")
    network.update("delete", "ip-dhcp-host", "<host name='h5'/>")
    change = network.update("modify", "ip-dhcp-host", "<host name='h7' ip='10.9.9.7'/>")
    assert network.root.xpath(change.path)[0].get("name") == "h7"
    for number, name in enumerate(("h1", "h30", "f2", "f1")):
        change = network.update("modify", "ip-dhcp-host",
                                f"<host name='{name}' ip='10.8.8.{number}'/>")
        assert network.root.xpath(change.path)[0].get("name") == name
    change = network.update("add", "ip-dhcp-host", "<host name='last' ip='10.9.9.9'/>")
    assert change.path == "/network/ip/dhcp/host[32]"


def test_update_cost_does_not_grow_with_the_host_count():
    def per_update(hosts: int) -> float:
        network = netupdate.load(_big(hosts), check=False)
        network.update("add", "ip-dhcp-host", "<host name='warm' ip='10.250.0.1'/>")
        best = float("inf")
        for attempt in range(3):
            start = time.perf_counter()
            for i in range(60):
                mac = f"52:54:01:{attempt:02x}:00:{i:02x}"
                network.update("add", "ip-dhcp-host",
                               f"<host mac='{mac}' ip='10.251.{attempt}.{i}'/>")
                network.update("delete", "ip-dhcp-host", f"<host mac='{mac}'/>")
            best = min(best, (time.perf_counter() - start) / 120)
        return best
    small, large = per_update(500), per_update(20000)
    assert large < small * 4 + 50e-6, (small, large)


def test_touched_forgets_indexes():
    network = netupdate.load(_big(5))
    network.update("add", "ip-dhcp-host", "<host name='x' ip='10.9.9.1'/>")
    assert network._indexes
    network.touched()
    assert not network._indexes


# ---------------------------------------------------------------------- xmlsrc insert (edited)
def test_document_insert_negative_and_none_indexes():
    doc = Document("<a>\n  <b n='1'/>\n  <b n='2'/>\n  <b n='3'/>\n</a>\n")
    doc.insert(doc.root, None, etree.fromstring("<b n='4'/>"))
    doc.insert(doc.root, -1, etree.fromstring("<b n='3.5'/>"))
    doc.insert(doc.root, -99, etree.fromstring("<b n='0'/>"))
    doc.insert(doc.root, 99, etree.fromstring("<b n='5'/>"))
    assert doc.serialize() == ("<a>\n  <b n='0'/>\n  <b n='1'/>\n  <b n='2'/>\n  <b n='3'/>\n"
                               "  <b n='3.5'/>\n  <b n='4'/>\n  <b n='5'/>\n</a>\n")


def test_document_edits_keep_crlf_line_ends():
    doc = Document("<a>\r\n  <b n='1'/>\r\n  <b n='2'/>\r\n</a>\r\n")
    doc.insert(doc.root, None, etree.fromstring("<b n='3'/>"))
    doc.insert(doc.root, 0, etree.fromstring("<b n='0'/>"))
    doc.remove(doc.root[2])
    doc.replace(doc.root[1], etree.fromstring("<b n='x'/>"))
    assert doc.serialize() == "<a>\r\n  <b n='0'/>\r\n  <b n='x'/>\r\n  <b n='3'/>\r\n</a>\r\n"


def test_not_found_messages_name_the_key():
    network = load("nat-hosts")
    with pytest.raises(netupdate.NotFoundError) as info:
        network.update("delete", "ip-dhcp-host", "<host mac='52:54:00:a1:00:99'/>")
    assert "52:54:00:a1:00:99" in info.value.message
    network = load("nat-dns-txt")
    with pytest.raises(netupdate.NotFoundError) as info:
        network.update("delete", "dns-txt", "<txt name='nosuch'/>")
    assert "nosuch" in info.value.message and "nat-dns-txt" in info.value.message


def test_apply_update_is_the_engine_behind_network_update():
    network = load("nat-default")
    change = apply_update(network, "add", "ip-dhcp-host", HOST, parent_index=-1)
    assert change.after.name == "newvm"


def test_index_matches_a_fresh_index_after_random_edits():
    import random

    from netupdate.document.source import element_path
    from netupdate.edit.indexes import HostIndex

    rng = random.Random(7)
    network = netupdate.load(_big(40))
    for step in range(400):
        n = rng.randrange(1, 60)
        mac, name, ip = f"52:54:00:00:{n:02x}:01", f"h{n}", f"10.0.0.{n}"
        fragment = rng.choice([
            f"<host mac='{mac}' name='{name}' ip='{ip}'/>", f"<host name='{name}' ip='{ip}'/>",
            f"<host mac='{mac.upper()}' ip='10.1.0.{n}'/>", f"<host mac='{mac}'/>",
            f"<host name='{name}'/>", f"<host ip='{ip}'/>"])
        command = rng.choice(["add-first", "add-last", "modify", "delete"])
        try:
            change = network.update(command, "ip-dhcp-host", fragment)
        except netupdate.UpdateError:
            continue
        dhcp = network.root.find("ip/dhcp")
        if change.command != "delete":
            assert element_path(network.root.xpath(change.path)[0]) == change.path
        index = network._indexes[("dhcp-hosts", dhcp)]
        fresh = HostIndex(dhcp)
        assert index.by == fresh.by, step
        assert [index.elements[k] for k in index.keys] == list(dhcp.iterchildren("host"))
        if step % 25 == 0:  # the edit marks cover every change the engine made so far
            assert network.source.serialize(tracked=True) == network.to_xml(), step


def _dns_network(count: int) -> str:
    hosts = "".join(f"    <host ip='10.1.0.{i}'><hostname>n{i}</hostname></host>\n"
                    for i in range(1, count + 1))
    return (f"<network>\n  <name>d</name>\n  <dns>\n{hosts}  </dns>\n"
            "  <ip address='10.1.0.254' prefix='24'/>\n</network>\n")


def _dns_add(network, ip: str, name: str = "x"):
    return network.update("add", "dns-host", f"<host ip='{ip}'><hostname>{name}</hostname></host>")


def test_dns_duplicate_check_survives_node_spec_edits():
    network = netupdate.load(_dns_network(5))
    _dns_add(network, "10.1.0.50")                       # builds and keeps the index
    network.update("modify", None, "<host ip='10.1.0.60'><hostname>n3</hostname></host>",
                   node_spec="/network/dns/host[3]")    # a middle host changes its address
    with pytest.raises(netupdate.DuplicateError):
        _dns_add(network, "10.1.0.60")
    _dns_add(network, "10.1.0.3")                        # the old address is free again
    network.update("delete", None, None, node_spec="/network/dns/host[1]")
    _dns_add(network, "10.1.0.1")


def test_dns_duplicate_check_sees_edits_behind_its_back_at_the_end():
    network = netupdate.load(_dns_network(3))
    _dns_add(network, "10.1.0.50")
    dns = network.root.find("dns")
    extra = etree.SubElement(dns, "host", ip="10.1.0.77")
    etree.SubElement(extra, "hostname").text = "manual"
    with pytest.raises(netupdate.DuplicateError):
        _dns_add(network, "10.1.0.77")
    with pytest.raises(netupdate.DuplicateError):
        _dns_add(network, "10.1.0.50")


def test_dns_duplicate_check_matches_other_spellings():
    network = netupdate.load(_dns_network(2).replace("10.1.0.254' prefix='24'",
                                             "fd00::1' prefix='64'"))
    _dns_add(network, "fd00:0:0:0::5")
    with pytest.raises(netupdate.DuplicateError):
        _dns_add(network, "FD00::5")
