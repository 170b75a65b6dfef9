"""Checks of the numeric settings the endpoint clients share (the language-model extractor's
``SKALD_LLM_*`` and the embeddings' ``SKALD_EMBEDDING_*``): one parse and one readable
refusal for both."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgumentError


def number_setting(
    raw: Any,
    kind: type[int] | type[float],
    lo: float,
    hi: float,
    *,
    label: str,
    field: str,
    float_noun: str = "a number",
) -> Any:
    """``raw`` (a string from the environment or a value from a file or flag) as ``kind``
    within ``[lo, hi]``; ``InvalidArgumentError`` naming ``label`` otherwise."""
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = kind(raw.strip()) if isinstance(raw, str) else kind(raw)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else float_noun
        raise InvalidArgumentError(
            f"{label} must be {what}, got {raw!r}", {"field": field, "value": str(raw)}
        ) from None
    if not lo <= value <= hi:
        raise InvalidArgumentError(
            f"{label} must be between {lo:g} and {hi:g}, got {value!r}",
            {"field": field, "value": str(raw)},
        )
    return value
