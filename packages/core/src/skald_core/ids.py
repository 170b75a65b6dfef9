"""Identifiers: validation of caller-chosen ids and generation of new ones."""

from __future__ import annotations

import random
import re
import secrets
import time
import uuid

from .errors import InvalidArgumentError

MAX_ID_LENGTH = 128
#: The action paths under ``/api/v1/sessions/`` (``POST /api/v1/sessions/cleanup``): a
#: session of that name could not be addressed over HTTP, so it is refused as a session id
#: everywhere. tests/server/test_reserved_session_ids.py checks this set against the app's
#: route table, so a new action route cannot be added without it.
RESERVED_SESSION_IDS = frozenset({"batch-delete", "cleanup"})


#: C0 control characters, DEL and C1.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_id(value: object, field: str = "session_id") -> str:
    """Refuse ids that are empty, too long, contain ``/``, control characters or are dot-only."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field} must be a string", {"field": field})
    problem = None
    if not value:
        problem = "must not be empty"
    elif len(value) > MAX_ID_LENGTH:
        problem = f"must be at most {MAX_ID_LENGTH} characters"
    elif "/" in value or "\\" in value:
        problem = "must not contain '/' or '\\'"
    elif _CONTROL.search(value):
        problem = "must not contain control characters"
    elif value in (".", ".."):
        problem = "must not be '.' or '..'"
    elif value != value.strip():
        problem = "must not start or end with whitespace"
    elif field == "session_id" and value in RESERVED_SESSION_IDS:
        problem = f"must not be {value!r}: that name is the action path /api/v1/sessions/{value}"
    if problem:
        raise InvalidArgumentError(
            f"{field} {problem}", {"field": field, "value": value[:200], "reason": problem}
        )
    return value


def new_session_id() -> str:
    """``YYYYMMDD-HHMMSS-<16 hex>`` in UTC, like OpenViking."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(8)


def random_hex() -> str:
    """32 random hex digits (128 bits) for ids that must be unique, not secret (message and
    request ids; keys and tokens use ``secrets``): from ``random``'s generator, seeded from
    the OS at start and again in every forked process (CPython reseeds the module's
    generator after ``fork``, so ``--workers`` processes never share a sequence). A system
    call per id (``os.urandom``) cost more than the id's other work (``timeit``: 0.25 µs
    against 1.7 µs idle, several µs on a busy machine), and it runs twice per append."""
    return f"{random.getrandbits(128):032x}"


def new_message_id() -> str:
    return "msg_" + random_hex()


def new_request_id() -> str:
    return random_hex()


def new_task_id() -> str:
    return str(uuid.uuid4())
