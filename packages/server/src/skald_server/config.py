"""Server configuration: defaults, then a TOML file, then ``SKALD_*`` environment, then flags.

Every setting is declared once, as a field of ``ServerConfig``: its name, type, default and
range (``msgspec.Meta``) and a ``Setting`` giving its help text and which command-line groups
it belongs to. The environment variable (``SKALD_<NAME>``), the TOML key (``<name>`` at the top
level or in a ``[server]`` table; the ``llm_*`` ones also without the prefix in ``[llm]``, the
``embedding_*`` ones in ``[embedding]``) and
the flag (``--<name-with-dashes>``) are derived from the name; ``SETTINGS`` lists them all, and
``add_flags`` puts them on an argparse parser with help that says the default, the range and
the environment variable. A new setting is one new field here and nothing else.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from skald_core.errors import InvalidArgumentError
from skald_core.limits import DEFAULT_LIMITS, Limits
from skald_core.literals import Durability
from skald_core.service.embeddings import EmbeddingConfig
from skald_core.service.embeddings import make_config as make_embedding_config
from skald_core.service.llm_extractor import LLMConfig, make_config
from skald_core.validation import MAX_BODY_BYTES

from . import tracing

ENV_PREFIX = "SKALD_"

#: Command-line groups: ``store`` settings are on every command that opens the store; the
#: others only on ``skald serve``.
Group = Literal[
    "store", "server", "connections", "limits", "logging", "tasks", "retention", "llm", "embedding"
]

GROUP_TITLES: dict[str, str] = {
    "store": "where the data lives",
    "server": "the HTTP server",
    "connections": "connections (timeouts and the connection cap)",
    "limits": "quotas and page sizes",
    "logging": "logs and metrics",
    "tasks": "background tasks",
    "retention": "retention policy (off by default)",
    "llm": "memory extraction with a language model (OpenAI-compatible; without a base URL "
    "and model the built-in extractor runs)",
    "embedding": "semantic search with an embedding model (OpenAI-compatible /embeddings; without "
    "a base URL and model, search is full text only)",
}


@dataclass(frozen=True)
class Setting:
    """How a ``ServerConfig`` field is presented: help text, group, and whether it has a flag
    (secrets have none, so they never show in ``ps``: environment or config file only)."""

    help: str
    group: Group = "server"
    flag: bool = True
    secret: bool = False


LogLevel = Literal["debug", "info", "warning", "error", "critical"]
LogFormat = Literal["text", "json"]
Seconds = Annotated[float, Meta(gt=0)]
Days = Annotated[float, Meta(gt=0)]


class ServerConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    path: Annotated[
        str, Setting("data directory of the SQLite store (and of nothing else)", "store")
    ] = "./data"
    database_url: Annotated[
        str | None,
        Setting(
            "PostgreSQL instead of the SQLite file under path: postgresql://user:pw@host:5432/db; "
            "several servers given the same URL (and schema) share one store",
            "store",
        ),
    ] = None
    database_schema: Annotated[
        str | None,
        Setting(
            "PostgreSQL schema for Skald's tables, created if missing (default: the "
            "search_path's, normally public)",
            "store",
        ),
    ] = None
    database_pool_min_size: Annotated[
        int, Meta(ge=0), Setting("PostgreSQL connections kept open", "store")
    ] = 1
    database_pool_max_size: Annotated[
        int, Meta(ge=1), Setting("most PostgreSQL connections opened", "store")
    ] = 10
    database_pool_timeout: Annotated[
        Seconds, Setting("seconds a request waits for a free connection before 503", "store")
    ] = 5.0
    durability: Annotated[
        Durability | None,
        Setting(
            "when a write is acknowledged: fsync (on disk first: survives power loss) or "
            "crash (survives a crash of Skald; the machine's, or PostgreSQL's, may lose the "
            "last commits); unset: SQLite crash, PostgreSQL fsync",
            "store",
        ),
    ] = None
    host: Annotated[str, Setting("bind address")] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535), Setting("TCP port")] = 1933
    workers: Annotated[
        int,
        Meta(ge=1, le=64),
        Setting(
            "server processes sharing the port (each with its own event loop, store "
            "connections and connection cap); the first process supervises them and restarts "
            "one that dies. Every worker runs extraction tasks (each claimed once, in the "
            "database); the retention sweep runs in worker 0 only"
        ),
    ] = 1
    root_api_key: Annotated[
        str | None,
        Setting(
            "root API key; without one the server runs in dev mode (loopback only). A flag "
            "shows in `ps`: prefer the environment or --root-api-key-file"
        ),
    ] = None
    root_api_key_file: Annotated[
        str | None,
        Setting("file holding the root API key (first line; e.g. a mounted secret)"),
    ] = None
    max_body_bytes: Annotated[
        int,
        Meta(ge=1),
        Setting("largest request body, in bytes; a bigger one is 413 PAYLOAD_TOO_LARGE"),
    ] = MAX_BODY_BYTES
    max_body_bytes_in_flight: Annotated[
        int,
        Meta(ge=1),
        Setting("request bodies handled at once, in bytes (Content-Length); more wait their turn"),
    ] = 64 * 1024 * 1024
    error_codes: Annotated[
        Literal["skald", "openviking"],
        Setting(
            "error codes in answers: skald (the seed's, e.g. FORBIDDEN for 403) or openviking "
            "(OpenViking 0.5.2's, e.g. PERMISSION_DENIED, so its published client raises its own "
            "PermissionDeniedError); HTTP statuses are the same, Skald's clients know both"
        ),
    ] = "skald"
    metrics_public: Annotated[
        bool,
        Setting(
            "serve /metrics without a key (default: the root key only; in dev mode anyone), "
            "e.g. when only a private network reaches the port",
            "logging",
        ),
    ] = False
    tracing: Annotated[
        bool,
        Setting(
            "OpenTelemetry tracing: a span per request, named by its route (needs pip install "
            "opentelemetry-sdk opentelemetry-instrumentation-asgi; spans go where "
            "OpenTelemetry's configuration sends them, e.g. under opentelemetry-instrument)",
            "logging",
        ),
    ] = False
    log_level: Annotated[LogLevel, Setting("least severe message logged", "logging")] = "info"
    log_format: Annotated[
        LogFormat,
        Setting("text: one readable line per record; json: one JSON object per line", "logging"),
    ] = "text"
    cors_origins: Annotated[
        list[str],
        Setting(
            "web pages (origins such as https://app.example.com, or *) allowed to call the "
            "server from a browser (CORS); key mode only; comma-separated in the environment "
            "and on the command line (default none: no CORS headers)"
        ),
    ] = msgspec.field(default_factory=list)
    header_timeout: Annotated[
        float,
        Setting(
            "seconds a client has to send a whole request head (from its first byte, or from "
            "the connection's opening)",
            "connections",
        ),
    ] = 10.0
    body_timeout: Annotated[
        float, Setting("seconds between two pieces of a request body", "connections")
    ] = 30.0
    keep_alive_timeout: Annotated[
        float,
        Setting("seconds an idle keep-alive connection stays open after an answer", "connections"),
    ] = 5.0
    send_timeout: Annotated[
        float,
        Setting(
            "seconds a client may take no byte of an answer (the server's send buffer full) "
            "before its connection is closed",
            "connections",
        ),
    ] = 30.0
    max_connections: Annotated[
        int,
        Setting(
            "open connections at most; a new one past the cap is answered 503 UNAVAILABLE "
            "and closed (lowered to fit the open-file limit, ulimit -n)",
            "connections",
        ),
    ] = 1000
    task_lease_seconds: Annotated[
        Seconds,
        Setting("seconds a worker holds a task before another server may take it over", "tasks"),
    ] = 30.0
    task_poll_seconds: Annotated[
        Seconds, Setting("seconds between looks for runnable tasks", "tasks")
    ] = 1.0
    commit_wait_timeout: Annotated[
        Seconds,
        Setting(
            "seconds a commit with wait=true (and a commit_first delete) waits for extraction "
            "before answering 504; the extraction goes on in the background",
            "tasks",
        ),
    ] = 60.0
    retention_days: Annotated[
        Days | None,
        Setting("purge sessions with no activity for this many days", "retention"),
    ] = None
    trash_days: Annotated[
        Days | None,
        Setting("purge soft-deleted sessions this many days after their deletion", "retention"),
    ] = None
    sweep_interval_seconds: Annotated[
        Seconds, Setting("seconds between retention sweeps", "retention")
    ] = 3600.0
    llm_base_url: Annotated[
        str | None,
        Setting(
            "API root (or the full /chat/completions URL), e.g. https://api.openai.com/v1", "llm"
        ),
    ] = None
    llm_api_key: Annotated[
        str | None, Setting("the provider's API key", "llm", flag=False, secret=True)
    ] = None
    llm_model: Annotated[str | None, Setting("model name, e.g. gpt-4o-mini", "llm")] = None
    llm_timeout: Annotated[
        float, Meta(ge=0.001, le=3600), Setting("seconds to wait for one answer", "llm")
    ] = 60.0
    llm_max_retries: Annotated[
        int,
        Meta(ge=0, le=20),
        Setting("retries of a failed request, and of an unusable answer", "llm"),
    ] = 3
    llm_max_concurrency: Annotated[
        int, Meta(ge=1, le=64), Setting("extractions running at the same time", "llm")
    ] = 4
    embedding_base_url: Annotated[
        str | None,
        Setting(
            "API root (or the full /embeddings URL), e.g. https://api.openai.com/v1", "embedding"
        ),
    ] = None
    embedding_api_key: Annotated[
        str | None, Setting("the provider's API key", "embedding", flag=False, secret=True)
    ] = None
    embedding_model: Annotated[
        str | None, Setting("model name, e.g. text-embedding-3-small", "embedding")
    ] = None
    embedding_timeout: Annotated[
        float,
        Meta(ge=0.001, le=3600),
        Setting("seconds to wait for one answer while indexing", "embedding"),
    ] = 30.0
    embedding_query_timeout: Annotated[
        float,
        Meta(ge=0.001, le=600),
        Setting(
            "seconds a search waits for its query's embedding before answering from full text",
            "embedding",
        ),
    ] = 3.0
    embedding_max_retries: Annotated[
        int, Meta(ge=0, le=20), Setting("retries of a failed indexing request", "embedding")
    ] = 3
    embedding_batch_size: Annotated[
        int, Meta(ge=1, le=2048), Setting("memories embedded per request", "embedding")
    ] = 64
    embedding_candidates: Annotated[
        int,
        Meta(ge=1, le=1_000_000),
        Setting(
            "most vectors one search compares (the user's most recently embedded, plus the "
            "full-text hits)",
            "embedding",
        ),
    ] = 1000
    embedding_min_similarity: Annotated[
        float,
        Meta(ge=-1.0, le=1.0),
        Setting("cosine a memory needs to enter the semantic ranking", "embedding"),
    ] = 0.2
    max_message_bytes: Annotated[
        int, Meta(ge=1), Setting("largest message, in bytes (429 RESOURCE_EXHAUSTED)", "limits")
    ] = DEFAULT_LIMITS.max_message_bytes
    max_session_messages: Annotated[
        int, Meta(ge=1), Setting("most messages one session holds, live and archived", "limits")
    ] = DEFAULT_LIMITS.max_session_messages
    max_session_bytes: Annotated[
        int, Meta(ge=1), Setting("most message bytes one session holds", "limits")
    ] = DEFAULT_LIMITS.max_session_bytes
    max_user_sessions: Annotated[
        int, Meta(ge=1), Setting("most sessions (live and trashed) one user has", "limits")
    ] = DEFAULT_LIMITS.max_user_sessions
    max_file_bytes: Annotated[
        int,
        Meta(ge=1),
        Setting("largest size a file may reach by a write or an append, in bytes", "limits"),
    ] = DEFAULT_LIMITS.max_file_bytes
    list_default: Annotated[
        int, Meta(ge=1), Setting("sessions a listing returns when no limit is given", "limits")
    ] = DEFAULT_LIMITS.list_default
    list_max: Annotated[
        int, Meta(ge=1), Setting("largest limit a session listing accepts", "limits")
    ] = DEFAULT_LIMITS.list_max
    node_limit: Annotated[
        int, Meta(ge=1), Setting("entries ls and tree return when no node_limit is given", "limits")
    ] = DEFAULT_LIMITS.node_limit
    node_limit_max: Annotated[
        int, Meta(ge=1), Setting("largest node_limit ls and tree accept", "limits")
    ] = DEFAULT_LIMITS.node_limit_max

    @property
    def llm(self) -> LLMConfig | None:
        """The language-model settings, or None for the built-in extractor."""
        return make_config(
            {
                "base_url": self.llm_base_url,
                "api_key": self.llm_api_key,
                "model": self.llm_model,
                "timeout": self.llm_timeout,
                "max_retries": self.llm_max_retries,
                "max_concurrency": self.llm_max_concurrency,
            }
        )

    @property
    def embedding(self) -> EmbeddingConfig | None:
        """The embedding settings, or None for full-text search only."""
        return make_embedding_config(
            {
                "base_url": self.embedding_base_url,
                "api_key": self.embedding_api_key,
                "model": self.embedding_model,
                "timeout": self.embedding_timeout,
                "query_timeout": self.embedding_query_timeout,
                "max_retries": self.embedding_max_retries,
                "batch_size": self.embedding_batch_size,
                "candidates": self.embedding_candidates,
                "min_similarity": self.embedding_min_similarity,
            }
        )

    @property
    def limits(self) -> Limits:
        return Limits(**{f: getattr(self, f) for f in Limits.__struct_fields__})

    @property
    def dev_mode(self) -> bool:
        return not self.root_api_key


# ----------------------------------------------------------------------------- derived


@dataclass(frozen=True)
class SettingInfo:
    """One setting with everything derived from its declaration."""

    name: str
    kind: Any  # the field's type without Annotated
    default: Any
    meta: Setting
    bounds: Meta | None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str | None:
        return "--" + self.name.replace("_", "-") if self.meta.flag else None

    @property
    def choices(self) -> tuple[str, ...] | None:
        args = typing.get_args(self.kind)
        if typing.get_origin(self.kind) is Literal:
            return tuple(str(a) for a in args)
        return None

    @property
    def is_bool(self) -> bool:
        return self.kind is bool

    def where(self) -> str:
        ways = [self.env] + ([self.flag] if self.flag else []) + [f"{self.name} in the config file"]
        return ", ".join(ways)

    def range_text(self) -> str:
        b = self.bounds
        if b is None:
            return ""
        parts = []
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(b, attr)
            if value is not None:
                parts.append(f"{sign} {value:g}")
        return " and ".join(parts)

    def help_text(self) -> str:
        extra = []
        if self.choices:
            extra.append("one of " + ", ".join(self.choices))
        if self.range_text():
            extra.append(self.range_text())
        if self.default is not None and self.default != []:
            extra.append(f"default {self.default}")
        extra.append(f"env {self.env}")
        return f"{self.meta.help} ({'; '.join(extra)})"


def _describe() -> tuple[SettingInfo, ...]:
    hints = typing.get_type_hints(ServerConfig, include_extras=True)
    out = []
    for field in msgspec.structs.fields(ServerConfig):
        hint = hints[field.name]
        meta: Setting | None = None
        bounds: Meta | None = None
        kind = hint
        if typing.get_origin(hint) is Annotated:
            kind, *extras = typing.get_args(hint)
            # a nested alias such as Seconds flattens into the same Annotated
            for extra in extras:
                if isinstance(extra, Setting):
                    meta = extra
                elif isinstance(extra, Meta):
                    bounds = extra
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            for arg in typing.get_args(kind):  # e.g. Days | None: the bounds are inside
                if typing.get_origin(arg) is Annotated:
                    bounds = next((m for m in arg.__metadata__ if isinstance(m, Meta)), bounds)
        if meta is None:
            raise TypeError(f"ServerConfig.{field.name} has no Setting")
        default = field.default
        if default is msgspec.NODEFAULT and field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        out.append(SettingInfo(field.name, kind, default, meta, bounds))
    return tuple(out)


SETTINGS: tuple[SettingInfo, ...] = _describe()
BY_NAME: dict[str, SettingInfo] = {s.name: s for s in SETTINGS}


def add_flags(parser: argparse.ArgumentParser, groups: tuple[str, ...]) -> None:
    """One flag per setting in ``groups`` (values stay strings: ``load`` checks them all the
    same way, whichever layer they come from), plus ``--config``."""
    parser.add_argument(
        "--config", metavar="FILE", help=f"TOML config file (env {ENV_PREFIX}CONFIG)"
    )
    for group in groups:
        hidden = [s for s in SETTINGS if s.meta.group == group and s.flag is None]
        note = "; ".join(f"{s.env} or {s.name} in the config file: {s.meta.help}" for s in hidden)
        target: Any = parser.add_argument_group(
            GROUP_TITLES[group], f"No flag (keeps secrets out of `ps`): {note}" if note else None
        )
        for s in SETTINGS:
            if s.meta.group != group or s.flag is None:
                continue
            if s.is_bool:
                target.add_argument(
                    s.flag, dest=s.name, action=argparse.BooleanOptionalAction, help=s.help_text()
                )
            else:
                target.add_argument(
                    s.flag,
                    dest=s.name,
                    metavar=(
                        "{" + ",".join(s.choices) + "}"
                        if s.choices
                        else s.name.rsplit("_", 1)[-1].upper()
                    ),
                    help=s.help_text(),
                )


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (those not given are absent)."""
    return {
        s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None
    }


