"""Memory extraction: the extractor protocols and the deterministic built-in extractor.

An extractor turns an archive's messages (and the user's existing memories, if it asks for
them) into an ``Extraction``: memories to write — new ones or new texts for existing ones —
and memories to delete, plus the language-model tokens it spent. ``Extractor`` is that
protocol; the older ``FactExtractor`` (``extract`` returns a list of facts) still works, it
is adapted by ``as_extractor``.

The built-in extractor needs no network. It reads the user's own messages and recognises a
few kinds of durable fact — name, profession, likes, dislikes, preferences and explicit
"remember that …" requests — writing one memory per fact. A fact's path is derived from
what it says, so repeating a fact updates one file instead of creating another. It never
deletes. ``llm_extractor.LLMExtractor`` asks an OpenAI-compatible language model instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, cast

import msgspec
from msgspec import Struct

from ..schemas import Message, TextPart, TokenUsage


class Fact(Struct, frozen=True, kw_only=True):
    """A fact found in a conversation: ``category`` folder, ``slug`` file name, text."""

    category: str
    slug: str
    content: str


class Forget(Struct, frozen=True, kw_only=True):
    """A memory to delete: ``category`` folder and ``slug`` file name."""

    category: str
    slug: str


class ExistingMemory(Struct, frozen=True, kw_only=True):
    """One of the user's memories, shown to an extractor so it can update or delete it."""

    category: str
    slug: str
    content: str


class Extraction(Struct, kw_only=True):
    """An extractor's answer: memories to write (new, or a new text for an existing one),
    memories to delete, and the tokens spent to find out."""

    facts: list[Fact] = msgspec.field(default_factory=list)
    deletes: list[Forget] = msgspec.field(default_factory=list)
    usage: TokenUsage = msgspec.field(default_factory=TokenUsage)


class ExtractionError(Exception):
    """An extraction that failed for a reason worth showing to the user as it is (the task's
    ``error``), with the tokens spent before it gave up."""

    def __init__(self, reason: str, usage: TokenUsage | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage or TokenUsage()


class Extractor(Protocol):
    name: str
    #: Categories whose existing memories ``extract_diff`` wants to see (empty: none).
    categories: Sequence[str]

    def extract_diff(
        self, messages: Sequence[Message], user: str, existing: Sequence[ExistingMemory]
    ) -> Extraction: ...


class FactExtractor(Protocol):
    """The first extractor protocol: facts only, no updates of other memories, no deletes."""

    name: str

    def extract(self, messages: Sequence[Message], user: str) -> list[Fact]: ...


AnyExtractor = Extractor | FactExtractor


class _FactAdapter:
    def __init__(self, inner: FactExtractor) -> None:
        self.inner = inner
        self.name = inner.name
        self.categories: Sequence[str] = ()

    def extract_diff(
        self, messages: Sequence[Message], user: str, existing: Sequence[ExistingMemory]
    ) -> Extraction:
        return Extraction(facts=list(self.inner.extract(messages, user)))


def as_extractor(extractor: AnyExtractor) -> Extractor:
    """``extractor`` itself if it speaks ``Extractor``, else wrapped so that it does."""
    if hasattr(extractor, "extract_diff"):
        return cast(Extractor, extractor)
    return _FactAdapter(extractor)


_SENTENCE = re.compile(r"[^.!?\n]+")
_END = r"(?=$|[,;]| but | and | because )"
_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "profile",
        "name",
        re.compile(
            r"\b(?i:my name is|my name's|call me|i am called|i'm called)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)"
        ),
    ),
    (
        "profile",
        "profession",
        re.compile(
            r"\b(?:i work as|i am working as|i'm working as)\s+((?:an?\s+)?.+?)" + _END, re.I
        ),
    ),
    (
        "profile",
        "profession",
        re.compile(
            r"\b(?:i am|i'm)\s+(an?\s+(?:[\w-]+\s+)?(?:engineer|developer|programmer|scientist|teacher|"
            r"doctor|nurse|designer|manager|writer|researcher|student|lawyer|analyst|architect|"
            r"consultant|artist|chef|accountant|founder|journalist|musician|pilot|farmer))\b",
            re.I,
        ),
    ),
    (
        "preferences",
        "dislikes",
        re.compile(
            r"\b(?:i (?:really )?(?:don't|do not) like|i (?:really )?dislike|i hate|i can't stand)\s+(.+?)"
            + _END,
            re.I,
        ),
    ),
    (
        "preferences",
        "likes",
        re.compile(
            r"\b(?:i (?:really )?like|i (?:really )?love|i enjoy|i'm a fan of|i am a fan of)\s+(.+?)"
            + _END,
            re.I,
        ),
    ),
    ("preferences", "prefers", re.compile(r"\bi (?:would )?prefer\s+(.+?)" + _END, re.I)),
    ("facts", "remember", re.compile(r"\bremember (?:that\s+)?(.+)$", re.I)),
]


