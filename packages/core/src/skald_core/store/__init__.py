"""Storage: the protocol, its row types, and the backends."""

from .model import Owner
from .protocol import Store
from .sqlite import SQLiteStore

__all__ = ["Owner", "SQLiteStore", "Store"]
