"""Seeing is better than reading: on a terminal, ``audit``'s summary is a table per rule
(count, fixable) and ``migrate-viewsets`` / ``fix`` show a progress bar with the file
count. Piped output stays exactly as tools parse it.

The commands run in a subprocess whose stdout and stderr are a real pseudo-terminal
(``os.openpty``); the project is a copy of ``examples/legacy_erp`` with 60 more copies of
its CRM views, so a run has enough files for the bar to appear.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.djproject import copy_example

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pseudo-terminal")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
COPIES = 60


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out.update({"COLUMNS": "160", "LINES": "40", "TERM": "xterm", "NO_COLOR": "1"})
    return out


def on_terminal(root: Path, *args: str) -> tuple[int, str]:
    """Run ``scaffold ARGS`` with stdout and stderr on a pseudo-terminal; return the exit
    code and everything written to it, escape sequences removed."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
        cwd=root,
        env=env(),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=600)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def piped(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
        cwd=root,
        env=env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example("legacy_erp", tmp_path_factory.mktemp("tty") / "legacy_erp").root
    views = (root / "crm" / "views.py").read_text(encoding="utf-8")
    many = root / "crm" / "more"
    many.mkdir()
    (many / "__init__.py").write_text("", encoding="utf-8")
    for i in range(COPIES):
        (many / f"views_{i:02d}.py").write_text(views.replace("from .", "from .."), encoding="utf-8")
    return root


def test_audit_on_a_terminal_ends_with_a_table_per_rule(project: Path) -> None:
    code, out = on_terminal(project, "audit", "--no-cache")
    assert code == 1, out
    expected: dict[str, list[int]] = {}
    for finding in json.loads(piped(project, "audit", "--format", "json", "--no-cache").stdout)["findings"]:
        entry = expected.setdefault(finding["code"], [0, 0])
        entry[0] += 1
        entry[1] += int(finding["fixable"])
    assert expected
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if re.match(r"^rule\s+name\s+count\s+fixable$", line))
    rows = {}
    for line in lines[header + 1 :]:
        match = re.match(r"^(TEN\d{3})\s+([a-z0-9-]+)\s+(\d+)\s+(\d+|-)$", line)
        if not match:
            break
        rows[match[1]] = [int(match[3]), 0 if match[4] == "-" else int(match[4])]
    assert rows == expected, out
    total = re.search(r"^total\s+(\d+)\s+(\d+)$", out, re.M)
    assert total and int(total[1]) == sum(v[0] for v in expected.values()), out
    assert int(total[2]) == sum(v[1] for v in expected.values())
    assert re.search(r"^Found \d+ findings", out, re.M)


def test_audit_piped_output_is_unchanged(project: Path) -> None:
    proc = piped(project, "audit", "--no-cache")
    lines = proc.stdout.splitlines()
    assert all(re.match(r"^[^:]+:(\d+:\d+|[^:]*): TEN\d{3} ", line) for line in lines[:-1]), lines
    assert lines[-1].startswith("Found ") and "count" not in proc.stdout and "total" not in proc.stdout


@pytest.mark.parametrize("command", ["migrate-viewsets", "fix"])
def test_progress_bar_with_the_file_count_on_a_terminal(project: Path, command: str) -> None:
    code, out = on_terminal(project, command, "--check", "--no-cache", "-j", "1")
    assert code == 1, out  # rewrites are due in every copy
    counts = [(int(done), int(total)) for done, total in re.findall(r"(\d+)/(\d+) files", out)]
    assert counts, out
    total = counts[-1][1]
    assert total >= COPIES and all(t == total for _, t in counts)
    assert re.search(rf"{command} ━+\s+\d+/{total} files", out), out  # labelled with the command
    # piped: no bar, no file counter, the same summary line
    proc = piped(project, command, "--check", "--no-cache", "-j", "1")
    assert proc.returncode == 1
    assert not re.search(r"\d+/\d+ files", proc.stdout + proc.stderr)
    assert "━" not in proc.stdout + proc.stderr
    summary = [line for line in out.splitlines() if "scanned" in line]
    assert summary and summary[-1].strip() == proc.stdout.strip().splitlines()[-1].strip()
