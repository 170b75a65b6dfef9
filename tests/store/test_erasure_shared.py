"""Erasing a user removes what they wrote in the account's shared trees (issue 12, section 5):
files under ``agent/`` and ``resources/`` they created, replaced, appended to or moved, the
directories they made once empty, and their session ids in older audit rows — and nothing of
anyone else. Checked with a unique marker: on PostgreSQL in every row of every table, on SQLite
in every file of the data directory (the store still open)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from skald_core.identity import Identity
from skald_core.store.model import Owner
from skald_core.store.protocol import Store
from skald_core.store.sqlite import SQLiteStore

from .helpers import T0, add, content

ACCOUNT = "acme"
ALICE, BOB = Owner(ACCOUNT, "alice"), Owner(ACCOUNT, "bob")
ROOT = Identity(account=ACCOUNT, user="root", role="root")


def marker() -> str:
    return "zvqk" + uuid.uuid4().hex[:12]


def places_holding(store: Store, needle: str) -> list[str]:
    """Where the marker is: files of an SQLite data directory, or rows of PostgreSQL tables
    (text columns as text, binary ones as hex, as ``row::text`` shows them)."""
    if isinstance(store, SQLiteStore):
        data = Path(store.file).parent
        return sorted(
            p.name for p in data.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()
        )

    def run(conn: Any) -> list[str]:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        found = []
        for t in tables:
            n = conn.one(
                f"SELECT COUNT(*) FROM {t} x WHERE x::text LIKE ? OR x::text LIKE ?",
                (f"%{needle}%", f"%{needle.encode().hex()}%"),
            )
            if n:
                found.append(t)
        return found

    return store._tx(run, write=False)  # type: ignore[attr-defined,no-any-return]


def write(store: Store, path: str, text: str, mode: str, writer: str) -> None:
    store.write_file(
        ACCOUNT,
        path,
        text.encode(),
        mode,
        T0,
        session=None,
        stop_at=1,
        writer=writer,  # type: ignore[arg-type]
    )


def test_erasure_removes_shared_files_the_user_wrote(store: Store) -> None:
    m, kept = marker(), marker()
    # Alice's own files, in shared trees, with her marker in names and contents.
    write(store, f"resources/{m}/guide.md", f"guide {m}", "create", "alice")
    write(store, f"agent/skills/{m}.md", f"skill {m}", "create", "alice")
    # Bob's file that Alice appended to: her text is in it.
    write(store, "resources/team.md", f"bob's notes {kept}\n", "create", "bob")
    write(store, "resources/team.md", f"alice adds {m}\n", "append", "alice")
    # Alice's file that Bob replaced: nothing of hers left in it; Bob's from then on.
    write(store, "resources/taken.md", f"alice's draft {m}", "create", "alice")
    write(store, "resources/taken.md", f"bob's rewrite {kept}", "replace", "bob")
    # A file Bob wrote that Alice moved under a name of hers.
    write(store, "resources/bob.md", f"bob {kept}", "create", "bob")
    store.move(
        ACCOUNT,
        "resources/bob.md",
        f"resources/moved-{m}.md",
        T0,
        session=None,
        stop_at=1,
        writer="alice",
    )
    # Bob's file in a directory Alice made: the directory stays while it holds his file.
    store.make_dir(ACCOUNT, "resources/shared-dir", T0, session=None, stop_at=1, writer="alice")
    write(store, "resources/shared-dir/bob.md", f"bob {kept}", "create", "bob")
    # Alice's session ids in the audit log (a deleted session).
    add(store, ALICE, f"chat-{m}", "hello")
    store.delete_session(ALICE, f"chat-{m}", T0, actor=ROOT)
    add(store, BOB, f"bob-chat-{kept}", "hello")
    store.delete_session(BOB, f"bob-chat-{kept}", T0, actor=ROOT)
    assert places_holding(store, m), "control: the marker is stored"

    counts = store.erase_user(ACCOUNT, "alice", T0 + 1, actor=ROOT)

    assert places_holding(store, m) == [], "something Alice wrote is still stored"
    # guide, skill, team (her appended text) and the moved file (its name is hers)
    assert counts.files == 4
    assert content(store, ACCOUNT, "resources/taken.md") == f"bob's rewrite {kept}".encode()
    assert content(store, ACCOUNT, "resources/team.md") is None
    assert store.get_file(ACCOUNT, "resources/shared-dir/bob.md") is not None
    assert store.get_file(ACCOUNT, "resources/shared-dir") is not None
    assert store.get_file(ACCOUNT, f"resources/{m}") is None
    assert places_holding(store, kept), "control: Bob's data is untouched"
    audit = store.list_audit(ACCOUNT)
    alice_rows = [a for a in audit if a.user == "alice" and a.action == "delete"]
    assert len(alice_rows) == 1 and (alice_rows[0].session_id or "").startswith("erased-")
    assert any(a.session_id == f"bob-chat-{kept}" for a in audit)
