"""Memory extraction with a language model behind any OpenAI-compatible chat-completions API.

OpenAI, vLLM, Ollama, LiteLLM proxies and Volcengine Ark all serve ``POST {base}/chat/completions``.
``LLMExtractor`` sends the archived conversation plus the user's existing memories of the
categories it manages and asks for one JSON object of ``adds`` / ``updates`` / ``deletes``. The
answer is validated with msgspec (shape) and against what was sent (categories, known URIs).
An unusable answer — not JSON, the wrong shape, cut off — is sent back to the model with the
reason, at most ``max_retries`` times. Rate limits (429, honouring ``Retry-After``), server
errors (5xx), timeouts and refused connections are retried with exponential backoff, at most
``max_retries`` times per request. Everything is bounded by ``max_seconds``. When it still
fails, ``ExtractionError`` carries a readable reason that becomes the task's ``error``; the
archive stays and can be re-extracted later.

httpx is imported lazily, so ``skald_core`` itself still needs only msgspec: install
``skald-core[llm]`` (or ``skald`` / ``skald-server``, which bring httpx) to use this module.

Configuration (``config_from_env``): ``SKALD_LLM_BASE_URL``, ``SKALD_LLM_MODEL``,
``SKALD_LLM_API_KEY``, ``SKALD_LLM_TIMEOUT``, ``SKALD_LLM_MAX_RETRIES``,
``SKALD_LLM_MAX_CONCURRENCY``. Nothing set means the built-in extractor.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta, Struct

from ..errors import InvalidArgumentError
from ..retry import RetryPolicy, retry_after_seconds
from ..schemas import ContextPart, Message, TextPart, TokenUsage, ToolPart
from .extraction import (
    AnyExtractor,
    BuiltinExtractor,
    ExistingMemory,
    Extraction,
    ExtractionError,
    Fact,
    Forget,
    slugify,
)
from .setting_checks import client_headers, endpoint_url, given_settings, number_setting

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("skald.llm")

#: The memory categories the language model may write, with what belongs in each.
DEFAULT_CATEGORIES: dict[str, str] = {
    "profile": "who the user is: name, age, job, where they live, family",
    "preferences": "likes, dislikes and how the user wants things done",
    "entities": "people, pets, projects, organisations and things in the user's life",
    "events": "things that happened or are planned, with their dates when known",
    "facts": "anything else the user asked to remember",
}

ENV_PREFIX = "SKALD_LLM_"


# ---------------------------------------------------------------------------- configuration


class LLMConfig(Struct, kw_only=True, frozen=True):
    """Where the language model is and how patiently to talk to it."""

    base_url: str
    model: str
    api_key: str | None = None
    #: Seconds to wait for one answer (connect, send, and each read).
    timeout: float = 60.0
    #: How often a failed request (429, 5xx, timeout, refused) and, separately, an unusable
    #: answer is retried.
    max_retries: int = 3
    #: How many extractions run at the same time (the task runner's worker threads).
    max_concurrency: int = 4

    @property
    def endpoint(self) -> str:
        return endpoint_url(self.base_url, "/chat/completions")


_FIELDS = ("base_url", "api_key", "model", "timeout", "max_retries", "max_concurrency")


def _number(name: str, raw: Any, kind: type[int] | type[float], lo: float, hi: float) -> Any:
    return number_setting(
        raw,
        kind,
        lo,
        hi,
        label=f"{ENV_PREFIX}{name.upper()} (llm_{name})",
        field=f"llm_{name}",
        float_noun="a number of seconds",
    )


def make_config(values: Mapping[str, object]) -> LLMConfig | None:
    """Check the LLM settings (keys ``base_url``, ``model``, ``api_key``, ``timeout``,
    ``max_retries``, ``max_concurrency``; empty values count as unset). ``None`` when neither a
    base URL, a model nor an API key is set (the built-in extractor); ``InvalidArgumentError``
    with a readable reason when the settings cannot work."""
    given = given_settings(values, _FIELDS, "LLM")
    if given is None:
        return None
    base_url = str(given.get("base_url", "")).strip()
    model = str(given.get("model", "")).strip()
    if not base_url:
        raise InvalidArgumentError(
            "SKALD_LLM_BASE_URL (llm_base_url) is not set but other LLM settings are: set it to "
            "the provider's OpenAI-compatible API root, e.g. https://api.openai.com/v1",
            {"field": "llm_base_url"},
        )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError(
            f"SKALD_LLM_BASE_URL (llm_base_url) must be an http:// or https:// URL with a "
            f"host, got {base_url!r}",
            {"field": "llm_base_url", "value": base_url},
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidArgumentError(
            f"SKALD_LLM_BASE_URL (llm_base_url) has an invalid port: {base_url!r}",
            {"field": "llm_base_url", "value": base_url},
        ) from None
    if parts.query or parts.fragment:
        raise InvalidArgumentError(
            f"SKALD_LLM_BASE_URL (llm_base_url) must not carry a query or fragment: {base_url!r}",
            {"field": "llm_base_url", "value": base_url},
        )
    if not model:
        raise InvalidArgumentError(
            "SKALD_LLM_MODEL (llm_model) is not set: name the model to use, e.g. gpt-4o-mini",
            {"field": "llm_model"},
        )
    api_key = given.get("api_key")
    return LLMConfig(
        base_url=base_url,
        model=model,
        api_key=str(api_key) if api_key is not None else None,
        timeout=_number("timeout", given.get("timeout", 60.0), float, 0.001, 3600),
        max_retries=_number("max_retries", given.get("max_retries", 3), int, 0, 20),
        max_concurrency=_number("max_concurrency", given.get("max_concurrency", 4), int, 1, 64),
    )


def config_from_env(environ: Mapping[str, str] | None = None) -> LLMConfig | None:
    env = os.environ if environ is None else environ
    return make_config({f: env.get(ENV_PREFIX + f.upper()) for f in _FIELDS})


def extractor_from_env(environ: Mapping[str, str] | None = None) -> AnyExtractor:
    """``LLMExtractor`` when ``SKALD_LLM_*`` is configured, else ``BuiltinExtractor``."""
    config = config_from_env(environ)
    return BuiltinExtractor() if config is None else LLMExtractor(config)


# ---------------------------------------------------------------------------- the answer

Content = Annotated[str, Meta(min_length=1, max_length=4000)]
Name = Annotated[str, Meta(min_length=1, max_length=120)]


class AddOp(Struct, kw_only=True):
    category: str
    name: Name
    content: Content


class UpdateOp(Struct, kw_only=True):
    uri: str
    content: Content


class DeleteOp(Struct, kw_only=True):
    uri: str
    reason: str = ""


class Answer(Struct, kw_only=True):
    """What the model must answer: one JSON object, each list optional."""

    adds: list[AddOp] = msgspec.field(default_factory=list)
    updates: list[UpdateOp] = msgspec.field(default_factory=list)
    deletes: list[DeleteOp] = msgspec.field(default_factory=list)


class _Message(Struct):
    content: str | None = None


class _Choice(Struct):
    message: _Message
    finish_reason: str | None = None


class _PromptDetails(Struct):
    cached_tokens: int | None = None


class _CompletionDetails(Struct):
    reasoning_tokens: int | None = None


class _Usage(Struct):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = 0
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _Completion(Struct):
    choices: list[_Choice]
    usage: _Usage | None = None


_completion_decoder = msgspec.json.Decoder(_Completion)
_answer_decoder = msgspec.json.Decoder(Answer)


class UnusableAnswer(Exception):
    """The model's answer cannot be applied; the reason goes back to the model."""


