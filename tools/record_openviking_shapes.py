"""Record what OpenViking 0.5.2 answers to ``tests/contract/ov_shapes.SCENARIO`` (issue 11).

Run by hand against the reference server (``../shared/reference-server/``; CI never needs it)
and commit the fixture it writes::

    export OVPEER=$HOME/ovpeer; FRESH=1 ../shared/reference-server/start.sh
    uv run python tools/record_openviking_shapes.py http://127.0.0.1:19330 "$(cat $OVPEER/user_key.txt)" alice

Each step's status code, error code and result shape (keys and value types, not values) go to
``tests/contract/reference/openviking-0.5.2-shapes.json``. With ``--replay`` it prints how a
server's answers compare instead (e.g. a Skald server: ``... http://127.0.0.1:1933 "" alice
--replay``): the counts of routes whose shape matches, exactly and with the allowed
differences.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "contract"))
import ov_shapes  # noqa: E402

FIXTURE = ROOT / "tests" / "contract" / "reference" / "openviking-0.5.2-shapes.json"


def sender(url: str, key: str, user: str) -> ov_shapes.Send:
    headers = {"X-API-Key": key} if key else {"X-OpenViking-User": user}
    client = httpx.Client(base_url=url, headers=headers, timeout=120)

    def send(method: str, path: str, data: dict[str, Any] | None) -> tuple[int, Any, bytes]:
        if method in ("GET", "DELETE"):
            resp = client.request(method, path, params=data)
        else:
            resp = client.request(method, path, json=data)
        try:
            body = resp.json()
        except ValueError:
            body = None
        return resp.status_code, body, resp.content

    return send


def main(argv: list[str]) -> int:
    url, key, user = argv[1], argv[2], argv[3]
    names = {"sid": "shapes-" + uuid.uuid4().hex[:8], "user": user, "tag": uuid.uuid4().hex[:8]}
    recorded = ov_shapes.run(sender(url, key, user), names)
    if "--replay" not in argv:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"{len(recorded)} steps recorded to {FIXTURE.relative_to(ROOT)}")
        return 0
    reference = json.loads(FIXTURE.read_text())
    exact = allowed = 0
    for step, ref in reference.items():
        found = ov_shapes.differences(ref, recorded[step])
        left = ov_shapes.unexplained(step, found)
        exact += not found
        allowed += not left
        if found:
            print(f"{'allowed' if not left else 'DIFFERS'} {step}: {'; '.join(found)}")
    print(
        f"routes whose shape matches the recording: {exact}/{len(reference)} exactly, "
        f"{allowed}/{len(reference)} with the allowed differences"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
