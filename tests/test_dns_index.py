"""The DNS host index (``edit/indexes.DnsIpIndex``) survives DHCP edits: a DNS-host add after a
DHCP-host add does not rescan the network's DNS hosts (it did, 1,000 of them, in every
alternating live update), and the kept index always equals a fresh one, the path it gives the
last host included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import netupdate
from netupdate.document.paths import element_path
from netupdate.edit import indexes as IX


def _network(hosts: int) -> str:
    dns = "".join(f"<host ip='10.71.0.{i}'><hostname>d{i}</hostname></host>"
                  for i in range(1, hosts + 1))
    dhcp = "".join(f"<host mac='52:54:00:00:00:{i:02x}' name='h{i}' ip='10.70.0.{i}'/>"
                   for i in range(1, hosts + 1))
    return (f"<network><name>n</name><dns>{dns}</dns><ip address='10.70.0.254' prefix='16'>"
            f"<dhcp><range start='10.70.1.1' end='10.70.1.9'/>{dhcp}</dhcp></ip></network>")


edits = st.lists(st.tuples(st.sampled_from(["dns", "dhcp", "range"]), st.integers(1, 60)),
                 min_size=1, max_size=30)


@settings(max_examples=60)
@given(edits)
def test_the_dns_index_is_built_once_and_stays_true_through_dhcp_edits(steps):
    network = netupdate.load(_network(20), check=False)
    built = []
    real = IX.DnsIpIndex.__init__

    def counted(self, dns):
        built.append(dns)
        real(self, dns)
    IX.DnsIpIndex.__init__ = counted
    try:
        for kind, n in steps:
            try:
                if kind == "dns":
                    network.update("add", "dns-host", f"<host ip='10.72.0.{n}'>"
                                   f"<hostname>x{n}</hostname></host>")
                elif kind == "dhcp":
                    network.update("add", "ip-dhcp-host",
                                   f"<host mac='52:54:00:01:00:{n:02x}' ip='10.70.2.{n}'/>")
                else:
                    network.update("add", "ip-dhcp-range",
                                   f"<range start='10.70.3.{n}' end='10.70.3.{n}'/>")
            except netupdate.UpdateError:
                continue
            dns = network.root.find("dns")
            kept = network._indexes.get(("dns-hosts", dns))
            if kept is not None:
                assert (kept.count, kept.hosts) == _fresh(dns)
                last = list(dns.iterchildren("host"))[-1]
                assert kept.last_path(last, element_path(dns)) == element_path(last)
    finally:
        IX.DnsIpIndex.__init__ = real
    assert len(built) <= 1


def _fresh(dns) -> tuple[dict, int]:
    index = IX.DnsIpIndex.__new__(IX.DnsIpIndex)
    index.count, index.hosts = {}, 0
    for host in dns.iterchildren("host"):
        index.add(host)
    return index.count, index.hosts
