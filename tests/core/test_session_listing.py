"""A page of sessions written straight from rows (``service/session_listing.py``) is byte for
byte what msgspec writes for the ``SessionListItem`` structs of the same rows (``list_item``), for any
ids, times and counts, trashed or not, one user's or across users."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from skald_core.service.session_listing import (
    SessionListing,
    json_text,
    list_item,
    listing_json,
    live_listing_json,
)
from skald_core.store.model import ListedSession, Owner

# Any text (ids are checked on the way in, but a listing must not depend on it), times from
# 1970 to 2100 with any fraction of a second, counts of any size.
texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=0, max_size=12)
epochs = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)
rows = st.tuples(
    texts,
    epochs,
    epochs,
    st.integers(min_value=0, max_value=2**62),
    st.none() | epochs,
    st.none() | texts,
    texts,
    texts,
)


@given(st.lists(rows, max_size=8), st.booleans())
def test_a_listing_is_what_msgspec_writes_for_its_items(
    page: list[ListedSession], across: bool
) -> None:
    expected = msgspec.json.encode([list_item(r, across) for r in page])
    assert listing_json(page, across) == expected
    listing = SessionListing(page, across=across)
    assert listing.json() == expected
    assert list(listing) == [list_item(r, across) for r in page]


@given(st.lists(rows, max_size=8), texts, texts)
def test_a_live_listing_is_what_msgspec_writes_for_its_items(
    page: list[ListedSession], account: str, user: str
) -> None:
    """One owner's live sessions: the store reads four columns, the rest is the owner's."""
    live = [(*r[:4], None, None, account, user) for r in page]
    expected = msgspec.json.encode([list_item(r, False) for r in live])
    owner = Owner(account, user)
    assert live_listing_json([r[:4] for r in page], owner) == expected
    listing = SessionListing([r[:4] for r in page], owner=owner)
    assert listing.json() == expected
    assert listing.items() == [list_item(r, False) for r in live]


def test_every_character_is_escaped_as_msgspec_escapes_it() -> None:
    for code in [*range(0x0, 0x800), 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x1F600, 0x10FFFF]:
        text = f"a{chr(code)}b"
        assert json_text(text) == msgspec.json.encode(text).decode()[1:-1], hex(code)


def test_times_at_the_edges_of_a_millisecond_and_a_second() -> None:
    t0 = 1_700_000_000
    times = [t0 + f for f in (0.0, 0.0005, 0.0009995, 0.001, 0.9995, 0.999499, 0.9999995)]
    page = [(f"s{i}", t, t, i, t, "alice", "acme", "alice") for i, t in enumerate(times)]
    assert listing_json(page, True) == msgspec.json.encode([list_item(r, True) for r in page])


def test_a_listing_reads_as_a_sequence_of_items() -> None:
    page: list[ListedSession] = [
        ("s1", 1.0, 2.0, 3, None, None, "acme", "alice"),
        ("s2", 1.5, 2.5, 0, 3.0, None, "acme", "alice"),
    ]
    listing = SessionListing(page)
    items = [list_item(r) for r in page]
    assert SessionListing([r[:4] for r in page[:1]], owner=Owner("acme", "alice")) == items[:1]
    assert len(listing) == 2
    assert listing[0] == items[0] and listing[-1] == items[1]
    assert listing[:1] == items[:1]
    assert listing == items and listing == SessionListing(list(page))
    assert listing != items[:1] and listing != "s1"
    assert listing.index(items[1]) == 1
    assert items[1].deleted_by == ""  # trashed by no one recorded: an empty name, as before
    assert SessionListing([]).json() == b"[]"
