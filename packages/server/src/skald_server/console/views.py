"""The console's pages: server-rendered (Jinja), HTMX for partial updates.

A page handler only turns the request into a call of a core service with the signed-in
identity (``auth.identify``, the API's rule) and renders what comes back; it never reads the
store on its own. Forms post to these routes (URL-encoded, same origin, CSRF token), not to
``/api/v1``: the API keeps its own stricter checks untouched.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from skald_core import ids
from skald_core.errors import ForbiddenError, InvalidArgumentError, SkaldError
from skald_core.identity import Identity
from skald_core.literals import DeleteMode
from skald_core.schemas import DeleteOptions, DeletionReceipt, SessionListItem
from skald_core.service.deletion import MAX_BATCH_DELETE
from skald_core.service.key_admin import KEY_ROLES, KeyAdmin
from skald_core.service.memory_view import memories_by_category, memory_view
from skald_core.service.session_view import count_sessions, forgettable_memories, session_view

from ..auth import identify
from ..context import Services, ServicesDep
from .cleanup_runs import CleanupRuns
from .logins import COOKIE, LOGIN_TTL_SECONDS, Login, Logins, check_csrf, check_same_origin

LoginsDep = NamedDependency[Logins]
RunsDep = NamedDependency[CleanupRuns]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE = 50
STATES = ("live", "trash", "all")
#: The ``user`` that means every user of the account (root and admins), as in the API.
ALL_USERS = "*"


class SignInRequired(Exception):
    """No (or an expired) console sign-in: the page answers with the sign-in form."""


@dataclass(frozen=True, slots=True)
class Who:
    """The signed-in caller of one console request."""

    login: Login
    identity: Identity
    scope: dict[str, str]  # the account/user a root or admin is looking at (query string)
    dev_mode: bool

    @property
    def is_admin(self) -> bool:
        return self.identity.role in ("root", "admin")

    @property
    def all_users(self) -> bool:
        """Looking at every user's sessions (``user=*``, as ``GET /api/v1/sessions?user=*``)."""
        return self.scope.get("user") == ALL_USERS

    def q(self, **extra: Any) -> str:
        """A query string keeping who is being looked at, plus ``extra`` (None dropped)."""
        params = {**self.scope, **{k: v for k, v in extra.items() if v not in (None, "")}}
        return "?" + urlencode(params) if params else ""


def _scope(query: Mapping[str, str]) -> dict[str, str]:
    """The account/user the query asks to look at: whether the key may is the API's rule
    (``identify``), exactly as for the ``X-OpenViking-Account``/``-User`` headers."""
    scope: dict[str, str] = {}
    for name in ("account", "user"):
        if name == "user" and query.get(name) == ALL_USERS:
            scope[name] = ALL_USERS
        elif query.get(name):
            scope[name] = ids.check_id(query[name], name)
    return scope


def who(request: Request[Any, Any, Any], services: Services, logins: Logins) -> Who:
    login = logins.find(request.cookies.get(COOKIE))
    if login is None:
        raise SignInRequired
    scope = _scope(request.query_params)
    identity = identify(
        services,
        login.key,
        account=scope.get("account"),
        user=None if scope.get("user") == ALL_USERS else scope.get("user"),
        method=request.method,
    )
    return Who(login=login, identity=identity, scope=scope, dev_mode=services.config.dev_mode)


def _mutating(
    request: Request[Any, Any, Any], services: Services, logins: Logins, form: Form
) -> Who:
    check_same_origin(request)
    caller = who(request, services, logins)
    check_csrf(caller.login, form.get("csrf"))
    return caller


def page(name: str, caller: Who | None, **context: Any) -> Template:
    return Template(template_name=name, context={"who": caller, **context})


# ----------------------------------------------------------------------------- sign in/out


@get("/", sync_to_thread=False, include_in_schema=False)
def home() -> Redirect:
    return Redirect("/console/sessions")


@get("/signin", sync_to_thread=False, include_in_schema=False)
def signin_form(services: ServicesDep) -> Template:
    return page("signin.html", None, dev_mode=services.config.dev_mode, error=None)


