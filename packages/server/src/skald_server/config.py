"""Server configuration: defaults, then a TOML file, then ``SKALD_*`` environment, then flags."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any

import msgspec
from msgspec import Struct

from skald_core.errors import InvalidArgumentError


class ServerConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    path: str = "./data"
    host: str = "127.0.0.1"
    port: int = 1933
    root_api_key: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    task_lease_seconds: float = 30.0
    task_poll_seconds: float = 1.0
    commit_wait_timeout: float = 60.0
    log_level: str = "info"

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
        merged.update(data.get("server", data))
    for field in msgspec.structs.fields(ServerConfig):
        value = env.get(ENV_PREFIX + field.name.upper())
        if value is not None and value != "":
            merged[field.name] = value
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        config = msgspec.convert(merged, ServerConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidArgumentError(f"Invalid configuration: {exc}") from exc
    if not 0 < config.port < 65536:
        raise InvalidArgumentError(f"Invalid port {config.port}")
    if config.dev_mode and not is_loopback(config.host):
        raise InvalidArgumentError(
            f"Refusing to start in dev mode (no root API key) on non-loopback address "
            f"{config.host!r}: set --root-api-key / SKALD_ROOT_API_KEY, or bind to 127.0.0.1"
        )
    return config
