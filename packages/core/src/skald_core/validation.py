"""Turning msgspec validation failures into the contract's INVALID_ARGUMENT error."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from .errors import InvalidArgumentError, PayloadTooLargeError

T = TypeVar("T")

#: The largest request body a server takes by default (``max_body_bytes``); the embedded
#: client refuses a request whose JSON would be bigger, as a server would.
MAX_BODY_BYTES = 8 * 1024 * 1024
_encode = msgspec.json.encode

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _loc(path: str) -> list[str | int]:
    loc: list[str | int] = ["body"]
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        loc.append(name if name else int(index))
    return loc


def invalid(exc: msgspec.ValidationError | msgspec.DecodeError) -> InvalidArgumentError:
    text = str(exc)
    m = _AT.match(text)
    msg, path = (m.group("msg"), m.group("path") or "") if m else (text, "")
    loc = _loc(path)
    field = ".".join(str(p) for p in loc[1:]) or "body"
    kind = (
        "json_invalid"
        if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError)
        else "value_error"
    )
    message = (
        f"Invalid request body: {msg}" if field == "body" else f"Invalid field '{field}': {msg}"
    )
    return InvalidArgumentError(
        message, {"validation_errors": [{"loc": loc, "message": msg, "type": kind}]}
    )


def invalid_utf8(exc: UnicodeDecodeError) -> InvalidArgumentError:
    """What msgspec's UnicodeDecodeError on a JSON string holding non-UTF-8 bytes becomes."""
    message = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    return InvalidArgumentError(
        f"Invalid request body: {message}",
        {"validation_errors": [{"loc": ["body"], "message": message, "type": "json_invalid"}]},
    )


def body_too_large(limit: int, setting: str = "max_body_bytes") -> PayloadTooLargeError:
    """413 PAYLOAD_TOO_LARGE: a request body over ``limit`` bytes (named in the message)."""
    mib = f" ({limit // 1048576} MiB)" if limit % 1048576 == 0 else ""
    return PayloadTooLargeError(
        f"Request body too large: the limit is {limit} bytes{mib} (setting {setting})",
        {"reason": "body_too_large", "limit": limit},
    )


def check_body_size(request: object, limit: int) -> None:
    """Refuse, as a server would, a request whose JSON body would be over ``limit`` bytes."""
    if len(_encode(request)) > limit:
        raise body_too_large(limit)


def convert(obj: Any, typ: type[T]) -> T:
    """Validate a Python object (dicts from SDK callers) into a request Struct."""
    try:
        return msgspec.convert(obj, typ, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise invalid(exc) from None


def decode_json(data: bytes, typ: type[T]) -> T:
    """Validate a JSON body into a request Struct."""
    try:
        return msgspec.json.decode(data, type=typ)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise invalid(exc) from None
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc) from None
