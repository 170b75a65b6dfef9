"""Run the documentation examples the way a user does: as a script, in a fresh process.

``run_example("batch_delete.py", stdin="yes\\n")`` runs ``examples/batch_delete.py`` with the
test's ``tmp_path`` as working directory, so the seed's ``./my_data`` lands in
``tmp_path / "my_data"``. Tests arrange that directory beforehand with ``open_data()`` (a
client that is closed again before the script starts) and reopen it afterwards to assert on
what is left.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

import skald

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 60

RunExample = Callable[..., subprocess.CompletedProcess[str]]
OpenData = Callable[[], AbstractContextManager[skald.OpenViking]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Where the seed's ``ov.OpenViking(path="./my_data")`` stores its data."""
    return tmp_path / "my_data"


@pytest.fixture
def open_data(data_dir: Path) -> OpenData:
    """Open the example's data directory in this process (for arranging and asserting)."""

    @contextmanager
    def _open() -> Iterator[skald.OpenViking]:
        with skald.OpenViking(path=data_dir) as client:
            yield client

    return _open


@pytest.fixture
def run_example(tmp_path: Path) -> RunExample:
    """Run one example script (a name under ``examples/`` or a path) as a real subprocess.

    Fails the test with the script's output when it exits non-zero.
    """

    def _run(script: str | Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / script), *args],
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (
            f"{script} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        return done

    return _run
