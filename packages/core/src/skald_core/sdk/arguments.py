"""One argument check for the four clients: a bad call fails the same way on each.

``@checked_client`` wraps every method of ``surface.ClientAPI`` on a client class so that, before
the client does anything, each argument is checked against the surface's annotation: the type
(``bool`` is not an ``int``; an ``int`` is a ``float``), a ``Literal``'s values, integers that fit
in 64 bits, finite floats, and text that can be encoded as UTF-8 (no lone surrogates, also
inside lists, dicts and parts). A bad argument raises ``InvalidArgumentError`` naming it,
whether the call would have gone in-process or over HTTP. What only the service can judge
(ids, URIs, sizes) is judged there, for every client alike.
"""

from __future__ import annotations

import functools
import inspect
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

from ..errors import InvalidArgumentError

C = TypeVar("C", bound=type)
_INT64 = 2**63


def _text(value: object) -> str | None:
    """Why ``value`` (any JSON-like data) cannot be sent as UTF-8 JSON text, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"holds {value[exc.start]!r} at {exc.start}, which is not encodable as UTF-8"
        return None
    if isinstance(value, msgspec.Struct):
        value = msgspec.to_builtins(value)
    if isinstance(value, dict):
        return next((p for k, v in value.items() for p in (_text(k), _text(v)) if p), None)
    if isinstance(value, list | tuple):
        return next((p for v in value if (p := _text(v))), None)
    return None


def _name(value: object) -> str:
    return "None" if value is None else type(value).__name__


Checker = Callable[[object], "str | None"]


def compile_check(annotation: Any) -> Checker:
    """A function saying why a value does not fit ``annotation`` (None when it does); built
    once per parameter, so a call pays for a few ``isinstance`` and nothing more."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if annotation is Any:
        return _text
    if origin in (Union, types.UnionType):
        optional = type(None) in args
        inner = [compile_check(a) for a in args if a is not type(None)]

        def union(value: object) -> str | None:
            if value is None and optional:
                return None
            first = None
            for check in inner:  # the first check that passes ends it
                reason = check(value)
                if reason is None:
                    return None
                first = first or reason
            return first

        return union
    if origin is Literal:
        return lambda v: None if isinstance(v, str) and v in args else f"must be one of {args}"
    if annotation is str:
        return lambda v: _text(v) if isinstance(v, str) else f"expected str, got {_name(v)}"
    if annotation is bool:
        return lambda v: None if isinstance(v, bool) else f"expected bool, got {_name(v)}"
    if annotation is int:

        def integer(v: object) -> str | None:
            if not isinstance(v, int) or isinstance(v, bool):
                return f"expected int, got {_name(v)}"
            return None if -_INT64 <= v < _INT64 else "out of the 64-bit integer range"

        return integer
    if annotation is float:

        def number(v: object) -> str | None:
            if not isinstance(v, int | float) or isinstance(v, bool):
                return f"expected a number, got {_name(v)}"
            return None if math.isfinite(v) else "must be a finite number"

        return number
    if origin is list:
        item = compile_check(args[0])

        def items(v: object) -> str | None:
            if not isinstance(v, list | tuple):
                return f"expected a list, got {_name(v)}"
            return next((f"item {i}: {p}" for i, x in enumerate(v) if (p := item(x))), None)

        return items
    if origin is dict:

        def mapping(v: object) -> str | None:
            if not isinstance(v, dict):
                return f"expected a dict, got {_name(v)}"
            if not all(isinstance(k, str) for k in v):
                return "dict keys must be str"
            return _text(v)

        return mapping
    return lambda v: None


def _invalid(method: str, name: str, reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid argument '{name}' of {method}(): {reason}",
        {
            "field": name,
            "reason": reason,
            "validation_errors": [
                {"loc": ["arguments", name], "message": reason, "type": "type_error"}
            ],
        },
    )


def _checks(method: str) -> dict[str, Checker]:
    from . import session, surface

    namespace = {**vars(typing), **vars(surface), **vars(session)}
    hints = typing.get_type_hints(getattr(surface.ClientAPI, method), namespace)
    return {name: compile_check(hint) for name, hint in hints.items() if name != "return"}


def _wrap(method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    positional = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][1:]  # without self
    checks: dict[str, Checker] = {}
    built: list[bool] = []  # the checks are built on the first call (also when there are none)

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        # Defaults are valid; an unknown or missing argument is Python's own TypeError when
        # the method is called, the same on every client.
        if not built:
            checks.update(_checks(method))
            built.append(True)
        for name, value in (*zip(positional, args[1:], strict=False), *kwargs.items()):
            check = checks.get(name)
            reason = None if check is None else check(value)
            if reason is not None:
                raise _invalid(method, name, reason)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            arguments(args, kwargs)
            return await fn(*args, **kwargs)

        return checked_async

    @functools.wraps(fn)
    def checked_sync(*args: Any, **kwargs: Any) -> Any:
        arguments(args, kwargs)
        return fn(*args, **kwargs)

    return checked_sync


def checked_client(cls: C) -> C:
    """Check the arguments of every method of ``surface.ClientAPI`` that ``cls`` defines."""
    from . import surface

    for name, member in vars(surface.ClientAPI).items():
        if name.startswith("_") or not callable(member):
            continue
        setattr(cls, name, _wrap(name, getattr(cls, name)))
    return cls
