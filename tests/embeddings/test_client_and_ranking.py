"""The embedding client's handling of answers and failures, and the ranking pieces: cosine
over candidates and reciprocal rank fusion."""

from __future__ import annotations

import json

import httpx
import pytest

from skald_core.service.embeddings import EmbeddingClient, EmbeddingError, make_config
from skald_core.service.vector_index import fuse, retry_delay
from skald_core.store.vectors import Candidate, pack, rank

CONFIG = make_config({"base_url": "http://emb.test/v1", "model": "m", "max_retries": 2})


def client_answering(*answers: httpx.Response) -> tuple[EmbeddingClient, list[dict[str, object]]]:
    sent: list[dict[str, object]] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return queue.pop(0)

    assert CONFIG is not None
    return EmbeddingClient(
        CONFIG, sleep=lambda s: None, transport=httpx.MockTransport(handle)
    ), sent


def ok(*vectors: list[float]) -> httpx.Response:
    # Out of order on purpose: the client orders by index.
    data = [{"index": i, "embedding": v} for i, v in reversed(list(enumerate(vectors)))]
    return httpx.Response(200, json={"data": data})


def test_vectors_come_back_in_input_order_and_the_request_is_openai_shaped() -> None:
    client, sent = client_answering(ok([1.0, 0.0], [0.0, 1.0]))
    assert client.embed(["a", "b"]) == [[1.0, 0.0], [0.0, 1.0]]
    assert sent == [{"model": "m", "input": ["a", "b"]}]


def test_server_errors_are_retried_then_reported() -> None:
    client, sent = client_answering(httpx.Response(503), httpx.Response(429), ok([1.0]))
    assert client.embed(["a"]) == [[1.0]]
    assert len(sent) == 3
    client, _ = client_answering(*[httpx.Response(500)] * 3)
    with pytest.raises(EmbeddingError, match="server error"):
        client.embed(["a"])


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]}),  # one for two
        httpx.Response(
            200,
            json={
                "data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]
            },
        ),
        httpx.Response(200, content=b"not json"),
    ],
)
def test_an_unusable_answer_is_an_error(answer: httpx.Response) -> None:
    client, _ = client_answering(answer, answer, answer)
    with pytest.raises(EmbeddingError, match="malformed"):
        client.embed(["a", "b"])


def test_a_refusal_is_not_retried_and_a_query_is_tried_once() -> None:
    client, sent = client_answering(httpx.Response(401, text="bad key"))
    with pytest.raises(EmbeddingError, match="refused"):
        client.embed(["a"])
    assert len(sent) == 1
    client, sent = client_answering(httpx.Response(503), ok([1.0]))
    with pytest.raises(EmbeddingError):
        client.embed_query("q")
    assert len(sent) == 1


def test_cosine_ranking_keeps_those_above_the_floor_best_first() -> None:
    found = [
        Candidate(path="a", vector=pack([1.0, 0.0]), dims=2),
        Candidate(path="b", vector=pack([1.0, 1.0]), dims=2),
        Candidate(path="c", vector=pack([0.0, 1.0]), dims=2),
        Candidate(path="other-model", vector=pack([1.0, 0.0, 0.0]), dims=3),
    ]
    got = rank([2.0, 0.1], found, floor=0.2)
    assert [p for p, _ in got] == ["a", "b"]
    assert got[0][1] == pytest.approx(0.99875, abs=1e-4)
    assert rank([0.0, 0.0], found, floor=0.0) == []


def test_reciprocal_rank_fusion() -> None:
    fused = dict(fuse([["x", "y"], ["y", "z"]]))
    # y: 1/62 + 1/61; x: 1/61; z: 1/62; scaled so first-in-both is 1.
    assert fuse([["x", "y"], ["y", "z"]])[0][0] == "y"
    assert fused["y"] == pytest.approx((1 / 62 + 1 / 61) / (2 / 61), abs=1e-6)
    assert fused["x"] > fused["z"]
    assert dict(fuse([["a"], ["a"]]))["a"] == 1.0


def test_retry_waits_double_up_to_five_minutes() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay(50) == 300.0
