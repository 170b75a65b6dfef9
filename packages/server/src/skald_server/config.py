"""Server configuration: defaults, then a TOML file, then ``SKALD_*`` environment, then flags."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from skald_core.errors import InvalidArgumentError
from skald_core.service.llm_extractor import LLMConfig, make_config
from skald_core.validation import MAX_BODY_BYTES


class ServerConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    path: str = "./data"
    #: PostgreSQL instead of the SQLite file under ``path``: ``postgresql://user:pw@host/db``.
    #: Several servers given the same URL (and schema) share one store.
    database_url: str | None = None
    #: The schema holding Skald's tables (created if missing); default: the search_path's.
    database_schema: str | None = None
    #: Connection pool of the PostgreSQL backend: connections kept open, the most opened, and
    #: how long a request waits for a free one before answering 503.
    database_pool_min_size: int = 1
    database_pool_max_size: int = 10
    database_pool_timeout: float = 5.0
    host: str = "127.0.0.1"
    port: int = 1933
    root_api_key: str | None = None
    #: The largest request body, in bytes; a bigger one answers 413 PAYLOAD_TOO_LARGE.
    max_body_bytes: int = MAX_BODY_BYTES
    #: Web pages (origins such as ``https://app.example.com``, or ``*``) allowed to call the
    #: server from a browser (CORS); key mode only. In the environment and on the command line
    #: a comma-separated list. Default: none (no CORS headers).
    cors_origins: list[str] = msgspec.field(default_factory=list)
    #: Connections: seconds a client has to send a whole request head (from its first byte,
    #: or from the connection's opening); seconds between two pieces of a request body;
    #: seconds an idle keep-alive connection stays open after an answer; the most open
    #: connections (more are closed at once; the effective cap is lowered to fit the process's
    #: open-file limit, see ``connections.fit_to_open_files``).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000
    task_lease_seconds: float = 30.0
    task_poll_seconds: float = 1.0
    commit_wait_timeout: float = 60.0
    log_level: str = "info"
    #: Retention policy (off by default): purge sessions with no activity for this many days.
    retention_days: float | None = None
    #: Purge soft-deleted sessions this many days after their deletion.
    trash_days: float | None = None
    sweep_interval_seconds: float = 3600.0
    #: Memory extraction with a language model behind an OpenAI-compatible API; without a
    #: base URL and model the built-in extractor runs. In a TOML file these may also be
    #: written without the ``llm_`` prefix in an ``[llm]`` table.
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 60.0
    llm_max_retries: int = 3
    llm_max_concurrency: int = 4

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
    def dev_mode(self) -> bool:
        return not self.root_api_key


ENV_PREFIX = "SKALD_"


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
    if found is None:
        return ""
    name = found.group(1)
    return f" (set by {ENV_PREFIX}{name.upper()}, --{name.replace('_', '-')} or {name} in the config file)"


def load(
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> ServerConfig:
    """Merge the layers; raise InvalidArgumentError with a readable reason on bad values."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            with Path(config_file).open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidArgumentError(f"Cannot read config file {config_file}: {exc}") from exc
        merged.update({k: v for k, v in data.get("server", data).items() if k != "llm"})
        llm = data.get("llm")
        if isinstance(llm, dict):
            merged.update({"llm_" + k: v for k, v in llm.items()})
    for field in msgspec.structs.fields(ServerConfig):
        value = env.get(ENV_PREFIX + field.name.upper())
        if value is not None and value != "":
            merged[field.name] = value
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if isinstance(merged.get("cors_origins"), str):
        merged["cors_origins"] = [o for o in re.split(r"[,\s]+", merged["cors_origins"]) if o]
    try:
        config = msgspec.convert(merged, ServerConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidArgumentError(f"Invalid configuration: {exc}{_where(str(exc))}") from exc
    config.llm  # noqa: B018 - raises InvalidArgumentError on unusable LLM settings
    if not 0 < config.port < 65536:
        raise InvalidArgumentError(f"Invalid port {config.port}")
    for name in ("retention_days", "trash_days"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise InvalidArgumentError(f"{name} must be a positive number of days, not {value}")
    if config.database_url is not None and not config.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise InvalidArgumentError(
            "database_url must be a PostgreSQL URL such as postgresql://user@host:5432/db "
            f"(set by {ENV_PREFIX}DATABASE_URL, --database-url or database_url in the config file)"
        )
    if not 0 <= config.database_pool_min_size <= config.database_pool_max_size or (
        config.database_pool_max_size < 1
    ):
        raise InvalidArgumentError(
            "database_pool_min_size and database_pool_max_size must satisfy "
            "0 <= min <= max, max >= 1"
        )
    if config.database_pool_timeout <= 0:
        raise InvalidArgumentError("database_pool_timeout must be positive")
    if config.max_body_bytes < 1:
        raise InvalidArgumentError("max_body_bytes must be a positive number of bytes")
    if config.sweep_interval_seconds <= 0:
        raise InvalidArgumentError("sweep_interval_seconds must be positive")
    _check_connections(config)
    _check_cors(config)
    if config.dev_mode and not is_loopback(config.host):
        raise InvalidArgumentError(
            f"Refusing to start in dev mode (no root API key) on non-loopback address "
            f"{config.host!r}: set --root-api-key / SKALD_ROOT_API_KEY, or bind to 127.0.0.1"
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
    for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
        value = getattr(config, name)
        if not 0 < value < math.inf:
            raise InvalidArgumentError(f"{name} must be a positive number of seconds, not {value}")
    if config.max_connections < 1:
        raise InvalidArgumentError(
            f"max_connections must be at least 1, not {config.max_connections}"
        )
