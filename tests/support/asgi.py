"""The HTTP clients in this process against a real Skald app: no socket, no server process.

* ``sync_client(app)`` — a ``SyncHTTPClient`` over Litestar's ``TestClient``, itself an
  ``httpx.Client`` that runs the app on an event loop in a helper thread, its lifespan (task
  worker, shutdown hooks) started on entry and shut down on exit, as under a real server.
* ``async_client(app)`` — an ``AsyncHTTPClient`` over ``httpx.ASGITransport``, the app running on
  the caller's event loop; run its lifespan yourself (``async with app.lifespan():``) when its
  background worker matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from litestar.testing import TestClient

import skald

#: The base URL the in-process clients use (it never resolves: nothing leaves the process).
URL = "http://skald.local"


@contextmanager
def sync_client(app: Any, **options: Any) -> Iterator[skald.SyncHTTPClient]:
    """``SyncHTTPClient(**options)`` talking to ``app``, which runs while the block does."""
    with (
        TestClient(app, base_url=URL) as http,
        skald.SyncHTTPClient(url=URL, http_client=http, **options) as client,
    ):
        yield client


def async_client(app: Any, **options: Any) -> skald.AsyncHTTPClient:
    """``AsyncHTTPClient(**options)`` talking to ``app`` on the caller's event loop."""
    return skald.AsyncHTTPClient(url=URL, transport=httpx.ASGITransport(app=app), **options)
