"""Account-shared files (``viking://agent/...``, ``viking://resources/...``) belong to the
account, not to whoever wrote them (issue 12, section 5; README "Security and limits"): any
user of the account may read, overwrite, append to, move and delete a file another user
wrote, as in OpenViking. Erasing a user removes the shared files that user wrote — also one
another user overwrote since only if its text is still theirs (an append), never one that was
replaced since."""

from __future__ import annotations

import uuid

from .conftest import Server
from .helpers import assert_not_found, assert_ok


def test_users_may_change_and_delete_shared_files_written_by_others(
    shared_api: Server, account: str
) -> None:
    alice = shared_api.caller(shared_api.mint(account, "alice"))
    bob = shared_api.caller(shared_api.mint(account, "bob"))
    alice.write("viking://resources/plan.md", "alice's plan")
    alice.write("viking://agent/skills/tool.md", "alice's skill")
    alice.write("viking://resources/gone.md", "alice's note")

    bob.write("viking://resources/plan.md", "bob's plan", mode="replace")
    bob.write("viking://agent/skills/tool.md", " + bob", mode="append")
    assert_ok(bob.delete("/api/v1/fs", params={"uri": "viking://resources/gone.md"}))

    assert alice.read("viking://resources/plan.md") == "bob's plan"
    assert alice.read("viking://agent/skills/tool.md") == "alice's skill + bob"
    assert_not_found(
        alice.get("/api/v1/content/read", params={"uri": "viking://resources/gone.md"}),
        "file",
        "viking://resources/gone.md",
    )


def test_erasure_takes_the_users_shared_writes_and_leaves_others(
    shared_api: Server, account: str
) -> None:
    marker = "zvqk" + uuid.uuid4().hex[:12]
    alice = shared_api.caller(shared_api.mint(account, "alice"))
    bob = shared_api.caller(shared_api.mint(account, "bob"))
    alice.write(f"viking://resources/{marker}.md", f"by alice {marker}")
    alice.write("viking://resources/replaced.md", f"by alice {marker}")
    bob.write("viking://resources/replaced.md", "bob's now", mode="replace")
    bob.write("viking://agent/skills/mixed.md", "bob's start")
    alice.write("viking://agent/skills/mixed.md", f" alice {marker}", mode="append")

    erased = assert_ok(shared_api.root.delete(f"/api/v1/admin/accounts/{account}/users/alice"))

    assert erased["deleted"]["files"] == 2
    names = [
        n["uri"]
        for n in assert_ok(
            bob.get("/api/v1/fs/ls", params={"uri": "viking://resources", "recursive": True})
        )
    ]
    assert names == ["viking://resources/replaced.md"]
    assert bob.read("viking://resources/replaced.md") == "bob's now"
    skills = assert_ok(bob.get("/api/v1/fs/ls", params={"uri": "viking://agent/skills"}))
    assert skills == []
