"""Generated sequences of present/absent entry tasks (dhcp_host, dns_host, dns_txt) against a
model: a dict per section keyed by the entry's identity (a host's MAC, a DNS host's IP, a TXT
name), where ``present`` replaces the entry in place or appends it and refuses a reservation
whose IP or name another host holds, and ``absent`` removes it.

After every task: check mode changed nothing and predicted ``changed``; the real run changed
exactly when the model did (and failed exactly when the model refuses); running the task again
reports ``changed=false``.  At the end the definition is the model (typed comparison) and,
byte for byte, the definition the library writes when the same operations are applied through
``netupdate.load(...).update(...)``.  The modules run in this process (``main()``); one
smaller example runs the same way through ``ansible-playbook``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from tests import ansiblehelp as A

FIXTURE = A.ROOT / "fixtures" / "networks" / "nat-default.xml"
MACS = [f"52:54:00:00:00:{n:02x}" for n in range(1, 4)]
IPS = [f"192.168.122.{n}" for n in range(10, 13)]
NAMES = ["alpha", "beta"]   # few values: reservations often collide (a conflict, or a modify)

dhcp_op = st.one_of(
    st.builds(lambda m, i, n: ("dhcp_host", "present", dict(mac=m, ip=i, name=n)),
              st.sampled_from(MACS), st.sampled_from(IPS), st.sampled_from(NAMES)),
    st.builds(lambda m: ("dhcp_host", "absent", dict(mac=m)), st.sampled_from(MACS)))
dns_op = st.one_of(
    st.builds(lambda i, h: ("dns_host", "present", dict(ip=i, hostnames=h)),
              st.sampled_from(IPS), st.lists(st.sampled_from(NAMES), min_size=1, max_size=2,
                                             unique=True)),
    st.builds(lambda i: ("dns_host", "absent", dict(ip=i)), st.sampled_from(IPS)))
txt_op = st.one_of(
    st.builds(lambda n, v: ("dns_txt", "present", dict(name=n, value=v)),
              st.sampled_from(NAMES), st.sampled_from(["v1", "v2", "a b"])),
    st.builds(lambda n: ("dns_txt", "absent", dict(name=n)), st.sampled_from(NAMES)))
ops = st.lists(st.one_of(dhcp_op, dhcp_op, dns_op, txt_op), min_size=2, max_size=8)

SECTION = {"dhcp_host": "ip-dhcp-host", "dns_host": "dns-host", "dns_txt": "dns-txt"}
KEY = {"dhcp_host": "mac", "dns_host": "ip", "dns_txt": "name"}


@pytest.fixture(autouse=True)
def _ansible():
    A.require_ansible()


class Model:
    """The expected entries (insertion-ordered dicts) and the library replay of each step."""

    def __init__(self, xml: str):
        self.entries = {m: {} for m in SECTION}
        self.replay = netupdate.load(xml)

    def step(self, module: str, state: str, args: dict) -> tuple[bool, bool]:
        """(changed, refused) of one task; records it."""
        table, key = self.entries[module], args[KEY[module]]
        if state == "absent":
            if key not in table:
                return False, False
            del table[key]
            self.replay.update("delete", SECTION[module], fragment(module, args))
            return True, False
        value = {k: v for k, v in args.items() if k != KEY[module]}
        if module == "dhcp_host" and any(
                other != key and (v["ip"] == args["ip"] or v["name"] == args["name"])
                for other, v in table.items()):
            return False, True
        if table.get(key) == value:
            return False, False
        command = "modify" if key in table else "add-last"
        table[key] = value
        self.replay.update(command, SECTION[module], fragment(module, args))
        return True, False

    def check(self, xml: str) -> None:
        defs = netupdate.load(xml).defs
        hosts = defs.ips[0].dhcp.hosts
        assert [(str(h.mac), dict(ip=str(h.ip), name=h.name)) for h in hosts] == \
            list(self.entries["dhcp_host"].items())
        dns = defs.dns
        assert [(str(h.ip), dict(hostnames=list(h.hostnames))) for h in
                (dns.hosts if dns else ())] == list(self.entries["dns_host"].items())
        assert [(t.name, dict(value=t.value)) for t in (dns.txts if dns else ())] == \
            list(self.entries["dns_txt"].items())
        assert xml == self.replay.to_xml()


def fragment(module: str, args: dict) -> str:
    if module == "dhcp_host":   # libvirt's attribute order, as the module writes them
        attrs = " ".join(f"{k}='{args[k]}'" for k in ("mac", "name", "ip") if k in args)
        return f"<host {attrs}/>"
    if module == "dns_txt":
        attrs = " ".join(f"{k}='{v}'" for k, v in args.items())
        return f"<txt {attrs}/>"
    names = "".join(f"<hostname>{h}</hostname>" for h in args.get("hostnames", ()))
    return f"<host ip='{args['ip']}'>{names}</host>"


def _config(state) -> str:
    with netupdate.connect(state_dir=state) as conn:
        return conn.dumpxml("default", inactive=True)


@settings(max_examples=30)
@given(sequence=ops)
def test_entry_tasks_follow_the_model(tmp_path_factory, sequence):
    state = tmp_path_factory.mktemp("state")
    state.chmod(0o755)
    with netupdate.connect(state_dir=state) as conn:
        conn.define(FIXTURE)
    model = Model(_config(state))
    for module, wanted, args in sequence:
        task = dict(args, network="default", state=wanted, state_dir=str(state))
        held = _config(state)
        predicted = A.run_module(module, task, check_mode=True, diff=True)
        assert _config(state) == held
        changed, refused = model.step(module, wanted, args)
        done = A.run_module(module, task, diff=True)
        assert bool(done.get("failed")) == refused, done
        if refused:
            assert predicted.get("failed") and "\n" not in done["msg"]
            assert _config(state) == held
            continue
        assert predicted["changed"] == done["changed"] == changed, (predicted, done)
        assert predicted["diff"][0]["after"] == _config(state)
        assert A.run_module(module, task)["changed"] is False
    model.check(_config(state))


@settings(max_examples=1)   # each example is a playbook run; the in-process test above is wide
@given(sequence=st.lists(st.one_of(dhcp_op, txt_op), min_size=3, max_size=5))
def test_entry_playbook_follows_the_model(tmp_path_factory, sequence):
    """The same through ``ansible-playbook`` (one play per example, conflicts ignored)."""
    tmp = tmp_path_factory.mktemp("play")
    state = tmp / "state"
    state.mkdir(mode=0o755)
    with netupdate.connect(state_dir=state) as conn:
        conn.define(FIXTURE)
    model = Model(_config(state))
    tasks, expected = [], []
    for module, wanted, args in sequence:
        changed, refused = model.step(module, wanted, args)
        expected.append((changed, refused))
        lines = "".join(f"\n        {k}: {v!r}" for k, v in args.items())
        tasks.append(f"""
    - netupdate.netupdate.{module}:
        network: default
        state: {wanted}{lines}
      register: r{len(tasks)}
      ignore_errors: true""")
    results = "{" + ", ".join(f"'r{i}': r{i}" for i in range(len(tasks))) + "}"
    play = f"""
- hosts: all
  gather_facts: false
  environment:
    NETUPDATE_STATE_DIR: "{state}"
  tasks:{''.join(tasks)}
{A.save_task(tmp, results)}"""
    inv = A.inventory(tmp, {"hv1": {}})
    A.playbook(tmp, play, inv)
    saved = A.results(tmp, "hv1")
    for i, (changed, refused) in enumerate(expected):
        got = saved[f"r{i}"]
        assert bool(got.get("failed")) == refused and (refused or got["changed"] == changed)
    model.check(_config(state))