# ----------------------------------------------------------------------------- loading


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _where(message: str) -> str:
    """Which setting a msgspec error is about, spelled as the user can set it."""
    found = re.search(r"\$\.(\w+)", message)
    if found is None or found.group(1) not in BY_NAME:
        return ""
    return f" (set by {BY_NAME[found.group(1)].where()})"


def _read_toml(config_file: str) -> dict[str, Any]:
    try:
        with Path(config_file).open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidArgumentError(f"Cannot read config file {config_file}: {exc}") from exc
    section = data.get("server", data)
    merged = {k: v for k, v in section.items() if k not in ("llm", "embedding", "server")}
    for table in ("llm", "embedding"):
        values = data.get(table)
        if isinstance(values, dict):
            merged.update({f"{table}_{k}": v for k, v in values.items()})
    unknown = sorted(set(merged) - set(BY_NAME))
    if unknown:
        raise InvalidArgumentError(
            f"Unknown setting(s) in {config_file}: {', '.join(unknown)} "
            "(see `skald serve --help` for the names)"
        )
    return merged


def _read_key_file(path: str) -> str:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"Cannot read root_api_key_file {path}: {exc}") from exc
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not key:
        raise InvalidArgumentError(f"root_api_key_file {path} is empty")
    return key


#: Root keys shorter than this are accepted with a warning (see ``weak_root_key``).
MIN_ROOT_KEY_LENGTH = 32


