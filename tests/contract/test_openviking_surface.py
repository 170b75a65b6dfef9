"""Issue 11: the published OpenViking client's whole public surface against ``skald serve``.

Every public method of ``openviking_sdk.SyncHTTPClient`` and ``AsyncHTTPClient`` (0.1.17),
found by introspection, is either exercised with an assertion on its result
(``ov_surface.EXERCISES``, plus ``initialize``/``close``) or listed with its reason in
``ov_surface.UNSUPPORTED`` — the table the README shows. Both clients run every exercise,
against a dev-mode server and a key-mode one.
"""

from __future__ import annotations

from pathlib import Path

import openviking_sdk
import ov_surface as surface
import pytest
from support.server import SkaldServer

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_public_method_is_exercised_or_listed_as_unsupported() -> None:
    listed = set(surface.EXERCISES) | set(surface.LIFECYCLE)
    for cls in (openviking_sdk.SyncHTTPClient, openviking_sdk.AsyncHTTPClient):
        methods = surface.public_methods(cls)
        assert methods - listed - set(surface.UNSUPPORTED) == set(), cls
    assert listed & set(surface.UNSUPPORTED) == set()
    every = surface.public_methods(openviking_sdk.AsyncHTTPClient) | surface.public_methods(
        openviking_sdk.SyncHTTPClient
    )
    assert set(surface.EXERCISES) | set(surface.UNSUPPORTED) <= every | set(surface.LIFECYCLE)


def test_the_readme_shows_the_not_supported_table() -> None:
    readme = README.read_text()
    for name in surface.UNSUPPORTED:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("mode", ["dev", "api-key"])
def test_every_exercised_method_works(request: pytest.FixtureRequest, kind: str, mode: str) -> None:
    server: SkaldServer = request.getfixturevalue(
        "dev_server" if mode == "dev" else "apikey_server"
    )
    world = surface.World(user=server.user)
    run = surface.run_sync if kind == "sync" else surface.run_async
    outcome = run(server.url, server.api_key, world)
    failed = {name: repr(exc) for name, exc in outcome.items() if exc is not None}
    assert failed == {}, f"{failed}\n{server.describe()}"
    assert set(outcome) == set(surface.EXERCISES)
