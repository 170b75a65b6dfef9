"""A fixed scenario of raw HTTP calls and the *shape* of each answer (issue 11).

``tools/record_openviking_shapes.py`` runs ``SCENARIO`` against the real OpenViking 0.5.2
(``../shared/reference-server/``) and writes each step's status, error code and result shape
(keys and value types, never values) to ``reference/openviking-0.5.2-shapes.json``;
``test_openviking_shapes.py`` replays it against Skald and compares, with ``ALLOWED`` the
intended differences. Each step is ``(name, method, path, body-or-params)``; ``{sid}``,
``{user}``, ``{tag}`` and ``{task_id}`` (the first commit's) are filled in at run time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Step = tuple[str, str, str, dict[str, Any] | None]
Send = Callable[[str, str, dict[str, Any] | None], tuple[int, Any, bytes]]

R = "viking://user/{user}/resources/shapes-{tag}"
S = "viking://user/{user}/sessions/{sid}"
LS = {"simple": "false", "recursive": "false", "output": "original", "abs_limit": "256"}
LS |= {"show_all_hidden": "false", "node_limit": "1000", "offset": "0"}
TOOL = {
    "type": "tool",
    "tool_id": "call_1",
    "tool_name": "search",
    "tool_input": {"q": "x"},
    "tool_output": "3 results",
    "tool_status": "completed",
}
CONTEXT = {"type": "context", "uri": "viking://resources/doc.md", "abstract": "a doc"}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}

SCENARIO: list[Step] = [
    ("create session", "POST", "/api/v1/sessions", {"session_id": "{sid}"}),
    ("create an existing session", "POST", "/api/v1/sessions", {"session_id": "{sid}"}),
    ("add text", "POST", "/api/v1/sessions/{sid}/messages", {"role": "user", "content": "Hi"}),
    (
        "add tool and context parts",
        "POST",
        "/api/v1/sessions/{sid}/messages",
        {"role": "assistant", "parts": [{"type": "text", "text": "ok"}, TOOL, CONTEXT]},
    ),
    (
        "add an image part",
        "POST",
        "/api/v1/sessions/{sid}/messages",
        {"role": "user", "parts": [IMAGE]},
    ),
    (
        "add a batch",
        "POST",
        "/api/v1/sessions/{sid}/messages/batch",
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    ),
    ("add an empty batch", "POST", "/api/v1/sessions/{sid}/messages/batch", {"messages": []}),
    ("get session", "GET", "/api/v1/sessions/{sid}", None),
    ("get a missing session", "GET", "/api/v1/sessions/{sid}-none", None),
    ("list sessions", "GET", "/api/v1/sessions", None),
    ("context", "GET", "/api/v1/sessions/{sid}/context", {"token_budget": "128000"}),
    ("update config", "PATCH", "/api/v1/sessions/{sid}/config", {"auto_commit_policy": None}),
    ("session stats", "GET", "/api/v1/stats/sessions/{sid}", None),
    ("list tool results", "GET", "/api/v1/sessions/{sid}/tool-results", None),
    ("read a missing tool result", "GET", "/api/v1/sessions/{sid}/tool-results/none", None),
    ("commit", "POST", "/api/v1/sessions/{sid}/commit", {"keep_recent_count": 0}),
    ("commit with nothing new", "POST", "/api/v1/sessions/{sid}/commit", {"keep_recent_count": 0}),
    ("get task", "GET", "/api/v1/tasks/{task_id}", None),
    ("list tasks", "GET", "/api/v1/tasks", {"resource_id": "{sid}", "limit": "5"}),
    ("cancel a missing task", "POST", "/api/v1/tasks/no-such-task/cancel", None),
    ("meta after commit", "GET", "/api/v1/content/read", {"uri": S + "/.meta.json"}),
    ("ls session", "GET", "/api/v1/fs/ls", {"uri": S, **LS}),
    (
        "write a new file (replace)",
        "POST",
        "/api/v1/content/write",
        {"uri": R + "/a/new.md", "content": "one", "mode": "replace", "wait": False},
    ),
    (
        "write a new file (append)",
        "POST",
        "/api/v1/content/write",
        {"uri": R + "/b/app.md", "content": "two", "mode": "append"},
    ),
    # OpenViking processes writes in the background and refuses to touch a file meanwhile
    # (409 CONFLICT "resource is busy"): wait, so the next steps see settled files.
    ("wait for the writes", "POST", "/api/v1/system/wait", {}),
    (
        "create an existing file",
        "POST",
        "/api/v1/content/write",
        {"uri": R + "/a/new.md", "content": "x", "mode": "create"},
    ),
    ("read", "GET", "/api/v1/content/read", {"uri": R + "/a/new.md", "offset": "0", "limit": "-1"}),
    ("read a missing file", "GET", "/api/v1/content/read", {"uri": R + "/none.md"}),
    ("ls", "GET", "/api/v1/fs/ls", {"uri": R, **LS}),
    ("ls (HTTP defaults)", "GET", "/api/v1/fs/ls", {"uri": R}),
    ("ls recursive", "GET", "/api/v1/fs/ls", {"uri": R, "recursive": "true"}),
    ("ls limit 1", "GET", "/api/v1/fs/ls", {"uri": R, "limit": "1"}),
    ("ls simple", "GET", "/api/v1/fs/ls", {"uri": R, "simple": "true"}),
    ("tree", "GET", "/api/v1/fs/tree", {"uri": R, "output": "original"}),
    ("stat a file", "GET", "/api/v1/fs/stat", {"uri": R + "/a/new.md"}),
    ("stat a directory", "GET", "/api/v1/fs/stat", {"uri": R + "/a"}),
    ("stat a missing file", "GET", "/api/v1/fs/stat", {"uri": R + "/none.md"}),
    ("mkdir", "POST", "/api/v1/fs/mkdir", {"uri": R + "/made"}),
    ("wait for mkdir", "POST", "/api/v1/system/wait", {}),
    ("mv", "POST", "/api/v1/fs/mv", {"from_uri": R + "/b/app.md", "to_uri": R + "/made/app.md"}),
    ("attrs", "GET", "/api/v1/fs/attrs", {"uri": R + "/a/new.md"}),
    (
        "set tags",
        "POST",
        "/api/v1/fs/attrs/set_tags",
        {"uri": R + "/a/new.md", "tags": ["x"], "mode": "replace", "recursive": False},
    ),
    ("abstract of a directory", "GET", "/api/v1/content/abstract", {"uri": R}),
    ("overview of a directory", "GET", "/api/v1/content/overview", {"uri": R}),
    ("download", "GET", "/api/v1/content/download", {"uri": R + "/a/new.md"}),
    ("download a missing file", "GET", "/api/v1/content/download", {"uri": R + "/none.md"}),
    (
        "batch write",
        "POST",
        "/api/v1/content/batch-write",
        {"root_uri": R, "operations": [{"uri": R + "/bw.md", "content": "bw"}], "wait": True},
    ),
    (
        "reindex",
        "POST",
        "/api/v1/content/reindex",
        {"uri": R, "mode": "vectors_only", "wait": True, "recursive": True},
    ),
    ("copy", "POST", "/api/v1/fs/cp", {"from_uri": R + "/a/new.md", "to_uri": R + "/copy.md"}),
    ("wait for the copy", "POST", "/api/v1/system/wait", {}),
    ("rm a file", "DELETE", "/api/v1/fs", {"uri": R + "/copy.md", "recursive": "false"}),
    ("rm a missing file", "DELETE", "/api/v1/fs", {"uri": R + "/none.md"}),
    (
        "read another user's file",
        "GET",
        "/api/v1/content/read",
        {"uri": "viking://user/zed/memories/x.md"},
    ),
    ("session id with ..", "POST", "/api/v1/sessions", {"session_id": "a/../b"}),
    ("method not allowed", "PUT", "/api/v1/sessions", None),
    ("unknown route", "GET", "/api/v1/no-such-route", None),
    ("wait processed", "POST", "/api/v1/system/wait", {}),
    ("delete session", "DELETE", "/api/v1/sessions/{sid}", None),
    ("get a deleted session", "GET", "/api/v1/sessions/{sid}", None),
    ("delete a deleted session", "DELETE", "/api/v1/sessions/{sid}", None),
    ("rm the resources", "DELETE", "/api/v1/fs", {"uri": R, "recursive": "true"}),
]


def shape(value: Any) -> Any:
    """Keys and value types, never values: ``{"a": [1]}`` → ``{"a": ["number"]}``."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    return "null"


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


