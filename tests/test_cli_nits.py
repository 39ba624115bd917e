"""A new user's nits: did-you-mean suggests only an option close to the typo (not ``--verbose``
for ``--bogus``); ``stop`` and ``destroy`` say how they relate."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netupdate.cli import build_parser, main

VERBS = ("list", "update", "edit", "status", "apply")


def run(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue()


POSITIONALS = {"list": [], "update": ["default", "add", "ip-dhcp-host", "<host/>"],
               "edit": ["f.xml", "add", "ip-dhcp-host", "<host/>"], "status": ["default"],
               "apply": ["default", "f.xml"]}


def _options(verb: str) -> list[str]:
    return build_parser(verb).verbs[verb].option_names()


def _accepted(word: str, options: list[str]) -> bool:
    """argparse takes an option's unique prefix (``--verbos``) as the option."""
    return any(option.startswith(word) for option in options)


@pytest.mark.parametrize("verb,typo", [("list", "--bogus"), ("list", "--plan"),
                                       ("edit", "--xyz"), ("status", "--all-networks")])
def test_an_unrelated_option_gets_no_suggestion(verb, typo):
    code, err = run(verb, *POSITIONALS[verb], typo)
    assert code == 2 and f"unrecognized arguments: {typo}" in err
    assert "did you mean" not in err


@settings(max_examples=60)
@given(verb=st.sampled_from(VERBS), data=st.data())
def test_a_one_letter_typo_of_an_option_gets_it_suggested(verb, data):
    options = [o for o in _options(verb) if o.startswith("--") and len(o) >= 7]
    option = data.draw(st.sampled_from(options))
    bare = option[2:]
    index = data.draw(st.integers(0, len(bare) - 1))
    kind = data.draw(st.sampled_from(["drop", "swap", "replace", "double"]))
    letter = data.draw(st.sampled_from("qxzjkw"))
    typo = "--" + {"drop": bare[:index] + bare[index + 1:],
                   "swap": bare[:index] + bare[index + 1:index + 2] + bare[index]
                   + bare[index + 2:],
                   "replace": bare[:index] + letter + bare[index + 1:],
                   "double": bare[:index + 1] + bare[index:]}[kind]
    assume(not _accepted(typo, _options(verb)) and typo != option)
    code, err = run(verb, *POSITIONALS[verb], typo)
    assert code == 2
    assert "did you mean '--" in err and f"instead of {typo!r}?" in err


@settings(max_examples=40)
@given(verb=st.sampled_from(VERBS), word=st.text("qxzjkwv", min_size=3, max_size=8))
def test_a_word_like_no_option_gets_no_suggestion(verb, word):
    import difflib
    options = _options(verb)
    assume(not _accepted("--" + word, options))
    assume(not difflib.get_close_matches(word, [o.lstrip("-") for o in options], cutoff=0.7))
    code, err = run(verb, *POSITIONALS[verb], "--" + word)
    assert code == 2 and "did you mean" not in err


def test_stop_and_destroy_are_one_verb_and_say_so():
    top = build_parser("--help").format_help()
    stop = next(line for line in top.splitlines() if line.startswith("  stop "))
    destroy = next(line for line in top.splitlines() if line.startswith("  destroy "))
    assert stop.split(None, 1)[1] != destroy.split(None, 1)[1]
    assert "'stop'" in destroy and "net-destroy" in destroy
    parsers = build_parser("stop").verbs
    assert parsers["stop"].get_default("func") is parsers["destroy"].get_default("func")
