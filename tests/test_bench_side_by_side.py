"""bench/ovpeer.py's arithmetic and table, without any server (the side-by-side runs themselves
need the OpenViking reference server or PostgreSQL and wrk, and are run by hand)."""

import argparse
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import ovpeer

SKALD = {"add16": 2000.0, "add16_p99": 20.0, "get16": 2400.0, "add1": 0.5, "get1": 0.4,
         "list": 4.0, "delete": 10.0, "commit": 5.0, "rss": 60.0}  # fmt: skip
OV = {"add16": 100.0, "add16_p99": 6500.0, "get16": 250.0, "add1": 8.0, "get1": 3.0,
      "list": 30.0, "delete": 40.0, "commit": 60.0, "rss": 525.0}  # fmt: skip


def test_advantage_reads_throughput_up_and_latency_down() -> None:
    assert ovpeer.advantage(2000, 100, higher_is_better=True) == 20
    assert ovpeer.advantage(4.0, 30.0, higher_is_better=False) == 7.5
    assert math.isnan(ovpeer.advantage(0, 100, higher_is_better=True))


def test_verdict_at_least_and_at_most() -> None:
    assert ovpeer.verdict(20.0, 20.0, at_least=True) == "ok"
    assert ovpeer.verdict(19.9, 20.0, at_least=True) == "MISS"
    assert ovpeer.verdict(2.0, 2.0, at_least=False) == "ok"
    assert ovpeer.verdict(2.1, 2.0, at_least=False) == "MISS"
    assert ovpeer.verdict(float("nan"), 2.0, at_least=False) == "MISS"
    assert ovpeer.verdict(3.0, None, at_least=True) == ""


def test_versus_ov_rows_carry_figures_ratio_target_and_verdict() -> None:
    rows = {r[0]: r for r in ovpeer.versus_ov_rows(SKALD, OV)}
    assert rows["add_message, wrk c=16 (one session)"] == (
        "add_message, wrk c=16 (one session)", "2,000/s", "100/s", "20.0x", ">= 20x", "ok"
    )  # fmt: skip
    assert rows["get_session (10 messages), wrk c=16"][3:] == ("9.6x", ">= 8x", "ok")
    assert rows["list of 1,000 sessions, p50"][1:] == (
        "4.00 ms",
        "30.00 ms",
        "7.5x",
        ">= 10x",
        "MISS",
    )
    assert rows["delete of a 1,000-message session, p50"][3:] == ("4.0x", ">= 5x", "MISS")
    assert rows["commit of 100 messages, p50"][4:] == ("", "")  # no target: shown only
    assert rows["peak RSS (VmHWM), whole run"][1:4] == ("60 MB", "525 MB", "8.8x")


def test_pg_vs_sqlite_rows_are_pg_cost_with_the_2x_target_on_http_rows() -> None:
    pg = {**SKALD, "add16": 900.0, "list": 9.0, "rss": 80.0}
    rows = {r[0]: r for r in ovpeer.pg_vs_sqlite_rows(pg, SKALD)}
    assert rows["add_message, wrk c=16 (one session)"][3:] == ("2.22x", "<= 2x", "MISS")
    assert rows["list of 1,000 sessions, p50"][3:] == ("2.25x", "<= 2x", "MISS")
    assert rows["commit of 100 messages, p50"][3:] == ("1.00x", "<= 2x", "ok")
    assert rows["peak RSS (VmHWM), whole run"][4:] == ("", "")


def test_the_backends_header_says_which_durability_each_server_has() -> None:
    assert ovpeer.durabilities([]).startswith(
        "durability: each backend's default, PostgreSQL fsync"
    )
    assert ovpeer.durabilities(["--durability=crash"]) == "durability crash on both"
    assert ovpeer.durabilities(["--workers", "2", "--durability", "fsync"]) == (
        "durability fsync on both"
    )


def test_medians_per_row_and_the_table_aligns_columns() -> None:
    assert ovpeer.medians([{"a": 1.0}, {"a": 5.0}, {"a": 2.0}]) == {"a": 2.0}
    text = ovpeer.table(("row", "A", "B"), [("long label", "1", "22"), ("x", "333", "4")])
    assert text.splitlines() == [
        "row           A   B",
        "long label    1  22",
        "x           333   4",
    ]


def test_lua_script_sends_the_key_and_a_json_body() -> None:
    script = ovpeer.lua({"X-API-Key": 'k"1'}, '{"a": "b"}')
    assert 'wrk.headers["X-API-Key"] = "k\\"1"' in script
    assert 'wrk.method = "POST"' in script and 'wrk.body = "{\\"a\\": \\"b\\"}"' in script
    assert "POST" not in ovpeer.lua({}, None)


@pytest.mark.parametrize(
    ("argv", "env", "side_by_side"),
    [
        ([], {}, False),
        ([], {"OVPEER": "/tmp/ov"}, True),
        (["--no-ovpeer"], {"OVPEER": "/tmp/ov"}, False),
        (["--backends"], {}, True),
    ],
)
def test_the_side_by_side_mode_is_chosen_by_ovpeer_or_backends(
    argv: list[str], env: dict[str, str], side_by_side: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OVPEER", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    parser = argparse.ArgumentParser()
    ovpeer.add_arguments(parser)
    args = parser.parse_args(argv)
    assert args.rounds == 3
    assert ovpeer.wanted(args) is side_by_side
