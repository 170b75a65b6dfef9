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


def problem(value: object, annotation: Any) -> str | None:
    """Why ``value`` does not fit ``annotation``, or None when it does."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if annotation is Any:
        return _text(value)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        found = [problem(value, a) for a in args if a is not type(None)]
        return None if None in found else found[0]
    if origin is Literal:
        return None if value in args and isinstance(value, str) else f"must be one of {args}"
    if annotation is str:
        return _text(value) if isinstance(value, str) else f"expected str, got {_name(value)}"
    if annotation is bool:
        return None if isinstance(value, bool) else f"expected bool, got {_name(value)}"
    if annotation is int:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected int, got {_name(value)}"
        return None if -_INT64 <= value < _INT64 else "out of the 64-bit integer range"
    if annotation is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"expected a number, got {_name(value)}"
        return None if math.isfinite(value) else "must be a finite number"
    if origin is list:
        if not isinstance(value, list | tuple):
            return f"expected a list, got {_name(value)}"
        return next(
            (f"item {i}: {p}" for i, v in enumerate(value) if (p := problem(v, args[0]))), None
        )
    if origin is dict:
        if not isinstance(value, dict):
            return f"expected a dict, got {_name(value)}"
        if not all(isinstance(k, str) for k in value):
            return "dict keys must be str"
        return _text(value)
    return None


def check(method: str, arguments: dict[str, Any], hints: dict[str, Any]) -> None:
    """Raise ``InvalidArgumentError`` for the first argument that does not fit its hint."""
    for name, value in arguments.items():
        hint = hints.get(name)
        reason = None if hint is None else problem(value, hint)
        if reason is not None:
            raise InvalidArgumentError(
                f"Invalid argument '{name}' of {method}(): {reason}",
                {
                    "field": name,
                    "reason": reason,
                    "validation_errors": [
                        {"loc": ["arguments", name], "message": reason, "type": "type_error"}
                    ],
                },
            )


@functools.cache
def _hints(method: str) -> dict[str, Any]:
    from . import session, surface

    namespace = {**vars(typing), **vars(surface), **vars(session)}
    return typing.get_type_hints(getattr(surface.ClientAPI, method), namespace)


def _wrap(method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(fn)

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return  # a missing or unknown argument: Python's own error, the same everywhere
        bound.arguments.pop("self", None)
        check(method, bound.arguments, _hints(method))

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
