"""The four clients expose one surface: same names, parameters and return annotations, and
the same behaviour on bad calls: the same exception class and code (issue 12 §6).

``ClientAPI`` / ``AsyncClientAPI`` in ``skald_core.sdk.surface`` are the written description;
every client must match it exactly (async twins with ``Session`` → ``AsyncSession``).
"""

import asyncio
import inspect
import math
import typing
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from support.asgi import async_client, sync_client

import skald
from skald_core.sdk import surface
from skald_server.app import create_app
from skald_server.config import ServerConfig


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or isinstance(member, property):
            continue
        if callable(member):
            out[name] = inspect.signature(member)
    return out


def normalise(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("'", "")
    return text.replace("AsyncSession", "Session")


def describe(sig: inspect.Signature) -> list[tuple[str, str, object, str]]:
    params = [
        (p.name, p.kind.name, p.default, normalise(p.annotation))
        for p in sig.parameters.values()
        if p.name != "self"
    ]
    return [*params, ("return", "", None, normalise(sig.return_annotation))]


SYNC = [skald.OpenViking, skald.SyncHTTPClient]
ASYNC = [skald.AsyncOpenViking, skald.AsyncHTTPClient]


@pytest.mark.parametrize("cls", SYNC + ASYNC, ids=lambda c: c.__name__)
def test_client_matches_the_described_surface(cls: type) -> None:
    spec = surface.AsyncClientAPI if cls in ASYNC else surface.ClientAPI
    expected = public_methods(spec)
    actual = public_methods(cls)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert not missing, f"{cls.__name__} lacks {missing}"
    assert not extra, f"{cls.__name__} has methods not in the surface: {extra}"
    for name, sig in expected.items():
        assert describe(actual[name]) == describe(sig), f"{cls.__name__}.{name} differs"


@pytest.mark.parametrize(
    "sync_cls, async_cls", list(zip(SYNC, ASYNC, strict=True)), ids=["embedded", "http"]
)
def test_async_twins_are_coroutines_with_the_sync_signature(
    sync_cls: type, async_cls: type
) -> None:
    sync_methods = public_methods(sync_cls)
    async_methods = public_methods(async_cls)
    assert set(async_methods) == set(sync_methods)
    for name in sync_methods:
        member = getattr(async_cls, name)
        assert inspect.iscoroutinefunction(member), f"{async_cls.__name__}.{name} is not async"
        assert describe(async_methods[name]) == describe(sync_methods[name])


def test_the_facade_re_exports_the_core_error_classes() -> None:
    from skald_core import errors

    assert skald.NotFoundError is errors.NotFoundError
    assert skald.ForbiddenError is errors.ForbiddenError is skald.PermissionDeniedError


# ---------------------------------------------------------------------------- behaviour
#
# The same bad call through all four clients raises the same exception class with the same
# code (issue 12 §6). The calls are generated from ``surface.ClientAPI``'s annotations, one bad
# argument at a time (the others valid), so a method added to the surface is covered too.


#: Methods that take no argument worth breaking, or need a running worker.
NOT_CALLED = {"initialize", "close", "health", "ctx", "wait_processed"}
TWENTY_MB = "x" * (20 * 1024 * 1024)

#: A valid value for each parameter name (the state every client starts from has them).
VALID: dict[str, Any] = {
    "session_id": "s1",
    "session_ids": ["s1"],
    "role": "user",
    "content": "hello",
    "parts": None,
    "messages": [{"role": "user", "content": "x"}],
    "uri": "viking://session/s1/messages.jsonl",
    "from_uri": "viking://user/default/resources/a.md",
    "to_uri": "viking://user/default/resources/b.md",
    "archive_id": "archive_001",
    "task_id": str(uuid.UUID(int=1)),
    "older_than_days": 36_000.0,
    "user": "nobody",
}
IDS = {"session_id", "archive_id", "task_id", "user", "account", "peer_id", "turn_id", "cursor"}
URIS = {"uri", "from_uri", "to_uri"}


def _hints(name: str) -> dict[str, Any]:
    from skald_core.sdk import session as session_module

    namespace = {**vars(typing), **vars(surface), **vars(session_module)}
    return typing.get_type_hints(getattr(surface.ClientAPI, name), namespace)


def bad_values(name: str, annotation: Any) -> list[tuple[str, Any]]:
    """``(label, value)`` pairs a caller could wrongly pass for a parameter."""
    out: list[tuple[str, Any]] = []
    args = get_args(annotation)
    optional = type(None) in args
    core = next((a for a in args if a is not type(None)), annotation) if optional else annotation
    if not optional:
        out.append(("None", None))
    origin = get_origin(core)
    if core is str:
        out += [("int", 123), ("bytes", b"s1"), ("list", ["s1"]), ("surrogate", "s\ud800")]
        out += [("huge", "x" * 5000)]
        if name in IDS:
            out += [(f"id{i}", v) for i, v in enumerate(["", "a/b", "a\x00b", "..", " a", "a\x85"])]
            if name == "session_id":
                out += [("action", "cleanup")]
        if name in URIS:
            out += [("not-uri", "s1"), ("escape", "viking://user/default/../../x")]
            out += [("foreign", "viking://user/other/x"), ("ctl", "viking://user/default/\x7f")]
        if name in ("role",):
            out += [("ctl", "us\x9fer"), ("empty", "")]
    elif core is int:
        out += [("str", "5"), ("float", 1.5), ("bool", True), ("big", 10**30), ("neg", -(10**30))]
    elif core is float:
        out += [("str", "1"), ("bool", True), ("nan", math.nan), ("inf", math.inf), ("neg", -1.0)]
    elif core is bool:
        out += [("str", "yes"), ("int", 1)]
    elif origin is Literal:
        out += [("unknown", "weird"), ("int", 1)]
    elif origin is list:
        (item,) = get_args(core)
        out += [("str", "s1"), ("dict", {"a": 1}), ("ints", [1])]
        if item is str:
            out += [("surrogate", ["s\ud800"]), ("ids", ["a/b"]), ("empty", [])]
        else:
            text = {"role": "user", "content": "s\ud800"}
            out += [("surrogate", [text]), ("part", [{"type": "text", "text": "s\ud800"}])]
            out += [("nested", [{"role": "user", "parts": [{"type": "text"}]}])]
            if name == "messages":
                out += [("20MB", [{"role": "user", "content": TWENTY_MB}])]
    if name == "content":
        out += [("20MB", TWENTY_MB)]
    return out


def bad_calls() -> Iterator[Any]:
    for method in sorted(public_methods(surface.ClientAPI)):
        if method in NOT_CALLED:
            continue
        sig = inspect.signature(getattr(surface.ClientAPI, method))
        hints = _hints(method)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        base = {
            p.name: VALID.get(p.name, p.default)
            for p in params
            if p.default is inspect.Parameter.empty or p.name in VALID
        }
        for p in params:
            for label, value in bad_values(p.name, hints[p.name]):
                yield pytest.param(method, {**base, p.name: value}, id=f"{method}-{p.name}-{label}")


class FourClients:
    """The four clients, each on a store of its own (a data directory, or a PostgreSQL schema)
    holding the same starting state."""

    def __init__(self, base: Path, stack: ExitStack, backend: str) -> None:
        def where(kind: str) -> dict[str, Any]:
            if backend == "sqlite":
                return {"path": str(base / kind)}
            from postgres.support import DATABASE_URL, fresh_schema

            schema = stack.enter_context(fresh_schema(f"skald_parity_{kind}"))
            return {
                "path": str(base / kind),
                "database_url": DATABASE_URL,
                "database_schema": schema,
            }

        self.loop = asyncio.new_event_loop()
        stack.callback(self.loop.close)
        self.embedded = stack.enter_context(skald.OpenViking(**where("embedded")))
        self.aembedded = skald.AsyncOpenViking(**where("aembedded"))
        stack.callback(lambda: self.loop.run_until_complete(self.aembedded.close()))
        self.http = stack.enter_context(sync_client(create_app(ServerConfig(**where("http")))))
        self.ahttp = async_client(create_app(ServerConfig(**where("ahttp")), start_worker=False))
        stack.callback(lambda: self.loop.run_until_complete(self.ahttp.close()))
        for kind in self.kinds():
            self.call(kind, "add_message", {"session_id": "s1", "role": "user", "content": "a"})

    @staticmethod
    def kinds() -> list[str]:
        return ["embedded", "aembedded", "http", "ahttp"]

    def call(self, kind: str, method: str, kwargs: dict[str, Any]) -> Any:
        client = getattr(self, kind)
        result = getattr(client, method)(**kwargs)
        return self.loop.run_until_complete(result) if kind.startswith("a") else result

    def outcome(self, kind: str, method: str, kwargs: dict[str, Any]) -> tuple[str, str | None]:
        try:
            self.call(kind, method, kwargs)
        except Exception as exc:
            return type(exc).__name__, getattr(exc, "code", None)
        return "ok", None


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def four(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FourClients]:
    with ExitStack() as stack:
        yield FourClients(tmp_path_factory.mktemp("four"), stack, request.param)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")
@pytest.mark.parametrize(("method", "kwargs"), list(bad_calls()))
def test_the_same_bad_call_raises_the_same_error_on_every_client(
    four: FourClients, method: str, kwargs: dict[str, Any]
) -> None:
    outcomes = {kind: four.outcome(kind, method, kwargs) for kind in four.kinds()}
    assert len(set(outcomes.values())) == 1, outcomes
    name, code = outcomes["embedded"]
    if name != "ok":
        assert issubclass(getattr(skald, name), skald.SkaldError), outcomes
        assert code not in ("INTERNAL", "UNKNOWN"), outcomes


def test_the_generated_bad_calls_cover_every_method_and_kind() -> None:
    calls = [p.id for p in bad_calls()]
    methods = {c.split("-")[0] for c in calls}
    assert methods == set(public_methods(surface.ClientAPI)) - NOT_CALLED
    for label in ("None", "surrogate", "huge", "big", "unknown", "20MB", "action", "id1"):
        assert any(c.endswith("-" + label) for c in calls), label
