"""Memory extraction: the extractor protocol and the deterministic built-in extractor.

The built-in extractor needs no network. It reads the user's own messages and recognises a
few kinds of durable fact — name, profession, likes, dislikes, preferences and explicit
"remember that …" requests — writing one memory per fact. A fact's path is derived from
what it says, so repeating a fact updates one file instead of creating another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from msgspec import Struct

from ..schemas import Message, TextPart


class Fact(Struct, frozen=True, kw_only=True):
    """A fact found in a conversation: ``category`` folder, ``slug`` file name, text."""

    category: str
    slug: str
    content: str


class Extractor(Protocol):
    name: str

    def extract(self, messages: Sequence[Message], user: str) -> list[Fact]: ...


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


def _facts_in(text: str) -> list[Fact]:
    facts: list[Fact] = []
    for sentence in _SENTENCE.findall(text):
        sentence = sentence.strip()
        taken: set[str] = set()
        for category, kind, pattern in _PATTERNS:
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
