"""``skald backup`` of a SQLite store while a server takes writes, and ``skald restore``: every
message acknowledged before the backup started is in the restored store, and the restored store
is whole (integrity check, counts agree with the messages)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from support.server import run_skald, running_skald

import skald


def test_backup_under_write_load_restores_every_acknowledged_message(tmp_path: Path) -> None:
    acknowledged: list[tuple[str, str, float]] = []  # (session, text, when acknowledged)
    stop = threading.Event()
    failures: list[str] = []

    with running_skald(tmp_path / "data") as server:

        def writer(name: str) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                n = 0
                while not stop.is_set() and n < 2000:
                    text = f"{name}-{n}"
                    answer = http.post(
                        f"/api/v1/sessions/{name}/messages", json={"role": "user", "content": text}
                    )
                    if answer.status_code != 200:
                        failures.append(answer.text)
                        return
                    acknowledged.append((name, text, time.monotonic()))
                    n += 1

        threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        backup_started = time.monotonic()
        done = run_skald("backup", str(tmp_path / "backup.db"), "--path", str(tmp_path / "data"))
        time.sleep(0.5)  # writes go on after the backup too
        stop.set()
        for t in threads:
            t.join(60)
        assert done.returncode == 0, done.stderr
        assert "backed up" in done.stdout
        # the server is still fine
        assert httpx.get(server.url + "/ready").status_code == 200
    assert not failures, failures[:3]

    before = [(s, t) for s, t, when in acknowledged if when < backup_started]
    assert len(before) > 20, "the writers did not write before the backup"

    restored = tmp_path / "restored"
    done = run_skald("restore", str(tmp_path / "backup.db"), "--path", str(restored))
    assert done.returncode == 0, done.stderr
    with skald.OpenViking(path=restored) as client:
        texts: set[tuple[str, str]] = set()
        for session in client.list_sessions():
            sid = session["session_id"]
            messages = client.session(sid).messages
            assert client.get_session(sid)["message_count"] == len(messages)
            texts.update((sid, m.parts[0].text) for m in messages)
    missing = [m for m in before if m not in texts]
    assert missing == []
    # and nothing that was never acknowledged (in-flight writes may or may not be there)
    assert texts <= {(s, t) for s, t, _ in acknowledged} | {
        (f"w{i}", f"w{i}-{n}") for i in range(2) for n in range(2001)
    }


def test_restore_refuses_a_running_server_and_a_non_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_skald("db", "upgrade", "--path", str(data)).returncode == 0
    done = run_skald("backup", str(tmp_path / "b.db"), "--path", str(data))
    assert done.returncode == 0, done.stderr
    with running_skald(data):
        refused = run_skald("restore", str(tmp_path / "b.db"), "--path", str(data), "--force")
        assert refused.returncode == 2 and "already serves" in refused.stderr
    again = run_skald("restore", str(tmp_path / "b.db"), "--path", str(data))
    assert again.returncode == 2 and "--force" in again.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    bad = run_skald("restore", str(junk), "--path", str(tmp_path / "other"))
    assert bad.returncode == 2 and "not a Skald SQLite store" in bad.stderr
    exists = run_skald("backup", str(tmp_path / "b.db"), "--path", str(data))
    assert exists.returncode == 2 and "exists" in exists.stderr


def test_backup_of_postgresql_explains_pg_dump() -> None:
    done = run_skald("backup", "x.db", "--database-url", "postgresql://u@127.0.0.1:9/db")
    assert done.returncode == 2
    assert "pg_dump" in done.stderr and "pg_restore" in done.stderr
