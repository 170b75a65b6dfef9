"""Embeddings from any OpenAI-compatible ``POST {base}/embeddings`` endpoint (OpenAI, vLLM,
Ollama, LiteLLM, text-embeddings-inference, ...): its settings and its client.

The request is ``{"model": ..., "input": [text, ...]}``; the answer
``{"data": [{"embedding": [...], "index": i}, ...]}`` (ordered by ``index``). Rate limits
(429, ``Retry-After`` honoured), server errors, timeouts and refused connections are retried
``max_retries`` times with backoff; a query's embedding is tried once, within
``query_timeout`` (search falls back to full text rather than keep a caller waiting). Any
failure is an ``EmbeddingError`` with a readable reason.

httpx is imported lazily, as for the language-model extractor (``skald-core[llm]``).

Configuration (``config_from_env``): ``SKALD_EMBEDDING_BASE_URL``, ``SKALD_EMBEDDING_MODEL``,
``SKALD_EMBEDDING_API_KEY``, ``SKALD_EMBEDDING_TIMEOUT``, ``SKALD_EMBEDDING_QUERY_TIMEOUT``,
``SKALD_EMBEDDING_MAX_RETRIES``, ``SKALD_EMBEDDING_BATCH_SIZE``,
``SKALD_EMBEDDING_CANDIDATES``, ``SKALD_EMBEDDING_MIN_SIMILARITY``. No base URL, model or key
set means no embeddings: full-text search only.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from msgspec import Struct

from ..errors import InvalidArgumentError
from ..retry import RetryPolicy, retry_after_seconds
from .setting_checks import client_headers, endpoint_url, given_settings, number_setting

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("skald.embeddings")

ENV_PREFIX = "SKALD_EMBEDDING_"


class EmbeddingConfig(Struct, kw_only=True, frozen=True):
    """Where the embedding model is, how patiently to talk to it and how search uses it."""

    base_url: str
    model: str
    api_key: str | None = None
    #: Seconds to wait for one answer while indexing.
    timeout: float = 30.0
    #: Seconds a search waits for its query's embedding before answering from full text.
    query_timeout: float = 3.0
    #: Retries of a failed indexing request (429, 5xx, timeout, refused).
    max_retries: int = 3
    #: Texts sent in one request.
    batch_size: int = 64
    #: Most vectors one search compares (the caller's most recently embedded, plus full
    #: text's best hits).
    candidates: int = 1000
    #: A memory enters the semantic ranking only with a cosine above this.
    min_similarity: float = 0.2

    @property
    def endpoint(self) -> str:
        return endpoint_url(self.base_url, "/embeddings")


# name: (kind, default, low, high)
_NUMBERS: dict[str, tuple[type[int] | type[float], float, float, float]] = {
    "timeout": (float, 30.0, 0.001, 3600),
    "query_timeout": (float, 3.0, 0.001, 600),
    "max_retries": (int, 3, 0, 20),
    "batch_size": (int, 64, 1, 2048),
    "candidates": (int, 1000, 1, 1_000_000),
    "min_similarity": (float, 0.2, -1.0, 1.0),
}
FIELDS = ("base_url", "api_key", "model", *_NUMBERS)


def _label(name: str) -> str:
    return f"{ENV_PREFIX}{name.upper()} (embedding_{name})"


def _number(name: str, raw: Any) -> Any:
    kind, _, lo, hi = _NUMBERS[name]
    return number_setting(raw, kind, lo, hi, label=_label(name), field=f"embedding_{name}")


def make_config(values: Mapping[str, object]) -> EmbeddingConfig | None:
    """Check the embedding settings (keys of ``FIELDS``; empty values count as unset).
    ``None`` when neither a base URL, a model nor an API key is set (full text only);
    ``InvalidArgumentError`` with a readable reason when the settings cannot work."""
    given = given_settings(values, FIELDS, "embedding")
    if given is None:
        return None
    base_url = str(given.get("base_url", "")).strip()
    model = str(given.get("model", "")).strip()
    parts = urlsplit(base_url)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
        bad_port = False
    except ValueError:
        bad_port = True
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or bad_port
        or parts.query
        or parts.fragment
    ):
        raise InvalidArgumentError(
            f"{_label('base_url')} must be the http:// or https:// root of an OpenAI-compatible "
            f"API (e.g. https://api.openai.com/v1), got {base_url!r}",
            {"field": "embedding_base_url", "value": base_url},
        )
    if not model:
        raise InvalidArgumentError(
            f"{_label('model')} is not set: name the embedding model, e.g. text-embedding-3-small",
            {"field": "embedding_model"},
        )
    api_key = given.get("api_key")
    numbers = {n: _number(n, given.get(n, spec[1])) for n, spec in _NUMBERS.items()}
    return EmbeddingConfig(
        base_url=base_url,
        model=model,
        api_key=str(api_key) if api_key is not None else None,
        **numbers,
    )


def config_from_env(environ: Mapping[str, str] | None = None) -> EmbeddingConfig | None:
    env = os.environ if environ is None else environ
    return make_config({f: env.get(ENV_PREFIX + f.upper()) for f in FIELDS})


class EmbeddingError(Exception):
    """The endpoint gave no usable embeddings; ``str`` is the reason."""


class _Item(Struct):
    embedding: list[float]
    index: int = 0


class _Answer(Struct):
    data: list[_Item]


_answer = msgspec.json.Decoder(_Answer)


class EmbeddingClient:
    """Turns texts into vectors through the configured endpoint (thread-safe)."""

    def __init__(
        self,
        config: EmbeddingConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx comes with skald and skald-server
            raise InvalidArgumentError(
                "Embeddings need httpx: pip install 'skald-core[llm]'"
            ) from None
        self._httpx = httpx
        self.config = config
        self.model = config.model
        self.retry = RetryPolicy(
            attempts=config.max_retries + 1, base_delay=0.5, max_delay=10.0, jitter=(0.5, 1.0)
        )
        self._sleep = sleep
        headers = client_headers("skald-embeddings", config.api_key)
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout), headers=headers, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (indexing: retried with backoff)."""
        return self._post(texts, self.retry.attempts, self.config.timeout)

    def embed_query(self, text: str) -> list[float]:
        """The query's vector: one try, within ``query_timeout``."""
        return self._post([text], 1, self.config.query_timeout)[0]

    def _post(self, texts: Sequence[str], attempts: int, timeout: float) -> list[list[float]]:
        httpx = self._httpx
        url = self.config.endpoint
        body = msgspec.json.encode({"model": self.config.model, "input": list(texts)})
        reason = "no attempt"
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._http.post(url, content=body, timeout=httpx.Timeout(timeout))
            except httpx.TimeoutException:
                reason = f"no answer within {timeout:g}s"
            except httpx.TransportError as exc:
                reason = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return _vectors(_answer.decode(response.content), len(texts))
                    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                        reason = f"a malformed answer ({exc})"
                elif status == 429:
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
                    reason = "rate limited (429)"
                elif status >= 500 or status == 408:
                    reason = f"a server error ({status})"
                else:
                    raise EmbeddingError(
                        f"The embedding endpoint {url} refused the request ({status}: "
                        f"{response.text[:200]}); check SKALD_EMBEDDING_MODEL and "
                        "SKALD_EMBEDDING_API_KEY"
                    )
            if attempt + 1 < attempts:
                wait = self.retry.delay(attempt, retry_after)
                log.info(
                    "embedding request %d/%d: %s; retry in %.2fs",
                    attempt + 1,
                    attempts,
                    reason,
                    wait,
                )
                self._sleep(wait)
        raise EmbeddingError(f"The embedding endpoint {url} failed: {reason}")


def _vectors(answer: _Answer, n: int) -> list[list[float]]:
    items = sorted(answer.data, key=lambda d: d.index)
    if len(items) != n or [d.index for d in items] != list(range(n)):
        raise ValueError(f"{len(items)} embeddings for {n} inputs")
    dims = len(items[0].embedding) if items else 0
    if dims == 0 or any(len(d.embedding) != dims for d in items):
        raise ValueError("embeddings of different or zero dimensions")
    return [d.embedding for d in items]
