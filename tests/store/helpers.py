"""Constants and helpers shared by the store contract tests (``test_*.py`` in this directory):
owners, a fixed clock value, and short ways to arrange a scenario through the protocol alone."""

from __future__ import annotations

from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import AddMessageRequest, TextPart, ToolPart, message_decoder
from skald_core.service.messages import build_message
from skald_core.store.model import ClaimedTask, MemoryFact, NewMessage, Owner
from skald_core.store.protocol import Store

ALICE = Owner("acme", "alice")
BOB = Owner("acme", "bob")
ALICE_AT_GLOBEX = Owner("globex", "alice")  # same user name, another account

T0 = 1_700_000_000.0
LEASE = 30.0


def message(text: str, *, role: str = "user", owner: Owner = ALICE, now: float = T0) -> NewMessage:
    request = AddMessageRequest(role=role, content=text)
    return build_message(request, Identity(account=owner.account, user=owner.user), now)


def tool_message(tool_id: str, *, owner: Owner = ALICE) -> NewMessage:
    request = AddMessageRequest(
        role="assistant",
        parts=[TextPart(text="calling a tool"), ToolPart(tool_id=tool_id, tool_name="search")],
    )
    return build_message(request, Identity(account=owner.account, user=owner.user), T0)


def add(store: Store, owner: Owner, sid: str, *texts: str, now: float = T0) -> list[NewMessage]:
    rows = [message(t, owner=owner, now=now) for t in texts]
    store.append_messages(owner, sid, rows, now, auto_create=True)
    return rows


def texts_of(store: Store, owner: Owner, sid: str, archive_no: int | None = 0) -> list[str]:
    out = []
    for row in store.messages(owner, sid, archive_no=archive_no):
        part = message_decoder.decode(row.body).parts[0]
        assert isinstance(part, TextPart)
        out.append(part.text)
    return out


def commit(store: Store, owner: Owner, sid: str, keep: int = 0, now: float = T0):
    return store.commit(owner, sid, keep, now, new_task_id())


def session_key(owner: Owner, sid: str, rel: str) -> str:
    return f"user/{owner.user}/sessions/{sid}/{rel}"


def write_session_file(store: Store, owner: Owner, sid: str, rel: str, text: str) -> str:
    path = session_key(owner, sid, rel)
    store.write_file(
        owner.account, path, text.encode(), "create", T0, session=(owner, sid), stop_at=4
    )
    return path


def memory(owner: Owner, slug: str, content: str) -> MemoryFact:
    return MemoryFact(
        path=f"user/{owner.user}/memories/profile/{slug}.md", category="profile", content=content
    )


def claim(store: Store, task_id: str, now: float = T0) -> ClaimedTask:
    claimed = store.claim_task(task_id, now, LEASE)
    assert claimed is not None, f"task {task_id} could not be claimed"
    return claimed


def extract(store: Store, task_id: str, facts: list[MemoryFact], now: float = T0):
    claimed = claim(store, task_id, now)
    return store.complete_extraction(task_id, claimed.claim, facts, b'{"ok":true}', now)


def content(store: Store, account: str, path: str) -> bytes | None:
    row = store.get_file(account, path)
    return None if row is None else row.content
