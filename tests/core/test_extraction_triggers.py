"""The built-in extractor's quick pre-checks change no result: ``_facts_in`` (sentences split
by string methods, a pattern searched only in a sentence holding one of its words) finds
exactly what searching every pattern in every ``_SENTENCE.findall`` run finds, also with the
characters ``re.I`` folds specially (``ı``, ``İ``, ``ſ``, the Kelvin sign)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skald_core.service import extraction as ex

WORDS = [
    "My name is Bob",
    "call me Ann",
    "I am called Zed",
    "i work as a pilot",
    "I'm a chef",
    "I am a software engineer",
    "I like tea",
    "i LOVE jazz",
    "I dislike noise",
    "I hate rain",
    "I can't stand mud",
    "I'm a fan of chess",
    "I would prefer coffee",
    "remember that x is 1",
    "İ like cats",
    "I lıke dogs",
    "I can't ſtand it",
    "I WORK AS A \u212aeeper",
    "and",
    "but",
    "because",
    ",",
    ";",
    ".",
    "!",
    "?",
    "\n",
    " ",
    "xyz",
    "Émile",
]


def reference(text: str) -> list[ex.Fact]:
    saved = ex._TRIGGERS, ex._sentences
    try:
        ex._TRIGGERS = [("",)] * len(ex._PATTERNS)  # every pattern searched
        ex._sentences = ex._SENTENCE.findall  # type: ignore[assignment]
        return ex._facts_in(text)
    finally:
        ex._TRIGGERS, ex._sentences = saved


@settings(max_examples=300)
@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
def test_pre_checks_find_what_every_search_finds(text: str) -> None:
    assert ex._facts_in(text) == reference(text)


def test_a_multi_mb_sentence_without_trigger_words_is_not_searched() -> None:
    assert ex._facts_in("m001 " + "x" * 2_000_000) == []
    assert ex._facts_in("x" * 100_000 + " I like tea, ok") == reference(
        "x" * 100_000 + " I like tea, ok"
    )
