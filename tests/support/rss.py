"""Peak resident memory of a server process, per call (Linux ``/proc``).

``peak_rss(pid)`` reads ``VmHWM`` (the high-water mark of the resident set) and
``reset_peak(pid)`` starts a new high-water mark at the current resident set (writing ``5`` to
``/proc/PID/clear_refs``), so a call's peak is ``reset_peak``, the call, ``peak_rss``.
``BigSession`` builds the issue-12 session (20 messages of 7.5 MB) in a running ``skald
serve`` and measures the calls that used to load it whole. Imported by the test suite and by
``bench/sizes.py``; imports nothing of pytest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

MB = 1024 * 1024


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(f"{key} not in /proc/{pid}/status")


def peak_rss(pid: int) -> int:
    """The process's peak resident set since the last ``reset_peak``, in bytes."""
    return _status_kb(pid, "VmHWM") * 1024


def rss(pid: int) -> int:
    return _status_kb(pid, "VmRSS") * 1024


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def can_measure(pid: int) -> bool:
    try:
        reset_peak(pid)
        peak_rss(pid)
    except OSError:
        return False
    return True


@dataclass
class BigSession:
    """A session of ``count`` messages of ``size`` bytes in the server at ``url``."""

    client: httpx.Client
    pid: int
    session_id: str = "big"
    count: int = 20
    size: int = 7_500_000
    user: str = "default"
    peaks: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"viking://user/{self.user}/sessions/{self.session_id}"

    def build(self) -> None:
        for i in range(self.count):
            # Mostly ASCII, with a marker per message so each is distinct. A user message is
            # text and a small context part (a relation); an assistant's, a tool call whose
            # output is the bulk (so tool records and relations span the whole session).
            bulk = f"m{i:03d} " + "x" * (self.size - 5)
            if i % 2 == 0:
                parts: list[dict[str, object]] = [
                    {"type": "text", "text": bulk},
                    {"type": "context", "uri": f"viking://resources/r{i}.md", "abstract": "r"},
                ]
            else:
                parts = [
                    {"type": "text", "text": f"calling tool t{i}"},
                    {"type": "tool", "tool_id": f"t{i}", "tool_name": "run", "tool_output": bulk},
                ]
            got = self.client.post(
                f"/api/v1/sessions/{self.session_id}/messages",
                json={"role": "user" if i % 2 == 0 else "assistant", "parts": parts},
            )
            got.raise_for_status()

    def measure(self, name: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        reset_peak(self.pid)
        got = call()
        self.peaks[name] = peak_rss(self.pid)
        got.raise_for_status()
        return got

    def get(self, path: str, **params: object) -> httpx.Response:
        return self.client.get(path, params=params)

    def run_calls(self) -> dict[str, int]:
        """Every measured call, in order; the peak RSS (bytes) of the server during each."""
        b = self.base
        self.measure("stat .meta.json", lambda: self.get("/api/v1/fs/stat", uri=f"{b}/.meta.json"))
        self.measure("ls session dir", lambda: self.get("/api/v1/fs/ls", uri=b))
        self.measure("tree session dir", lambda: self.get("/api/v1/fs/tree", uri=b))
        self.measure("ls tools dir", lambda: self.get("/api/v1/fs/ls", uri=f"{b}/tools"))
        tool = self.measure(
            "read tools/t1/tool.json",
            lambda: self.get("/api/v1/content/read", uri=f"{b}/tools/t1/tool.json"),
        )
        assert '"tool_output"' in tool.json()["result"]
        del tool
        self.measure(
            "read .relations.json",
            lambda: self.get("/api/v1/content/read", uri=f"{b}/.relations.json"),
        )
        ctx = self.measure(
            "GET context (default budget)",
            lambda: self.get(f"/api/v1/sessions/{self.session_id}/context"),
        )
        del ctx
        ctx = self.measure(
            "GET context token_budget=10^9 (all)",
            lambda: self.get(f"/api/v1/sessions/{self.session_id}/context", token_budget=10**9),
        )
        assert len(ctx.json()["result"]["messages"]) == self.count
        del ctx
        whole = self.measure(
            "read messages.jsonl",
            lambda: self.get("/api/v1/content/read", uri=f"{b}/messages.jsonl"),
        )
        assert whole.json()["result"].count("\n") == self.count
        del whole
        page = self.measure(
            "read messages.jsonl offset=5 limit=2",
            lambda: self.get("/api/v1/content/read", uri=f"{b}/messages.jsonl", offset=5, limit=2),
        )
        assert page.json()["result"].count("\n") == 2
        del page
        self.measure(
            "commit wait=true",
            lambda: self.client.post(
                f"/api/v1/sessions/{self.session_id}/commit", json={"wait": True}, timeout=300
            ),
        )
        self.measure(
            "stat .meta.json (archived)",
            lambda: self.get("/api/v1/fs/stat", uri=f"{b}/.meta.json"),
        )
        arch = f"{b}/history/archive_001"
        got = self.measure(
            "read archive messages.jsonl",
            lambda: self.get("/api/v1/content/read", uri=f"{arch}/messages.jsonl"),
        )
        del got
        self.measure(
            "read archive .overview.md",
            lambda: self.get("/api/v1/content/read", uri=f"{arch}/.overview.md"),
        )
        got = self.measure(
            "GET archive",
            lambda: self.get(f"/api/v1/sessions/{self.session_id}/archives/archive_001"),
        )
        del got
        self.measure(
            "delete session",
            lambda: self.client.delete(f"/api/v1/sessions/{self.session_id}"),
        )
        self.peaks["RSS after delete"] = rss(self.pid)
        return self.peaks
