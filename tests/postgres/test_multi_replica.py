"""Two real ``skald serve`` replicas on one PostgreSQL database, driven at the same time.

Worker threads, half of them bound to each replica (as behind a load balancer), append to,
commit and delete the SAME few sessions concurrently. Mid-way the replica holding a slow
extraction is killed with SIGKILL; its workers fail over to the other replica and retry the
request they were in (appends and commits with the same Idempotency-Key). Afterwards the
database must show, for every operation the replicas acknowledged:

* no lost acknowledged message: an acknowledged append is present unless a delete of its
  session may have come after it;
* no resurrected session: a message is absent when a delete that certainly came after its
  append was acknowledged;
* no duplicate archive: archives numbered 1..k per session, each message in one place, the
  counters consistent (``check_integrity``), one task per archive;
* no extraction run twice: every archive extracted by exactly one completed task, claimed once
  (the killed replica's task: twice, the second claim by the survivor), memory provenance
  once per (memory, archive);
* the killed replica's unfinished extraction completed by the other one.

Then a test of the outage path: a server whose database is unreachable answers 503
UNAVAILABLE with ``Retry-After`` and serves again once the database is back.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from .proxy import TcpProxy
from .replicas import Replica, start_replica
from .support import DATABASE_URL, fresh_schema, query, require_postgres

pytestmark = pytest.mark.slow

ACCOUNT = "replicas"
USER = "alice"
HEADERS = {"X-OpenViking-Account": ACCOUNT, "X-OpenViking-User": USER}
SESSIONS = [f"s{i}" for i in range(6)]
WORKERS_PER_REPLICA = 3
OPS_PER_WORKER = 45
LEASE_SECONDS = 4.0
#: How long a request keeps failing over (like a balancer's retries) before it counts as never
#: answered: a wait, that ends at the first answer.
REQUEST_DEADLINE = 60.0
SAYINGS = [
    "My name is Ada.",
    "I love hiking.",
    "I work as a baker.",
    "Remember that the door code is 4711.",
    "Just saying hello.",
    "How is the weather?",
]
TAG = re.compile(r"#(w\d+-\d+)")
#: The workload's random choices; printed with every run, set it to replay one.
SEED = int(os.environ.get("SKALD_TEST_SEED") or random.randrange(1 << 30))


@dataclass
class Op:
    kind: str
    session: str
    worker: int
    seq: int
    start: float
    end: float = 0.0
    outcome: str = "unknown"  # ok | unknown | not_found | error:<code>
    tag: str | None = None
    result: dict[str, Any] | None = None
    attempts: list[str] = field(default_factory=list)


class Cluster:
    """The replicas, which of them are dead, and requests that fail over like a balancer."""

    def __init__(self, replicas: list[Replica]) -> None:
        self.replicas = replicas
        self.clients = {r.name: httpx.Client(base_url=r.url, timeout=30.0) for r in replicas}

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if not r.killed]

    def request(
        self, op: Op, prefer: int, method: str, path: str, *, json: Any = None, key: str | None
    ) -> httpx.Response | None:
        """Send to the preferred replica; on a transport error or 503 send the SAME request
        (same Idempotency-Key) again, to whichever replica is alive, for up to
        ``REQUEST_DEADLINE`` seconds. None: never answered."""
        headers = dict(HEADERS)
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + REQUEST_DEADLINE
        attempt = -1
        while time.monotonic() < deadline:
            attempt += 1
            alive = self.alive()
            if not alive:
                return None
            replica = (
                alive[(prefer + attempt) % len(alive)] if attempt else alive[prefer % len(alive)]
            )
            try:
                response = self.clients[replica.name].request(
                    method, path, json=json, headers=headers
                )
            except httpx.TransportError as exc:
                op.attempts.append(f"{replica.name}: {type(exc).__name__}")
                time.sleep(0.05)
                continue
            if response.status_code == 503:
                op.attempts.append(f"{replica.name}: 503")
                time.sleep(float(response.headers.get("retry-after", "0.2")) / 5)
                continue
            op.attempts.append(f"{replica.name}: {response.status_code}")
            return response
        return None

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _text_of(body: bytes) -> str:
    message = msgspec.json.decode(body)
    return " ".join(p.get("text", "") for p in message.get("parts", []))


def run_worker(
    cluster: Cluster, worker: int, prefer: int, ops: list[Op], seed: int, tick: Any
) -> None:
    rng = random.Random(seed)
    for seq in range(OPS_PER_WORKER):
        tick()
        session = rng.choice(SESSIONS)
        roll = rng.random()
        kind = "append" if roll < 0.72 else "commit" if roll < 0.9 else "delete"
        op = Op(kind=kind, session=session, worker=worker, seq=seq, start=time.monotonic())
        base = f"/api/v1/sessions/{session}"
        if kind == "append":
            op.tag = f"w{worker}-{seq}"
            content = f"{rng.choice(SAYINGS)} #{op.tag}"
            response = cluster.request(
                op,
                prefer,
                "POST",
                base + "/messages",
                json={"role": "user", "content": content},
                key=uuid.uuid4().hex,
            )
        elif kind == "commit":
            response = cluster.request(
                op, prefer, "POST", base + "/commit", json={}, key=uuid.uuid4().hex
            )
        else:
            response = cluster.request(op, prefer, "DELETE", base, key=None)
        op.end = time.monotonic()
        if response is None:
            op.outcome = "unknown"
        elif response.status_code == 200:
            op.outcome = "ok"
            op.result = response.json()["result"]
        elif response.status_code == 404 and kind == "commit":
            op.outcome = "not_found"  # no such session (yet, or any more)
        elif response.status_code == 404 and kind == "delete":
            # After an unanswered first attempt the delete may have happened there.
            op.outcome = "not_found" if len(op.attempts) == 1 else "unknown"
        else:
            op.outcome = f"error:{response.status_code}:{response.text[:200]}"
        ops.append(op)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def task_log(path: Path) -> list[tuple[str, str, int, int, str]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        event, task_id, pid, attempt, session = line.split()
        out.append((event, task_id, int(pid), int(attempt), session))
    return out


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema("skald_mr") as name:
        yield name


def test_two_replicas_share_one_database_and_survive_a_kill(schema: str, tmp_path: Path) -> None:
    log_path = tmp_path / "tasks.log"
    hold = tmp_path / "hold"
    hold.touch()
    env = {
        "SKALD_TASK_LEASE_SECONDS": str(LEASE_SECONDS),
        "REPLICA_TASK_LOG": str(log_path),
        "REPLICA_HOLD_FILE": str(hold),
        "SKALD_TASK_POLL_SECONDS": "0.2",
    }
    replicas = [
        start_replica(
            name,
            tmp_path,
            database_url=DATABASE_URL,
            schema=schema,
            env=env,
            extra_args=["--database-pool-max-size", "6"],
        )
        for name in ("a", "b")
    ]
    cluster = Cluster(replicas)
    try:
        _scenario(cluster, schema, log_path, hold)
        survivors = cluster.alive()
        assert len(survivors) == 1
        status = survivors[0].stop()
        log = survivors[0].log()
        assert status in (0, -15), f"survivor exited with {status}\n{log}"
        assert "Traceback" not in log, log
    except BaseException:
        for replica in replicas:
            print(f"--- replica {replica.name} (pid {replica.pid}) log:\n{replica.log()[-5000:]}")
        raise
    finally:
        cluster.close()
        for replica in replicas:
            replica.stop()


def _scenario(cluster: Cluster, schema: str, log_path: Path, hold: Path) -> None:
    a = cluster.replicas[0]
    # 1. A slow extraction, held by whichever replica claims it (the commit's own replica is
    #    told at once; the other one polls).
    with httpx.Client(base_url=a.url, timeout=30.0, headers=HEADERS) as http:
        r = http.post(
            "/api/v1/sessions/slow-1/messages", json={"role": "user", "content": "My name is Zed."}
        )
        assert r.status_code == 200, r.text
        r = http.post("/api/v1/sessions/slow-1/commit", json={})
        assert r.status_code == 200, r.text
        slow_task = r.json()["result"]["task_id"]
        assert slow_task
    wait_for(
        lambda: any(e[0] == "start" and e[1] == slow_task for e in task_log(log_path)),
        60,
        "a replica to start the slow extraction",
    )
    holder_pid = next(e[2] for e in task_log(log_path) if e[1] == slow_task)
    holder = next(r for r in cluster.replicas if r.pid == holder_pid)

    # 2. The concurrent workload through both replicas; the holder dies half way.
    ops: list[Op] = []
    lock = threading.Lock()
    total = 2 * WORKERS_PER_REPLICA * OPS_PER_WORKER
    half = threading.Event()
    begun = [0]

    def tick() -> None:
        with lock:
            begun[0] += 1
            if begun[0] >= total // 2:
                half.set()

    def worker_main(worker: int, prefer: int) -> None:
        mine: list[Op] = []
        try:
            run_worker(cluster, worker, prefer, mine, seed=SEED + worker, tick=tick)
        finally:
            with lock:
                ops.extend(mine)

    def killer() -> None:
        half.wait(120)
        holder.kill()
        hold.unlink()  # the survivor's retry of the slow task must not wait

    threads = [
        threading.Thread(target=worker_main, args=(w, w % 2), name=f"worker-{w}")
        for w in range(2 * WORKERS_PER_REPLICA)
    ]
    watcher = threading.Thread(target=killer)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    half.set()
    watcher.join()
    assert holder.killed
    assert len(ops) == total

    # 3. Every task settles: the survivor retakes the dead one's slow task after its lease.
    wait_for(
        lambda: (
            query(schema, "SELECT COUNT(*) FROM tasks WHERE status IN ('pending', 'running')")[0][0]
            == 0
        ),
        120,
        "every extraction task to finish",
    )
    _check(schema, ops, log_path, slow_task, holder)


def _summary(ops: list[Op], holder: Replica) -> str:
    counts: dict[str, int] = defaultdict(int)
    for op in ops:
        counts[f"{op.kind}:{op.outcome.split(':')[0]}"] += 1
        if len(op.attempts) > 1:
            counts["failed_over"] += 1
        if op.attempts and op.attempts[0].startswith(f"{holder.name}: 2"):
            counts[f"acked_by_{holder.name}"] += 1
    return ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def _check(schema: str, ops: list[Op], log_path: Path, slow_task: str, holder: Replica) -> None:
    print(f"workload (SKALD_TEST_SEED={SEED}): {_summary(ops, holder)}")
    errors = [op for op in ops if op.outcome.startswith("error")]
    assert not errors, [(o.kind, o.session, o.outcome, o.attempts) for o in errors[:5]]
    acked_appends = [op for op in ops if op.kind == "append" and op.outcome == "ok"]
    assert len(acked_appends) > len(ops) // 2, "most appends must have been acknowledged"

    rows = query(
        schema,
        "SELECT s.session_id, m.pk, m.archive_no, m.body FROM messages m "
        "JOIN sessions s ON s.pk = m.session_pk WHERE s.account = %s AND s.user_name = %s "
        "ORDER BY m.pk",
        (ACCOUNT, USER),
    )
    present: dict[str, tuple[str, int, int]] = {}  # tag -> (session, pk, archive_no)
    for session_id, pk, archive_no, body in rows:
        found = TAG.search(_text_of(body))
        if found is None:
            continue
        tag = found.group(1)
        assert tag not in present, f"message {tag} stored twice"
        present[tag] = (session_id, pk, archive_no)

    deletes: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        if op.kind == "delete" and op.outcome in ("ok", "unknown"):
            deletes[op.session].append(op)
    appends_by_tag = {op.tag: op for op in ops if op.kind == "append"}

    lost = []
    for op in acked_appends:
        assert op.tag is not None
        if op.tag in present:
            assert present[op.tag][0] == op.session
            continue
        if not any(d.end > op.start for d in deletes[op.session]):
            lost.append((op.tag, op.session, op.attempts))
    assert not lost, f"acknowledged messages lost: {lost[:10]}"

    resurrected = []
    for tag, (session_id, _, _) in present.items():
        op = appends_by_tag[tag]
        if any(d.outcome == "ok" and d.start > op.end for d in deletes[session_id]):
            resurrected.append((tag, session_id))
    assert not resurrected, f"deleted messages came back: {resurrected[:10]}"

    # Per worker and session, the stored messages keep the order the worker sent them in.
    by_writer: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for tag, (session_id, pk, _) in present.items():
        op = appends_by_tag[tag]
        by_writer[(session_id, op.worker)].append((pk, op.seq))
    for key, pairs in by_writer.items():
        seqs = [seq for _, seq in sorted(pairs)]
        assert seqs == sorted(seqs), f"messages of writer {key} out of order: {seqs}"

    # Archives: 1..k per session, one task each, extracted exactly once.
    archives = query(
        schema,
        "SELECT s.session_id, a.session_pk, a.archive_no, a.status, a.memories_extracted "
        "FROM archives a JOIN sessions s ON s.pk = a.session_pk ORDER BY s.session_id, a.archive_no",
    )
    numbers: dict[str, list[int]] = defaultdict(list)
    for session_id, _, archive_no, status, _ in archives:
        numbers[session_id].append(archive_no)
        assert status == "done", f"archive {session_id}/{archive_no} is {status}"
    for session_id, nos in numbers.items():
        assert nos == list(range(1, len(nos) + 1)), f"{session_id} archives {nos}"
    tasks = query(
        schema,
        "SELECT task_id, session_pk, archive_no, status, attempts, session_id FROM tasks",
    )
    per_archive: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    for task in tasks:
        if task[1] is not None:
            per_archive[(task[1], task[2])].append(task)
    for _, session_pk, archive_no, _, _ in archives:
        mine = per_archive[(session_pk, archive_no)]
        assert [t[3] for t in mine] == ["completed"], f"archive {session_pk}/{archive_no}: {mine}"
    for task in tasks:
        assert task[3] in ("completed", "cancelled"), task
        if task[0] != slow_task and task[3] == "completed":
            assert task[4] == 1, f"task {task[0]} claimed {task[4]} times"
    acked_commit_tasks = {
        op.result["task_id"]
        for op in ops
        if op.kind == "commit" and op.outcome == "ok" and op.result and op.result.get("task_id")
    }
    known = {t[0] for t in tasks}
    assert acked_commit_tasks <= known, "an acknowledged commit's task is missing"

    log = task_log(log_path)
    starts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    ends: dict[str, list[int]] = defaultdict(list)
    for event, task_id, pid, attempt, _ in log:
        (starts[task_id].append((pid, attempt)) if event == "start" else ends[task_id].append(pid))
    for task_id, status in ((t[0], t[3]) for t in tasks):
        if status != "completed" or task_id == slow_task:
            continue
        assert len(starts[task_id]) == 1 and len(ends[task_id]) == 1, (
            task_id,
            starts[task_id],
            ends[task_id],
        )

    # The slow task: started by the killed replica, retaken and finished by the survivor.
    slow = next(t for t in tasks if t[0] == slow_task)
    assert slow[3] == "completed" and slow[4] == 2, slow
    assert starts[slow_task][0] == (holder.pid, 1), starts[slow_task]
    assert len(starts[slow_task]) == 2 and starts[slow_task][1][0] != holder.pid
    assert ends[slow_task] == [starts[slow_task][1][0]]
    name = query(
        schema,
        "SELECT f.content, ms.session_id, ms.archive_no FROM files f "
        "JOIN memory_sources ms ON ms.file_pk = f.pk WHERE f.path = %s",
        (f"user/{USER}/memories/profile/name.md",),
    )
    assert ("slow-1", 1) in {(r[1], r[2]) for r in name}, name

    # Provenance: every archive that wrote memories is recorded as their source, never twice
    # (rows of deleted sessions stay, by design; the key is (memory, session id, archive,
    # the session's creation): a re-created id is a source of its own).
    sources = query(
        schema,
        "SELECT session_id, archive_no, COUNT(*), COUNT(DISTINCT file_pk) FROM memory_sources "
        "WHERE account = %s AND user_name = %s "
        "GROUP BY session_id, archive_no, session_created_at",
        (ACCOUNT, USER),
    )
    recorded = {(r[0], r[1]) for r in sources}
    assert all(r[2] == r[3] for r in sources), sources
    for session_id, _, archive_no, _, extracted in archives:
        if extracted:
            assert (session_id, archive_no) in recorded, (session_id, archive_no)

    from skald_core.store.postgres import PostgresStore

    store = PostgresStore(DATABASE_URL, schema=schema, max_size=2)
    try:
        assert store.check_integrity() == []
    finally:
        store.close()


def test_an_unreachable_database_is_503_with_retry_after_and_recovers(tmp_path: Path) -> None:
    require_postgres()
    from urllib.parse import urlsplit

    target = urlsplit(DATABASE_URL)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432))
    url = DATABASE_URL.replace(target.netloc.split("@")[-1], f"127.0.0.1:{proxy.port}")
    with fresh_schema("skald_outage") as schema, proxy:
        # The database is not there when the server starts: it starts anyway.
        server = start_replica(
            "outage",
            tmp_path,
            database_url=url,
            schema=schema,
            wait_ready=False,
            extra_args=["--database-pool-timeout", "2"],
        )
        try:
            with httpx.Client(base_url=server.url, timeout=30.0, headers=HEADERS) as http:
                _outage_scenario(http, proxy)
        except BaseException:
            print(server.log()[-5000:])
            raise
        finally:
            status = server.stop()
        assert status in (0, -15), server.log()


def _add(http: httpx.Client, text: str) -> httpx.Response:
    return http.post("/api/v1/sessions/o1/messages", json={"role": "user", "content": text})


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "UNAVAILABLE"
    assert error["details"]["retry_after"] >= 1


def _outage_scenario(http: httpx.Client, proxy: TcpProxy) -> None:
    started = time.monotonic()
    _assert_unavailable(_add(http, "nobody home"))
    assert time.monotonic() - started < 10
    assert http.get("/health").status_code == 200  # alive, though not ready
    ready = http.get("/ready")
    assert ready.status_code == 503 and "retry-after" in ready.headers

    proxy.start()  # the database comes up: the server migrates and serves
    wait_for(lambda: _add(http, "first").status_code == 200, 60, "the server to recover")
    assert http.get("/ready").status_code == 200

    proxy.stop()  # the database goes away under a running server
    wait_for(lambda: _add(http, "lost?").status_code == 503, 60, "a 503 during the outage")
    _assert_unavailable(_add(http, "still down"))

    proxy.start()  # and comes back
    wait_for(lambda: _add(http, "second").status_code == 200, 60, "the server to recover again")
    messages = http.get("/api/v1/sessions/o1/context").json()["result"]
    texts = str(messages)
    assert "first" in texts and "second" in texts
    assert "nobody home" not in texts and "still down" not in texts
