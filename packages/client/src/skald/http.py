"""Typed HTTP clients that mirror the embedded SDK: ``SyncHTTPClient`` and ``AsyncHTTPClient``.

The sync client runs on an ``httpx.Client`` and the async one on an ``httpx.AsyncClient``;
neither wraps the other. Each remote operation is described once in ``_calls``; ``_base`` turns
descriptions into requests and answers into results or errors; ``_sync`` and ``_async`` send.
"""

from ._async import AsyncHTTPClient
from ._sync import SyncHTTPClient

__all__ = ["AsyncHTTPClient", "SyncHTTPClient"]
