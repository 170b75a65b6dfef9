"""Every remote operation of the HTTP clients, described once and without I/O.

A ``Call[R]`` is one HTTP request: method, path, query, body, whether it may be retried, and
the type ``R`` of its result. An operation that needs more than one request, or turns an error
into an answer (``get_task`` gives ``None`` for a task not found), is a *plan*: a generator that
yields calls, is sent each call's result (or thrown its error) and returns the operation's
result — the way an ``httpx.Auth`` flow serves both httpx clients. ``SyncHTTPClient`` and
``AsyncHTTPClient`` run these descriptions and only differ in how they send and wait.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Generic, TypeAlias, TypeVar
from urllib.parse import quote

from msgspec import Struct

from skald_core import ids, uris
from skald_core.errors import NotFoundError, SkaldError
from skald_core.schemas import wire_messages, wire_part

API = "/api/v1"

R = TypeVar("R")
Dict: TypeAlias = dict[str, Any]
Rows: TypeAlias = list[dict[str, Any]]


class Call(Struct, Generic[R], frozen=True, kw_only=True):
    """One request whose answer's ``result`` is an ``R``."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    idempotent: bool = True
    #: Non-idempotent calls get an Idempotency-Key the server honours, so they may be retried.
    keyed: bool = False
    #: Sent once and never retried (a health probe answers now or not at all).
    once: bool = False
    #: The answer is a Skald envelope; when False, its JSON body is the result as it is.
    envelope: bool = True
    #: A success's body is the result as bytes (an error still comes as an envelope).
    raw: bool = False


#: An operation of several calls (or one whose errors it handles): yields each call, is sent
#: its result or thrown its ``SkaldError``, and returns the operation's result.
Plan: TypeAlias = Generator[Call[Any], Any, R]


def _seg(value: str, field: str = "session_id") -> str:
    """An id as one URL path segment. Checked here by the server's own rule first: a URL
    cannot carry ``a/b``, ``..`` or an empty id to the route the call means, so such an id
    fails as it does in-process (INVALID_ARGUMENT) instead of reaching another route."""
    return quote(ids.check_id(value, field), safe="")


_sid = _seg


def _query(**params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return out


# ---------------------------------------------------------------------------- lifecycle


def health() -> Plan[bool]:
    try:
        answer = yield Call(method="GET", path="/health", once=True, envelope=False)
    except SkaldError:
        return False
    return isinstance(answer, dict) and answer.get("status") == "ok"


# ---------------------------------------------------------------------------- sessions


def create_session(session_id: str | None) -> Call[Dict]:
    # Not retried once sent: a retry after a lost answer would report ALREADY_EXISTS for the
    # session this very call created (and without an id it would create a second one).
    body = {"session_id": session_id} if session_id is not None else {}
    return Call(method="POST", path=f"{API}/sessions", body=body, idempotent=False)


def list_sessions(
    limit: int | None, cursor: str | None, include_deleted: bool, order: str, all_users: bool
) -> Call[Rows]:
    return Call(
        method="GET",
        path=f"{API}/sessions",
        params=_query(
            limit=limit,
            cursor=cursor,
            include_deleted=True if include_deleted else None,
            order=None if order == "desc" else order,
            user="*" if all_users else None,
        ),
    )


def get_session(session_id: str, auto_create: bool) -> Call[Dict]:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}",
        params=_query(auto_create=True) if auto_create else None,
    )


def session_exists(session_id: str) -> Plan[bool]:
    try:
        yield get_session(session_id, False)
    except NotFoundError:
        return False
    return True


def session(session_id: str | None, must_exist: bool, user: str) -> Plan[tuple[str, str]]:
    """Create or check the session; its id and URI, for a ``Session`` to load."""
    if session_id is None:
        if must_exist:
            raise NotFoundError.of("session", "")
        created: Dict = yield create_session(None)
        session_id = str(created["session_id"])
    else:
        yield get_session(session_id, not must_exist)
    return session_id, uris.session_uri(user, session_id)


def delete_session(
    session_id: str,
    mode: str,
    require_committed: bool,
    missing_ok: bool,
    commit_first: bool,
    forget_memories: bool,
) -> Plan[Dict]:
    params = _query(
        mode=mode if mode != "hard" else None,
        require_committed=True if require_committed else None,
        commit_first=True if commit_first else None,
        forget_memories=True if forget_memories else None,
    )
    # Deletes are not retried once sent: a retry after a lost answer would report NOT_FOUND for
    # the session this very call deleted.
    call: Call[Dict] = Call(
        method="DELETE",
        path=f"{API}/sessions/{_sid(session_id)}",
        params=params or None,
        idempotent=False,
    )
    try:
        receipt: Dict = yield call
    except NotFoundError:
        if not missing_ok:
            raise
        return {"session_id": session_id, "mode": mode, "deleted": None, "kept": None}
    return receipt


