"""A fake OpenAI-compatible embedding endpoint on loopback: ``POST /v1/embeddings``.

Deterministic and meaningful enough to test semantic search: each word of a text adds 1 to
the dimension of its *concept* (``CONCEPTS``), so "mountain trail walking" and "hiking" point
the same way without sharing a word, while texts of different concepts are orthogonal
(cosine 0). Words of no concept add nothing; a text of none is the zero vector.

``FakeEmbeddings(dims=384, hashed=True)`` (the benchmark's) also puts every other word on one
of the spare dimensions by a hash of it, so made-up words give vectors of a real model's size.

``up = False`` makes it answer 503 (as a provider having an outage); ``requests`` counts the
requests answered (any status), ``inputs`` the texts embedded. ``running_embeddings()`` is a
context manager giving a started server; its ``base_url`` is what ``SKALD_EMBEDDING_BASE_URL``
takes. The benchmark imports it as ``tests.support.embeddings`` (no pytest here).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import zlib
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


def embed(text: str, dims: int = DIMS, hashed: bool = False) -> list[float]:
    vector = [0.0] * dims
    spare = dims - len(CONCEPTS)
    for word in _WORD.findall(text.lower()):
        at = _INDEX.get(word)
        if at is None and hashed:
            at = len(CONCEPTS) + zlib.crc32(word.encode()) % spare
        if at is not None:
            vector[at] += 1.0
    return vector


class FakeEmbeddings(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, dims: int = DIMS, hashed: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dims = dims
        self.hashed = hashed
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
    protocol_version = "HTTP/1.1"  # keep-alive, as a real provider's endpoint

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the
        # second until the client's delayed ACK (40 ms a request on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
            {"object": "embedding", "index": i, "embedding": embed(t, fake.dims, fake.hashed)}
            for i, t in enumerate(texts)
        ]
        self._answer(200, {"object": "list", "data": data, "model": body.get("model")})


@contextmanager
def running_embeddings(dims: int = DIMS, hashed: bool = False) -> Iterator[FakeEmbeddings]:
    server = FakeEmbeddings(dims, hashed)
    thread = threading.Thread(target=server.serve_forever, name="fake-embeddings", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
