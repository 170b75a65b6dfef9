"""Store contract — full-text search: what is found, in what order, by whom, and that every
write and delete path keeps the index right (on every backend; see ``conftest.py``).

A marker word is findable, then after each delete path no search by any owner finds it, and
no embedding vector of the removed or changed memory remains (``vectors_of``). The SQLite-only check that no file under the data directory holds it is in
``tests/deletion/test_search_erasure.py``.
"""

from __future__ import annotations

from skald_core.identity import Identity
from skald_core.schemas import DeleteOptions
from skald_core.store.model import MemoryFact, MemoryRef, Owner
from skald_core.store.protocol import Store
from skald_core.store.vectors import pack

from .helpers import ALICE, ALICE_AT_GLOBEX, BOB, T0, add, commit, extract, memory

ADMIN = Identity(account="acme", user="admin", role="admin")
MARKER = "quokkaberry"
OWNERS = (ALICE, BOB, ALICE_AT_GLOBEX)


def mine(owner: Owner) -> list[str]:
    """Every storage prefix ``owner`` may search."""
    return [f"user/{owner.user}", "agent", "resources"]


def files_found(store: Store, query: str = MARKER) -> dict[Owner, list[str]]:
    return {o: [h.path for h in store.search_files(o.account, mine(o), query, 10)] for o in OWNERS}


def messages_found(store: Store, query: str = MARKER) -> dict[Owner, list[str]]:
    return {o: [h.session_id for h in store.search_messages(o, None, query, 10)] for o in OWNERS}


def embed_all(store: Store) -> None:
    """A vector for every memory of every owner lacking one (as an ``embed`` task stores them)."""
    for owner in store.owners_to_embed("test-model"):
        items = store.memories_to_embed(owner, "test-model", 1000)
        store.put_vectors(owner, "test-model", [(m, pack([1.0, 0.5]), 2) for m in items], T0)


def vectors_of(store: Store) -> dict[Owner, list[str]]:
    """The paths of each owner's stored vectors, as a search's candidates."""
    return {
        o: sorted(c.path for c in store.vector_candidates(o, "test-model", [""], [], 1000))
        for o in OWNERS
    }


def nobody_finds(store: Store, query: str = MARKER) -> None:
    assert files_found(store, query) == {o: [] for o in OWNERS}
    assert messages_found(store, query) == {o: [] for o in OWNERS}


def remember(store: Store, owner: Owner, sid: str, facts: list[MemoryFact]) -> None:
    add(store, owner, sid, "something to commit")
    task = commit(store, owner, sid).task_id
    assert task is not None
    extract(store, task, facts)


def test_a_memory_is_found_by_its_words_best_match_first(store: Store) -> None:
    remember(
        store,
        ALICE,
        "s1",
        [
            memory(ALICE, "hiking", f"Loves hiking in the Alps; {MARKER} jam with hiking snacks"),
            memory(ALICE, "tea", "Prefers green tea over coffee"),
            memory(ALICE, "walks", "Short walks, no hiking"),
        ],
    )
    hits = store.search_files("acme", mine(ALICE), "hiking " + MARKER, 10)
    paths = [h.path for h in hits]
    assert paths[0] == "user/alice/memories/profile/hiking.md"
    assert "user/alice/memories/profile/walks.md" in paths
    assert "user/alice/memories/profile/tea.md" not in paths
    assert hits[0].score > hits[1].score > 0
    assert 0 < hits[0].score < 1
    assert MARKER in hits[0].text
    # Case does not matter; a part of a word is found where the backend indexes parts
    # (SQLite trigrams) or word starts (PostgreSQL prefixes): "QUOKKA" is both.
    assert [h.path for h in store.search_files("acme", mine(ALICE), "QUOKKA", 10)] == [paths[0]]
    # Nobody else finds it: another user of the account, the same user name elsewhere.
    assert files_found(store)[BOB] == []
    assert files_found(store)[ALICE_AT_GLOBEX] == []
    assert store.search_files("globex", [""], MARKER, 10) == []