def add_usage(total: TokenUsage, usage: _Usage | None) -> TokenUsage:
    if usage is None:
        return total
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens or 0
    cached = (usage.prompt_tokens_details.cached_tokens or 0) if usage.prompt_tokens_details else 0
    reasoning = (
        (usage.completion_tokens_details.reasoning_tokens or 0)
        if usage.completion_tokens_details
        else 0
    )
    return TokenUsage(
        prompt_tokens=total.prompt_tokens + prompt,
        completion_tokens=total.completion_tokens + completion,
        total_tokens=total.total_tokens + (usage.total_tokens or prompt + completion),
        cached_tokens=total.cached_tokens + cached,
        reasoning_tokens=total.reasoning_tokens + reasoning,
    )


def _strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.rstrip().endswith("```"):
            text = text.rstrip()[:-3]
    return text.strip()


def parse_answer(
    text: str, user: str, categories: Sequence[str], existing: Sequence[ExistingMemory]
) -> tuple[list[Fact], list[Forget]]:
    """The model's answer as facts to write and memories to delete; ``UnusableAnswer`` with a
    reason the model can act on when it is not valid."""
    body = _strip_fences(text)
    if not body:
        raise UnusableAnswer("the answer is empty")
    try:
        answer = _answer_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise UnusableAnswer(f"the answer does not match the schema: {exc}") from None
    except msgspec.DecodeError as exc:
        raise UnusableAnswer(f"the answer is not valid JSON ({exc})") from None
    prefix = f"viking://user/{user}/memories/"
    known = {f"{prefix}{m.category}/{m.slug}.md": m for m in existing}
    facts: list[Fact] = []
    forget: list[Forget] = []
    seen: set[tuple[str, str]] = set()

    def once(where: str, key: tuple[str, str]) -> None:
        if key in seen:
            raise UnusableAnswer(
                f"{where} touches {prefix}{key[0]}/{key[1]}.md a second time; "
                "give at most one operation per memory"
            )
        seen.add(key)

    def existing_memory(where: str, uri: str) -> ExistingMemory:
        memory = known.get(uri.strip())
        if memory is None:
            raise UnusableAnswer(
                f"{where}.uri {uri!r} is not one of the existing memories listed; use the "
                "exact uri of an existing memory, or put a new memory under adds"
            )
        return memory

    for i, add in enumerate(answer.adds):
        category = add.category.strip().lower()
        if category not in categories:
            raise UnusableAnswer(
                f"adds[{i}].category {add.category!r} is not one of: {', '.join(categories)}"
            )
        slug = slugify(add.name)
        once(f"adds[{i}]", (category, slug))
        facts.append(Fact(category=category, slug=slug, content=add.content.strip()))
    for i, update in enumerate(answer.updates):
        memory = existing_memory(f"updates[{i}]", update.uri)
        once(f"updates[{i}]", (memory.category, memory.slug))
        facts.append(
            Fact(category=memory.category, slug=memory.slug, content=update.content.strip())
        )
    for i, delete in enumerate(answer.deletes):
        memory = existing_memory(f"deletes[{i}]", delete.uri)
        once(f"deletes[{i}]", (memory.category, memory.slug))
        forget.append(Forget(category=memory.category, slug=memory.slug))
    return facts, forget