@post("/signin", sync_to_thread=True, include_in_schema=False, status_code=303)
def signin(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: Form
) -> Response[Any]:
    check_same_origin(request)
    key = None if services.config.dev_mode else (data.get("key") or "").strip() or None
    try:
        identify(services, key, account=None, user=None, method="GET")
    except SkaldError as exc:
        return Template(
            template_name="signin.html",
            context={"who": None, "dev_mode": services.config.dev_mode, "error": exc.message},
            status_code=exc.http_status,
        )
    logins.sign_out(request.cookies.get(COOKIE))
    token, _ = logins.sign_in(key)
    response: Response[Any] = Redirect("/console/sessions", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        path="/console",
        max_age=LOGIN_TTL_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@post("/signout", sync_to_thread=False, include_in_schema=False, status_code=303)
def signout(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: Form
) -> Response[Any]:
    _mutating(request, services, logins, data)
    logins.sign_out(request.cookies.get(COOKIE))
    response: Response[Any] = Redirect("/console/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


# ----------------------------------------------------------------------------- sessions


def _int(value: str | None, default: int, allowed: tuple[int, ...]) -> int:
    try:
        n = int(value) if value else default
    except ValueError:
        raise InvalidArgumentError("limit must be a number", {"field": "limit"}) from None
    return n if n in allowed else default


def _day(value: str | None, field: str, *, end: bool = False) -> float | None:
    """A ``YYYY-MM-DD`` form date as epoch seconds (UTC): its start, or (``end``) the next
    day's start, so the range includes the whole day."""
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(
            f"{field} must be a date (YYYY-MM-DD)", {"field": field}
        ) from None
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    return (start + datetime.timedelta(days=1 if end else 0)).timestamp()


def _page_of(
    services: Services,
    identity: Identity,
    state: str,
    limit: int,
    cursor: str | None,
    created: tuple[float | None, float | None] = (None, None),
    all_users: bool = False,
) -> tuple[list[SessionListItem], str | None]:
    """One page of the list, and the cursor of the next (None: last page). The trash view
    reads pages of the full list until it has ``limit`` trashed sessions. ``all_users``:
    every user's sessions (the API's ``user=*``, cursors ``user/session_id``)."""
    since, before = created

    def key(item: SessionListItem) -> str:
        return f"{item.user}/{item.session_id}" if all_users else item.session_id

    if state == "live":
        rows = services.sessions.list_sessions(
            identity,
            limit=limit + 1,
            cursor=cursor,
            created_since=since,
            created_before=before,
            all_users=all_users,
        )
        page = rows[:limit]
        return page, (key(page[-1]) if len(rows) > limit and page else None)
    got: list[SessionListItem] = []
    after = cursor
    while True:
        batch = services.sessions.list_sessions(
            identity,
            limit=limit + 1,
            cursor=after,
            include_deleted=True,
            created_since=since,
            created_before=before,
            all_users=all_users,
        )
        for item in batch[:limit]:
            if state == "all" or item.deleted_at:
                got.append(item)
                if len(got) == limit:
                    rest = batch[batch.index(item) + 1 :]
                    return got, (key(item) if rest else None)
        if len(batch) <= limit:
            return got, None
        after = key(batch[limit - 1])


#: Sessions shown for a text search (the best matches; no further pages).
SEARCH_LIMIT = 100


@get("/sessions", sync_to_thread=True, include_in_schema=False)
def sessions(request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep) -> Template:
    caller = who(request, services, logins)
    query = request.query_params
    state = query.get("state") or "live"
    if state not in STATES:
        raise InvalidArgumentError("state must be live, trash or all", {"field": "state"})
    limit = _int(query.get("limit"), DEFAULT_PAGE, PAGE_SIZES)
    cursor = query.get("cursor") or None
    since, until = query.get("since") or "", query.get("until") or ""
    created = (_day(since, "since"), _day(until, "until", end=True))
    text = (query.get("q") or "").strip()
    total: int | None
    if text:  # live sessions whose messages hold the words, best first, one page
        if state != "live" or caller.all_users:
            raise InvalidArgumentError(
                "text search looks in one user's live sessions: choose Live and a user",
                {"field": "q"},
            )
        rows = services.sessions.matching(
            caller.identity,
            text,
            SEARCH_LIMIT,
            created_since=created[0],
            created_before=created[1],
        )
        next_cursor, total = None, len(rows)
    else:
        rows, next_cursor = _page_of(
            services, caller.identity, state, limit, cursor, created, caller.all_users
        )
        # The total counts one user's sessions; the every-user view shows none.
        total = (
            None
            if caller.all_users
            else count_sessions(
                services.sessions,
                caller.identity,
                state,  # type: ignore[arg-type]  # one of STATES
                created_since=created[0],
                created_before=created[1],
            )
        )
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-target") == "session-page"
    )
    return page(
        "sessions_page.html" if partial else "sessions.html",
        caller,
        rows=rows,
        total=total,
        state=state,
        limit=limit,
        cursor=cursor,
        next_cursor=next_cursor,
        since=since,
        until=until,
        page_sizes=PAGE_SIZES,
        text=text,
        search_limit=SEARCH_LIMIT,
    )


@get("/sessions/{session_id:str}", sync_to_thread=True, include_in_schema=False)
def session(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    session_id: FromPath[str],
) -> Template:
    caller = who(request, services, logins)
    view = session_view(services.sessions, caller.identity, session_id)
    restored = request.query_params.get("restored") == "1"
    return page("session.html", caller, s=view, restored=restored)


def _options(query: Mapping[str, str]) -> DeleteOptions:
    mode: DeleteMode = "soft" if query.get("mode") == "soft" else "hard"
    return DeleteOptions(
        mode=mode,
        forget_memories=mode == "hard" and query.get("forget_memories") in ("1", "on", "true"),
        commit_first=mode == "hard" and query.get("commit_first") in ("1", "on", "true"),
    )


@get("/sessions/{session_id:str}/delete", sync_to_thread=True, include_in_schema=False)
def delete_preview(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    session_id: FromPath[str],
) -> Template:
    """The dry run: what deleting (trash or purge) would remove and keep; then confirm."""
    caller = who(request, services, logins)
    options = _options(request.query_params)
    view = session_view(services.sessions, caller.identity, session_id)
    receipt = services.deletion.preview(caller.identity, session_id, options)
    forgettable = (
        forgettable_memories(services.sessions, caller.identity, session_id)
        if options.mode == "hard"
        else []
    )
    return page(
        "delete_preview.html",
        caller,
        s=view,
        options=options,
        receipt=receipt,
        forgettable=forgettable,
    )


@post("/sessions/{session_id:str}/delete", sync_to_thread=True, include_in_schema=False)
def delete_session(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    session_id: FromPath[str],
    data: Form,
) -> Template:
    caller = _mutating(request, services, logins, data)
    options = _options(data)
    receipt = services.deletion.delete(caller.identity, session_id, options)
    return page("deleted.html", caller, receipt=receipt, options=options)


@post("/sessions/{session_id:str}/restore", sync_to_thread=True, include_in_schema=False)
def restore_session(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    session_id: FromPath[str],
    data: Form,
) -> Redirect:
    caller = _mutating(request, services, logins, data)
    services.deletion.restore(caller.identity, session_id)
    return Redirect(f"/console/sessions/{session_id}{caller.q(restored=1)}", status_code=303)


# ----------------------------------------------------------------------------- many sessions

BatchForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass(frozen=True, slots=True)
class Previewed:
    session_id: str
    receipt: DeletionReceipt | None
    error: SkaldError | None


def _ids(values: Any) -> list[str]:
    ids_ = [values] if isinstance(values, str) else list(values or [])
    if not ids_:
        raise InvalidArgumentError("Select at least one session", {"field": "session_ids"})
    return [str(v) for v in dict.fromkeys(ids_)]


@get("/batch", sync_to_thread=True, include_in_schema=False)
def batch_preview(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep
) -> Template:
    """The dry run of each selected session's deletion, then one confirm for all."""
    caller = who(request, services, logins)
    ids_ = _ids(request.query_params.getall("ids", []))
    if len(ids_) > MAX_BATCH_DELETE:
        raise InvalidArgumentError(
            f"Select at most {MAX_BATCH_DELETE} sessions", {"field": "session_ids"}
        )
    options = _options(request.query_params)
    rows: list[Previewed] = []
    for sid in ids_:
        try:
            rows.append(
                Previewed(sid, services.deletion.preview(caller.identity, sid, options), None)
            )
        except SkaldError as exc:
            rows.append(Previewed(sid, None, exc))
    return page("batch_preview.html", caller, rows=rows, options=options)


@post("/batch", sync_to_thread=True, include_in_schema=False, status_code=200)
def batch_delete(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: BatchForm
) -> Template:
    caller = _mutating(request, services, logins, {"csrf": str(data.get("csrf") or "")})
    options = _options({k: str(v) for k, v in data.items() if isinstance(v, str)})
    result = services.deletion.delete_many(caller.identity, _ids(data.get("ids")), options)
    return page("batch_done.html", caller, result=result, options=options)


def _days(raw: str | None) -> float:
    try:
        return float(raw or "")
    except ValueError:
        raise InvalidArgumentError(
            "older_than_days must be a number", {"field": "older_than_days"}
        ) from None


@get("/cleanup", sync_to_thread=True, include_in_schema=False)
def cleanup_preview(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, runs: RunsDep
) -> Template:
    """Sessions older than N days: the dry-run table first; this sign-in's runs below."""
    caller = who(request, services, logins)
    query = request.query_params
    days_raw = query.get("older_than_days")
    by = query.get("by") or "updated_at"
    options = _options(query) if query.get("mode") else DeleteOptions(mode="soft")
    result = None
    if days_raw:
        result = services.deletion.cleanup(
            caller.identity,
            older_than_days=_days(days_raw),
            by=by,  # type: ignore[arg-type]  # checked by the service
            options=options,
            dry_run=True,
        )
    return page(
        "cleanup.html",
        caller,
        result=result,
        by=by,
        days=days_raw or "",
        options=options,
        runs=runs.of(caller.identity),
    )


@post("/cleanup", sync_to_thread=True, include_in_schema=False)
def cleanup_run(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    runs: RunsDep,
    data: Form,
) -> Redirect:
    """Start the confirmed cleanup in the background and go to its progress page."""
    caller = _mutating(request, services, logins, data)
    run = runs.start(
        caller.identity,
        older_than_days=_days(data.get("older_than_days")),
        by=data.get("by") or "updated_at",  # type: ignore[arg-type]  # checked by the service
        options=_options(data),
    )
    return Redirect(f"/console/cleanup/runs/{run.run_id}{caller.q()}", status_code=303)


@get("/cleanup/runs/{run_id:str}", sync_to_thread=True, include_in_schema=False)
def cleanup_progress(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    runs: RunsDep,
    run_id: FromPath[str],
) -> Template:
    """A run's progress: the whole page, or (HTMX polling) the progress block alone."""
    caller = who(request, services, logins)
    run = runs.find(caller.identity, run_id)
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-target") == "run-progress"
    )
    response = page(
        "cleanup_progress.html" if partial else "cleanup_run.html",
        caller,
        run=run,
        run_id=run_id,
    )
    if run is None and not partial:  # a poll gets 200, so HTMX swaps the explanation in
        response.status_code = 404
    return response


