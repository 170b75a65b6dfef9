"""What the app holds while it runs: configuration and the core services (injected at the edge)."""

from __future__ import annotations

from litestar.di import NamedDependency

from skald_core import services as core
from skald_core.identity import Identity
from skald_core.keys import KeyStore

from .config import ServerConfig


class Services(core.Services, frozen=True, kw_only=True):
    """The core services (``skald_core.services.build_services``) plus what only the server
    has: its configuration and the API keys."""

    config: ServerConfig
    keys: KeyStore


#: Handler parameter types for the app-level dependencies (explicit, as Litestar 3 requires).
ServicesDep = NamedDependency[Services]
Caller = NamedDependency[Identity]
