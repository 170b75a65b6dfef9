"""The server's retention policy (issue 5, point 4): ``DeletionService.sweep`` and the periodic
``RetentionSweeper`` purge sessions idle (``updated_at``) longer than ``retention_days`` and
trashed ones deleted longer than ``trash_days`` ago, audited as ``retention`` / ``purge`` by the
``system/retention`` actor. Off by default; the configuration refuses non-positive values.

Old sessions are made by writing them in the past: the services read the time from a
``TestClock`` (``build_services(config, now=clock)``), and ``with clock.days_ago(40):`` moves it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from support.clock import TestClock

from skald_core.errors import InvalidArgumentError
from skald_core.identity import Identity
from skald_core.schemas import AddMessageRequest, DeleteOptions
from skald_server import cli
from skald_server import config as config_mod
from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig
from skald_server.context import Services
from skald_server.retention import RetentionSweeper

DAY = 86_400.0
ALICE = Identity(account="acme", user="alice", role="user")
BOB = Identity(account="other", user="bob", role="user")
ROOT = Identity(account="acme", user="root", role="root")


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def services(tmp_path: Path, clock: TestClock) -> Iterator[Services]:
    svc = build_services(ServerConfig(path=str(tmp_path / "data")), now=clock)
    yield svc
    svc.runner.stop()
    svc.store.close()


def say(svc: Services, who: Identity, sid: str, text: str = "hello") -> None:
    svc.sessions.add_message(who, sid, AddMessageRequest(role="user", content=text))


def stored(svc: Services) -> dict[str, str]:
    """session id -> "live" / "trashed", over every owner."""
    return {
        r.session_id: "trashed" if r.deleted_at else "live"
        for r in svc.store.expired_sessions(None, time.time() + DAY, "created_at")
        + svc.store.expired_sessions(None, time.time() + DAY, "created_at", trashed=True)
    }


def audit(svc: Services, action: str) -> list[Any]:
    return svc.deletion.audit(ROOT, action=action)


def test_sweep_purges_idle_and_long_trashed_sessions(services: Services, clock: TestClock) -> None:
    svc = services
    with clock.days_ago(40):
        say(svc, ALICE, "idle")
        say(svc, BOB, "idle-elsewhere")  # the policy is server-wide: every account
        say(svc, ALICE, "revived")
        say(svc, ALICE, "new-trash")  # idle, but trashed below: only trash_days applies to it
    with clock.days_ago(10):
        say(svc, ALICE, "old-trash")
        svc.deletion.delete(ALICE, "old-trash", DeleteOptions(mode="soft"))
    say(svc, ALICE, "fresh")
    say(svc, ALICE, "revived")  # an append is activity: updated_at moves to now
    svc.deletion.delete(ALICE, "new-trash", DeleteOptions(mode="soft"))

    sweeper = RetentionSweeper(svc.deletion, retention_days=30, trash_days=7, interval=3600)
    assert sweeper.enabled
    assert sweeper.sweep_once() == 3

    assert stored(svc) == {"fresh": "live", "revived": "live", "new-trash": "trashed"}
    retention = audit(svc, "retention")
    assert sorted((e.account_id, e.session_id) for e in retention) == [
        ("acme", "idle"),
        ("other", "idle-elsewhere"),
    ]
    (purge,) = audit(svc, "purge")
    assert purge.session_id == "old-trash" and purge.counts["messages"] == 1
    for entry in [*retention, purge]:
        assert entry.actor.account_id == "system" and "retention" in entry.actor.user_id
    assert sweeper.sweep_once() == 0  # nothing left to do
    assert svc.store.check_integrity() == []


def test_restore_counts_as_activity(services: Services, clock: TestClock) -> None:
    svc = services
    with clock.days_ago(40):
        say(svc, ALICE, "s1")
        svc.deletion.delete(ALICE, "s1", DeleteOptions(mode="soft"))
    svc.deletion.restore(ALICE, "s1")  # back from the trash, and active again

    assert svc.deletion.sweep(retention_days=30, trash_days=7) == 0
    assert stored(svc) == {"s1": "live"}


def test_off_by_default(tmp_path: Path, services: Services, clock: TestClock) -> None:
    svc = services
    with clock.days_ago(10_000):
        say(svc, ALICE, "ancient")
        say(svc, ALICE, "ancient-trash")
        svc.deletion.delete(ALICE, "ancient-trash", DeleteOptions(mode="soft"))

    config = ServerConfig(path=svc.config.path)
    assert config.retention_days is None and config.trash_days is None
    sweeper = RetentionSweeper(svc.deletion, retention_days=None, trash_days=None, interval=0.01)
    assert not sweeper.enabled
    sweeper.start()  # no thread when there is no policy
    assert sweeper._thread is None
    assert sweeper.sweep_once() == 0
    assert svc.deletion.sweep(retention_days=None, trash_days=None) == 0
    assert stored(svc) == {"ancient": "live", "ancient-trash": "trashed"}


def test_the_server_sweeps_periodically_when_configured(tmp_path: Path, clock: TestClock) -> None:
    config = ServerConfig(
        path=str(tmp_path / "data"),
        retention_days=30,
        trash_days=7,
        sweep_interval_seconds=0.05,
        task_poll_seconds=0.05,
    )
    svc = build_services(config, now=clock)
    with TestClient(create_app(config, services=svc)) as http:
        with clock.days_ago(31):
            http.post("/api/v1/sessions/idle/messages", json={"role": "user", "content": "x"})
        http.post("/api/v1/sessions/busy/messages", json={"role": "user", "content": "x"})
        deadline = time.monotonic() + 60  # a wait: the sweeper runs every 0.05 s
        while "idle" in stored(svc):
            assert time.monotonic() < deadline, "the sweeper never purged the idle session"
            time.sleep(0.02)
        listed = http.get("/api/v1/sessions", params={"include_deleted": "true"}).json()
        assert [s["session_id"] for s in listed["result"]] == ["busy"]
        entries = http.get("/api/v1/audit", params={"action": "retention"}).json()["result"]
        assert [e["session_id"] for e in entries] == ["idle"]


def test_a_default_server_never_sweeps(tmp_path: Path, clock: TestClock) -> None:
    config = ServerConfig(path=str(tmp_path / "data"), sweep_interval_seconds=0.01)
    svc = build_services(config, now=clock)
    with TestClient(create_app(config, services=svc)) as http:
        with clock.days_ago(10_000):
            http.post("/api/v1/sessions/old/messages", json={"role": "user", "content": "x"})
        time.sleep(0.2)
        assert "old" in stored(svc)


@pytest.mark.parametrize("name", ["retention_days", "trash_days"])
@pytest.mark.parametrize("value", [0, -1, -0.5])
def test_config_refuses_non_positive_days(name: str, value: float) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        config_mod.load(overrides={name: value}, environ={})


def test_config_accepts_days_from_flags_and_environment() -> None:
    loaded = config_mod.load(overrides={"retention_days": 30}, environ={"SKALD_TRASH_DAYS": "0.5"})
    assert (loaded.retention_days, loaded.trash_days) == (30, 0.5)
    assert config_mod.load(environ={}).retention_days is None
    with pytest.raises(InvalidArgumentError):
        config_mod.load(environ={"SKALD_RETENTION_DAYS": "-3"})
    with pytest.raises(InvalidArgumentError):
        config_mod.load(environ={"SKALD_RETENTION_DAYS": "soon"})
    with pytest.raises(InvalidArgumentError, match="sweep_interval_seconds"):
        config_mod.load(overrides={"sweep_interval_seconds": 0}, environ={})


@pytest.mark.parametrize("flag", ["--retention-days", "--trash-days"])
def test_serve_refuses_a_non_positive_flag(
    tmp_path: Path, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["serve", "--path", str(tmp_path / "data"), flag, "0"])
    assert code == 2
    assert flag[2:].replace("-", "_") in capsys.readouterr().err