def test_scopes_limit_where_files_are_found(store: Store) -> None:
    remember(store, ALICE, "s1", [memory(ALICE, "m", f"a {MARKER} memory")])
    store.write_file(
        "acme",
        "resources/guide.md",
        f"{MARKER} guide".encode(),
        "create",
        T0,
        session=None,
        stop_at=1,
    )
    store.write_file(
        "acme",
        "agent/skills/s.md",
        f"{MARKER} skill".encode(),
        "create",
        T0,
        session=None,
        stop_at=2,
    )
    assert sorted(h.path for h in store.search_files("acme", mine(ALICE), MARKER, 10)) == [
        "agent/skills/s.md",
        "resources/guide.md",
        "user/alice/memories/profile/m.md",
    ]
    assert [h.path for h in store.search_files("acme", ["resources"], MARKER, 10)] == [
        "resources/guide.md"
    ]
    # Bob shares the account's trees, not Alice's.
    assert sorted(files_found(store)[BOB]) == ["agent/skills/s.md", "resources/guide.md"]
    assert len(store.search_files("acme", mine(ALICE), MARKER, 2)) == 2


def test_session_files_are_not_indexed_as_memories(store: Store) -> None:
    add(store, ALICE, "s1", "hello")
    store.write_file(
        "acme",
        "user/alice/sessions/s1/notes.md",
        f"{MARKER}".encode(),
        "create",
        T0,
        session=(ALICE, "s1"),
        stop_at=4,
    )
    assert files_found(store)[ALICE] == []


def test_messages_are_found_live_and_archived_and_soft_delete_hides_them(store: Store) -> None:
    add(store, ALICE, "s1", f"I visited the {MARKER} farm last month", "unrelated words")
    add(store, ALICE, "s2", "nothing here")
    assert messages_found(store) == {ALICE: ["s1"], BOB: [], ALICE_AT_GLOBEX: []}
    commit(store, ALICE, "s1")  # archived now
    hits = store.search_messages(ALICE, None, MARKER, 10)
    assert [(h.session_id, h.archive_no) for h in hits] == [("s1", 1)]
    assert MARKER.encode() in hits[0].body
    assert store.search_messages(ALICE, "s2", MARKER, 10) == []
    assert len(store.search_messages(ALICE, "s1", MARKER, 10)) == 1

    store.delete_session(ALICE, "s1", T0 + 1, DeleteOptions(mode="soft"), actor=ADMIN)
    nobody_finds(store)
    store.restore_session(ALICE, "s1", T0 + 2, actor=ADMIN)
    assert messages_found(store)[ALICE] == ["s1"]


def test_hard_delete_and_purge_remove_messages_from_the_index(store: Store) -> None:
    add(store, ALICE, "s1", f"{MARKER} one")
    add(store, ALICE, "s2", f"{MARKER} two")
    store.delete_session(ALICE, "s1", T0 + 1)
    assert messages_found(store)[ALICE] == ["s2"]
    store.delete_session(ALICE, "s2", T0 + 1, DeleteOptions(mode="soft"), actor=ADMIN)
    store.delete_session(ALICE, "s2", T0 + 2, state="trashed", actor=ADMIN, action="purge")
    nobody_finds(store)
    # The same id again: nothing of the deleted incarnation comes back.
    add(store, ALICE, "s2", "fresh start")
    nobody_finds(store)


def test_extraction_updates_and_deletes_keep_the_index_right(store: Store) -> None:
    remember(store, ALICE, "s1", [memory(ALICE, "pet", f"Has a {MARKER} parrot")])
    assert files_found(store)[ALICE] == ["user/alice/memories/profile/pet.md"]
    embed_all(store)
    assert vectors_of(store)[ALICE] == ["user/alice/memories/profile/pet.md"]
    remember(store, ALICE, "s2", [memory(ALICE, "pet", "Has a grey cat")])
    nobody_finds(store)
    assert vectors_of(store)[ALICE] == []  # the update dropped the old text's vector
    embed_all(store)
    assert vectors_of(store)[ALICE] == ["user/alice/memories/profile/pet.md"]
    assert files_found(store, "grey cat")[ALICE] == ["user/alice/memories/profile/pet.md"]
    add(store, ALICE, "s3", "forget the cat")
    task = commit(store, ALICE, "s3").task_id
    assert task is not None
    from .helpers import claim

    claimed = claim(store, task)
    store.complete_extraction(
        task,
        claimed.claim,
        [],
        b"{}",
        T0,
        deletes=[MemoryRef(path="user/alice/memories/profile/pet.md", category="profile")],
    )
    assert files_found(store, "grey cat")[ALICE] == []
    assert store.vector_count() == 0


def test_forget_memories_removes_them_from_the_index(store: Store) -> None:
    remember(store, ALICE, "s1", [memory(ALICE, "only", f"{MARKER} from s1 only")])
    assert files_found(store)[ALICE] != []
    embed_all(store)
    assert store.vector_count() == 1
    store.delete_session(ALICE, "s1", T0 + 1, DeleteOptions(forget_memories=True))
    nobody_finds(store)
    assert store.vector_count() == 0


