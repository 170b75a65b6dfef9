"""Make the legacy fixture stores: run ONCE with the release whose on-disk format they keep.

    cd <checkout of that release> && uv run python <this file> OUTPUT_DIR [DATABASE_URL]

It writes ``OUTPUT_DIR/sqlite/skald.db`` (an SQLite data directory) and, with a database URL,
``OUTPUT_DIR/postgres.sql`` (``pg_dump --inserts`` of a schema made by that release), plus
``OUTPUT_DIR/expected.json``: what that release's store read back from them
(``snapshot.snapshot``), which tests/store/test_legacy_upgrade.py compares with what the current
code reads after upgrading the same files in place.

The fixtures of 0.1 (store schema: SQLite ``user_version`` 3, PostgreSQL migration 1) were made
with commit 0b5ce35. Uses only what that release offers; the private service attributes it
touches (``_sessions``, ``_deletion``) are how that release acts as a second user in-process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from snapshot import snapshot

from skald_core.embedded import OpenViking
from skald_core.identity import Identity
from skald_core.schemas import AddMessageRequest
from skald_core.store.backends import key_store_for

PG_SCHEMA = "skald_legacy_fixture"
BOB = Identity(account="acme", user="bob", role="user")


def populate(client: OpenViking) -> list[tuple[str, str, str]]:
    """Write one of everything; the (account, user, task_id) of its tasks."""
    tasks: list[tuple[str, str, str]] = []

    def commit(session_id: str, **options: object) -> None:
        got = client.commit_session(session_id, wait=True, **options)  # type: ignore[arg-type]
        tasks.append(("default", "default", got["task_id"]))

    client.create_session("empty")
    client.add_message("ada", "user", "Hi, my name is Ada and I love hiking.")
    client.add_message("ada", "assistant", "Nice to meet you, Ada!")
    client.add_message(
        "ada",
        "assistant",
        parts=[
            {"type": "text", "text": "Looking that up."},
            {
                "type": "tool",
                "tool_id": "call-1",
                "tool_name": "search",
                "tool_input": {"q": "trails"},
                "tool_output": "3 trails",
                "tool_status": "completed",
            },
        ],
    )
    commit("ada")
    client.add_message("ada", "user", "Remember that my dog is called Rex.")
    client.add_message("ada", "user", "I don't like meetings before 10am.")
    commit("ada", keep_recent_count=1)
    client.write("viking://user/default/sessions/ada/notes/plan.md", "day 1: lake", mode="create")
    client.mkdir("viking://resources/docs")
    client.write("viking://resources/docs/readme.md", "resource text", mode="create")

    client.add_message("trashed", "user", "I work as a pilot.")
    commit("trashed")
    client.delete_session("trashed", mode="soft")
    client.add_message("gone", "user", "temporary")
    client.delete_session("gone")
    client.add_message("restored", "user", "back again")
    client.delete_session("restored", mode="soft")
    client.restore_session("restored")

    sessions = client._sessions
    sessions.add_message(BOB, "bob-1", AddMessageRequest(role="user", content="My name is Bob."))
    tasks.append(("acme", "bob", sessions.commit(BOB, "bob-1", wait=True).task_id or ""))
    client._deletion.delete(BOB, "bob-1", mode="soft")

    keys = key_store_for(client._store)
    keys.create_key(account="acme", user="bob", role="user", read_only=False, now=1_700_000_000.0)
    admin = keys.create_key(
        account="acme", user="carol", role="admin", read_only=True, now=1_700_000_100.0
    )
    keys.revoke_key(admin.record.key_id, 1_700_000_200.0)
    return tasks


def main() -> None:
    out = Path(sys.argv[1])
    url = sys.argv[2] if len(sys.argv) > 2 else None
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    expected: dict[str, object] = {}

    with OpenViking(path=out / "sqlite") as client:
        tasks = populate(client)
    with OpenViking(path=out / "sqlite") as client:
        expected["sqlite"] = snapshot(client._store, tasks)
    for extra in ("skald.db-wal", "skald.db-shm"):
        (out / "sqlite" / extra).unlink(missing_ok=True)

    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        with OpenViking(database_url=url, database_schema=PG_SCHEMA) as client:
            pg_tasks = populate(client)
            expected["postgres"] = snapshot(client._store, pg_tasks)
        dump = subprocess.run(
            ["pg_dump", "--inserts", "--no-owner", "--no-privileges", "-n", PG_SCHEMA, url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (out / "postgres.sql").write_text(dump)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {PG_SCHEMA} CASCADE")
    expected["tasks"] = {"sqlite": tasks, "postgres": pg_tasks if url else []}
    (out / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