def weak_root_key(key: str | None) -> str | None:
    """Why ``key`` is a weak root key, or None."""
    if key is None:
        return None
    if len(key) < MIN_ROOT_KEY_LENGTH:
        return (
            f"the root API key is {len(key)} characters long; use at least "
            f"{MIN_ROOT_KEY_LENGTH} random ones (e.g. `openssl rand -hex 32`)"
        )
    if len(set(key)) < 8:
        return "the root API key repeats few characters; use a random one"
    return None


def load(
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> ServerConfig:
    """Merge the layers; raise InvalidArgumentError with a readable reason on bad values."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        merged.update(_read_toml(config_file))
    for s in SETTINGS:
        value = env.get(s.env)
        if value is not None and value != "":
            merged[s.name] = value
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if isinstance(merged.get("cors_origins"), str):
        merged["cors_origins"] = [o for o in re.split(r"[,\s]+", merged["cors_origins"]) if o]
    for name in ("log_level", "log_format"):
        if isinstance(merged.get(name), str):
            merged[name] = merged[name].strip().lower()
    try:
        config = msgspec.convert(merged, ServerConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidArgumentError(f"Invalid configuration: {exc}{_where(str(exc))}") from exc
    if config.root_api_key_file:
        if config.root_api_key and "root_api_key" in merged:
            raise InvalidArgumentError(
                "Both root_api_key and root_api_key_file are set: give the key one way"
            )
        config = msgspec.structs.replace(
            config, root_api_key=_read_key_file(config.root_api_key_file)
        )
    config.llm  # noqa: B018 - raises InvalidArgumentError on unusable LLM settings
    config.embedding  # noqa: B018 - and on unusable embedding settings
    try:
        config.limits.check()
    except ValueError as exc:
        raise InvalidArgumentError(f"Invalid configuration: {exc}") from exc
    if config.database_url is not None and not config.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise InvalidArgumentError(
            "database_url must be a PostgreSQL URL such as postgresql://user@host:5432/db "
            f"(set by {BY_NAME['database_url'].where()})"
        )
    if config.database_pool_min_size > config.database_pool_max_size:
        raise InvalidArgumentError(
            "database_pool_min_size and database_pool_max_size must satisfy "
            "0 <= min <= max, max >= 1"
        )
    _check_connections(config)
    _check_cors(config)
    tracing.check(config.tracing)
    if config.dev_mode and not is_loopback(config.host):
        raise InvalidArgumentError(
            f"Refusing to start in dev mode (no root API key) on non-loopback address "
            f"{config.host!r}: set SKALD_ROOT_API_KEY or --root-api-key-file, or bind to 127.0.0.1"
        )
    return config


_ORIGIN = re.compile(r"https?://[^/?#@\s]+")


def _check_cors(config: ServerConfig) -> None:
    for origin in config.cors_origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise InvalidArgumentError(
                f"Invalid CORS origin {origin!r}: write scheme://host[:port] with no path, "
                f"such as https://app.example.com, or * (set by {ENV_PREFIX}CORS_ORIGINS, "
                "--cors-origins or cors_origins in the config file)"
            )
    if config.cors_origins and config.dev_mode:
        raise InvalidArgumentError(
            "cors_origins needs a root API key: in dev mode every caller is root, so no web "
            "page may call the server (set --root-api-key / SKALD_ROOT_API_KEY, or unset "
            f"{ENV_PREFIX}CORS_ORIGINS)"
        )


def _check_connections(config: ServerConfig) -> None:
    for name in ("header_timeout", "body_timeout", "keep_alive_timeout", "send_timeout"):
        value = getattr(config, name)
        if not 0 < value < math.inf:
            raise InvalidArgumentError(f"{name} must be a positive number of seconds, not {value}")
    if config.max_connections < 1:
        raise InvalidArgumentError(
            f"max_connections must be at least 1, not {config.max_connections}"
        )
