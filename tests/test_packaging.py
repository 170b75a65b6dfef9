"""What a PyPI page and a newcomer need: the license, each package's metadata, and a CI script
that installs uv without touching the machine's pip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


@pytest.mark.parametrize("package", ["core", "client", "server"])
def test_package_metadata(package: str) -> None:
    base = ROOT / "packages" / package
    project = tomllib.loads((base / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert (base / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (base / project["readme"]).read_text().strip()
    assert project["description"] and project["keywords"]
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert list((base / "src").glob("*/py.typed"))


def test_ci_never_upgrades_the_machines_pip() -> None:
    """CI runs the README's test command exactly, with the ``pip`` of a venv of its own first
    on PATH: the machine's pip is never upgraded nor installed into."""
    script = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "install --upgrade pip" not in script
    assert "python3 -m venv" in script
    venv_first = script.index('export PATH="$tools/bin:$PATH"')
    command = "pip install uv && uv run pytest"
    assert f"\n{command}\n" in readme and script.rstrip().endswith(command)
    assert venv_first < script.rindex(command)
