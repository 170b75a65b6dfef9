"""The language-model extractor against a mocked provider (respx), through the embedded client.

Commits wait for their extraction (``commit_session(..., wait=True)`` runs it in the calling
thread), so each test reads a settled state. Sleeps between retries are never real: the
extractor's ``sleep`` is a recorder, and the tests assert on the delays it asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import skald as ov
from skald_core.service.llm_extractor import LLMConfig, LLMExtractor
from skald_core.store.model import Owner

from .fake_provider import answer, completion, existing_in

BASE = "http://llm.test/v1"
ENDPOINT = BASE + "/chat/completions"
MEMORIES = "viking://user/default/memories"
OWNER = Owner("default", "default")


class Harness:
    def __init__(self, tmp_path: Path, mock: respx.MockRouter, **config: Any) -> None:
        self.sleeps: list[float] = []
        settings: dict[str, Any] = {
            "base_url": BASE,
            "model": "test-model",
            "api_key": "sk-test",
            "timeout": 5.0,
            "max_retries": 2,
        }
        settings.update(config)
        self.extractor = LLMExtractor(
            LLMConfig(**settings), sleep=self.sleeps.append, backoff_base=0.01
        )
        self.client = ov.OpenViking(path=tmp_path, extractor=self.extractor)
        self.route = mock.post(ENDPOINT)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(call.request.content) for call in self.route.calls]

    def commit(self, sid: str, *texts: str) -> dict[str, Any]:
        for text in texts:
            self.client.add_message(sid, "user", text)
        return self.client.commit_session(sid, wait=True)

    def memories(self) -> dict[str, str]:
        return {
            node["uri"][len(MEMORIES) + 1 :]: self.client.read(node["uri"])
            for node in self.client.ls(MEMORIES, recursive=True)
            if not node["isDir"]
        }

    def diff(self, sid: str, archive: str = "archive_001") -> dict[str, Any]:
        uri = f"viking://user/default/sessions/{sid}/history/{archive}/memory_diff.json"
        diff: dict[str, Any] = json.loads(self.client.read(uri))
        return diff

    def history(self, sid: str, archive: str = "archive_001") -> list[str]:
        uri = f"viking://user/default/sessions/{sid}/history/{archive}"
        return sorted(n["name"] for n in self.client.ls(uri, show_all_hidden=True))


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def llm(tmp_path: Path, mock: respx.MockRouter) -> Iterator[Harness]:
    h = Harness(tmp_path, mock)
    yield h
    h.client.close()
    h.extractor.close()


def uri(path: str) -> str:
    return f"{MEMORIES}/{path}"


# ---------------------------------------------------------------------------- a good answer


def test_a_good_answer_adds_updates_and_deletes_memories_with_a_diff(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.Response(
            200,
            json=answer(
                adds=[
                    {"category": "profile", "name": "name", "content": "The user's name is Ada."},
                    {"category": "preferences", "name": "likes tea", "content": "Likes tea."},
                    {"category": "entities", "name": "cat", "content": "Has a cat, Tom."},
                ],
                prompt_tokens=120,
                completion_tokens=30,
            ),
        ),
        httpx.Response(
            200,
            json=answer(
                adds=[
                    {"category": "events", "name": "moved", "content": "Moved to Lisbon in 2026."}
                ],
                updates=[
                    {"uri": uri("preferences/likes-tea.md"), "content": "Prefers coffee to tea."}
                ],
                deletes=[{"uri": uri("entities/cat.md"), "reason": "the cat was given away"}],
                prompt_tokens=200,
                completion_tokens=50,
            ),
        ),
    ]

    first = llm.commit("s1", "I'm Ada, I love tea and my cat Tom.")
    second = llm.commit("s1", "I moved to Lisbon, gave Tom away and now prefer coffee.")

    assert (first["status"], first["memories_extracted"]) == ("completed", 3)
    assert (second["status"], second["memories_extracted"]) == ("completed", 2)
    assert llm.memories() == {
        "profile/name.md": "The user's name is Ada.",
        "preferences/likes-tea.md": "Prefers coffee to tea.",
        "events/moved.md": "Moved to Lisbon in 2026.",
    }
    # The second request showed the model what the first wrote, so it could update and delete.
    first_body, second_body = llm.bodies()
    assert existing_in(first_body) == []
    assert {m["uri"]: m["content"] for m in existing_in(second_body)} == {
        uri("profile/name.md"): "The user's name is Ada.",
        uri("preferences/likes-tea.md"): "Likes tea.",
        uri("entities/cat.md"): "Has a cat, Tom.",
    }
    assert second_body["model"] == "test-model"
    assert "gave Tom away" in second_body["messages"][1]["content"]
    assert llm.route.calls[0].request.headers["authorization"] == "Bearer sk-test"

    diff = llm.diff("s1", "archive_002")
    assert diff["archive_uri"] == "viking://user/default/sessions/s1/history/archive_002"
    assert diff["operations"] == {
        "adds": [
            {
                "uri": uri("events/moved.md"),
                "memory_type": "events",
                "after": "Moved to Lisbon in 2026.",
            }
        ],
        "updates": [
            {
                "uri": uri("preferences/likes-tea.md"),
                "memory_type": "preferences",
                "before": "Likes tea.",
                "after": "Prefers coffee to tea.",
            }
        ],
        "deletes": [
            {
                "uri": uri("entities/cat.md"),
                "memory_type": "entities",
                "deleted_content": "Has a cat, Tom.",
            }
        ],
    }
    assert diff["summary"] == {"total_adds": 1, "total_updates": 1, "total_deletes": 1}
    assert llm.diff("s1")["summary"] == {"total_adds": 3, "total_updates": 0, "total_deletes": 0}

    task = llm.client.get_task(second["task_id"])
    assert task is not None and task["status"] == "completed"
    assert task["result"]["memories_extracted"] == {"total": 2, "events": 1, "preferences": 1}
    assert task["result"]["memories_deleted"] == 1
    assert task["result"]["extractor"] == "llm:test-model"
    assert task["result"]["token_usage"]["llm"]["prompt_tokens"] == 200
    assert task["result"]["token_usage"]["llm"]["total_tokens"] == 250

    meta = llm.client.get_session("s1")
    assert meta["memories_extracted"] == {
        "total": 5,
        "entities": 1,
        "events": 1,
        "preferences": 2,
        "profile": 1,
    }
    assert meta["llm_token_usage"]["prompt_tokens"] == 320
    assert meta["llm_token_usage"]["completion_tokens"] == 80
    assert meta["llm_token_usage"]["total_tokens"] == 400
    assert meta["stats"]["memories_extracted"] == 5
    assert llm.client.session("s1").stats.memories_extracted == 5
    # The .meta.json file tells the same story as the API.
    file_meta = json.loads(llm.client.read("viking://user/default/sessions/s1/.meta.json"))
    assert file_meta["memories_extracted"] == meta["memories_extracted"]
    assert file_meta["llm_token_usage"] == meta["llm_token_usage"]
    # Provenance: each written memory points at the archive that wrote it; the deleted one's
    # provenance went with its file.
    store = llm.client.services.store
    assert store.memory_count_for_session(OWNER, "s1") == 3
    assert store.check_integrity() == []


def test_an_answer_in_a_code_fence_with_extra_fields_is_accepted(llm: Harness) -> None:
    content = (
        "```json\n"
        + json.dumps(
            {
                "adds": [{"category": "Profile", "name": "Job Title", "content": "A nurse."}],
                "thoughts": "the user said they are a nurse",
            }
        )
        + "\n```"
    )
    llm.route.return_value = httpx.Response(200, json=completion(content))

    result = llm.commit("s1", "I work as a nurse.")

    assert result["status"] == "completed"
    assert llm.memories() == {"profile/job-title.md": "A nurse."}


def test_nothing_to_remember_completes_with_an_empty_diff(llm: Harness) -> None:
    llm.route.return_value = httpx.Response(200, json=answer())

    result = llm.commit("s1", "What's the weather like?")

    assert (result["status"], result["memories_extracted"]) == ("completed", 0)
    assert llm.memories() == {}
    assert llm.diff("s1")["summary"] == {"total_adds": 0, "total_updates": 0, "total_deletes": 0}


# ---------------------------------------------------------------------------- unusable answers


def test_malformed_json_is_sent_back_and_the_corrected_answer_applied(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.Response(200, json=completion("Sure! The user likes tea.", prompt_tokens=50)),
        httpx.Response(
            200,
            json=answer(
                adds=[{"category": "preferences", "name": "tea", "content": "Likes tea."}],
                prompt_tokens=70,
            ),
        ),
    ]

    result = llm.commit("s1", "I like tea.")

    assert result["status"] == "completed"
    assert llm.memories() == {"preferences/tea.md": "Likes tea."}
    retry = llm.bodies()[1]["messages"]
    assert retry[2] == {"role": "assistant", "content": "Sure! The user likes tea."}
    assert "not valid JSON" in retry[3]["content"]
    task = llm.client.get_task(result["task_id"])
    assert task is not None
    assert task["result"]["token_usage"]["llm"]["prompt_tokens"] == 120  # both attempts count
    assert llm.sleeps == []  # an unusable answer is retried at once


def test_a_schema_violation_fails_the_task_after_bounded_retries(llm: Harness) -> None:
    bad = json.dumps({"adds": [{"category": "profile", "name": "age", "content": 42}]})
    llm.route.return_value = httpx.Response(200, json=completion(bad))

    result = llm.commit("s1", "I am 42.")

    assert result["status"] == "failed"
    assert llm.route.call_count == 3  # max_retries=2: one answer and two corrections
    assert result["error"].startswith("The language model (test-model) gave no usable answer")
    assert "does not match the schema" in result["error"]
    assert "$.adds[0].content" in result["error"]
    assert llm.memories() == {}
    # The archive is intact and marked failed; no diff was recorded.
    assert llm.history("s1") == [".failed.json", ".meta.json", "messages.jsonl"]
    failed = json.loads(
        llm.client.read("viking://user/default/sessions/s1/history/archive_001/.failed.json")
    )
    assert failed["stage"] == "memory_extraction" and "schema" in failed["error"]
    task = llm.client.get_task(result["task_id"])
    assert task is not None and task["status"] == "failed"
    assert task["result"]["token_usage"]["llm"]["total_tokens"] == 360  # 3 x 120 spent


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            json.dumps({"updates": [{"uri": uri("profile/ghost.md"), "content": "x"}]}),
            "is not one of the existing memories",
        ),
        (
            json.dumps({"adds": [{"category": "secrets", "name": "pin", "content": "1234"}]}),
            "is not one of: profile, preferences",
        ),
        (
            json.dumps(
                {
                    "adds": [
                        {"category": "profile", "name": "name", "content": "Ada"},
                        {"category": "profile", "name": "Name", "content": "Grace"},
                    ]
                }
            ),
            "a second time",
        ),
        ("", "the answer is empty"),
        ("[1, 2]", "does not match the schema"),
    ],
    ids=["unknown-uri", "unknown-category", "twice", "empty", "not-an-object"],
)
def test_answers_that_cannot_be_applied_are_corrected(
    llm: Harness, content: str, expected: str
) -> None:
    good = answer(adds=[{"category": "profile", "name": "name", "content": "Ada."}])
    llm.route.side_effect = [
        httpx.Response(200, json=completion(content)),
        httpx.Response(200, json=good),
    ]

    result = llm.commit("s1", "My name is Ada.")

    assert result["status"] == "completed"
    assert expected in llm.bodies()[1]["messages"][3]["content"]
    assert llm.memories() == {"profile/name.md": "Ada."}


def test_a_cut_off_answer_is_retried(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.Response(200, json=completion('{"adds": [{"categ', finish="length")),
        httpx.Response(200, json=answer()),
    ]

    result = llm.commit("s1", "Hello")

    assert result["status"] == "completed"
    assert "cut off" in llm.bodies()[1]["messages"][3]["content"]


# ---------------------------------------------------------------------------- provider trouble


def test_429_waits_as_long_as_retry_after_says(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.Response(
            429, json={"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "7"}
        ),
        httpx.Response(200, json=answer()),
    ]

    result = llm.commit("s1", "Hello")

    assert result["status"] == "completed"
    assert llm.sleeps == [7.0]


def test_500_then_success_backs_off_and_completes(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.Response(500, json={"error": {"message": "overloaded"}}),
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(
            200, json=answer(adds=[{"category": "facts", "name": "x", "content": "X."}])
        ),
    ]

    result = llm.commit("s1", "Remember X.")

    assert result["status"] == "completed"
    assert llm.route.call_count == 3
    assert len(llm.sleeps) == 2 and llm.sleeps[0] <= llm.sleeps[1] * 2  # exponential, jittered
    assert llm.memories() == {"facts/x.md": "X."}


def test_a_timeout_is_retried(llm: Harness) -> None:
    llm.route.side_effect = [
        httpx.ReadTimeout("timed out"),
        httpx.Response(200, json=answer()),
    ]

    result = llm.commit("s1", "Hello")

    assert result["status"] == "completed"
    assert llm.route.call_count == 2


def test_timeouts_every_time_fail_the_task_with_a_readable_reason(llm: Harness) -> None:
    llm.route.side_effect = httpx.ReadTimeout("timed out")

    result = llm.commit("s1", "Hello")

    assert result["status"] == "failed"
    assert result["error"] == (
        f"The language model at {ENDPOINT} failed 3 times; last: no answer within 5s"
    )


def test_a_refused_request_fails_at_once_and_names_the_settings(llm: Harness) -> None:
    llm.route.return_value = httpx.Response(
        401, json={"error": {"message": "Incorrect API key provided"}}
    )

    result = llm.commit("s1", "Hello")

    assert result["status"] == "failed"
    assert llm.route.call_count == 1
    assert "401: Incorrect API key provided" in result["error"]
    assert "SKALD_LLM_API_KEY" in result["error"]


def test_a_provider_down_for_good_fails_the_task_and_re_extraction_succeeds_later(
    llm: Harness,
) -> None:
    llm.route.side_effect = httpx.ConnectError("[Errno 111] Connection refused")
    llm.client.add_message("s1", "user", "My name is Ada.")
    llm.client.add_message("s1", "assistant", "Nice to meet you, Ada.")

    failed = llm.client.commit_session("s1", wait=True)

    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"The language model at {ENDPOINT} failed 3 times")
    assert "cannot connect (ConnectError: [Errno 111] Connection refused)" in failed["error"]
    assert llm.route.call_count == 3
    # The archive and the session are intact.
    assert llm.history("s1") == [".failed.json", ".meta.json", "messages.jsonl"]
    archived = llm.client.read(
        "viking://user/default/sessions/s1/history/archive_001/messages.jsonl"
    )
    assert "My name is Ada." in archived and "Nice to meet you" in archived
    meta = llm.client.get_session("s1")
    assert (meta["commit_count"], meta["memories_extracted"]) == (1, {"total": 0})
    context = llm.client.get_session_context("s1")
    assert context["stats"]["failedArchives"] == 1

    # The provider is back: re-extract every failed archive.
    llm.route.side_effect = None
    llm.route.return_value = httpx.Response(
        200, json=answer(adds=[{"category": "profile", "name": "name", "content": "Ada."}])
    )
    queued = llm.client.extract_session("s1")

    assert queued["status"] == "accepted"
    (item,) = queued["tasks"]
    assert item["archive_id"] == "archive_001" and item["task_id"] != failed["task_id"]
    assert item["archive_uri"] == "viking://user/default/sessions/s1/history/archive_001"
    task = llm.client.services.runner.wait(OWNER, item["task_id"])
    assert task.status == "completed"
    assert llm.memories() == {"profile/name.md": "Ada."}
    assert llm.history("s1") == [
        ".abstract.md",
        ".done",
        ".meta.json",
        ".overview.md",
        "memory_diff.json",
        "messages.jsonl",
    ]
    assert llm.client.get_session("s1")["memories_extracted"] == {"total": 1, "profile": 1}
    assert llm.client.get_task(failed["task_id"])["status"] == "failed"  # type: ignore[index]
    # Nothing failed any more: a second call has nothing to do.
    assert llm.client.extract_session("s1") == {
        "session_id": "s1",
        "status": "skipped",
        "tasks": [],
        "reason": "no_failed_archives",
    }
    assert llm.client.services.store.check_integrity() == []
