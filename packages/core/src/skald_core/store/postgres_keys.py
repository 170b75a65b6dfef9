"""API keys in the PostgreSQL database, beside the data they guard (hashes only, never secrets).

The ``api_keys`` table is part of the schema's first migration; every replica sees a key as
soon as the transaction that created it has committed, and a revocation likewise.
"""

from __future__ import annotations

from ..identity import Role
from ..keys import KeyRecord, NewKey, generate, key_record, matches, split
from .postgres import PostgresStore
from .postgres_common import Conn

COLUMNS = "key_id, account, user_name, role, read_only, created_at, revoked_at"


class PostgresKeyStore:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def create_key(
        self, account: str, user: str, role: Role, read_only: bool, now: float
    ) -> NewKey:
        key, key_id, secret_hash = generate()

        def run(conn: Conn) -> KeyRecord:
            conn.execute(
                "INSERT INTO api_keys (key_id, secret_hash, account, user_name, role, read_only, "
                "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (key_id, secret_hash, account, user, role, read_only, now),
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

        def run(conn: Conn) -> KeyRecord | None:
            row = conn.execute(
                f"SELECT {COLUMNS}, secret_hash FROM api_keys WHERE key_id = %s "
                "AND revoked_at IS NULL",
                (key_id,),
            ).fetchone()
            if row is None or not matches(secret, row[7]):
                return None
            return key_record(row)

        return self._store._tx(run, write=False, single=True)

    def revoke_key(self, key_id: str, now: float) -> bool:
        def run(conn: Conn) -> bool:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s AND revoked_at IS NULL",
                (now, key_id),
            )
            return cur.rowcount > 0

        return self._store._tx(run)

    def list_keys(self, account: str | None = None) -> list[KeyRecord]:
        def run(conn: Conn) -> list[KeyRecord]:
            if account is None:
                cur = conn.execute(f"SELECT {COLUMNS} FROM api_keys ORDER BY created_at, key_id")
            else:
                cur = conn.execute(
                    f"SELECT {COLUMNS} FROM api_keys WHERE account = %s "
                    "ORDER BY created_at, key_id",
                    (account,),
                )
            return [key_record(r) for r in cur]

        return self._store._tx(run, write=False, single=True)
