"""One description of every HTTP call: method, path, query, body and whether it may be retried.

Both HTTP clients build their requests here and only differ in how they send them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from msgspec import Struct

API = "/api/v1"


class Call(Struct, kw_only=True):
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    idempotent: bool = True
    #: Non-idempotent calls get an Idempotency-Key the server honours, so they may be retried.
    keyed: bool = False


def _sid(session_id: str) -> str:
    return quote(session_id, safe="")


def _query(**params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return out


def health() -> Call:
    return Call(method="GET", path="/health")


def create_session(session_id: str | None) -> Call:
    # Not retried once sent: a retry after a lost answer would report ALREADY_EXISTS for the
    # session this very call created (and without an id it would create a second one).
    body = {"session_id": session_id} if session_id is not None else {}
    return Call(method="POST", path=f"{API}/sessions", body=body, idempotent=False)


def list_sessions(limit: int | None, cursor: str | None, include_deleted: bool, order: str) -> Call:
    return Call(
        method="GET",
        path=f"{API}/sessions",
        params=_query(
            limit=limit,
            cursor=cursor,
            include_deleted=True if include_deleted else None,
            order=None if order == "desc" else order,
        ),
    )


def get_session(session_id: str, auto_create: bool) -> Call:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}",
        params=_query(auto_create=True) if auto_create else None,
    )


def delete_session(
    session_id: str, mode: str, require_committed: bool, commit_first: bool, forget_memories: bool
) -> Call:
    params = _query(
        mode=mode if mode != "hard" else None,
        require_committed=True if require_committed else None,
        commit_first=True if commit_first else None,
        forget_memories=True if forget_memories else None,
    )
    # Deletes are not retried once sent: a retry after a lost answer would report NOT_FOUND for
    # the session this very call deleted.
    return Call(
        method="DELETE",
        path=f"{API}/sessions/{_sid(session_id)}",
        params=params or None,
        idempotent=False,
    )


def restore_session(session_id: str) -> Call:
    return Call(method="POST", path=f"{API}/sessions/{_sid(session_id)}/restore", idempotent=False)


def delete_sessions(
    session_ids: list[str],
    mode: str,
    require_committed: bool,
    commit_first: bool,
    forget_memories: bool,
) -> Call:
    return Call(
        method="POST",
        path=f"{API}/sessions/batch-delete",
        body={
            "session_ids": session_ids,
            "mode": mode,
            "require_committed": require_committed,
            "commit_first": commit_first,
            "forget_memories": forget_memories,
        },
        idempotent=False,
    )


def cleanup_sessions(
    older_than_days: float,
    by: str,
    mode: str,
    commit_first: bool,
    forget_memories: bool,
    dry_run: bool,
) -> Call:
    return Call(
        method="POST",
        path=f"{API}/sessions/cleanup",
        body={
            "older_than_days": older_than_days,
            "by": by,
            "mode": mode,
            "commit_first": commit_first,
            "forget_memories": forget_memories,
            "dry_run": dry_run,
        },
        idempotent=dry_run,
    )


def system_status() -> Call:
    return Call(method="GET", path=f"{API}/system/status")


def erase_user(account: str, user: str) -> Call:
    return Call(
        method="DELETE",
        path=f"{API}/admin/accounts/{quote(account, safe='')}/users/{quote(user, safe='')}",
        idempotent=False,
    )


def list_audit(limit: int, action: str | None, session_id: str | None, account: str | None) -> Call:
    return Call(
        method="GET",
        path=f"{API}/audit",
        params=_query(limit=limit, action=action, session_id=session_id, account=account),
    )


def add_message(session_id: str, message: dict[str, Any]) -> Call:
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/messages",
        body={k: v for k, v in message.items() if v is not None},
        idempotent=False,
        keyed=True,
    )


def batch_add_messages(session_id: str, messages: list[dict[str, Any]]) -> Call:
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/messages/batch",
        body={"messages": messages},
        idempotent=False,
        keyed=True,
    )


def commit_session(session_id: str, keep_recent_count: int, wait: bool) -> Call:
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/commit",
        body={"keep_recent_count": keep_recent_count, "wait": wait},
        idempotent=False,
        keyed=True,
    )


def get_session_context(session_id: str, token_budget: int) -> Call:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}/context",
        params=_query(token_budget=token_budget),
    )


def get_session_archive(session_id: str, archive_id: str) -> Call:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}/archives/{quote(archive_id, safe='')}",
    )


def extract_session(session_id: str, archive_id: str | None) -> Call:
    # Safe to retry: an archive already queued is reported again, never queued twice.
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/extract",
        body={"archive_id": archive_id} if archive_id is not None else {},
    )


def get_task(task_id: str) -> Call:
    return Call(method="GET", path=f"{API}/tasks/{quote(task_id, safe='')}")


def read(uri: str, offset: int, limit: int) -> Call:
    return Call(
        method="GET", path=f"{API}/content/read", params=_query(uri=uri, offset=offset, limit=limit)
    )


def write(uri: str, content: str, mode: str) -> Call:
    # A "create" is naturally idempotent-safe to retry only with a key; replace is idempotent.
    return Call(
        method="POST",
        path=f"{API}/content/write",
        body={"uri": uri, "content": content, "mode": mode},
        idempotent=mode == "replace",
    )


def ls(uri: str, recursive: bool, show_all_hidden: bool) -> Call:
    return Call(
        method="GET",
        path=f"{API}/fs/ls",
        params=_query(uri=uri, recursive=recursive, show_all_hidden=show_all_hidden),
    )


def tree(uri: str, level_limit: int, show_all_hidden: bool) -> Call:
    return Call(
        method="GET",
        path=f"{API}/fs/tree",
        params=_query(uri=uri, level_limit=level_limit, show_all_hidden=show_all_hidden),
    )


def stat(uri: str) -> Call:
    return Call(method="GET", path=f"{API}/fs/stat", params=_query(uri=uri))


def mkdir(uri: str) -> Call:
    return Call(method="POST", path=f"{API}/fs/mkdir", body={"uri": uri})


def rm(uri: str, recursive: bool) -> Call:
    return Call(method="DELETE", path=f"{API}/fs", params=_query(uri=uri, recursive=recursive))


def mv(from_uri: str, to_uri: str) -> Call:
    return Call(
        method="POST",
        path=f"{API}/fs/mv",
        body={"from_uri": from_uri, "to_uri": to_uri},
        idempotent=False,
    )


def message_body(
    role: str,
    content: str | None,
    parts: list[Any] | None,
    peer_id: str | None,
    created_at: str | None,
    turn_id: str | None,
    message_kind: str | None,
) -> dict[str, Any]:
    return {
        "role": role,
        "content": content,
        "parts": parts,
        "peer_id": peer_id,
        "created_at": created_at,
        "turn_id": turn_id,
        "message_kind": message_kind,
    }
