"""The HTTP clients' own behaviour, against a mocked server (respx).

Every test runs on both ``SyncHTTPClient`` and ``AsyncHTTPClient`` (the ``kind`` fixture). The
async client is driven through a small blocking facade, so one test body serves both. Sleeps
between retries are never real: ``time.sleep`` (sync) or ``asyncio.sleep`` (async) is replaced
by a recorder, and tests assert on the delays the client asked for.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

import skald
from skald_core import errors

URL = "http://skald.test"
API = "/api/v1"
SESSION = f"{API}/sessions/s1"


# ---------------------------------------------------------------------------- responses


def ok(result: Any) -> httpx.Response:
    """A success envelope."""
    body = {"status": "ok", "result": result, "error": None, "time": 0.001}
    return httpx.Response(200, json=body)


def failure(
    status: int,
    code: str,
    message: str = "it failed",
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """An error envelope."""
    error = {"code": code, "message": message, "details": details or {}}
    body = {"status": "error", "result": None, "error": error, "time": 0.001}
    return httpx.Response(status, json=body, headers=headers)


def unavailable() -> httpx.Response:
    return failure(503, "UNAVAILABLE", "busy")


# ---------------------------------------------------------------------------- clients


class Blocking:
    """An ``AsyncHTTPClient`` driven from sync test code: each coroutine runs to completion
    on one event loop (an ``asyncio.Runner``) that lives as long as the client."""

    def __init__(self, client: skald.AsyncHTTPClient) -> None:
        self.client = client
        self.runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self.runner.run(attr(*args, **kwargs))
        return attr

    def close(self) -> None:
        try:
            self.runner.run(self.client.close())
        finally:
            self.runner.close()


MakeClient = Callable[..., Any]


@pytest.fixture(autouse=True)
def no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's SKALD_* / OPENVIKING_* settings must not leak into these tests."""
    for prefix in ("SKALD", "OPENVIKING"):
        for name in ("URL", "API_KEY", "ACCOUNT", "USER"):
            monkeypatch.delenv(f"{prefix}_{name}", raising=False)


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sleeps(kind: str, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the client waited between attempts (nothing really sleeps).

    The sync client must use ``time.sleep`` and the async one ``asyncio.sleep``; the other
    one fails the test if called.
    """
    delays: list[float] = []

    def record(delay: float) -> None:
        delays.append(delay)

    async def record_async(delay: float, result: Any = None) -> Any:
        delays.append(delay)
        return result

    def wrong_sleep(*args: Any) -> None:
        raise AssertionError(f"the {kind} client used the wrong sleep")

    if kind == "sync":
        monkeypatch.setattr(time, "sleep", record)
        monkeypatch.setattr(asyncio, "sleep", wrong_sleep)
    else:
        monkeypatch.setattr(asyncio, "sleep", record_async)
        monkeypatch.setattr(time, "sleep", wrong_sleep)
    return delays


@pytest.fixture
def make_client(kind: str, sleeps: list[float]) -> Iterator[MakeClient]:
    """``make_client(**options)`` → a sync client, or an async one behind ``Blocking``."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("url", URL)
        if kind == "sync":
            client: Any = skald.SyncHTTPClient(**options)
        else:
            client = Blocking(skald.AsyncHTTPClient(**options))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> Any:
    return make_client()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The mocked server; every route a test declares must be called."""
    with respx.mock(base_url=URL, assert_all_called=True) as router:
        yield router


def keys(route: respx.Route) -> list[str | None]:
    return [call.request.headers.get("Idempotency-Key") for call in route.calls]


# ---------------------------------------------------------------------------- error mapping

CONTRACT_CODES = [
    ("INVALID_ARGUMENT", 400, skald.InvalidArgumentError),
    ("INVALID_URI", 400, skald.InvalidURIError),
    ("PAYLOAD_TOO_LARGE", 413, skald.PayloadTooLargeError),
    ("UNAUTHENTICATED", 401, skald.UnauthenticatedError),
    ("FORBIDDEN", 403, skald.ForbiddenError),
    ("PERMISSION_DENIED", 403, skald.ForbiddenError),
    ("NOT_FOUND", 404, skald.NotFoundError),
    ("ALREADY_EXISTS", 409, skald.AlreadyExistsError),
    ("CONFLICT", 409, skald.ConflictError),
    ("ABORTED", 409, skald.AbortedError),
    ("SESSION_EXPIRED", 410, skald.SessionExpiredError),
    ("FAILED_PRECONDITION", 412, skald.FailedPreconditionError),
    ("RESOURCE_EXHAUSTED", 429, skald.ResourceExhaustedError),
    ("UNIMPLEMENTED", 501, skald.UnimplementedError),
    ("UNAVAILABLE", 503, skald.UnavailableError),
    ("DEADLINE_EXCEEDED", 504, skald.DeadlineExceededError),
    ("INTERNAL", 500, skald.InternalError),
]


def test_the_table_covers_every_core_error_code() -> None:
    wire_codes = {code for code, _, _ in CONTRACT_CODES}
    http_only = {"METHOD_NOT_ALLOWED", "UNSUPPORTED_MEDIA_TYPE"}
    assert wire_codes == set(errors.ERROR_CLASSES) - http_only


@pytest.mark.parametrize(
    ("code", "status", "error_class"), CONTRACT_CODES, ids=[c for c, _, _ in CONTRACT_CODES]
)
def test_error_envelope_is_raised_as_the_core_class(
    api: respx.MockRouter,
    make_client: MakeClient,
    code: str,
    status: int,
    error_class: type[skald.SkaldError],
) -> None:
    details = {"type": "session", "resource": "s1", "extra": [1, {"nested": True}]}
    route = api.get(SESSION, name="get_session").mock(
        return_value=failure(status, code, f"{code} happened", details)
    )
    client = make_client(max_retries=0)

    with pytest.raises(error_class) as caught:
        client.get_session("s1")

    err = caught.value
    assert type(err) is error_class
    assert err.message == f"{code} happened"
    assert str(err) == f"{code} happened"
    assert err.details == details
    assert err.code == error_class.code
    assert err.wire_code == code
    assert route.call_count == 1


def test_permission_denied_is_a_forbidden_error(api: respx.MockRouter, client: Any) -> None:
    api.delete(SESSION).mock(return_value=failure(403, "PERMISSION_DENIED", "not yours"))

    with pytest.raises(skald.ForbiddenError) as caught:
        client.delete_session("s1")

    assert caught.value.code == "FORBIDDEN"
    assert isinstance(caught.value, PermissionError)


def test_unknown_code_is_the_base_error_keeping_code_and_details(
    api: respx.MockRouter, client: Any
) -> None:
    details = {"quota": "teapots", "limit": 3}
    api.get(SESSION).mock(return_value=failure(418, "TEAPOT_OVERFLOW", "too much tea", details))

    with pytest.raises(skald.SkaldError) as caught:
        client.get_session("s1")

    err = caught.value
    assert type(err) is skald.SkaldError
    assert err.code == "TEAPOT_OVERFLOW"
    assert err.message == "too much tea"
    assert err.details == details


def test_a_retryable_error_that_persists_surfaces_after_all_attempts(
    api: respx.MockRouter, client: Any, sleeps: list[float]
) -> None:
    route = api.get(SESSION).mock(return_value=unavailable())

    with pytest.raises(skald.UnavailableError):
        client.get_session("s1")

    assert route.call_count == 3
    assert len(sleeps) == 2


# ---------------------------------------------------------------------------- retries


def test_get_is_retried_through_two_503s(
    api: respx.MockRouter, client: Any, sleeps: list[float]
) -> None:
    api.get(SESSION, name="get_session").mock(
        side_effect=[unavailable(), unavailable(), ok({"session_id": "s1"})]
    )

    assert client.get_session("s1") == {"session_id": "s1"}

    assert api["get_session"].call_count == 3
    # Exponential backoff with ±25 % jitter: ~0.25 s, then ~0.5 s.
    assert len(sleeps) == 2
    assert 0.1875 <= sleeps[0] <= 0.3125
    assert 0.375 <= sleeps[1] <= 0.625


def test_429_waits_as_long_as_retry_after_says(
    api: respx.MockRouter, client: Any, sleeps: list[float]
) -> None:
    api.get(f"{API}/sessions", name="list").mock(
        side_effect=[
            failure(429, "RESOURCE_EXHAUSTED", "slow down", headers={"Retry-After": "1"}),
            ok([]),
        ]
    )

    assert client.list_sessions() == []

    assert api["list"].call_count == 2
    assert sleeps == [1.0]


def in_seconds(seconds: float) -> str:
    """An HTTP date ``seconds`` from now, as a Retry-After header may carry it."""
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        pytest.param("120", 60.0, 60.0, id="capped-at-60s"),
        pytest.param(None, None, None, id="http-date"),
        pytest.param("soon", 0.1875, 0.3125, id="unparsable-means-backoff"),
    ],
)
def test_retry_after_forms(
    api: respx.MockRouter,
    client: Any,
    sleeps: list[float],
    retry_after: str | None,
    low: float | None,
    high: float | None,
) -> None:
    header = retry_after if retry_after is not None else in_seconds(30)
    route = api.get(SESSION).mock(
        side_effect=[
            failure(503, "UNAVAILABLE", "later", headers={"Retry-After": header}),
            ok({"session_id": "s1"}),
        ]
    )

    before = time.time()
    assert client.get_session("s1") == {"session_id": "s1"}
    after = time.time()

    assert route.call_count == 2
    assert len(sleeps) == 1
    if low is None or high is None:
        # An HTTP date (whole seconds, ~30 s ahead) means "wait until then": the client
        # measures it against its clock at some instant of the call, however long the
        # call took on a loaded machine.
        until = email.utils.parsedate_to_datetime(header).timestamp()
        low, high = until - after, until - before
    assert low <= sleeps[0] <= high


def test_connection_errors_are_retried_until_the_server_answers(
    api: respx.MockRouter, client: Any, sleeps: list[float]
) -> None:
    route = api.get(SESSION).mock(
        side_effect=[httpx.ConnectError, httpx.ConnectError, ok({"session_id": "s1"})]
    )

    assert client.get_session("s1")["session_id"] == "s1"

    assert route.call_count == 3
    assert len(sleeps) == 2


def test_connection_errors_become_connection_failed_after_max_retries(
    api: respx.MockRouter, make_client: MakeClient, sleeps: list[float]
) -> None:
    route = api.get(SESSION).mock(side_effect=httpx.ConnectError("connection refused"))
    client = make_client(max_retries=3)

    with pytest.raises(skald.ConnectionFailedError) as caught:
        client.get_session("s1")

    assert route.call_count == 4
    assert len(sleeps) == 3
    assert isinstance(caught.value, skald.UnavailableError)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.details["url"] == URL
    assert URL in caught.value.message


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        pytest.param(lambda c: c.mv("viking://a", "viking://b"), "POST", f"{API}/fs/mv", id="mv"),
        pytest.param(
            lambda c: c.write("viking://resources/x.md", "x", mode="create"),
            "POST",
            f"{API}/content/write",
            id="write-create",
        ),
        pytest.param(lambda c: c.create_session(), "POST", f"{API}/sessions", id="create-no-id"),
    ],
)
def test_a_call_without_idempotency_is_not_retried_after_a_503(
    api: respx.MockRouter,
    client: Any,
    sleeps: list[float],
    call: Callable[[Any], Any],
    method: str,
    path: str,
) -> None:
    route = api.route(method=method, path=path).mock(side_effect=[unavailable(), ok({})])

    with pytest.raises(skald.UnavailableError):
        call(client)

    assert route.call_count == 1
    assert sleeps == []


def test_a_call_without_idempotency_is_not_retried_after_a_timeout(
    api: respx.MockRouter, client: Any, sleeps: list[float]
) -> None:
    route = api.post(f"{API}/fs/mv").mock(side_effect=httpx.ReadTimeout)

    with pytest.raises(skald.RequestTimeoutError):
        client.mv("viking://resources/a", "viking://resources/b")

    assert route.call_count == 1
    assert sleeps == []


def test_a_call_without_idempotency_is_retried_when_it_never_reached_the_server(
    api: respx.MockRouter, client: Any
) -> None:
    route = api.post(f"{API}/fs/mv").mock(
        side_effect=[httpx.ConnectError, ok({"from": "viking://a", "to": "viking://b"})]
    )

    assert client.mv("viking://a", "viking://b") == {"from": "viking://a", "to": "viking://b"}
    assert route.call_count == 2


def test_replace_write_is_idempotent_and_retried(api: respx.MockRouter, client: Any) -> None:
    route = api.post(f"{API}/content/write").mock(side_effect=[unavailable(), ok({"uri": "u"})])

    assert client.write("viking://resources/x.md", "x") == {"uri": "u"}
    assert route.call_count == 2


KEYED_CALLS = [
    pytest.param(lambda c: c.add_message("s1", "user", "hi"), f"{SESSION}/messages", id="add"),
    pytest.param(
        lambda c: c.batch_add_messages("s1", [{"role": "user", "content": "hi"}]),
        f"{SESSION}/messages/batch",
        id="batch",
    ),
    pytest.param(lambda c: c.commit_session("s1"), f"{SESSION}/commit", id="commit"),
]


@pytest.mark.parametrize(("call", "path"), KEYED_CALLS)
def test_keyed_calls_reuse_one_idempotency_key_across_retries(
    api: respx.MockRouter, client: Any, call: Callable[[Any], Any], path: str
) -> None:
    route = api.post(path, name="keyed").mock(
        side_effect=[unavailable(), unavailable(), ok({"session_id": "s1"}), ok({})]
    )

    assert call(client) == {"session_id": "s1"}
    first = keys(route)
    call(client)

    assert route.call_count == 4
    assert first[0] and len(set(first)) == 1, first
    second = keys(route)[3]
    assert second and second != first[0]


def test_keyed_calls_are_retried_after_a_timeout_with_the_same_key(
    api: respx.MockRouter, client: Any
) -> None:
    route = api.post(f"{SESSION}/messages").mock(
        side_effect=[httpx.ReadTimeout, ok({"session_id": "s1", "message_count": 1})]
    )

    assert client.add_message("s1", "user", "hi")["message_count"] == 1
    assert route.call_count == 2
    assert len(set(keys(route))) == 1


def test_unkeyed_calls_send_no_idempotency_key(api: respx.MockRouter, client: Any) -> None:
    route = api.get(SESSION).mock(return_value=ok({"session_id": "s1"}))

    client.get_session("s1")

    assert keys(route) == [None]


# ---------------------------------------------------------------------------- timeouts


def test_read_timeout_becomes_request_timeout_error(
    api: respx.MockRouter, make_client: MakeClient, sleeps: list[float]
) -> None:
    route = api.get(SESSION).mock(side_effect=httpx.ReadTimeout)
    client = make_client(timeout=2.5)

    with pytest.raises(skald.RequestTimeoutError) as caught:
        client.get_session("s1")

    err = caught.value
    assert isinstance(err, TimeoutError)
    assert isinstance(err, skald.DeadlineExceededError)
    assert isinstance(err.__cause__, httpx.ReadTimeout)
    assert "2.5s" in err.message
    assert err.details["reason"] == "ReadTimeout"
    assert route.call_count == 3  # GET is idempotent: retried before giving up
    assert len(sleeps) == 2


# ---------------------------------------------------------------------------- bad bodies


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(
            httpx.Response(502, html="<html><body><h1>502 Bad Gateway</h1></body></html>"),
            id="html-502",
        ),
        pytest.param(httpx.Response(200, text="all good"), id="plain-text-200"),
        pytest.param(httpx.Response(200, json={"result": {"session_id": "s1"}}), id="no-status"),
        pytest.param(httpx.Response(200, content=b""), id="empty-body"),
        pytest.param(httpx.Response(404, json={"detail": "Not Found"}), id="bare-detail-404"),
        pytest.param(httpx.Response(200, json=["status", "ok"]), id="json-list"),
    ],
)
def test_an_answer_that_is_not_an_envelope_is_a_bad_response(
    api: respx.MockRouter, make_client: MakeClient, response: httpx.Response
) -> None:
    api.get(SESSION).mock(return_value=response)
    client = make_client(max_retries=0)

    with pytest.raises(skald.BadResponseError) as caught:
        client.get_session("s1")

    assert type(caught.value) is skald.BadResponseError
    assert caught.value.details["status"] == response.status_code
    assert f"HTTP {response.status_code}" in caught.value.message


def test_a_bad_gateway_page_is_retried_before_it_surfaces(
    api: respx.MockRouter, client: Any
) -> None:
    route = api.get(SESSION).mock(
        side_effect=[httpx.Response(502, html="<h1>502 Bad Gateway</h1>"), ok({"session_id": "s1"})]
    )

    assert client.get_session("s1") == {"session_id": "s1"}
    assert route.call_count == 2


# ---------------------------------------------------------------------------- special answers


def test_health_is_true_when_the_server_says_ok(api: respx.MockRouter, client: Any) -> None:
    api.get("/health").mock(return_value=httpx.Response(200, json={"status": "ok"}))

    assert client.health() is True


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.ConnectError, id="unreachable"),
        pytest.param(httpx.ReadTimeout, id="timeout"),
        pytest.param(httpx.Response(200, text="starting"), id="not-json"),
        pytest.param(httpx.Response(503, json={"status": "starting"}), id="not-ok"),
    ],
)
def test_health_is_false_at_once_otherwise(
    api: respx.MockRouter, client: Any, sleeps: list[float], answer: Any
) -> None:
    route = api.get("/health").mock(
        side_effect=[answer, httpx.Response(200, json={"status": "ok"})]
    )

    assert client.health() is False
    assert route.call_count == 1  # a probe is not retried
    assert sleeps == []


def test_get_task_is_none_when_the_task_is_not_found(api: respx.MockRouter, client: Any) -> None:
    api.get(f"{API}/tasks/t-missing").mock(
        return_value=failure(
            404, "NOT_FOUND", "Task not found: t-missing", {"type": "task", "resource": "t-missing"}
        )
    )

    assert client.get_task("t-missing") is None


def test_get_task_returns_the_task(api: respx.MockRouter, client: Any) -> None:
    task = {"task_id": "t1", "status": "completed"}
    api.get(f"{API}/tasks/t1").mock(return_value=ok(task))

    assert client.get_task("t1") == task


def test_get_task_does_not_hide_other_errors(api: respx.MockRouter, client: Any) -> None:
    api.get(f"{API}/tasks/t1").mock(return_value=failure(403, "FORBIDDEN", "no"))

    with pytest.raises(skald.ForbiddenError):
        client.get_task("t1")


NOT_FOUND_S1 = {"type": "session", "resource": "s1"}


def test_delete_session_missing_ok_swallows_not_found(api: respx.MockRouter, client: Any) -> None:
    api.delete(SESSION).mock(
        return_value=failure(404, "NOT_FOUND", "Session not found: s1", NOT_FOUND_S1)
    )

    receipt = client.delete_session("s1", missing_ok=True)

    assert receipt == {"session_id": "s1", "mode": "hard", "deleted": None, "kept": None}


def test_delete_session_raises_not_found_by_default(api: respx.MockRouter, client: Any) -> None:
    api.delete(SESSION).mock(
        return_value=failure(404, "NOT_FOUND", "Session not found: s1", NOT_FOUND_S1)
    )

    with pytest.raises(skald.NotFoundError) as caught:
        client.delete_session("s1")

    assert caught.value.details == NOT_FOUND_S1


def test_delete_session_missing_ok_still_raises_other_errors(
    api: respx.MockRouter, client: Any
) -> None:
    api.delete(SESSION).mock(
        return_value=failure(412, "FAILED_PRECONDITION", "uncommitted", {"uncommitted_messages": 2})
    )

    with pytest.raises(skald.FailedPreconditionError):
        client.delete_session("s1", missing_ok=True, require_committed=True)


def test_delete_session_sends_mode_and_require_committed(
    api: respx.MockRouter, client: Any
) -> None:
    route = api.delete(SESSION).mock(return_value=ok({"session_id": "s1"}))

    client.delete_session("s1", require_committed=True)

    assert route.calls.last.request.url.params["require_committed"] == "true"


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("url_var", "key_var"),
    [("OPENVIKING_URL", "OPENVIKING_API_KEY"), ("SKALD_URL", "SKALD_API_KEY")],
)
def test_url_and_api_key_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    make_client: MakeClient,
    url_var: str,
    key_var: str,
) -> None:
    monkeypatch.setenv(url_var, "http://from-env.test:1933/")
    monkeypatch.setenv(key_var, "env-key")
    with respx.mock(assert_all_called=True) as router:
        route = router.get("http://from-env.test:1933/api/v1/sessions").mock(return_value=ok([]))
        client = make_client(url=None, api_key=None)

        assert client.list_sessions() == []

    assert client.url == "http://from-env.test:1933"
    assert route.calls.last.request.headers["X-API-Key"] == "env-key"


def test_skald_variables_win_over_openviking_ones(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    monkeypatch.setenv("OPENVIKING_URL", "http://openviking.test")
    monkeypatch.setenv("OPENVIKING_API_KEY", "ov-key")
    monkeypatch.setenv("SKALD_URL", "http://skald-env.test")
    monkeypatch.setenv("SKALD_API_KEY", "skald-key")
    with respx.mock(assert_all_called=True) as router:
        route = router.get("http://skald-env.test/api/v1/sessions").mock(return_value=ok([]))
        make_client(url=None).list_sessions()

    assert route.calls.last.request.headers["X-API-Key"] == "skald-key"


def test_explicit_arguments_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    monkeypatch.setenv("SKALD_URL", "http://skald-env.test")
    monkeypatch.setenv("OPENVIKING_API_KEY", "ov-key")
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{URL}/api/v1/sessions").mock(return_value=ok([]))
        make_client(url=URL, api_key="explicit").list_sessions()

    assert route.calls.last.request.headers["X-API-Key"] == "explicit"


def test_no_api_key_sends_no_key_header(api: respx.MockRouter, client: Any) -> None:
    route = api.get(f"{API}/sessions").mock(return_value=ok([]))

    client.list_sessions()

    assert "X-API-Key" not in route.calls.last.request.headers


# ---------------------------------------------------------------------------- lifecycle

STATUS = {"initialized": True, "version": "0", "account": "default", "user": "default"}


def test_initialize_checks_the_server_and_the_key(
    api: respx.MockRouter, make_client: MakeClient
) -> None:
    route = api.get(f"{API}/system/status").mock(
        side_effect=[ok(STATUS), failure(401, "UNAUTHENTICATED", "bad key")]
    )
    make_client(api_key="good").initialize()
    with pytest.raises(errors.UnauthenticatedError):
        make_client(api_key="bad").initialize()
    assert [c.request.headers.get("X-API-Key") for c in route.calls] == ["good", "bad"]


def test_initialize_fails_when_nothing_listens(make_client: MakeClient) -> None:
    with respx.mock(base_url=URL) as router:
        router.get(f"{API}/system/status").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(errors.ConnectionFailedError, match="Cannot reach Skald"):
            make_client().initialize()


def test_sync_context_manager_closes_the_client(api: respx.MockRouter) -> None:
    api.get(f"{API}/system/status").mock(return_value=ok(STATUS))
    api.get(f"{API}/sessions").mock(return_value=ok([]))

    with skald.SyncHTTPClient(url=URL) as client:
        assert client.list_sessions() == []
        assert not client._http.is_closed

    assert client._http.is_closed
    with pytest.raises(RuntimeError):
        client.list_sessions()


def test_async_context_manager_closes_the_client(api: respx.MockRouter) -> None:
    api.get(f"{API}/system/status").mock(return_value=ok(STATUS))
    api.get(f"{API}/sessions").mock(return_value=ok([]))

    async def scenario() -> skald.AsyncHTTPClient:
        async with skald.AsyncHTTPClient(url=URL) as client:
            assert await client.list_sessions() == []
            assert not client._http.is_closed
        return client

    client = asyncio.run(scenario())

    assert client._http.is_closed


def test_an_injected_http_client_is_left_open(api: respx.MockRouter) -> None:
    api.get(f"{API}/system/status").mock(return_value=ok(STATUS))
    api.get(f"{API}/sessions").mock(return_value=ok([]))
    http = httpx.Client(base_url=URL)

    with skald.SyncHTTPClient(url=URL, http_client=http) as client:
        client.list_sessions()

    assert not http.is_closed
    http.close()
