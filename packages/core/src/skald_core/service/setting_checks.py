"""What the endpoint clients share (the language-model extractor's ``SKALD_LLM_*`` and the
embeddings' ``SKALD_EMBEDDING_*``): the settings given, their numbers (one parse and one
readable refusal for both), the endpoint's URL and the HTTP client's headers."""

from __future__ import annotations

from collections.abc import Mapping
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


def given_settings(
    values: Mapping[str, object], fields: tuple[str, ...], what: str
) -> dict[str, object] | None:
    """The settings given (empty values count as unset), or None when neither a base URL, a
    model nor an API key is (the endpoint is not used); ``InvalidArgumentError`` for a name
    not in ``fields``."""
    given = {k: v for k, v in values.items() if v is not None and v != ""}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise InvalidArgumentError(f"Unknown {what} setting(s): {', '.join(unknown)}")
    if not any(k in given for k in ("base_url", "model", "api_key")):
        return None
    return given


def endpoint_url(base_url: str, path: str) -> str:
    """The URL of ``path`` (``/embeddings``) under an OpenAI-compatible API root, or
    ``base_url`` itself when it already names it."""
    base = base_url.rstrip("/")
    return base if base.endswith(path) else base + path


def client_headers(user_agent: str, api_key: str | None) -> dict[str, str]:
    """The headers of every request to an endpoint (JSON; the key as a bearer token)."""
    headers = {"Content-Type": "application/json", "User-Agent": user_agent}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers
