"""Choosing the extractor by configuration, and refusing to start with settings that cannot work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import skald as ov
from skald_core.errors import InvalidArgumentError
from skald_core.service.extraction import BuiltinExtractor
from skald_core.service.llm_extractor import (
    LLMConfig,
    LLMExtractor,
    config_from_env,
    extractor_from_env,
    make_config,
)
from skald_server import config as server_config
from skald_server.app import configured_extractor

GOOD = {"SKALD_LLM_BASE_URL": "http://127.0.0.1:8000/v1", "SKALD_LLM_MODEL": "m"}


def test_nothing_set_means_the_builtin_extractor() -> None:
    assert config_from_env({}) is None
    assert config_from_env({"SKALD_LLM_BASE_URL": "", "SKALD_LLM_TIMEOUT": "5"}) is None
    assert isinstance(extractor_from_env({}), BuiltinExtractor)


def test_the_environment_configures_the_llm_extractor() -> None:
    env = {
        **GOOD,
        "SKALD_LLM_API_KEY": "sk-1",
        "SKALD_LLM_TIMEOUT": "12.5",
        "SKALD_LLM_MAX_RETRIES": "5",
        "SKALD_LLM_MAX_CONCURRENCY": "8",
    }

    config = config_from_env(env)

    assert config == LLMConfig(
        base_url="http://127.0.0.1:8000/v1",
        model="m",
        api_key="sk-1",
        timeout=12.5,
        max_retries=5,
        max_concurrency=8,
    )
    assert config.endpoint == "http://127.0.0.1:8000/v1/chat/completions"
    extractor = extractor_from_env(env)
    assert isinstance(extractor, LLMExtractor)
    assert (extractor.name, extractor.concurrency) == ("llm:m", 8)
    extractor.close()


def test_a_full_endpoint_url_is_used_as_it_is() -> None:
    config = make_config({"base_url": "https://x.test/api/chat/completions/", "model": "m"})
    assert config is not None and config.endpoint == "https://x.test/api/chat/completions"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SKALD_LLM_BASE_URL": "http://127.0.0.1:8000/v1"},
            "SKALD_LLM_MODEL (llm_model) is not set",
        ),
        ({"SKALD_LLM_MODEL": "m"}, "SKALD_LLM_BASE_URL (llm_base_url) is not set"),
        ({"SKALD_LLM_API_KEY": "sk"}, "SKALD_LLM_BASE_URL (llm_base_url) is not set"),
        ({**GOOD, "SKALD_LLM_BASE_URL": "localhost:8000"}, "must be an http:// or https:// URL"),
        ({**GOOD, "SKALD_LLM_BASE_URL": "ftp://x/v1"}, "must be an http:// or https:// URL"),
        ({**GOOD, "SKALD_LLM_BASE_URL": "http://x:99999/v1"}, "invalid port"),
        ({**GOOD, "SKALD_LLM_BASE_URL": "http://x/v1?key=1"}, "must not carry a query"),
        ({**GOOD, "SKALD_LLM_TIMEOUT": "soon"}, "SKALD_LLM_TIMEOUT (llm_timeout) must be a number"),
        ({**GOOD, "SKALD_LLM_TIMEOUT": "0"}, "must be between 0.001 and 3600"),
        ({**GOOD, "SKALD_LLM_MAX_RETRIES": "2.5"}, "must be a whole number"),
        ({**GOOD, "SKALD_LLM_MAX_CONCURRENCY": "0"}, "between 1 and 64"),
    ],
)
def test_misconfiguration_is_reported_with_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=None) as caught:
        config_from_env(env)
    assert message in caught.value.message


def test_the_embedded_client_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    with ov.OpenViking(path=tmp_path / "a") as client:
        assert isinstance(client.services.runner.extractor, LLMExtractor)
        assert client.services.runner.concurrency == 4
        assert client.services.runner.lease_seconds >= client.services.runner.extractor.max_seconds

    monkeypatch.delenv("SKALD_LLM_MODEL")
    with pytest.raises(InvalidArgumentError, match="SKALD_LLM_MODEL"):
        ov.OpenViking(path=tmp_path / "b")


def test_the_server_config_takes_llm_settings_from_toml_env_and_flags(tmp_path: Path) -> None:
    toml = tmp_path / "skald.toml"
    toml.write_text(
        '[server]\nport = 2000\n\n[llm]\nbase_url = "http://10.0.0.1:8000/v1"\nmodel = "from-file"\n'
        'api_key = "sk-file"\ntimeout = 30\n'
    )

    cfg = server_config.load(
        str(toml), {"llm_model": "from-flag"}, environ={"SKALD_LLM_MAX_RETRIES": "1"}
    )

    assert cfg.llm == LLMConfig(
        base_url="http://10.0.0.1:8000/v1",
        model="from-flag",
        api_key="sk-file",
        timeout=30.0,
        max_retries=1,
    )
    extractor = configured_extractor(cfg)
    assert isinstance(extractor, LLMExtractor) and extractor.name == "llm:from-flag"
    extractor.close()
    assert server_config.load(None, {}, environ={}).llm is None
    assert isinstance(
        configured_extractor(server_config.load(None, {}, environ={})), BuiltinExtractor
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SKALD_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, "SKALD_LLM_MODEL"),
        ({**GOOD, "SKALD_LLM_TIMEOUT": "soon"}, "SKALD_LLM_TIMEOUT"),
        ({**GOOD, "SKALD_LLM_BASE_URL": "not a url"}, "SKALD_LLM_BASE_URL"),
    ],
)
def test_the_server_config_refuses_llm_misconfiguration(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        server_config.load(None, {}, environ=env)
    assert message in caught.value.message


def test_skald_serve_exits_at_start_up_and_says_what_is_wrong(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SKALD_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    script = Path(sys.executable).with_name("skald")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "skald_server.cli"]

    done = subprocess.run(
        [*cmd, "serve", "--path", str(tmp_path), "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "skald serve: SKALD_LLM_MODEL (llm_model) is not set" in done.stderr
    assert "Skald serving" not in done.stdout
