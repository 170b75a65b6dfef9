"""A small OpenAI-compatible chat-completions server on loopback, for the tests of this suite.

It is a real HTTP server (``http.server`` in a thread), not a mock: ``skald serve`` talks to
it over a socket exactly as it would to OpenAI, vLLM or Ollama. Each ``POST
/v1/chat/completions`` is recorded (body and headers) and answered by ``handler``, which the
test sets; the helpers below build answers and read the prompt Skald sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (status, JSON body, extra headers)
Reply = tuple[int, dict[str, Any], dict[str, str]]
Handler = Callable[[dict[str, Any]], Reply]


def completion(
    content: str, *, prompt_tokens: int = 100, completion_tokens: int = 20, finish: str = "stop"
) -> dict[str, Any]:
    """A chat-completions response carrying ``content`` and a usage block."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def answer(
    adds: list[dict[str, str]] | None = None,
    updates: list[dict[str, str]] | None = None,
    deletes: list[dict[str, str]] | None = None,
    **usage: int,
) -> dict[str, Any]:
    """A completion whose content is the extraction JSON Skald asks for."""
    body = {"adds": adds or [], "updates": updates or [], "deletes": deletes or []}
    return completion(json.dumps(body), **usage)


def prompt_of(body: dict[str, Any]) -> str:
    """The user prompt of a chat request (the second message; the first is the system one)."""
    return str(body["messages"][1]["content"])


def existing_in(body: dict[str, Any]) -> list[dict[str, str]]:
    """The existing memories Skald listed in the prompt."""
    text = prompt_of(body)
    start = text.index("Existing memories (JSON):\n") + len("Existing memories (JSON):\n")
    end = text.index("\n\nConversation:\n")
    listed: list[dict[str, str]] = json.loads(text[start:end])
    return listed


def conversation_in(body: dict[str, Any]) -> str:
    text = prompt_of(body)
    start = text.index("\n\nConversation:\n") + len("\n\nConversation:\n")
    return text[start : text.index("\n\nAnswer with the JSON object only.")]


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.handler: Handler = lambda body: (200, answer(), {})
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _handle(self, path: str, raw: bytes, headers: dict[str, str]) -> Reply:
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}"}}, {}
        body = json.loads(raw)
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
        return self.handler(body)

    @contextmanager
    def running(self) -> Iterator[FakeProvider]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, payload, extra = provider._handle(self.path, raw, headers)
                except Exception as exc:  # a broken test handler: answer 500, keep serving
                    status, payload, extra = 500, {"error": {"message": repr(exc)}}, {}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
