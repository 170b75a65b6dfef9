"""The operator's commands, run as the installed ``skald`` entry point in a subprocess, on
SQLite and on PostgreSQL: sessions ls/show/rm/restore/purge, cleanup, erase-user, audit (text
with a header row, and --json), and what they did checked through an embedded client."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import run_skald

import skald


class Store:
    def __init__(self, flags: list[str], open_client: dict[str, str]) -> None:
        self.flags = flags
        self.open_client = open_client

    def skald(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_skald(*args, *self.flags)

    def client(self) -> skald.OpenViking:
        return skald.OpenViking(**self.open_client)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        data = str(tmp_path / "data")
        yield Store(["--path", data], {"path": data})
        return
    from postgres.support import DATABASE_URL, fresh_schema

    with fresh_schema("skald_ops") as schema:
        yield Store(
            ["--database-url", DATABASE_URL, "--database-schema", schema],
            {"database_url": DATABASE_URL, "database_schema": schema},
        )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_sessions_commands(store: Store) -> None:
    with store.client() as c:
        for sid in ("a", "b", "c"):
            c.add_message(sid, "user", "My name is Ada.")
        c.commit_session("a", wait=True)
    lines = ok(store.skald("sessions", "ls")).splitlines()
    assert lines[0].split() == ["SESSION", "MESSAGES", "CREATED", "UPDATED", "DELETED"]
    assert sorted(line.split()[0] for line in lines[1:]) == ["a", "b", "c"]
    listed = json.loads(ok(store.skald("sessions", "ls", "--json")))
    assert sorted(s["session_id"] for s in listed) == ["a", "b", "c"]
    shown = json.loads(ok(store.skald("sessions", "show", "a", "--json")))
    assert shown["commit_count"] == 1 and shown["memories_extracted"]["total"] == 1

    receipt = json.loads(ok(store.skald("sessions", "rm", "b", "--soft", "--json")))
    assert receipt["mode"] == "soft"
    assert "b" not in ok(store.skald("sessions", "ls"))
    assert "b" in ok(store.skald("sessions", "ls", "--include-deleted"))
    ok(store.skald("sessions", "restore", "b"))
    assert store.skald("sessions", "purge", "b").returncode == 1  # not in the trash
    ok(store.skald("sessions", "rm", "b", "--soft"))
    assert "deleted b" in ok(store.skald("sessions", "purge", "b"))
    out = ok(store.skald("sessions", "rm", "a"))
    assert out.startswith("deleted a:") and "1 memories kept" in out
    missing = store.skald("sessions", "rm", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr

    with store.client() as c:
        assert [s["session_id"] for s in c.list_sessions(include_deleted=True)] == ["c"]
        assert len(c.ls("viking://user/default/memories", recursive=True)) >= 1

    audit = json.loads(ok(store.skald("audit", "--json")))
    assert [e["action"] for e in audit][:3] == ["delete", "purge", "soft_delete"]
    text = ok(store.skald("audit")).splitlines()
    assert text[0].split()[:3] == ["ID", "AT", "ACTION"]


def test_cleanup_dry_run_then_for_real(store: Store, tmp_path: Path) -> None:
    from support.clock import TestClock

    clock = TestClock()
    client = skald.OpenViking(**store.open_client, now=clock)  # type: ignore[arg-type]
    with client:
        with clock.days_ago(40):
            client.add_message("old", "user", "hello")
        client.add_message("new", "user", "hello")
    dry = ok(store.skald("cleanup", "--older-than", "30d", "--dry-run"))
    assert dry.splitlines()[1:] == ["  old: 1 messages, 0 archives, 0 files; 0 memories kept"]
    assert "would delete 1" in dry
    with store.client() as c:
        assert c.session_exists("old")
    result = json.loads(ok(store.skald("cleanup", "--older-than", "30d", "--json")))
    assert [r["session_id"] for r in result["deleted"]] == ["old"]
    with store.client() as c:
        assert [s["session_id"] for s in c.list_sessions()] == ["new"]
    bad = store.skald("cleanup", "--older-than", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def test_cleanup_draws_progress_on_stderr_only_when_asked_or_on_a_terminal(
    store: Store,
) -> None:
    """A long cleanup shows a progress bar on stderr: not when stderr is a pipe (as here), so
    scripts see none, but with ``--progress``; stdout stays the same either way."""
    from support.clock import TestClock

    clock = TestClock()
    with skald.OpenViking(**store.open_client, now=clock) as client, clock.days_ago(40):  # type: ignore[arg-type]
        for n in range(25):
            client.add_message(f"old-{n:02d}", "user", "hello")
    quiet = store.skald("cleanup", "--older-than", "30d", "--dry-run")
    assert ok(quiet).startswith("would delete 25 sessions") and quiet.stderr == ""
    shown = store.skald("cleanup", "--older-than", "30d", "--dry-run", "--progress")
    assert ok(shown).splitlines()[1:] == quiet.stdout.splitlines()[1:]  # (the cutoff moves)
    lines = shown.stderr.splitlines()
    assert lines and all(line.startswith("cleanup (dry run) [") for line in lines)
    assert lines[-1] == f"cleanup (dry run) [{'#' * 30}] 25/25"
    real = store.skald("cleanup", "--older-than", "30d", "--progress")
    assert ok(real).startswith("deleted 25 sessions")
    assert real.stderr.splitlines()[-1] == f"cleanup [{'#' * 30}] 25/25"
    with store.client() as c:
        assert c.list_sessions() == []


def test_erase_user_needs_yes(store: Store) -> None:
    with store.client() as c:
        c.add_message("s", "user", "My name is Ada.")
        c.commit_session("s", wait=True)
    refused = store.skald("erase-user", "--account", "default", "--user", "default")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    erased = json.loads(
        ok(
            store.skald(
                "erase-user", "--account", "default", "--user", "default", "--yes", "--json"
            )
        )
    )
    assert erased["deleted"]["sessions"] == 1 and erased["deleted"]["memories"] == 1
    with store.client() as c:
        assert c.list_sessions() == []


def test_every_flag_of_every_command_has_help() -> None:
    import argparse

    from skald_server import cli

    def walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str, str]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield path + " " + name, "(description)", child.description or ""
                    yield from walk(child, path + " " + name)
            elif action.option_strings or action.dest not in ("help",):
                yield path, "/".join(action.option_strings) or action.dest, action.help or ""

    missing = [(cmd, flag) for cmd, flag, text in walk(cli.parser(), "skald") if not text]
    assert missing == []