# ---------------------------------------------------------------------------- the prompt

SYSTEM_PROMPT = """\
You maintain the long-term memory of an assistant about one user. You are given the user's
existing memories and a conversation that just ended. Decide which durable facts about the
user the conversation adds, changes or contradicts.

Answer with ONE JSON object and nothing else, in exactly this form:
{"adds": [{"category": "<category>", "name": "<short-kebab-case-name>", "content": "<memory text>"}],
 "updates": [{"uri": "<uri of an existing memory>", "content": "<its complete new text>"}],
 "deletes": [{"uri": "<uri of an existing memory>", "reason": "<why it is no longer true>"}]}

Rules:
- Only facts about the user that will still matter in later conversations; no small talk,
  no questions, nothing the assistant said about itself.
- One fact per memory, written as a complete sentence in the third person ("The user ...").
- If a new fact changes an existing memory, put it under "updates" with that memory's exact
  uri and its complete new text; do not add a second memory about the same thing.
- If the conversation shows an existing memory is no longer true and nothing replaces it,
  put it under "deletes".
- Use empty lists when there is nothing to add, update or delete.
"""


def _render_part(part: object) -> str:
    if isinstance(part, TextPart):
        return part.text
    if isinstance(part, ToolPart):
        output = part.tool_output if len(part.tool_output) <= 500 else part.tool_output[:500] + "…"
        return f"[tool {part.tool_name or part.tool_id} ({part.tool_status})] {output}".rstrip()
    if isinstance(part, ContextPart):
        return f"[{part.context_type} {part.uri}] {part.abstract}".rstrip()
    return ""


def render_conversation(messages: Sequence[Message]) -> str:
    lines: list[str] = []
    for m in messages:
        if m.message_kind == "tool_transport":
            continue
        text = "\n".join(t for t in (_render_part(p) for p in m.parts) if t)
        if text:
            lines.append(f"{m.role}: {text}")
    return "\n".join(lines)


def build_prompt(
    messages: Sequence[Message],
    user: str,
    categories: Mapping[str, str],
    existing: Sequence[ExistingMemory],
) -> str:
    listed = [
        {
            "uri": f"viking://user/{user}/memories/{m.category}/{m.slug}.md",
            "category": m.category,
            "content": m.content,
        }
        for m in existing
    ]
    return (
        "Categories (use exactly these names):\n"
        + "\n".join(f"- {name}: {what}" for name, what in categories.items())
        + "\n\nExisting memories (JSON):\n"
        + json.dumps(listed, ensure_ascii=False, indent=1)
        + "\n\nConversation:\n"
        + (render_conversation(messages) or "(no text)")
        + "\n\nAnswer with the JSON object only."
    )


# ---------------------------------------------------------------------------- the extractor