def test_erasing_a_user_removes_everything_of_theirs_from_the_index(store: Store) -> None:
    remember(store, ALICE, "s1", [memory(ALICE, "m", f"{MARKER} memory")])
    add(store, ALICE, "s2", f"{MARKER} message")
    remember(store, BOB, "b1", [memory(BOB, "m", f"{MARKER} bob's")])
    embed_all(store)
    assert store.vector_count() == 2
    store.erase_user("acme", "alice", T0 + 1, actor=ADMIN)
    assert vectors_of(store) == {
        ALICE: [],
        BOB: ["user/bob/memories/profile/m.md"],
        ALICE_AT_GLOBEX: [],
    }
    assert files_found(store) == {
        ALICE: [],
        BOB: ["user/bob/memories/profile/m.md"],
        ALICE_AT_GLOBEX: [],
    }
    assert messages_found(store) == {o: [] for o in OWNERS}


def test_file_writes_moves_and_removals_keep_the_index_right(store: Store) -> None:
    path = "user/alice/memories/notes/a.md"
    store.write_file("acme", path, b"first version", "create", T0, session=None, stop_at=3)
    store.write_file(
        "acme", path, f" then {MARKER}".encode(), "append", T0, session=None, stop_at=3
    )
    assert files_found(store)[ALICE] == [path]
    embed_all(store)
    assert vectors_of(store)[ALICE] == [path]
    store.write_file("acme", path, b"replaced", "replace", T0, session=None, stop_at=3)
    nobody_finds(store)
    assert files_found(store, "replaced")[ALICE] == [path]
    assert vectors_of(store)[ALICE] == []
    embed_all(store)
    moved = "user/alice/memories/notes/b.md"
    store.move("acme", path, moved, T0, session=None, stop_at=3)
    assert files_found(store, "replaced")[ALICE] == [moved]
    assert vectors_of(store)[ALICE] == []  # moved: embedded again under its new path
    embed_all(store)
    assert vectors_of(store)[ALICE] == [moved]
    store.remove("acme", moved, recursive=False)
    assert files_found(store, "replaced")[ALICE] == []
    assert store.vector_count() == 0
    store.write_file(
        "acme", "resources/d/x.md", f"{MARKER}".encode(), "create", T0, session=None, stop_at=1
    )
    store.remove("acme", "resources/d", recursive=True)
    nobody_finds(store)


def test_short_and_cjk_queries(store: Store) -> None:
    remember(
        store,
        ALICE,
        "s1",
        [memory(ALICE, "go", "Likes Go and C"), memory(ALICE, "zh", "我喜欢在阿尔卑斯山徒步旅行")],
    )
    add(store, ALICE, "s2", "用户说他喜欢爬山")
    assert [h.path for h in store.search_files("acme", mine(ALICE), "徒步", 10)] == [
        "user/alice/memories/profile/zh.md"
    ]
    assert [h.path for h in store.search_files("acme", mine(ALICE), "阿尔卑斯", 10)] == [
        "user/alice/memories/profile/zh.md"
    ]
    assert [h.path for h in store.search_files("acme", mine(ALICE), "go", 10)] == [
        "user/alice/memories/profile/go.md"
    ]
    assert [h.session_id for h in store.search_messages(ALICE, None, "爬山", 10)] == ["s2"]
    assert store.search_messages(BOB, None, "爬山", 10) == []
    assert store.search_files("acme", mine(ALICE), "   ", 10) == []


def test_common_words_of_a_question_do_not_decide_the_ranking(store: Store) -> None:
    remember(
        store,
        ALICE,
        "s1",
        [
            memory(ALICE, "a", "The user said that the weather was what they talked about"),
            memory(ALICE, "b", "Went canyoning in Ticino"),
        ],
    )
    question = "what did the user say about canyoning"
    assert [h.path for h in store.search_files("acme", mine(ALICE), question, 10)] == [
        "user/alice/memories/profile/b.md"
    ]
    # Only common words: they are used after all.
    assert [h.path for h in store.search_files("acme", mine(ALICE), "the weather", 10)] == [
        "user/alice/memories/profile/a.md"
    ]
    assert [h.path for h in store.search_files("acme", mine(ALICE), "what about", 10)] == [
        "user/alice/memories/profile/a.md"
    ]


