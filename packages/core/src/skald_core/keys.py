"""API keys: generation, hashing and the key store protocol.

A key looks like ``sk-<key_id>-<secret>``. Only a SHA-256 of the secret is stored (the secret
is 32 random bytes, so a fast hash is enough); the key id finds the row, and the hash is
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from msgspec import Struct

from .identity import Identity, Role


class KeyRecord(Struct, kw_only=True):
    key_id: str
    account: str
    user: str
    role: Role
    read_only: bool
    created_at: float
    revoked_at: float | None = None
    #: When a request last presented it, to the minute (None: never).
    last_used_at: float | None = None


#: A key's ``last_used_at`` is written at most this often (seconds): not at every request.
LAST_USED_RESOLUTION = 60.0


def key_record(row: Sequence[Any]) -> KeyRecord:
    """A record from a row of ``key_id, account, user, role, read_only, created_at,
    revoked_at, last_used_at`` (both backends select these columns in this order)."""
    return KeyRecord(
        key_id=row[0],
        account=row[1],
        user=row[2],
        role=row[3],
        read_only=bool(row[4]),
        created_at=row[5],
        revoked_at=row[6],
        last_used_at=row[7],
    )


class NewKey(Struct, kw_only=True):
    key: str
    record: KeyRecord


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> tuple[str, str, str]:
    """``(key, key_id, secret_hash)`` for a new key."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"sk-{key_id}-{secret}", key_id, hash_secret(secret)


def split(key: str) -> tuple[str, str] | None:
    parts = key.split("-", 2)
    if len(parts) != 3 or parts[0] != "sk" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def identity_of(record: KeyRecord) -> Identity:
    return Identity(
        account=record.account, user=record.user, role=record.role, read_only=record.read_only
    )


#: Who changes keys from outside the server (``skald keys``): the operator of the machine,
#: recorded as such in the audit log.
OPERATOR = Identity(account="system", user="operator", role="root")


class KeyStore(Protocol):
    """Every change (create, revoke) is audited in its own transaction, as ``actor``."""

    def create_key(
        self,
        account: str,
        user: str,
        role: Role,
        read_only: bool,
        now: float,
        *,
        actor: Identity = OPERATOR,
    ) -> NewKey: ...

    def find_key(self, key: str) -> KeyRecord | None:
        """The live (not revoked) record for a presented key, or None; notes the use (its
        ``last_used_at``, written at most once per ``LAST_USED_RESOLUTION`` per key)."""
        ...

    def revoke_key(self, key_id: str, now: float, *, actor: Identity = OPERATOR) -> bool: ...

    def list_keys(self, account: str | None = None) -> list[KeyRecord]: ...
