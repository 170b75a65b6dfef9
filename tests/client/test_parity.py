"""The four clients expose one surface: same names, parameters and return annotations.

``ClientAPI`` / ``AsyncClientAPI`` in ``skald_core.sdk.surface`` are the written description;
every client must match it exactly (async twins with ``Session`` → ``AsyncSession``).
"""

import inspect

import pytest

import skald
from skald_core.sdk import surface


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