def test_messages_with_nul_and_backslashes_are_stored_and_found(store: Store) -> None:
    # A NUL escape (which PostgreSQL text cannot hold) next to an escaped backslash followed
    # by "u0000" (which is not one).
    add(store, ALICE, "s1", "nul\x00here \\u0000 and \\\\x okapiberry \\")
    hits = store.search_messages(ALICE, None, "okapiberry", 10)
    assert [h.session_id for h in hits] == ["s1"]
    assert store.search_messages(ALICE, None, "u0000", 10) != []


def test_a_word_of_the_stored_message_json_is_not_a_hit(store: Store) -> None:
    # The scan tests the stored body (JSON) first: its keys and ids must not make a hit.
    add(store, ALICE, "s1", "hello there")
    for word in ("parts", "role", "text", "msg"):
        assert store.search_messages(ALICE, None, word, 10) == [], word


def test_conversation_hits_are_ranked_by_their_words(store: Store) -> None:
    add(
        store,
        ALICE,
        "s1",
        "We once saw a narwhal near the harbour",
        "narwhal narwhal: the narwhal tusk is a tooth, and narwhal pods are small",
        "Nothing about sea life in this one",
    )
    add(store, ALICE, "s2", "A narwhal and an iceberg, both in one iceberg photo")
    hits = store.search_messages(ALICE, None, "narwhal iceberg", 10)
    assert [h.session_id for h in hits] == ["s2", "s1", "s1"]
    assert all(0 < h.score < 1 for h in hits)
    assert hits[0].score > hits[1].score > hits[2].score
    assert len(store.search_messages(ALICE, None, "narwhal iceberg", 2)) == 2


def test_letters_beyond_ascii_are_found_whatever_their_case(store: Store) -> None:
    add(store, ALICE, "s1", "Ärger mit dem ÖLOFEN und Привет from Москва")
    for query in ("ärger", "ÄRGER", "ölofen", "привет", "москва", "МОСКВА"):
        found = [h.session_id for h in store.search_messages(ALICE, None, query, 10)]
        assert found == ["s1"], query


def test_purge_keeps_memories_and_their_vectors_removing_the_file_drops_its_vector(
    store: Store,
) -> None:
    remember(store, ALICE, "s1", [memory(ALICE, "m", f"{MARKER} memory")])
    embed_all(store)
    store.delete_session(ALICE, "s1", T0 + 1, DeleteOptions(mode="soft"), actor=ADMIN)
    store.delete_session(ALICE, "s1", T0 + 2, state="trashed", actor=ADMIN, action="purge")
    assert vectors_of(store)[ALICE] == ["user/alice/memories/profile/m.md"]
    store.remove("acme", "user/alice/memories/profile/m.md", recursive=False)
    assert store.vector_count() == 0


def test_vectors_are_keyed_by_owner_and_only_for_the_text_embedded(store: Store) -> None:
    """A search's candidates are the caller's own vectors (account and user in the
    statement); a vector made from text that changed since is not stored."""
    remember(store, ALICE, "s1", [memory(ALICE, "m", "alice's")])
    remember(store, BOB, "b1", [memory(BOB, "m", "bob's")])
    remember(store, ALICE_AT_GLOBEX, "g1", [memory(ALICE_AT_GLOBEX, "m", "globex alice's")])
    assert sorted(store.owners_to_embed("test-model"), key=str) == sorted(OWNERS, key=str)
    stale = store.memories_to_embed(ALICE, "test-model", 10)
    assert [m.path for m in stale] == ["user/alice/memories/profile/m.md"]
    store.write_file("acme", stale[0].path, b"changed", "replace", T0, session=None, stop_at=3)
    assert store.put_vectors(ALICE, "test-model", [(stale[0], pack([1.0]), 1)], T0) == 0
    embed_all(store)
    assert store.owners_to_embed("test-model") == []
    assert vectors_of(store) == {
        ALICE: ["user/alice/memories/profile/m.md"],
        BOB: ["user/bob/memories/profile/m.md"],
        ALICE_AT_GLOBEX: ["user/alice/memories/profile/m.md"],
    }
    # Alice's candidates within the account are hers only, whatever the paths asked for.
    got = store.vector_candidates(ALICE, "test-model", [""], ["user/bob/memories/profile/m.md"], 10)
    assert [c.path for c in got] == ["user/alice/memories/profile/m.md"]
    # Another model's vectors are not candidates, and its missing ones are to be made.
    assert store.vector_candidates(ALICE, "other-model", [""], [], 10) == []
    assert len(store.owners_to_embed("other-model")) == 3
