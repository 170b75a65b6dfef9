"""From an add-message request to a stored message: validation, parts, tokens and turns."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import msgspec

from .. import clock, uris
from ..errors import InvalidArgumentError
from ..identity import Identity
from ..ids import check_id, new_message_id
from ..schemas import (
    AddMessageRequest,
    ContextPart,
    Message,
    Part,
    RawPart,
    TextPart,
    ToolPart,
    typed_parts,
)
from ..store.model import NewMessage

MAX_ROLE_LENGTH = 64
_encode = msgspec.json.Encoder().encode
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af]")
#: C0, DEL and C1: refused in a role as in every id (``ids.check_id``).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def estimate_tokens(text: str) -> int:
    """A cheap CJK-aware estimate: one token per CJK character, one per four other characters."""
    if not text:
        return 0
    # ASCII text (the common case) has no CJK; otherwise let the regex engine count in C.
    cjk = 0 if text.isascii() else len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def part_tokens(part: Part | RawPart) -> int:
    if isinstance(part, TextPart):
        return estimate_tokens(part.text)
    if isinstance(part, ContextPart):
        return estimate_tokens(part.abstract)
    if isinstance(part, dict):
        # A part Skald does not interpret (an image, a file): its text, if it has one.
        text = part.get("text")
        return estimate_tokens(text) if isinstance(text, str) else 0
    tool_input = "" if part.tool_input is None else _encode(part.tool_input).decode()
    return estimate_tokens(part.tool_id + part.tool_name + tool_input + part.tool_output)


def _check_role(role: str) -> None:
    if not role.strip():
        raise InvalidArgumentError(
            "Invalid field 'role': must not be empty",
            {
                "validation_errors": [
                    {"loc": ["body", "role"], "message": "must not be empty", "type": "value_error"}
                ]
            },
        )
    if len(role) > MAX_ROLE_LENGTH or _CONTROL.search(role):
        raise InvalidArgumentError(
            f"Invalid field 'role': at most {MAX_ROLE_LENGTH} printable characters",
            {
                "validation_errors": [
                    {
                        "loc": ["body", "role"],
                        "message": "too long or not printable",
                        "type": "value_error",
                    }
                ]
            },
        )


def _invalid_field(loc: list[str | int], problem: str) -> InvalidArgumentError:
    field = ".".join(str(p) for p in loc)
    return InvalidArgumentError(
        f"Invalid field '{field}': {problem}",
        {"validation_errors": [{"loc": ["body", *loc], "message": problem, "type": "value_error"}]},
    )


def _check_ids(req: AddMessageRequest) -> None:
    """``peer_id``, ``turn_id`` and ``source_message_ids`` are ids: the rules of session ids
    (an empty ``peer_id``/``turn_id`` stays accepted: it means none)."""
    named: list[tuple[list[str | int], str]] = [
        (["peer_id"], req.peer_id or ""),
        (["turn_id"], req.turn_id or ""),
    ]
    named += [(["source_message_ids", i], v) for i, v in enumerate(req.source_message_ids or [])]
    for loc, value in named:
        if value == "" and len(loc) == 1:
            continue
        try:
            check_id(value, str(loc[0]))
        except InvalidArgumentError as exc:
            raise _invalid_field(loc, exc.details["reason"]) from None


def _check_created_at(value: str) -> None:
    try:
        clock.parse_iso(value)
    except ValueError:
        raise InvalidArgumentError(
            "Invalid field 'created_at': not an ISO 8601 timestamp",
            {
                "validation_errors": [
                    {
                        "loc": ["body", "created_at"],
                        "message": "not ISO 8601",
                        "type": "value_error",
                    }
                ]
            },
        ) from None


def _canonical_parts(parts: list[Any], identity: Identity) -> list[Any]:
    out: list[Any] = []
    for index, given in enumerate(parts):
        try:
            (part,) = typed_parts([given])
        except msgspec.ValidationError as exc:
            raise _invalid_field(["parts", index], str(exc)) from None
        if isinstance(part, ContextPart):
            target = uris.parse(part.uri, identity)
            uris.check_access(target, identity)
            part = msgspec.structs.replace(part, uri=target.uri)
        elif isinstance(part, ToolPart):
            # A tool record is listed as tools/{tool_id}/tool.json: its id must be a path
            # segment that reads back, so it follows the rules of session ids.
            try:
                check_id(part.tool_id, "tool_id")
            except InvalidArgumentError as exc:
                raise _invalid_field(["parts", index, "tool_id"], exc.details["reason"]) from None
        out.append(part)
    return out


_canonical = msgspec.json.Encoder(order="sorted").encode


def fingerprint(req: AddMessageRequest) -> str:
    """A hash of the request's canonical JSON (sorted keys; ``telemetry`` left out): the same
    message sent again hashes the same, any other message differently."""
    body = _canonical(msgspec.structs.replace(req, telemetry=None))
    return hashlib.sha256(body).hexdigest()


def is_empty(req: AddMessageRequest) -> bool:
    """``parts: []`` and no ``content``: a message of nothing, added as no message (the
    published client never sends one; over HTTP it is accepted, as by OpenViking)."""
    return req.parts is not None and not req.parts and req.content is None


def build_message(
    req: AddMessageRequest, identity: Identity, now: float, *, keyed: bool = True
) -> NewMessage:
    """Validate one request and produce the row to store. Raises InvalidArgumentError.
    ``keyed``: the append carries an idempotency key, so the request's fingerprint (a second
    encoding and a hash of the whole message) is needed; without a key it is skipped."""
    _check_role(req.role)
    _check_ids(req)
    parts: list[Any]
    if req.parts:
        parts = _canonical_parts(req.parts, identity)
    elif req.content is not None:
        parts = [TextPart(text=req.content)]
    else:
        raise InvalidArgumentError(
            "Either 'content' or 'parts' must be provided",
            {
                "validation_errors": [
                    {
                        "loc": ["body"],
                        "message": "Either 'content' or 'parts' must be provided",
                        "type": "value_error",
                    }
                ]
            },
        )
    if req.created_at is not None:
        _check_created_at(req.created_at)
    message = Message(
        id=new_message_id(),
        role=req.role,
        parts=parts,
        created_at=req.created_at or clock.iso_micro(now),
        peer_id=req.peer_id,
        turn_id=req.turn_id,
        message_kind=req.message_kind,
        source_message_ids=req.source_message_ids,
    )
    tool_parts = context_parts = tokens = 0
    for p in parts:  # one pass: counts and token estimate
        if isinstance(p, ToolPart):
            tool_parts += 1
        elif isinstance(p, ContextPart):
            context_parts += 1
        tokens += part_tokens(p)
    is_transport = req.message_kind == "tool_transport" or tool_parts == len(parts)
    is_turn = req.message_kind == "user_query" or (req.role == "user" and not is_transport)
    return NewMessage(
        message_id=message.id,
        role=req.role,
        body=_encode(message),
        tokens=tokens,
        is_turn=is_turn,
        tool_parts=tool_parts,
        context_parts=context_parts,
        fingerprint=fingerprint(req) if keyed else "",
    )