def slugify(text: str, limit: int = 48) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "fact"


def _clean(value: str) -> str:
    return value.strip().strip("\"'").rstrip(".,;:!? ").strip()


#: Words one of which each pattern of ``_PATTERNS`` (in that order) needs in a sentence to
#: match it: a sentence (as ``_folded``) without any is not searched. A regular expression
#: search holds the GIL; on a multi-MB sentence the patterns took seconds, stalling every
#: other request, while these checks take milliseconds.
_TRIGGERS: list[tuple[str, ...]] = [
    ("my name", "call me", "called"),
    ("work",),
    ("i am", "i'm"),
    ("like", "hate", "stand"),
    ("like", "love", "enjoy", "fan of"),
    ("prefer",),
    ("remember",),
]


def _folded(sentence: str) -> str:
    """The sentence case-folded so that every text a case-insensitive pattern matches holds
    the pattern's words as written (``re.I`` also matches the dotless ``ı`` and the dotted
    ``İ`` to ``i``); more text than that may hold them, which only costs a search."""
    return sentence.casefold().replace("ı", "i").replace("\u0307", "")


def _sentences(text: str) -> list[str]:
    """The runs of text between ``.``, ``!``, ``?`` and line ends (as ``_SENTENCE.findall``),
    split by string methods, each a short hold of the GIL (the regex took 0.2 s on 7.5 MB)."""
    marks = text.replace("!", ".").replace("?", ".").replace("\n", ".")
    return [s for s in marks.split(".") if s]


def _facts_in(text: str) -> list[Fact]:
    facts: list[Fact] = []
    for sentence in _sentences(text):
        sentence = sentence.strip()
        folded = _folded(sentence)
        taken: set[str] = set()
        for (category, kind, pattern), words in zip(_PATTERNS, _TRIGGERS, strict=True):
            if not any(w in folded for w in words):
                continue
            m = pattern.search(sentence)
            if not m or kind in taken:
                continue
            value = _clean(m.group(1))
            if not value or len(value) > 200:
                continue
            taken.add(kind)
            if kind == "name":
                facts.append(
                    Fact(category=category, slug="name", content=f"The user's name is {value}.")
                )
            elif kind == "profession":
                facts.append(
                    Fact(
                        category=category, slug="profession", content=f"The user works as {value}."
                    )
                )
            elif kind == "remember":
                facts.append(
                    Fact(category=category, slug=slugify(value), content=f"Remember: {value}.")
                )
            else:
                verb = {"likes": "likes", "dislikes": "dislikes", "prefers": "prefers"}[kind]
                facts.append(
                    Fact(
                        category=category,
                        slug=f"{kind}-{slugify(value)}",
                        content=f"The user {verb} {value}.",
                    )
                )
    return facts


class BuiltinExtractor:
    """Deterministic, offline: the same messages always give the same facts."""

    name = "builtin"
    categories: Sequence[str] = ()

    def extract_diff(
        self, messages: Sequence[Message], user: str, existing: Sequence[ExistingMemory]
    ) -> Extraction:
        return Extraction(facts=self.extract(messages, user))

    def extract(self, messages: Sequence[Message], user: str) -> list[Fact]:
        found: dict[tuple[str, str], Fact] = {}
        for message in messages:
            if message.role != "user" or message.message_kind == "tool_transport":
                continue
            for part in message.parts:
                if isinstance(part, TextPart):
                    for fact in _facts_in(part.text):
                        found[(fact.category, fact.slug)] = fact  # later statements win
        return list(found.values())
