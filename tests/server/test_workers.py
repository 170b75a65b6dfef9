"""``skald serve --workers 2``, a real server on each backend: what must hold across processes.

Every request goes over its own keep-alive connection (``on_worker`` picks connections until it
has one on each worker, as ``/api/v1/system/status`` says which worker answered), so "from
another worker" is a fact of the test, not a hope:

* 16 clients appending unique messages to ONE session at once: none lost, none duplicated, each
  client's messages stored in the order it sent them;
* one Idempotency-Key sent through both workers (one after the other, then at the same time):
  one message;
* commits made through both workers: each archived once, each task claimed once (``attempts``
  is 1 in the database) and completed once (the summed ``/metrics`` count);
* a key revoked by ``skald keys revoke`` is refused by both workers at the next request;
* a worker killed with SIGKILL under writes: restarted, the server keeps answering, and every
  acknowledged append is stored;
* ``/metrics`` sums the workers' counts; a second ``skald serve`` on the same data directory
  is refused while the workers run.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.server import SkaldServer, free_port, run_skald, running_skald

WORKERS = 2
ROOT_KEY = "workers-root-key-" + "x" * 32
API = "/api/v1/sessions"


@dataclass
class Backend:
    name: str
    data: Path
    schema: str | None = None

    def store_args(self) -> list[str]:
        if self.schema is None:
            return ["--path", str(self.data)]
        from postgres.support import DATABASE_URL

        return ["--database-url", DATABASE_URL, "--database-schema", self.schema]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.schema is None:
            with sqlite3.connect(self.data / "skald.db") as conn:
                return conn.execute(sql).fetchall()
        from postgres.support import query

        return query(self.schema, sql)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    data = tmp_path_factory.mktemp(f"workers-{request.param}") / "data"
    if request.param == "sqlite":
        yield Backend("sqlite", data)
        return
    from postgres.support import fresh_schema

    with fresh_schema("skald_workers") as schema:
        yield Backend("postgres", data, schema)


def serve_args(backend: Backend) -> list[str]:
    """``skald serve``'s arguments beyond ``--path`` (which ``running_skald`` gives)."""
    store = backend.store_args() if backend.schema else []
    return [*store, "--workers", str(WORKERS)]


@pytest.fixture(scope="module")
def server(backend: Backend) -> Iterator[SkaldServer]:
    with running_skald(
        backend.data, root_api_key=ROOT_KEY, extra_args=serve_args(backend), log_name="server.log"
    ) as running:
        yield running


def connection(url: str, key: str, **headers: str) -> httpx.Client:
    """A client with one keep-alive connection (so one worker answers all its requests)."""
    return httpx.Client(
        base_url=url,
        headers={"X-API-Key": key, **headers},
        timeout=60,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=60),
    )


def worker_of(client: httpx.Client) -> int:
    response = client.get("/api/v1/system/status")
    assert response.status_code == 200, response.text
    return int(response.json()["result"]["worker"])


def on_worker(url: str, key: str, count: int = WORKERS, **headers: str) -> list[httpx.Client]:
    """One connection answered by each of the first ``count`` workers."""
    found: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(200):
        client = connection(url, key, **headers)
        index = worker_of(client)
        if index in found:
            spare.append(client)
        else:
            found[index] = client
        if len(found) == count:
            break
    for client in spare:
        client.close()
    assert sorted(found) == list(range(count)), f"only workers {sorted(found)} answered"
    return [found[i] for i in range(count)]