@post("/cleanup/runs/{run_id:str}/stop", sync_to_thread=True, include_in_schema=False)
def cleanup_stop(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    runs: RunsDep,
    run_id: FromPath[str],
    data: Form,
) -> Redirect:
    caller = _mutating(request, services, logins, data)
    runs.stop(caller.identity, run_id)
    return Redirect(f"/console/cleanup/runs/{run_id}{caller.q()}", status_code=303)


# ----------------------------------------------------------------------------- memories


@get("/memories", sync_to_thread=True, include_in_schema=False)
def memories(request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep) -> Template:
    caller = who(request, services, logins)
    groups = memories_by_category(services.files, caller.identity)
    return page("memories.html", caller, groups=groups)


@get("/memory", sync_to_thread=True, include_in_schema=False)
def memory(request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep) -> Template:
    caller = who(request, services, logins)
    view = memory_view(services.files, caller.identity, request.query_params.get("uri") or "")
    saved = request.query_params.get("saved") == "1"
    return page("memory.html", caller, m=view, saved=saved)


@post("/memory/edit", sync_to_thread=True, include_in_schema=False)
def edit_memory(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: Form
) -> Redirect:
    caller = _mutating(request, services, logins, data)
    view = memory_view(services.files, caller.identity, data.get("uri") or "")
    services.files.write(caller.identity, view.uri, data.get("content") or "", "replace")
    return Redirect(f"/console/memory{caller.q(uri=view.uri, saved=1)}", status_code=303)


