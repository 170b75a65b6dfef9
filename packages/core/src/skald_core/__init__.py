"""Skald core: schemas, errors, viking:// URIs, storage, the session service and the
embedded client. No HTTP here."""

from .embedded import AsyncOpenViking, OpenViking
from .identity import Identity

__version__ = "0.1.0"

__all__ = ["AsyncOpenViking", "Identity", "OpenViking", "__version__"]
