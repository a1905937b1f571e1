"""The lint and format bar that code scaffold writes into a user's project must clear.

``ruff check --isolated`` with ruff's default rules (the test extra pins ruff to 0.17.x, so
the rule set is fixed), the same again with ``EXTRA_RULES`` (import order, bugbear, pyupgrade,
flake8-django, simplify, ruff's own), and ``ruff format --check`` at 88 and 120 columns: a
user's own ruff configuration, whatever its line length, reformats nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.djproject import VENV_BIN

EXTRA_RULES = "I,B,UP,DJ,SIM,RUF"


def ruff_commands(paths: list[str]) -> list[list[str]]:
    ruff = str(VENV_BIN / "ruff")
    return [
        [ruff, "check", "--isolated", *paths],
        [ruff, "check", "--isolated", "--extend-select", EXTRA_RULES, *paths],
        [ruff, "format", "--isolated", "--check", *paths],
        [ruff, "format", "--isolated", "--check", "--line-length", "120", *paths],
    ]


def assert_ruff_clean(cwd: Path, paths: list[str]) -> None:
    """Every command of :func:`ruff_commands` passes on ``paths`` (relative to ``cwd``)."""
    for cmd in ruff_commands(paths):
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        assert proc.returncode == 0, " ".join(cmd[1:]) + "\n" + proc.stdout + proc.stderr
