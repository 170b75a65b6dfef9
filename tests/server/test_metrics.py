"""``/metrics``: a scripted workload moves each counter by exactly what it did, on SQLite and
PostgreSQL; the endpoint is for the root key unless ``metrics_public`` is set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ROOT_KEY, MakeServer, Server


def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answered = server.client.get("/metrics", headers={"X-API-Key": ROOT_KEY})
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(answered.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, make_server: MakeServer) -> Iterator[Server]:
    if request.param == "sqlite":
        yield make_server(root_api_key=ROOT_KEY)
        return
    from postgres.support import DATABASE_URL, fresh_schema

    with fresh_schema("skald_metrics") as schema:
        yield make_server(root_api_key=ROOT_KEY, database_url=DATABASE_URL, database_schema=schema)


def test_a_scripted_workload_moves_the_counters_by_what_it_did(server: Server) -> None:
    before = scrape(server)
    root = {"X-API-Key": ROOT_KEY, "X-OpenViking-User": "alice"}
    http = server.client

    def call(method: str, path: str, status: int = 200, **kw: Any) -> None:
        answered = http.request(method, path, headers=root, **kw)
        assert answered.status_code == status, answered.text

    call("POST", "/api/v1/sessions", json={"session_id": "explicit"})
    for text in ("Hi, my name is Ada.", "I love hiking.", "Thanks."):
        call("POST", "/api/v1/sessions/a/messages", json={"role": "user", "content": text})
    for _ in range(2):
        call("POST", "/api/v1/sessions/b/messages", json={"role": "user", "content": "x"})
    call("POST", "/api/v1/sessions/a/commit", json={"wait": True})
    call("POST", "/api/v1/sessions/a/commit", json={"wait": True})  # nothing new: skipped
    call("DELETE", "/api/v1/sessions/b")
    call("DELETE", "/api/v1/sessions/explicit", params={"mode": "soft"})
    call("GET", "/api/v1/sessions/missing", status=404)
    call("DELETE", "/api/v1/admin/accounts/default/users/alice")
    call("GET", "/no/such/route", status=404)

    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("skald_sessions_created_total") == 3  # explicit, a, b
    assert moved("skald_messages_appended_total") == 5
    assert moved("skald_commits_total", outcome="archived") == 1
    assert moved("skald_commits_total", outcome="skipped") == 1
    assert moved("skald_extractions_total", outcome="completed") == 1
    assert moved("skald_extraction_duration_seconds_count") == 1
    assert moved("skald_sessions_deleted_total", mode="hard", action="delete") == 1
    assert moved("skald_sessions_deleted_total", mode="soft", action="delete") == 1
    assert moved("skald_user_erasures_total") == 1
    route = "/api/v1/sessions/{session_id}/messages"
    assert moved("skald_http_requests_total", method="POST", route=route, status="200") == 5
    assert moved("skald_http_request_duration_seconds_count", method="POST", route=route) == 5
    assert (
        moved(
            "skald_http_requests_total",
            method="GET",
            route="/api/v1/sessions/{session_id}",
            status="404",
        )
        == 1
    )
    assert moved("skald_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert moved("skald_store_operation_duration_seconds_count", operation="append_messages") == 5
    assert after[("skald_task_queue_depth", (("status", "pending"),))] == 0
    assert ("skald_task_queue_oldest_age_seconds", ()) in after
    assert all("alice" not in str(labels) for _, labels in after)  # no ids in labels


def test_the_task_queue_gauge_counts_waiting_tasks(make_server: MakeServer) -> None:
    server = make_server(root_api_key=ROOT_KEY, task_poll_seconds=3600)
    server.services.runner.stop()  # nothing runs the queue
    root = {"X-API-Key": ROOT_KEY}
    for sid in ("q1", "q2"):
        server.client.post(
            f"/api/v1/sessions/{sid}/messages", headers=root, json={"role": "user", "content": "x"}
        )
        assert server.client.post(f"/api/v1/sessions/{sid}/commit", headers=root).status_code == 200
    samples = scrape(server)
    assert samples[("skald_task_queue_depth", (("status", "pending"),))] == 2


def test_metrics_need_the_root_key_unless_public(make_server: MakeServer) -> None:
    server = make_server(root_api_key=ROOT_KEY)
    assert server.client.get("/metrics").status_code == 401
    user_key = server.mint("acme", "u")
    admin_key = server.mint("acme", "boss", "admin")
    assert server.client.get("/metrics", headers={"X-API-Key": user_key}).status_code == 403
    assert server.client.get("/metrics", headers={"X-API-Key": admin_key}).status_code == 403
    public = make_server(root_api_key=ROOT_KEY, metrics_public=True)
    answered = public.client.get("/metrics")
    assert answered.status_code == 200 and "skald_build_info" in answered.text


def test_the_fast_histogram_exposes_what_prometheus_client_would() -> None:
    """``LabelledHistogram`` replaces prometheus_client's ``Histogram`` on the per-request paths:
    for the same observations (bucket edges included) the scrape must be the same text."""
    from prometheus_client import CollectorRegistry, Histogram
    from prometheus_client.exposition import generate_latest

    from skald_server.histograms import LabelledHistogram

    buckets = (0.0005, 0.001, 0.0025, 0.005, 0.01, 1, 5)
    theirs_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    theirs = Histogram(
        "op_seconds", "Time", ["operation"], buckets=buckets, registry=theirs_registry
    )
    ours = LabelledHistogram("op_seconds", "Time", ["operation"], buckets, ours_registry)
    values = [0.0, 0.0005, 0.00050001, 0.001, 0.003, 0.01, 0.5, 1.0, 4.99, 5.0, 7.0, 1e9]
    for i, value in enumerate(values):
        label = "append" if i % 3 else "get"
        theirs.labels(label).observe(value)
        ours.labels(label).observe(value)
    exposed = generate_latest(ours_registry)
    assert b'op_seconds_bucket{le="0.001",operation="get"} 2.0' in exposed  # 0.0 and 0.001
    assert _without_created(generate_latest(theirs_registry)) == exposed
    with pytest.raises(ValueError):
        ours.labels("a", "b")


def _without_created(text: bytes) -> bytes:
    """prometheus_client's own histogram adds ``_created`` samples; a collector's does not."""
    lines = text.decode().splitlines(keepends=True)
    return "".join(line for line in lines if "_created" not in line).encode()