def restore_session(session_id: str) -> Call[Dict]:
    return Call(method="POST", path=f"{API}/sessions/{_sid(session_id)}/restore", idempotent=False)


def delete_sessions(
    session_ids: list[str],
    mode: str,
    require_committed: bool,
    commit_first: bool,
    forget_memories: bool,
) -> Call[Dict]:
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
) -> Call[Dict]:
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


def system_status() -> Call[Dict]:
    return Call(method="GET", path=f"{API}/system/status")


def erase_user(user: str, account: str | None) -> Plan[Dict]:
    """Erase ``user``; without ``account``, in the account the server says this key acts in."""
    if account is None:
        status: Dict = yield system_status()
        account = str(status["account"])
    receipt: Dict = yield Call(
        method="DELETE",
        path=f"{API}/admin/accounts/{_seg(account, 'account')}/users/{_seg(user, 'user')}",
        idempotent=False,
    )
    return receipt


def list_audit(
    limit: int, action: str | None, session_id: str | None, account: str | None
) -> Call[Rows]:
    return Call(
        method="GET",
        path=f"{API}/audit",
        params=_query(limit=limit, action=action, session_id=session_id, account=account),
    )


# ---------------------------------------------------------------------------- messages


def add_message(
    session_id: str,
    role: str,
    content: str | None,
    parts: list[Any] | None,
    peer_id: str | None,
    created_at: str | None,
    turn_id: str | None,
    message_kind: str | None,
) -> Call[Dict]:
    message = {
        "role": role,
        "content": content,
        "parts": None if parts is None else [wire_part(p) for p in parts],
        "peer_id": peer_id,
        "created_at": created_at,
        "turn_id": turn_id,
        "message_kind": message_kind,
    }
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/messages",
        body={k: v for k, v in message.items() if v is not None},
        idempotent=False,
        keyed=True,
    )


def batch_add_messages(session_id: str, messages: list[dict[str, Any]]) -> Call[Dict]:
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/messages/batch",
        body={"messages": wire_messages(messages)},
        idempotent=False,
        keyed=True,
    )


def commit_session(session_id: str, keep_recent_count: int, wait: bool) -> Call[Dict]:
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/commit",
        body={"keep_recent_count": keep_recent_count, "wait": wait},
        idempotent=False,
        keyed=True,
    )


def get_session_context(session_id: str, token_budget: int) -> Call[Dict]:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}/context",
        params=_query(token_budget=token_budget),
    )


def get_session_archive(session_id: str, archive_id: str) -> Call[Dict]:
    return Call(
        method="GET",
        path=f"{API}/sessions/{_sid(session_id)}/archives/{_seg(archive_id, 'archive_id')}",
    )


def extract_session(session_id: str, archive_id: str | None) -> Call[Dict]:
    # Safe to retry: an archive already queued is reported again, never queued twice.
    return Call(
        method="POST",
        path=f"{API}/sessions/{_sid(session_id)}/extract",
        body={"archive_id": archive_id} if archive_id is not None else {},
    )


def get_task(task_id: str) -> Plan[Dict | None]:
    """The task, or ``None`` when there is no such task."""
    try:
        task: Dict = yield Call(method="GET", path=f"{API}/tasks/{quote(task_id, safe='')}")
    except NotFoundError:
        return None
    return task


def list_tasks(
    task_type: str | None, status: str | None, resource_id: str | None, limit: int
) -> Call[Rows]:
    params = _query(task_type=task_type, status=status, resource_id=resource_id, limit=limit)
    return Call(method="GET", path=f"{API}/tasks", params=params)


def update_session_config(session_id: str, options: dict[str, Any] | None) -> Call[Dict]:
    return Call(
        method="PATCH", path=f"{API}/sessions/{_sid(session_id)}/config", body=options or {}
    )


def cancel_task(task_id: str) -> Plan[Dict]:
    """Raises the route's error: FAILED_PRECONDITION for a task, NOT_FOUND for none."""
    if task_id in ("", ".", ".."):  # no URL path segment names it: no such task
        raise NotFoundError.of("task", task_id)
    task: Dict = yield Call(method="POST", path=f"{API}/tasks/{quote(task_id, safe='')}/cancel")
    return task


def wait_processed() -> Call[Dict]:
    return Call(method="POST", path=f"{API}/system/wait", body={})


# ---------------------------------------------------------------------------- files


def summary(uri: str, which: str) -> Call[str]:
    """``abstract`` or ``overview`` of a path."""
    return Call(method="GET", path=f"{API}/content/{which}", params=_query(uri=uri))


def read(uri: str, offset: int, limit: int) -> Plan[str]:
    content = yield Call(
        method="GET", path=f"{API}/content/read", params=_query(uri=uri, offset=offset, limit=limit)
    )
    return str(content)