@post("/memory/delete", sync_to_thread=True, include_in_schema=False)
def delete_memory(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: Form
) -> Redirect:
    caller = _mutating(request, services, logins, data)
    view = memory_view(services.files, caller.identity, data.get("uri") or "")
    services.files.rm(caller.identity, view.uri)
    return Redirect(f"/console/memories{caller.q()}", status_code=303)


# ----------------------------------------------------------------------------- admin


@get("/audit", sync_to_thread=True, include_in_schema=False)
def audit(request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep) -> Template:
    caller = who(request, services, logins)
    if not caller.is_admin:
        raise ForbiddenError("The audit log is for admins", {"reason": "admin_required"})
    query = request.query_params
    before_raw = query.get("before")
    before = int(before_raw) if before_raw and before_raw.isdigit() else None
    entries = services.deletion.audit(
        caller.identity,
        account=caller.scope.get("account"),
        limit=100,
        action=query.get("action") or None,
        session_id=query.get("session_id") or None,
        before=before,
    )
    return page(
        "audit.html",
        caller,
        entries=entries,
        action=query.get("action") or "",
        session_id=query.get("session_id") or "",
        next_before=entries[-1].id if len(entries) == 100 else None,
    )


def _keys_page(
    services: Services, caller: Who, *, created: Any = None, status_code: int = 200
) -> Template:
    if not caller.is_admin:
        raise ForbiddenError("API keys are managed by admins", {"reason": "admin_required"})
    account = caller.scope.get("account")
    records = KeyAdmin(services.keys).list(caller.identity, account)
    response = page(
        "keys.html", caller, keys=records, created=created, roles=KEY_ROLES, account=account
    )
    response.status_code = status_code
    if created is not None:  # the secret is on this page: never cache it
        response.headers["Cache-Control"] = "no-store"
    return response


