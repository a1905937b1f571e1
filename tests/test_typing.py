"""The library and the codemods type-check: mypy over ``scaffold/`` and ``codemods/``
(configuration in pyproject's ``[tool.mypy]``, unused ``# type: ignore`` comments included)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.djproject import VENV_BIN

REPO = Path(__file__).resolve().parents[1]


def test_mypy_is_clean() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "mypy"), "--config-file", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