def write(uri: str, content: str, mode: str) -> Call[Dict]:
    # A "create" is naturally idempotent-safe to retry only with a key; replace is idempotent.
    return Call(
        method="POST",
        path=f"{API}/content/write",
        body={"uri": uri, "content": content, "mode": mode},
        idempotent=mode == "replace",
    )


def write_file(uri: str, content: str | bytes) -> Plan[None]:
    """``_viking_fs.write_file``: replace the file, or create it when there is none."""
    text = content.decode() if isinstance(content, bytes) else content
    try:
        yield write(uri, text, "replace")
    except NotFoundError as exc:
        if exc.details.get("type") != "file":
            raise
        yield write(uri, text, "create")


def ls(uri: str, recursive: bool, show_all_hidden: bool) -> Call[Rows]:
    return Call(
        method="GET",
        path=f"{API}/fs/ls",
        params=_query(uri=uri, recursive=recursive, show_all_hidden=show_all_hidden),
    )


def tree(uri: str, level_limit: int, show_all_hidden: bool) -> Call[Rows]:
    return Call(
        method="GET",
        path=f"{API}/fs/tree",
        params=_query(uri=uri, level_limit=level_limit, show_all_hidden=show_all_hidden),
    )


def stat(uri: str) -> Call[Dict]:
    return Call(method="GET", path=f"{API}/fs/stat", params=_query(uri=uri))


def mkdir(uri: str) -> Call[Dict]:
    return Call(method="POST", path=f"{API}/fs/mkdir", body={"uri": uri})


def rm(uri: str, recursive: bool) -> Call[Dict]:
    return Call(method="DELETE", path=f"{API}/fs", params=_query(uri=uri, recursive=recursive))


def mv(from_uri: str, to_uri: str) -> Call[Dict]:
    return Call(
        method="POST",
        path=f"{API}/fs/mv",
        body={"from_uri": from_uri, "to_uri": to_uri},
        idempotent=False,
    )


def batch_write(root_uri: str, operations: list[dict[str, Any]], wait: bool) -> Call[Dict]:
    # An append applied twice appends twice: sent once.
    body = {"root_uri": root_uri, "operations": operations, "wait": wait}
    return Call(method="POST", path=f"{API}/content/batch-write", body=body, idempotent=False)


def cp(from_uri: str, to_uri: str, recursive: bool) -> Call[Dict]:
    body = {"from_uri": from_uri, "to_uri": to_uri, "recursive": recursive}
    return Call(method="POST", path=f"{API}/fs/cp", body=body, idempotent=False)


def download_bytes(uri: str) -> Call[bytes]:
    return Call(method="GET", path=f"{API}/content/download", params=_query(uri=uri), raw=True)


def attrs(uri: str) -> Call[Dict]:
    return Call(method="GET", path=f"{API}/fs/attrs", params=_query(uri=uri))


def set_tags(uri: str, tags: list[str] | None, mode: str, recursive: bool) -> Call[Dict]:
    body = {"uri": uri, "mode": mode, "recursive": recursive} | _options(tags=tags)
    return Call(method="POST", path=f"{API}/fs/attrs/set_tags", body=body)


def reindex(uri: str, mode: str, wait: bool, recursive: bool, force: bool) -> Call[Dict]:
    body = {"uri": uri, "mode": mode, "wait": wait, "recursive": recursive, "force": force}
    return Call(method="POST", path=f"{API}/content/reindex", body=body)


def _options(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def find(
    query: str,
    target_uri: str | list[str],
    limit: int,
    score_threshold: float | None,
    context_type: Any,
) -> Call[Dict]:
    body = {"query": query, "target_uri": target_uri, "limit": limit}
    body |= _options(score_threshold=score_threshold, context_type=context_type)
    return Call(method="POST", path=f"{API}/search/find", body=body)


def search(
    query: str,
    session_id: str | None,
    target_uri: str | list[str],
    limit: int,
    score_threshold: float | None,
    context_type: Any,
    search_type: str | None = None,
) -> Call[Dict]:
    body = {"query": query, "target_uri": target_uri, "limit": limit}
    body |= _options(
        session_id=session_id,
        score_threshold=score_threshold,
        context_type=context_type,
        search_type=search_type,
    )
    return Call(method="POST", path=f"{API}/search/search", body=body)


def grep(
    uri: str, pattern: str, case_insensitive: bool, node_limit: int, exclude_uri: str | None
) -> Call[Dict]:
    body = {"uri": uri, "pattern": pattern, "case_insensitive": case_insensitive}
    body |= {"node_limit": node_limit} | _options(exclude_uri=exclude_uri)
    return Call(method="POST", path=f"{API}/search/grep", body=body)


def glob(pattern: str, uri: str, node_limit: int) -> Call[Dict]:
    body = {"pattern": pattern, "uri": uri, "node_limit": node_limit}
    return Call(method="POST", path=f"{API}/search/glob", body=body)
