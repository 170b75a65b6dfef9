"""The container files: the settings the Dockerfile passes make a server that starts only with
a root key (from the mounted secret), binds all interfaces, keeps data in /data and logs JSON;
compose points it at its PostgreSQL. (This machine cannot build images: the files are checked,
and the configuration they give is loaded as ``skald serve`` would.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skald_core.errors import InvalidArgumentError
from skald_server import config as config_mod

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def dockerfile_env() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', line[4:]):
                env[key] = value.strip('"')
    return env


def test_the_image_runs_skald_serve_as_a_non_root_user_with_a_volume() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER skald$", text, re.M)
    assert 'ENTRYPOINT ["skald"]' in text and 'CMD ["serve"]' in text
    assert "VOLUME /data" in text and "uv sync --locked" in text


def test_the_image_settings_need_the_root_key_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in dockerfile_env().items() if k.startswith("SKALD_")}
    key_file = env["SKALD_ROOT_API_KEY_FILE"]
    assert key_file == "/run/secrets/skald_root_key"
    with pytest.raises(InvalidArgumentError, match="root_api_key_file"):
        config_mod.load(environ=env)  # no secret mounted: refused, with the reason
    secret = tmp_path / "root.key"
    secret.write_text("a" * 8 + "0123456789abcdef0123456789abcdef\n")
    cfg = config_mod.load(environ={**env, "SKALD_ROOT_API_KEY_FILE": str(secret)})
    assert (cfg.path, cfg.host, cfg.port, cfg.log_format) == ("/data", "0.0.0.0", 1933, "json")
    assert not cfg.dev_mode


def test_compose_runs_skald_on_its_postgresql() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    url = re.search(r"SKALD_DATABASE_URL: (\S+)", text)
    assert url and url.group(1) == "postgresql://skald:${DB_PASSWORD}@db:5432/skald"
    assert "condition: service_healthy" in text and "skald_root_key" in text
