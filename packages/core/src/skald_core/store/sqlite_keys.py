"""API keys in the SQLite database, beside the data they guard (hashes only, never secrets)."""

from __future__ import annotations

import sqlite3

from ..identity import Role
from ..keys import KeyRecord, NewKey, generate, key_record, matches, split
from .sqlite import SQLiteStore

COLUMNS = "key_id, account, user, role, read_only, created_at, revoked_at"


class SQLiteKeyStore:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store  # its schema holds the api_keys table

    def create_key(
        self, account: str, user: str, role: Role, read_only: bool, now: float
    ) -> NewKey:
        key, key_id, secret_hash = generate()

        def run(conn: sqlite3.Connection) -> KeyRecord:
            conn.execute(
                "INSERT INTO api_keys (key_id, secret_hash, account, user, role, read_only, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key_id, secret_hash, account, user, role, int(read_only), now),
            )
            return KeyRecord(
                key_id=key_id,
                account=account,
                user=user,
                role=role,
                read_only=read_only,
                created_at=now,
            )

        return NewKey(key=key, record=self._store._tx(run))

    def find_key(self, key: str) -> KeyRecord | None:
        parts = split(key)
        if parts is None:
            return None
        key_id, secret = parts

        def run(conn: sqlite3.Connection) -> KeyRecord | None:
            row = conn.execute(
                f"SELECT {COLUMNS}, secret_hash FROM api_keys WHERE key_id = ? "
                "AND revoked_at IS NULL",
                (key_id,),
            ).fetchone()
            if row is None or not matches(secret, row[7]):
                return None
            return key_record(row)

        return self._store._tx(run, write=False)

    def revoke_key(self, key_id: str, now: float) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (now, key_id),
            )
            return cur.rowcount > 0

        return self._store._tx(run)

    def list_keys(self, account: str | None = None) -> list[KeyRecord]:
        def run(conn: sqlite3.Connection) -> list[KeyRecord]:
            if account is None:
                cur = conn.execute(f"SELECT {COLUMNS} FROM api_keys ORDER BY created_at")
            else:
                cur = conn.execute(
                    f"SELECT {COLUMNS} FROM api_keys WHERE account = ? ORDER BY created_at",
                    (account,),
                )
            return [key_record(r) for r in cur]

        return self._store._tx(run, write=False)