def _provider_message(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    return text[:300]


class LLMExtractor:
    """Extracts memories with an OpenAI-compatible chat-completions model (thread-safe)."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        categories: Mapping[str, str] | None = None,
        max_existing: int = 200,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - httpx comes with skald and skald-server
            raise InvalidArgumentError(
                "The language-model extractor needs httpx: pip install 'skald-core[llm]'"
            ) from None
        self._httpx = httpx
        self.config = config
        self.name = f"llm:{config.model}"
        self.category_help = dict(categories or DEFAULT_CATEGORIES)
        self.categories: Sequence[str] = tuple(self.category_help)
        self.max_existing = max_existing
        self.concurrency = config.max_concurrency
        #: Failed requests: ``max_retries`` more tries, ``Retry-After`` honoured in full (the
        #: ``max_seconds`` budget bounds it), else backoff from ``backoff_base`` to ``backoff_cap``.
        self.retry = RetryPolicy(
            attempts=config.max_retries + 1,
            base_delay=backoff_base,
            max_delay=backoff_cap,
            jitter=(0.5, 1.0),
        )
        #: The longest one extraction may take, retries included (the task lease covers it).
        self.max_seconds = config.timeout * (config.max_retries + 1) * 2 + 60
        self._sleep = sleep
        headers = client_headers("skald-extractor", config.api_key)
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout), headers=headers, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ one extraction
    def extract_diff(
        self, messages: Sequence[Message], user: str, existing: Sequence[ExistingMemory]
    ) -> Extraction:
        deadline = time.monotonic() + self.max_seconds
        shown = list(existing)[: self.max_existing]
        chat: list[dict[str, str]] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": build_prompt(messages, user, self.category_help, shown)},
        ]
        usage = TokenUsage()
        attempts = self.config.max_retries + 1
        problem = ""
        for attempt in range(attempts):
            completion, usage = self._complete(chat, deadline, usage)
            choice = completion.choices[0] if completion.choices else None
            text = (choice.message.content or "") if choice else ""
            try:
                if choice is None:
                    raise UnusableAnswer("the response has no choices")
                if choice.finish_reason == "length":
                    raise UnusableAnswer(
                        "the answer was cut off (finish_reason=length); answer more briefly"
                    )
                facts, forget = parse_answer(text, user, self.categories, shown)
            except UnusableAnswer as exc:
                problem = str(exc)
                log.info("extraction attempt %d/%d unusable: %s", attempt + 1, attempts, problem)
                if time.monotonic() >= deadline:
                    break
                chat = [
                    *chat[:2],
                    {"role": "assistant", "content": text[:4000]},
                    {
                        "role": "user",
                        "content": f"That answer cannot be used: {problem}. Answer again with "
                        "only the JSON object in the form described.",
                    },
                ]
                continue
            return Extraction(facts=facts, deletes=forget, usage=usage)
        raise ExtractionError(
            f"The language model ({self.config.model}) gave no usable answer after "
            f"{attempts} attempt{'s' if attempts != 1 else ''}: {problem}",
            usage,
        )

    # ------------------------------------------------------------------ one request
    def _complete(
        self, chat: list[dict[str, str]], deadline: float, usage: TokenUsage
    ) -> tuple[_Completion, TokenUsage]:
        """POST the chat; retry 429, 5xx, timeouts and refused connections with backoff."""
        httpx = self._httpx
        url = self.config.endpoint
        body = msgspec.json.encode(
            {
                "model": self.config.model,
                "messages": chat,
                "temperature": 0,
                "response_format": {"type": "json_object"},
            }
        )
        attempts = self.retry.attempts
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._http.post(url, content=body)
            except httpx.TimeoutException:
                reason = f"no answer within {self.config.timeout:g}s"
            except httpx.TransportError as exc:
                reason = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        completion = _completion_decoder.decode(response.content)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        # Not a chat completion at all: show the model nothing, just retry.
                        reason = f"a malformed response ({exc})"
                    else:
                        return completion, add_usage(usage, completion.usage)
                elif status == 429:
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
                    reason = f"rate limited (429: {_provider_message(response)})"
                elif status >= 500 or status == 408:
                    reason = f"a server error ({status}: {_provider_message(response)})"
                else:
                    raise ExtractionError(
                        f"The language model provider at {url} refused the request "
                        f"({status}: {_provider_message(response)}); check SKALD_LLM_MODEL "
                        "and SKALD_LLM_API_KEY",
                        usage,
                    )
            if attempt + 1 >= attempts:
                break
            wait = self.retry.delay(attempt, retry_after)
            if time.monotonic() + wait > deadline:
                raise ExtractionError(
                    f"Gave up on the language model at {url}: {reason}; waiting {wait:.0f}s "
                    f"more would exceed the {self.max_seconds:.0f}s budget",
                    usage,
                )
            log.info(
                "LLM request %d/%d: %s; retrying in %.2fs", attempt + 1, attempts, reason, wait
            )
            self._sleep(wait)
        raise ExtractionError(
            f"The language model at {url} failed {attempts} time{'s' if attempts != 1 else ''}; "
            f"last: {reason}",
            usage,
        )