def run(send: Send, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each step's ``{status, code, shape[, has_more]}``; ``send(method, path, data)``
    returns ``(status, parsed JSON or None, raw body)``."""
    names = dict(names)
    out: dict[str, dict[str, Any]] = {}
    for name, method, path, data in SCENARIO:
        status, body, _raw = send(method, fill(path, names), fill(data, names))
        record: dict[str, Any] = {"status": status}
        if isinstance(body, dict) and body.get("status") in ("ok", "error"):
            error = body.get("error") or {}
            record["code"] = error.get("code") if body["status"] == "error" else None
            record["shape"] = shape(body.get("result")) if body["status"] == "ok" else None
            if "has_more" in body:
                record["has_more"] = shape(body["has_more"])
            if name == "commit" and isinstance(body.get("result"), dict):
                names["task_id"] = str(body["result"].get("task_id"))
        else:
            record["code"] = None
            record["shape"] = "bytes" if status < 300 else "non-json"
        out[name] = record
    return out


#: Intended differences, per step: "status", "code" or a dotted path into the shape ("a.b").
ALLOWED: dict[str, dict[str, str]] = {
    "read another user's file": {
        "code": "the seed's FORBIDDEN is the default code (PERMISSION_DENIED with "
        "SKALD_ERROR_CODES=openviking)"
    },
    "session id with ..": {
        "status": "Skald refuses a bad id as bad input (400 INVALID_ARGUMENT) before resolving "
        "any path; OpenViking resolves it into a path and refuses the traversal (403)",
        "code": "as status",
    },
    "method not allowed": {
        "code": "Skald names the error METHOD_NOT_ALLOWED (UNKNOWN with "
        "SKALD_ERROR_CODES=openviking, as OpenViking sends it)"
    },
    "rm a missing file": {
        "status": "Skald answers 404 for a missing file, as for every other route; OpenViking "
        "answers 200 with nothing deleted",
        "code": "as status",
        "shape": "as status",
    },
    "create an existing file": {
        "status": "mode=create refuses an existing file (409 ALREADY_EXISTS, contract §5); "
        "OpenViking 0.5.2 overwrites it",
        "code": "as status",
        "shape": "as status",
    },
}
#: Extra keys Skald adds are intended (the contract's additions); only missing keys and
#: different types are differences.


def compare(reference: dict[str, Any], got: dict[str, Any], path: str = "") -> list[str]:
    """Where ``got``'s shape lacks or retypes what ``reference`` has (extra keys are fine)."""
    if reference == got:
        return []
    if isinstance(reference, dict) and isinstance(got, dict):
        out = []
        for key, ref in reference.items():
            where = f"{path}.{key}" if path else key
            if key not in got:
                out.append(f"{where}: missing")
            else:
                out += compare(ref, got[key], where)
        return out
    if isinstance(reference, list) and isinstance(got, list):
        if not reference or not got:
            return []
        return compare(reference[0], got[0], path + "[]")
    if reference == "null" or got == "null":
        return []  # an optional value, absent on one side this time
    return [f"{path or 'result'}: {reference} != {got}"]


def differences(reference: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """One step's differences: status, error code, result shape and ``has_more``."""
    out = []
    if reference["status"] != got["status"]:
        out.append(f"status: {reference['status']} != {got['status']}")
    if reference.get("code") != got.get("code"):
        out.append(f"code: {reference.get('code')} != {got.get('code')}")
    if reference.get("has_more") != got.get("has_more"):
        out.append(f"has_more: {reference.get('has_more')} != {got.get('has_more')}")
    ref_shape, got_shape = reference.get("shape"), got.get("shape")
    if ref_shape is not None and got_shape is not None:
        out += compare(ref_shape, got_shape)
    elif (ref_shape is None) != (got_shape is None):
        out.append(f"shape: {json.dumps(ref_shape)[:60]} != {json.dumps(got_shape)[:60]}")
    return out


def unexplained(step: str, found: list[str]) -> list[str]:
    """The differences ``ALLOWED`` does not explain."""
    allowed = ALLOWED.get(step, {})
    return [d for d in found if d.split(":", 1)[0].split("[")[0] not in allowed]
