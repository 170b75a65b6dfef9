"""Optional OpenTelemetry tracing (``tracing`` setting, Litestar's plugin): one span per
request named by its route template, health/ready/metrics left out, nothing when off, and a
clear refusal when asked for without the packages. Spans are collected with the SDK's
in-memory exporter."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from skald_core.errors import InvalidArgumentError
from skald_server import config as config_mod
from skald_server import tracing
from skald_server.app import create_app
from skald_server.config import ServerConfig

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")


def _traced(tmp_path: Path, enabled: bool) -> tuple[TestClient, InMemorySpanExporter]:  # type: ignore[type-arg]
    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        ServerConfig(path=str(tmp_path / "data"), tracing=enabled), tracer_provider=provider
    )
    return TestClient(app), exporter


def test_each_request_is_a_span_named_by_its_route(tmp_path: Path) -> None:
    client, exporter = _traced(tmp_path, True)
    with client:
        r = client.post(
            "/api/v1/sessions/secret-id/messages", json={"role": "user", "content": "x"}
        )
        assert r.status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
    servers = [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
    assert len(servers) == 1, [s.name for s in exporter.get_finished_spans()]
    span = servers[0]
    assert "/api/v1/sessions/{session_id" in span.name and "secret-id" not in span.name
    assert span.attributes is not None and span.attributes.get("http.status_code") == 200


def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    assert ServerConfig().tracing is False
    client, exporter = _traced(tmp_path, False)
    with client:
        assert client.get("/api/v1/sessions").status_code == 200
    assert exporter.get_finished_spans() == ()


def test_tracing_without_the_packages_is_a_clean_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "available", lambda: False)
    with pytest.raises(InvalidArgumentError, match="pip install opentelemetry-sdk"):
        config_mod.load(overrides={"tracing": True}, environ={})
    assert config_mod.load(overrides={}, environ={}).tracing is False