def mint(backend: Backend, account: str, user: str) -> tuple[str, str]:
    done = run_skald(
        "keys", "create", *backend.store_args(), "--account", account, "--user", user
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[0]
    return key, key.split("-")[1]


def messages(client: httpx.Client, sid: str) -> list[str]:
    response = client.get(f"{API}/{sid}/context", params={"token_budget": 10_000_000})
    assert response.status_code == 200, response.text
    return [m["parts"][0]["text"] for m in response.json()["result"]["messages"]]


def metric(server: SkaldServer, name: str, **labels: str) -> float:
    text = httpx.get(server.url + "/metrics", headers={"X-API-Key": ROOT_KEY}).text
    total = 0.0
    for line in text.splitlines():
        named = line.startswith(name + "{") or line.startswith(name + " ")
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ----------------------------------------------------------------------------- appends


def test_sixteen_clients_appending_to_one_session(server: SkaldServer, backend: Backend) -> None:
    account = "a" + uuid.uuid4().hex[:8]
    key, _ = mint(backend, account, "alice")
    # One connection on each worker first (which worker accepts a new connection is the
    # kernel's choice: under load all sixteen once went to one), then the rest.
    clients = on_worker(server.url, key)
    clients += [connection(server.url, key) for _ in range(16 - len(clients))]
    seen_workers = {worker_of(c) for c in clients}
    per_client = 25
    errors: list[str] = []
    start = threading.Barrier(len(clients))

    def write(i: int, client: httpx.Client) -> None:
        start.wait()
        for n in range(per_client):
            r = client.post(f"{API}/one/messages", json={"role": "user", "content": f"c{i}-{n}"})
            if r.status_code != 200:
                errors.append(f"c{i}-{n}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=write, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert seen_workers == set(range(WORKERS)), "the clients did not reach every worker"
    stored = messages(clients[0], "one")
    assert len(stored) == len(set(stored)), "duplicated messages"
    assert sorted(stored) == sorted(f"c{i}-{n}" for i in range(16) for n in range(per_client))
    for i in range(16):  # each client's messages in the order it sent them
        mine = [int(s.split("-")[1]) for s in stored if s.startswith(f"c{i}-")]
        assert mine == list(range(per_client)), (i, mine)
    meta = clients[0].get(f"{API}/one").json()["result"]
    assert meta["message_count"] == 16 * per_client
    for c in clients:
        c.close()


# ----------------------------------------------------------------------------- idempotency


def test_an_idempotency_key_through_both_workers_is_one_message(
    server: SkaldServer, backend: Backend
) -> None:
    account = "i" + uuid.uuid4().hex[:8]
    key, _ = mint(backend, account, "alice")
    first, second = on_worker(server.url, key)
    body = {"role": "user", "content": "only once"}
    idem = {"Idempotency-Key": "retry-" + uuid.uuid4().hex}
    a = first.post(f"{API}/idem/messages", json=body, headers=idem)
    b = second.post(f"{API}/idem/messages", json=body, headers=idem)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.json()["result"] == b.json()["result"]
    assert messages(first, "idem") == ["only once"]

    # the same key sent through both workers at the same moment, many times over
    for round_ in range(10):
        answers = race(
            [first, second],
            f"{API}/idem/messages",
            {"role": "user", "content": f"race {round_}"},
            {"Idempotency-Key": f"race-{round_}-" + uuid.uuid4().hex},
        )
        assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
        assert answers[0].json()["result"] == answers[1].json()["result"]
    assert messages(first, "idem") == ["only once", *(f"race {i}" for i in range(10))]
    first.close()
    second.close()


def race(
    clients: list[httpx.Client], path: str, body: dict[str, str], headers: dict[str, str]
) -> list[httpx.Response]:
    """The same request sent by every client at the same moment; their answers."""
    answers: list[httpx.Response] = []
    go = threading.Barrier(len(clients))

    def send(client: httpx.Client) -> None:
        go.wait()
        answers.append(client.post(path, json=body, headers=headers))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


# ----------------------------------------------------------------------------- tasks


def test_commit_tasks_are_claimed_and_done_once(server: SkaldServer, backend: Backend) -> None:
    account = "t" + uuid.uuid4().hex[:8]
    key, _ = mint(backend, account, "alice")
    clients = on_worker(server.url, key)
    before = metric(server, "skald_extractions_total", outcome="completed")
    sessions = [f"c{i}" for i in range(12)]
    task_ids = []
    for i, sid in enumerate(sessions):
        client = clients[i % WORKERS]
        for n in range(3):
            r = client.post(
                f"{API}/{sid}/messages", json={"role": "user", "content": f"I love hiking {n}"}
            )
            assert r.status_code == 200, r.text
        r = client.post(f"{API}/{sid}/commit", json={"wait": i % 3 == 0})
        assert r.status_code == 200, r.text
        task_ids.append(r.json()["result"]["task_id"])
    deadline = time.monotonic() + 60
    pending = set(task_ids)
    while pending and time.monotonic() < deadline:
        for task_id in list(pending):
            r = clients[0].get(f"/api/v1/tasks/{task_id}")
            assert r.status_code == 200, r.text
            if r.json()["result"]["status"] == "completed":
                pending.discard(task_id)
        time.sleep(0.1)
    assert not pending, f"tasks not completed: {pending}"
    ids = ", ".join(f"'{t}'" for t in task_ids)
    rows = backend.rows(f"SELECT task_id, status, attempts FROM tasks WHERE task_id IN ({ids})")
    assert sorted(rows) == sorted((t, "completed", 1) for t in task_ids), rows
    for sid in sessions:
        meta = clients[1].get(f"{API}/{sid}").json()["result"]
        assert meta["commit_count"] == 1 and meta["message_count"] == 0, meta
    archives = backend.rows(
        "SELECT s.session_id, count(*) FROM archives a JOIN sessions s ON s.pk = a.session_pk "
        f"WHERE s.account = '{account}' GROUP BY s.session_id"
    )
    assert sorted(archives) == sorted((sid, 1) for sid in sessions), archives
    time.sleep(1.5)  # the other worker's counts reach the shared metrics within a second
    done = metric(server, "skald_extractions_total", outcome="completed") - before
    assert done == len(sessions), f"{done} extractions completed for {len(sessions)} commits"
    for c in clients:
        c.close()


# ----------------------------------------------------------------------------- keys


def test_a_revoked_key_is_refused_by_every_worker_at_once(
    server: SkaldServer, backend: Backend
) -> None:
    key, key_id = mint(backend, "r" + uuid.uuid4().hex[:8], "alice")
    clients = on_worker(server.url, key)
    for c in clients:
        assert c.get(API).status_code == 200
    done = run_skald("keys", "revoke", *backend.store_args(), key_id)
    assert done.returncode == 0, done.stderr
    for c in clients:
        r = c.get(API)
        assert r.status_code == 401, r.text
        c.close()


# ----------------------------------------------------------------------------- metrics


def test_metrics_are_the_sum_of_the_workers(server: SkaldServer, backend: Backend) -> None:
    clients = on_worker(server.url, ROOT_KEY)
    time.sleep(1.5)
    before = metric(server, "skald_http_requests_total", route="/health")
    for c in clients:
        for _ in range(5):
            assert c.get("/health").status_code == 200
    time.sleep(1.5)
    assert metric(server, "skald_http_requests_total", route="/health") - before == 5 * WORKERS
    # and every worker writes its access lines (each has its own log handler)
    assert server.log().count(" GET /health 200 ") >= 5 * WORKERS
    for c in clients:
        c.close()


def test_a_second_server_on_the_data_directory_is_refused(
    server: SkaldServer, backend: Backend
) -> None:
    if backend.schema is not None:
        pytest.skip("servers sharing a PostgreSQL store are allowed")
    done = run_skald("serve", "--path", str(backend.data), "--port", str(free_port()))
    assert done.returncode == 2
    assert f"pid {server.pid}" in done.stderr, done.stderr


# ----------------------------------------------------------------------------- a worker dies


def worker_pids(server: SkaldServer) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return sorted(int(p) for p in children)


def test_a_killed_worker_is_restarted_and_no_acknowledged_write_is_lost(
    backend: Backend, tmp_path: Path
) -> None:
    import os
    import signal

    data = tmp_path / "data" if backend.schema is None else backend.data
    with running_skald(
        data,
        root_api_key=ROOT_KEY,
        extra_args=serve_args(backend),
        log_name="killed.log",
    ) as running:
        account = "k" + uuid.uuid4().hex[:8]
        headers = {"X-OpenViking-Account": account, "X-OpenViking-User": "alice"}
        before = worker_pids(running)
        assert len(before) == WORKERS
        acknowledged: list[str] = []
        failures: list[str] = []
        stop = threading.Event()

        def write(w: int) -> None:
            n = 0
            client = connection(running.url, ROOT_KEY, **headers)
            while not stop.is_set():
                text = f"w{w}-{n}"
                try:
                    r = client.post(f"{API}/k/messages", json={"role": "user", "content": text})
                except httpx.TransportError as exc:  # the connection was on the killed worker
                    failures.append(f"{text}: {exc!r}")
                    client.close()
                    client = connection(running.url, ROOT_KEY, **headers)
                    n += 1
                    continue
                if r.status_code == 200:
                    acknowledged.append(text)
                n += 1
            client.close()

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = worker_pids(running)
            if len(now) == WORKERS and victim not in now:
                break
            time.sleep(0.05)
        assert len(worker_pids(running)) == WORKERS and victim not in worker_pids(running)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        assert "killed by SIGKILL" in running.log()
        reader = connection(running.url, ROOT_KEY, **headers)
        stored = messages(reader, "k")
        reader.close()
        assert len(stored) == len(set(stored)), "duplicated messages"
        missing = set(acknowledged) - set(stored)
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
        assert len(acknowledged) > 20, (len(acknowledged), failures[:5])
        # every worker answers again (the new one included)
        on_worker(running.url, ROOT_KEY)


# ----------------------------------------------------------------------------- console


def test_a_console_sign_in_holds_on_every_worker(server: SkaldServer, backend: Backend) -> None:
    key, _ = mint(backend, "c" + uuid.uuid4().hex[:8], "alice")
    clients = on_worker(server.url, key)
    for c in clients:
        del c.headers["X-API-Key"]  # the console knows its callers by their cookie only
    same = {"Sec-Fetch-Site": "same-origin"}
    r = clients[0].post("/console/signin", data={"key": key}, headers=same, follow_redirects=False)
    assert r.status_code == 303, r.text
    token = r.cookies["skald_console"]
    for c in clients:
        c.cookies.clear()
        page = c.get(
            "/console/sessions",
            headers={"Cookie": f"skald_console={token}"},
            follow_redirects=False,
        )
        assert page.status_code == 200, (page.status_code, page.headers.get("location"))
    r = clients[1].post(
        "/console/signout",
        data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)},  # type: ignore[union-attr]
        headers={**same, "Cookie": f"skald_console={token}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    clients[0].cookies.clear()
    gone = clients[0].get(
        "/console/sessions", headers={"Cookie": f"skald_console={token}"}, follow_redirects=False
    )
    assert gone.status_code == 303, "signed out on one worker, still signed in on another"
    for c in clients:
        c.close()
