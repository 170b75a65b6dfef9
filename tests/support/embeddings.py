"""A fake OpenAI-compatible embedding endpoint on loopback: ``POST /v1/embeddings``.

Deterministic and meaningful enough to test semantic search: each word of a text adds 1 to
the dimension of its *concept* (``CONCEPTS``), so "mountain trail walking" and "hiking" point
the same way without sharing a word, while texts of different concepts are orthogonal
(cosine 0). Words of no concept add nothing; a text of none is the zero vector.

``up = False`` makes it answer 503 (as a provider having an outage); ``requests`` counts the
requests answered (any status), ``inputs`` the texts embedded. ``running_embeddings()`` is a
context manager giving a started server; its ``base_url`` is what ``SKALD_EMBEDDING_BASE_URL``
takes. The benchmark imports it as ``tests.support.embeddings`` (no pytest here).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: Concepts and their words; a concept is one dimension, in this order.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "outdoors": (
        "hiking",
        "hike",
        "hikes",
        "trail",
        "trails",
        "mountain",
        "mountains",
        "walking",
        "trek",
        "trekking",
        "alps",
        "summit",
        "climbing",
    ),
    "food": ("pizza", "pasta", "food", "cooking", "dinner", "recipe", "bread", "cheese"),
    "drinks": ("tea", "coffee", "espresso", "drink", "drinks", "latte"),
    "pets": ("dog", "dogs", "cat", "cats", "pet", "pets", "puppy", "kitten"),
    "music": ("music", "guitar", "song", "songs", "piano", "concert", "jazz"),
    "work": ("job", "work", "office", "engineer", "manager", "meeting", "career"),
    "travel": ("flight", "flights", "travel", "airport", "trip", "holiday", "vacation"),
    "health": ("doctor", "allergy", "allergic", "medicine", "sick", "health", "peanuts"),
}
DIMS = len(CONCEPTS) + 8  # spare dimensions stay zero (a real model's are not, no matter)
_INDEX = {w: i for i, words in enumerate(CONCEPTS.values()) for w in words}
_WORD = re.compile(r"[a-z]+")


def embed(text: str) -> list[float]:
    vector = [0.0] * DIMS
    for word in _WORD.findall(text.lower()):
        at = _INDEX.get(word)
        if at is not None:
            vector[at] += 1.0
    return vector


class FakeEmbeddings(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.up = True
        self.requests = 0
        self.inputs = 0
        self.models: set[str] = set()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeEmbeddings

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        fake = self.server
        with fake._lock:
            fake.requests += 1
        if not self.path.endswith("/embeddings"):
            self._answer(404, {"error": {"message": "not found"}})
            return
        if not fake.up:
            self._answer(503, {"error": {"message": "the fake endpoint is down"}})
            return
        body = json.loads(raw)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        with fake._lock:
            fake.inputs += len(texts)
            fake.models.add(str(body.get("model")))
        data = [
            {"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(texts)
        ]
        self._answer(200, {"object": "list", "data": data, "model": body.get("model")})


@contextmanager
def running_embeddings() -> Iterator[FakeEmbeddings]:
    server = FakeEmbeddings()
    thread = threading.Thread(target=server.serve_forever, name="fake-embeddings", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
