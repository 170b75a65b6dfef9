"""Properties of ``viking://`` URI parsing: normalisation, aliases, refusals, access checks."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from skald_core.errors import ForbiddenError, InvalidURIError
from skald_core.identity import Identity
from skald_core.uris import MAX_URI_LENGTH, ROOTS, VikingPath, check_access, parse

# ---------------------------------------------------------------------------- strategies

names = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
identities = st.builds(Identity, account=names, user=names)

# A path segment as a caller may write it: anything printable but the separator and '\'.
segments = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="/\\"),
    min_size=1,
    max_size=16,
).filter(lambda s: s not in (".", ".."))
tails = st.lists(segments, max_size=5)
canonical_paths = st.tuples(st.sampled_from(sorted(ROOTS)), tails).map(lambda t: (t[0], *t[1]))
control_chars = st.characters(categories=["Cc"])


def uri_of(parts: tuple[str, ...] | list[str]) -> str:
    return "viking://" + "/".join(parts)


# ---------------------------------------------------------------------------- normalisation


@given(path=canonical_paths, who=identities)
def test_a_canonical_uri_parses_to_its_own_segments(path: tuple[str, ...], who: Identity) -> None:
    assert parse(uri_of(path), who).segments == path


@given(path=canonical_paths, who=identities)
def test_a_trailing_slash_does_not_change_the_path(path: tuple[str, ...], who: Identity) -> None:
    assert parse(uri_of(path) + "/", who) == parse(uri_of(path), who)


def test_the_bare_scheme_is_the_root() -> None:
    assert parse("viking://", Identity()) == VikingPath(())
    assert parse("viking:///", Identity()) == VikingPath(())


# ---------------------------------------------------------------------------- aliases


@given(session_id=segments, rest=tails, who=identities)
def test_session_alias_resolves_into_the_callers_own_sessions(
    session_id: str, rest: list[str], who: Identity
) -> None:
    parsed = parse(uri_of(["session", session_id, *rest]), who)

    assert parsed.segments == ("user", who.user, "sessions", session_id, *rest)
    assert parsed.session_ref() == (who.user, session_id, tuple(rest))


@given(rest=tails, who=identities)
def test_tilde_alias_resolves_into_the_callers_own_tree(rest: list[str], who: Identity) -> None:
    assert parse(uri_of(["~", *rest]), who).segments == ("user", who.user, *rest)


def test_the_same_alias_resolves_per_caller() -> None:
    ada, bob = Identity(user="ada"), Identity(user="bob")

    assert parse("viking://session/s1", ada).uri == "viking://user/ada/sessions/s1"
    assert parse("viking://session/s1", bob).uri == "viking://user/bob/sessions/s1"
    assert parse("viking://~/memories/x.md", ada).uri == "viking://user/ada/memories/x.md"


# ---------------------------------------------------------------------------- refusals


def refused(uri: object, who: Identity) -> InvalidURIError:
    with pytest.raises(InvalidURIError) as caught:
        parse(uri, who)
    assert caught.value.code == "INVALID_URI"
    return caught.value


@given(path=canonical_paths, at=st.integers(min_value=1), dots=st.sampled_from([".", ".."]))
def test_dot_segments_are_refused_anywhere(path: tuple[str, ...], at: int, dots: str) -> None:
    parts = list(path)
    parts.insert(at % (len(parts) + 1), dots)
    refused(uri_of(parts), Identity())


@given(path=canonical_paths, at=st.integers(min_value=0))
def test_empty_segments_are_refused(path: tuple[str, ...], at: int) -> None:
    parts = list(path)
    parts.insert(at % len(parts) + 1, "")
    assume(parts[-1] != "")  # one trailing slash is normalisation, not an empty segment
    refused(uri_of(parts), Identity())


@given(path=canonical_paths, at=st.integers(min_value=0), ch=control_chars)
def test_control_characters_are_refused(path: tuple[str, ...], at: int, ch: str) -> None:
    body = "/".join(path)
    i = at % (len(body) + 1)
    error = refused("viking://" + body[:i] + ch + body[i:], Identity())
    assert "control" in error.message


@pytest.mark.parametrize(
    "uri",
    [
        "viking://user/default/../bob/memories",
        "viking://session/../../etc",
        "viking://session/s1/./x",
        "viking://~/..",
        "viking://user//default",
        "viking://user/default\\..\\bob",
        "viking://etc/passwd",
    ],
)
def test_escapes_are_refused(uri: str) -> None:
    refused(uri, Identity())


@given(
    scheme=st.sampled_from(
        ["http://", "https://", "file://", "VIKING://", "viking:/", "viking:", "", "/", "//"]
    ),
    path=canonical_paths,
)
def test_other_schemes_are_refused(scheme: str, path: tuple[str, ...]) -> None:
    error = refused(scheme + "/".join(path), Identity())
    assert error.details["reason"] == "must start with viking://"


@pytest.mark.parametrize("value", [None, 42, b"viking://user", ["viking://user"]])
def test_non_strings_are_refused(value: object) -> None:
    refused(value, Identity())


def test_overlong_uris_are_refused() -> None:
    refused("viking://resources/" + "a" * MAX_URI_LENGTH, Identity())


# ---------------------------------------------------------------------------- access


@given(who=identities, other=names, rest=tails)
def test_another_users_tree_is_forbidden(who: Identity, other: str, rest: list[str]) -> None:
    assume(other != who.user)
    path = parse(uri_of(["user", other, *rest]), who)

    with pytest.raises(ForbiddenError) as caught:
        check_access(path, who)

    assert caught.value.code == "FORBIDDEN" and caught.value.http_status == 403


@given(who=identities, rest=tails, root=st.sampled_from(["~", "session", "agent", "resources"]))
def test_own_shared_and_aliased_trees_are_allowed(
    who: Identity, rest: list[str], root: str
) -> None:
    check_access(parse(uri_of([root, *rest]), who), who)  # must not raise


def test_the_users_directory_itself_may_be_listed() -> None:
    check_access(parse("viking://user", Identity()), Identity())


# ---------------------------------------------------------------------------- round trip

# Anything that looks roughly like a URI: real roots, aliases, junk, dots and empties.
loose_segments = st.one_of(
    st.sampled_from(["user", "agent", "resources", "session", "~", ".", "..", "", "default"]),
    segments,
)


@given(parts=st.lists(loose_segments, max_size=6), slash=st.booleans(), who=identities)
def test_every_accepted_uri_round_trips_through_its_canonical_form(
    parts: list[str], slash: bool, who: Identity
) -> None:
    uri = uri_of(parts) + ("/" if slash else "")
    try:
        path = parse(uri, who)
    except InvalidURIError:
        assume(False)
        raise

    assert parse(path.uri, who) == path
    assert parse(path.uri, Identity(user=who.user + "-someone-else")) == path  # no alias left
