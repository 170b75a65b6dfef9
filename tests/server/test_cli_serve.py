"""``skald serve`` and ``skald db upgrade`` as a newcomer meets them, run as the installed
``skald`` entry point: every setting on ``--help``, ``--version``, one clean line and exit 2 for
a bad setting, the banner only once the port is bound, one server per SQLite data directory,
the root key from a file with a warning for weak ones, and what ``db upgrade`` did."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from support.server import free_port, run_skald, running_skald, skald_command, start_server

from skald_core import __version__
from skald_core.store.schema import SCHEMA_VERSION
from skald_server import config as config_mod

STRONG_KEY = "9f2c1d7e4b8a6035f1e2d3c4b5a69788"


def test_every_setting_is_on_serve_help_with_its_env_var() -> None:
    done = run_skald("serve", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for s in config_mod.SETTINGS:
        assert s.env in text, s.name
        if s.flag:
            assert s.flag in text, s.name
    assert "--llm-api-key" not in text  # secrets never on a command line
    assert "default 8388608" in text  # the body limit, with its default


def test_version() -> None:
    done = run_skald("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"skald {__version__}"


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["--log-level", "verbose"], {}, "log_level"),
        ([], {"SKALD_LOG_LEVEL": "loud"}, "SKALD_LOG_LEVEL"),
        (["--port", "0"], {}, "port"),
        (["--retention-days", "-1"], {}, "retention_days"),
        (["--log-format", "xml"], {}, "log_format"),
    ],
)
def test_a_bad_setting_is_one_clean_line_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], said: str
) -> None:
    import subprocess

    from support.server import clean_env

    done = subprocess.run(
        [*skald_command(), "serve", "--path", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Skald" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 or lines[0].startswith("usage:"), done.stderr
    assert said in done.stderr


def test_a_used_port_fails_before_the_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_skald("serve", "--path", str(tmp_path / "d"), "--port", str(port))
    assert done.returncode == 2
    assert "Skald" not in done.stdout and " ready (" not in done.stdout + done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_one_server_per_sqlite_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_skald(data) as first:
        done = run_skald("serve", "--path", str(data), "--port", str(free_port()))
        assert done.returncode == 2
        assert f"pid {first.pid}" in done.stderr and "one server per SQLite" in done.stderr
        assert "Skald" not in done.stdout
        # maintenance commands still work beside it
        assert run_skald("keys", "list", "--path", str(data)).returncode == 0
    # a killed server leaves no lock behind
    server = start_server(
        "skald serve",
        lambda port: [*skald_command(), "serve", "--path", str(data), "--port", str(port)],
        tmp_path / "first.log",
    )
    server.kill()
    with running_skald(data, log_name="again.log"):
        pass


def test_root_key_from_a_file_and_weak_keys_warned(tmp_path: Path) -> None:
    key_file = tmp_path / "root.key"
    key_file.write_text(STRONG_KEY + "\n")
    with running_skald(tmp_path / "a", extra_args=["--root-api-key-file", str(key_file)]) as s:
        assert httpx.get(s.url + "/api/v1/sessions").status_code == 401
        status = httpx.get(s.url + "/api/v1/system/status", headers={"X-API-Key": STRONG_KEY})
        assert status.status_code == 200
        assert status.json()["result"]["version"] == __version__
        assert status.json()["result"]["role"] == "root"
        assert "weak root API key" not in s.log()
        assert STRONG_KEY not in s.log()
    with running_skald(tmp_path / "b", root_api_key="x", log_name="weak.log") as s:
        assert "weak root API key" in s.log()
        assert "where `ps` shows it" in s.log()
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    done = run_skald("serve", "--path", str(tmp_path / "c"), "--root-api-key-file", str(empty))
    assert done.returncode == 2 and "is empty" in done.stderr


def test_db_upgrade_says_what_it_did(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    first = run_skald("db", "upgrade", "--path", data)
    assert first.returncode == 0, first.stderr
    assert (
        f"applied schema migrations 1-{SCHEMA_VERSION}; now at schema version {SCHEMA_VERSION}"
        in first.stdout
    )
    assert "up to date" not in first.stdout
    again = run_skald("db", "upgrade", "--path", data)
    assert again.returncode == 0
    assert "is up to date at schema version" in again.stdout and "nothing to do" in again.stdout


def test_subcommands_describe_themselves() -> None:
    top = run_skald("--help").stdout
    for name in ("serve", "keys", "db"):
        assert name in top
    keys = " ".join(run_skald("keys", "create", "--help").stdout.split())  # unwrapped
    assert "--role" in keys and "admin: any user of its account" in keys
    assert "read-only: a user key that may read but never write" in keys
    assert "--read-only" in keys and "may read but never write" in keys
