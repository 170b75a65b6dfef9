"""What the app holds while it runs: configuration and the core services (injected at the edge)."""

from __future__ import annotations

from litestar.di import NamedDependency
from msgspec import Struct

from skald_core.identity import Identity
from skald_core.keys import KeyStore
from skald_core.service.deletion import DeletionService
from skald_core.service.files import FileService
from skald_core.service.sessions import SessionService
from skald_core.service.tasks import TaskRunner
from skald_core.store.protocol import Store

from .config import ServerConfig


class Services(Struct, kw_only=True):
    config: ServerConfig
    store: Store
    keys: KeyStore
    runner: TaskRunner
    sessions: SessionService
    deletion: DeletionService
    files: FileService


#: Handler parameter types for the app-level dependencies (explicit, as Litestar 3 requires).
ServicesDep = NamedDependency[Services]
Caller = NamedDependency[Identity]
