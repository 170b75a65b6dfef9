"""Embedding settings: read from the environment, the TOML file and flags as the LLM ones
are; settings that cannot work are refused with what is wrong; none set means full text."""

from __future__ import annotations

from pathlib import Path

import pytest

import skald as ov
from skald_core.errors import InvalidArgumentError
from skald_core.service.embeddings import EmbeddingConfig, config_from_env, make_config
from skald_server import config as server_config

GOOD = {"SKALD_EMBEDDING_BASE_URL": "http://127.0.0.1:8000/v1", "SKALD_EMBEDDING_MODEL": "e"}


def test_nothing_set_means_full_text_only(tmp_path: Path) -> None:
    assert config_from_env({}) is None
    assert config_from_env({"SKALD_EMBEDDING_BASE_URL": "", "SKALD_EMBEDDING_TIMEOUT": "5"}) is None
    assert server_config.load(None, {}, environ={}).embedding is None
    with ov.OpenViking(path=tmp_path / "d") as client:
        assert client.services.vectors is None
        client.write("viking://user/default/memories/a.md", "hiking", mode="create")
        assert client.find("hiking")["search_mode"] == "full_text"


def test_the_environment_configures_embeddings_with_their_defaults() -> None:
    config = config_from_env({**GOOD, "SKALD_EMBEDDING_BATCH_SIZE": "8"})
    assert config == EmbeddingConfig(
        base_url="http://127.0.0.1:8000/v1",
        model="e",
        timeout=30.0,
        query_timeout=3.0,
        max_retries=3,
        batch_size=8,
        candidates=1000,
        min_similarity=0.2,
    )
    assert config.endpoint == "http://127.0.0.1:8000/v1/embeddings"
    full = make_config({"base_url": "http://h/v1/embeddings", "model": "e"})
    assert full is not None and full.endpoint == "http://h/v1/embeddings"


def test_the_embedded_client_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    client = ov.OpenViking(path=tmp_path / "a")
    try:
        assert client.services.vectors is not None
        assert client.services.vectors.model == "e"
    finally:
        client.close()
    monkeypatch.delenv("SKALD_EMBEDDING_MODEL")
    with pytest.raises(InvalidArgumentError, match="SKALD_EMBEDDING_MODEL"):
        ov.OpenViking(path=tmp_path / "b")


def test_the_server_config_takes_embedding_settings_from_toml_env_and_flags(
    tmp_path: Path,
) -> None:
    toml = tmp_path / "skald.toml"
    toml.write_text(
        '[server]\nport = 2000\n\n[embedding]\nbase_url = "http://10.0.0.1:8000/v1"\n'
        'model = "from-file"\napi_key = "sk-file"\ncandidates = 100\n'
    )
    cfg = server_config.load(
        str(toml),
        {"embedding_model": "from-flag"},
        environ={"SKALD_EMBEDDING_QUERY_TIMEOUT": "0.5"},
    )
    assert cfg.embedding == EmbeddingConfig(
        base_url="http://10.0.0.1:8000/v1",
        model="from-flag",
        api_key="sk-file",
        query_timeout=0.5,
        candidates=100,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SKALD_EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1"}, "SKALD_EMBEDDING_MODEL"),
        ({"SKALD_EMBEDDING_MODEL": "e"}, "SKALD_EMBEDDING_BASE_URL"),
        ({**GOOD, "SKALD_EMBEDDING_BASE_URL": "not a url"}, "SKALD_EMBEDDING_BASE_URL"),
        ({**GOOD, "SKALD_EMBEDDING_TIMEOUT": "soon"}, "embedding_timeout"),
        ({**GOOD, "SKALD_EMBEDDING_BATCH_SIZE": "0"}, "embedding_batch_size"),
    ],
)
def test_misconfiguration_is_refused_with_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        server_config.load(None, {}, environ=env)
    assert message in caught.value.message
