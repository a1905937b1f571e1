"""scaffold's own code is held to what it asks of generated code: ruff check and ruff format
(pyproject's [tool.ruff]) over the library, the codemods, the tests and the benchmarks, and
mypy over ``scaffold/`` and ``codemods/`` ([tool.mypy], unused ``# type: ignore`` included)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.djproject import VENV_BIN

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["scaffold", "codemods", "tests", "benchmarks", "examples/demo.py"]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "cmd",
    [["ruff", "check", *SOURCES], ["ruff", "format", "--check", *SOURCES]],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff_is_clean(cmd: list[str]) -> None:
    proc = run(str(VENV_BIN / cmd[0]), *cmd[1:])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    proc = run(str(VENV_BIN / "mypy"), "--config-file", str(REPO / "pyproject.toml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