@get("/keys", sync_to_thread=True, include_in_schema=False)
def keys(request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep) -> Template:
    return _keys_page(services, who(request, services, logins))


@post("/keys", sync_to_thread=True, include_in_schema=False, status_code=200)
def create_key(
    request: Request[Any, Any, Any], services: ServicesDep, logins: LoginsDep, data: Form
) -> Template:
    caller = _mutating(request, services, logins, data)
    account = data.get("account") or caller.scope.get("account") or caller.identity.account
    new = KeyAdmin(services.keys).create(
        caller.identity,
        account,
        (data.get("user") or "").strip(),
        data.get("role") or "user",
        data.get("read_only") in ("1", "on"),
    )
    return _keys_page(services, caller, created=new)


@post("/keys/{key_id:str}/revoke", sync_to_thread=True, include_in_schema=False)
def revoke_key(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    logins: LoginsDep,
    key_id: FromPath[str],
    data: Form,
) -> Redirect:
    caller = _mutating(request, services, logins, data)
    KeyAdmin(services.keys).revoke(caller.identity, key_id)
    return Redirect(f"/console/keys{caller.q()}", status_code=303)


ROUTES = [
    home,
    signin_form,
    signin,
    signout,
    sessions,
    batch_preview,
    batch_delete,
    cleanup_preview,
    cleanup_run,
    cleanup_progress,
    cleanup_stop,
    session,
    delete_preview,
    delete_session,
    restore_session,
    memories,
    memory,
    edit_memory,
    delete_memory,
    audit,
    keys,
    create_key,
    revoke_key,
]
