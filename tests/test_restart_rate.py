"""Issue 17: over a generated corpus of before/after pairs (every element and attribute of the
format changed one at a time over the fixtures, ``restartcorpus``), a full network restart is
planned only for a bridge rename or a change of forward-mode group."""

from __future__ import annotations

import functools

import restartcorpus as C  # tests/restartcorpus.py

from netupdate.planning.planner import NETWORK_RESTART, plan


@functools.lru_cache(maxsize=1)
def corpus():
    return C.generate()


def test_the_corpus_covers_every_section_and_many_pairs():
    sections = {C.section_of(plan(p.before_defs, p.after_defs)) for p in corpus()}
    assert len(corpus()) > 2000
    assert {"network", "bridge", "forward", "forward-pf", "ip", "dns", "domain", "route",
            "ip-dhcp-host", "ip-dhcp-range", "dns-host", "dns-txt", "dns-srv", "portgroup",
            "forward-interface", "dnsmasq-options"} <= sections


def test_a_restart_only_for_a_bridge_rename_or_a_forward_mode_group_change():
    unexpected = [pair.id for pair in corpus()
                  if NETWORK_RESTART in plan(pair.before_defs, pair.after_defs).kinds
                  and not C.allowed_restart(pair.before_defs, pair.after_defs)]
    assert unexpected == [], f"{len(unexpected)} unexpected restarts, e.g. {unexpected[:10]}"


def test_the_allowed_cases_do_occur_and_routed_group_changes_restart():
    allowed = [p for p in corpus() if C.allowed_restart(p.before_defs, p.after_defs)]
    assert allowed, "the corpus has no rename and no mode-group change"
    mode_changes = [p for p in allowed if C.group(p.before_defs) != C.group(p.after_defs)]
    assert mode_changes
    for pair in mode_changes:
        assert NETWORK_RESTART in plan(pair.before_defs, pair.after_defs).kinds, pair.id
