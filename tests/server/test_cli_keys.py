"""``skald keys create|list|revoke`` against a data directory, checked through the HTTP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skald_server import cli

from .conftest import ROOT_KEY, MakeServer
from .helpers import assert_error, assert_ok


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SKALD_"):
            monkeypatch.delenv(name)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_create_list_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_server: MakeServer
) -> None:
    data = tmp_path / "cli-data"
    code, out, err = run_cli(
        capsys,
        "keys",
        "create",
        "--path",
        str(data),
        "--account",
        "a",
        "--user",
        "u",
        "--role",
        "user",
    )
    assert code == 0, err
    key = out.strip()
    assert key.startswith("sk-") and "\n" not in key
    key_id = key.split("-")[1]
    assert key_id in err and "a/u" in err and "role=user" in err

    code, out, err = run_cli(
        capsys,
        "keys",
        "create",
        "--path",
        str(data),
        "--account",
        "a",
        "--user",
        "boss",
        "--role",
        "admin",
        "--read-only",
    )
    assert code == 0, err
    admin_key = out.strip()

    code, out, err = run_cli(capsys, "keys", "list", "--path", str(data))
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    assert header.split("\t") == [
        "KEY_ID", "ACCOUNT", "USER", "ROLE", "ACCESS", "STATE", "CREATED", "LAST_USED",
        "REVOKED",
    ]  # fmt: skip
    assert len(lines) == 2
    row = next(line.split("\t") for line in lines if line.startswith(key_id))
    assert row[:6] == [key_id, "a", "u", "user", "read-write", "active"]
    assert row[6].endswith("Z") and row[7] == row[8] == "-"
    assert any("\tadmin\tread-only\tactive" in line for line in lines)
    secret = key.split("-", 2)[2]
    assert secret not in out and key not in out
    assert admin_key.split("-", 2)[2] not in out

    code, out, _ = run_cli(capsys, "keys", "list", "--path", str(data), "--account", "other")
    assert code == 0 and out.strip().splitlines()[1:] == []

    # the key works against a server on that data directory
    server = make_server(path=str(data), root_api_key=ROOT_KEY)
    assert server.config.path == str(data)
    c = server.caller(key)
    me = c.whoami()
    assert (me["account"], me["user"], me["role"]) == ("a", "u", "user")
    c.add("s1", "hello")
    admin = server.caller(admin_key, user="u")
    assert admin.meta("s1")["message_count"] == 1
    assert_error(admin.delete("/api/v1/sessions/s1"), 403, "FORBIDDEN")

    code, out, err = run_cli(capsys, "keys", "revoke", "--path", str(data), key_id)
    assert code == 0, err
    assert key_id in out
    assert_error(c.get("/api/v1/sessions"), 401, "UNAUTHENTICATED")
    assert_error(
        c.post("/api/v1/sessions/s1/messages", json={"role": "user", "content": "x"}),
        401,
        "UNAUTHENTICATED",
    )

    code, out, _ = run_cli(capsys, "keys", "list", "--path", str(data))
    row = next(line.split("\t") for line in out.splitlines() if line.startswith(key_id))
    assert row[5] == "revoked" and row[7].endswith("Z") and row[8].endswith("Z")

    # revoking again (or an unknown id) fails
    code, _, err = run_cli(capsys, "keys", "revoke", "--path", str(data), key_id)
    assert code == 1 and key_id in err
    code, _, err = run_cli(capsys, "keys", "revoke", "--path", str(data), "nope")
    assert code == 1
    # the data outlives the key
    assert (
        assert_ok(
            server.root.get(
                "/api/v1/sessions", headers={"X-OpenViking-Account": "a", "X-OpenViking-User": "u"}
            )
        )[0]["session_id"]
        == "s1"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--account", "a/b", "--user", "u"],
        ["--account", "a", "--user", ".."],
        ["--account", "", "--user", "u"],
    ],
)
def test_keys_create_rejects_bad_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run_cli(capsys, "keys", "create", "--path", str(tmp_path / "d"), *args)
    assert code == 2
    assert out == "" and "skald keys:" in err


def test_keys_create_rejects_root_role(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(
            [
                "keys",
                "create",
                "--path",
                str(tmp_path),
                "--account",
                "a",
                "--user",
                "u",
                "--role",
                "root",
            ]
        )
    assert exc.value.code == 2


@pytest.mark.skipif(
    shutil.which("skald") is None and not (Path(sys.executable).parent / "skald").exists(),
    reason="skald script not installed",
)
def test_skald_console_script(tmp_path: Path) -> None:
    exe = shutil.which("skald") or str(Path(sys.executable).parent / "skald")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKALD_")}
    done = subprocess.run(
        [
            exe,
            "keys",
            "create",
            "--path",
            str(tmp_path / "d"),
            "--account",
            "a",
            "--user",
            "u",
            "--role",
            "user",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("sk-")
    listed = subprocess.run(
        [exe, "keys", "list", "--path", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert listed.returncode == 0
    assert key.split("-")[1] in listed.stdout and key not in listed.stdout


def test_keys_list_shows_when_each_key_was_last_used(
    tmp_path: Path, make_server: MakeServer
) -> None:
    """The entry point in a subprocess: ``--role read-only`` makes a read-only user key;
    ``keys list`` has a header row and a LAST_USED column that a request fills in."""
    from support.server import run_skald

    data = tmp_path / "d"
    made = run_skald("keys", "create", "--path", str(data), "--account", "a", "--user", "u",
                     "--role", "read-only")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert "role=user read-only" in made.stderr

    def row() -> dict[str, str]:
        listed = run_skald("keys", "list", "--path", str(data))
        assert listed.returncode == 0, listed.stderr
        header, *lines = listed.stdout.strip().splitlines()
        return dict(zip(header.split("\t"), lines[0].split("\t"), strict=True))

    before = row()
    assert (before["ACCESS"], before["LAST_USED"]) == ("read-only", "-")
    server = make_server(path=str(data), root_api_key=ROOT_KEY)
    caller = server.caller(key)
    assert_ok(caller.get("/api/v1/sessions"))
    assert_error(
        caller.post("/api/v1/sessions/s1/messages", json={"role": "user", "content": "x"}),
        403,
        "FORBIDDEN",
    )
    after = row()
    assert after["LAST_USED"].endswith("Z") and after["LAST_USED"] >= after["CREATED"]


def test_every_subcommand_describes_itself() -> None:
    """Each ``skald`` command and subcommand has a description for its ``--help``, and every
    flag a help text."""

    def walk(p: object, name: str) -> list[str]:
        import argparse

        assert isinstance(p, argparse.ArgumentParser)
        missing = [] if p.description else [f"{name}: no description"]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    missing += walk(sub, f"{name} {sub_name}")
            elif not action.help:
                missing.append(f"{name} {action.dest}: no help")
        return missing

    assert walk(cli.parser(), "skald") == []
