"""Everything a store reads back, as plain data: for comparing a store before and after an
in-place upgrade. Only the store protocol's reads (and its key store) are used."""

from __future__ import annotations

from typing import Any

import msgspec

from skald_core.store.model import Owner

OWNERS = [Owner(account="default", user="default"), Owner(account="acme", user="bob")]
FILE_ROOTS = ["user", "agent", "resources"]


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=repr)


def _key_store(store: Any) -> Any:
    if hasattr(store, "key_store"):
        return store.key_store()
    from skald_core.store.backends import key_store_for  # the release that made the fixtures

    return key_store_for(store)


def snapshot(store: Any, tasks: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``tasks``: (account, user, task_id) of the tasks to read back."""
    out: dict[str, Any] = {"sessions": {}, "files": {}, "tasks": {}}
    for owner in OWNERS:
        rows = store.list_sessions(owner, limit=None, after=None, include_deleted=True)
        for row in rows:
            entry: dict[str, Any] = {"row": _plain(row)}
            entry["memory_count"] = store.memory_count_for_session(owner, row.session_id)
            entry["summary"] = _plain(store.extraction_summary(owner, row.session_id))
            if row.deleted_at is None:
                entry["messages"] = _plain(store.messages(owner, row.session_id, archive_no=None))
                entry["tool_messages"] = _plain(
                    store.tool_and_context_messages(owner, row.session_id)
                )
                entry["archives"] = _plain(store.archives(owner, row.session_id))
                entry["extractions"] = _plain(store.archive_extractions(owner, row.session_id))
                entry["session_files"] = _plain(store.session_files(owner, row.session_id))
            out["sessions"][f"{owner.account}/{owner.user}/{row.session_id}"] = entry
    for account in sorted({o.account for o in OWNERS}):
        for root in FILE_ROOTS:
            for f in store.list_descendants(account, root):
                full = store.get_file(account, f.path)
                out["files"][f"{account}:{f.path}"] = {
                    "listed": _plain(f),
                    "read": _plain(full),
                }
    for account, user, task_id in tasks:
        task = store.get_task(Owner(account=account, user=user), task_id)
        out["tasks"][task_id] = _plain(task)
    out["audit"] = _plain(store.list_audit(None, limit=1000))
    # Columns added after 0.1 (a key's last use) read as their empty value: left out.
    out["keys"] = [
        {k: v for k, v in key.items() if not (k == "last_used_at" and v is None)}
        for key in _plain(_key_store(store).list_keys())
    ]
    return out
