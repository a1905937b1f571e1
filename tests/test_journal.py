"""The write journal in the process: a commit phase cut short (as by a kill) is rolled forward
when it can be, else back; a rollback never overwrites a write made after the crash; created
files get the umask's mode and rewritten ones keep theirs; a Ctrl-C is never cached as an
internal error of a file and is exit 130."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scaffold import engine, journal, lock
from scaffold.cli import main
from scaffold.engine import Analysis, FileContext
from scaffold.fsutil import ChangeSet, atomic_write_bytes
from scaffold.project import SourceFile


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs (it is not an OSError, so no rollback)."""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("# manage\n")
    for name in ("a", "b", "c"):
        (root / "app" / f"{name}.py").write_text(f"{name} = 1\n")
    return root


def plan(root: Path) -> ChangeSet:
    """Three rewrites and one created file in a created folder."""
    changes = ChangeSet()
    for name in ("a", "b", "c"):
        changes.add(root / "app" / f"{name}.py", f"{name} = 2\n")
    changes.add(root / "new" / "pkg" / "d.py", "d = 2\n")
    return changes


def crash_after(monkeypatch: pytest.MonkeyPatch, phase: str, count: int) -> None:
    def fault(p: str, n: int) -> None:
        if (p, n) == (phase, count):
            raise Crash

    monkeypatch.setattr(journal, "_fault", fault)
    # a kill runs no clean-up code: neither the staging phase's discard of its temp files
    monkeypatch.setattr(journal, "_discard", lambda *_a: None)


def contents(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".scaffold" not in p.relative_to(root).parts
    }


OLD = {"app/a.py": "a = 1\n", "app/b.py": "b = 1\n", "app/c.py": "c = 1\n", "manage.py": "# manage\n"}
NEW = {
    "app/a.py": "a = 2\n",
    "app/b.py": "b = 2\n",
    "app/c.py": "c = 2\n",
    "manage.py": "# manage\n",
    "new/pkg/d.py": "d = 2\n",
}


def crashed(root: Path, monkeypatch: pytest.MonkeyPatch, phase: str = "RENAMES", count: int = 2) -> None:
    crash_after(monkeypatch, phase, count)
    with pytest.raises(Crash):
        plan(root).apply()
    monkeypatch.undo()
    assert journal.pending(root)


def no_leftovers(root: Path) -> bool:
    return not (root / ".scaffold").exists() and not [p for p in root.rglob("*.tmp")]


def test_a_run_killed_during_the_renames_is_completed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crashed(project, monkeypatch)
    assert contents(project) not in (OLD, NEW)  # mixed, until the next command
    said: list[str] = []
    lock.recover_if_idle(project, say=said.append)
    assert said == [
        f"completed the interrupted `scaffold apply` (pid {os.getpid()}): all 4 of its file changes are written"
    ]
    assert contents(project) == NEW and no_leftovers(project)


def test_a_run_killed_while_staging_is_rolled_back(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crashed(project, monkeypatch, "STAGED", 3)
    said: list[str] = []
    lock.recover_if_idle(project, say=said.append)
    assert len(said) == 1 and "rolled back" in said[0] and "had not changed any file yet" in said[0]
    assert contents(project) == OLD and no_leftovers(project)


def test_a_missing_temp_file_rolls_back_and_restores_old_contents_and_modes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "app" / "a.py").chmod(0o600)
    (project / "app" / "b.py").chmod(0o755)
    crashed(project, monkeypatch, count=2)
    entries = json.loads((project / ".scaffold" / "journal.json").read_text())["entries"]
    (project / entries[3]["temp"]).unlink()  # the created file's content is lost: cannot finish
    said: list[str] = []
    lock.recover_if_idle(project, say=said.append)
    assert len(said) == 1 and "rolled back" in said[0] and "2 file(s) restored" in said[0]
    assert contents(project) == OLD and no_leftovers(project)
    assert not (project / "new").exists()  # the folders it created are gone again
    assert (project / "app" / "a.py").stat().st_mode & 0o777 == 0o600
    assert (project / "app" / "b.py").stat().st_mode & 0o777 == 0o755


def test_a_rollback_never_overwrites_a_later_write(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crashed(project, monkeypatch, count=2)
    entries = json.loads((project / ".scaffold" / "journal.json").read_text())["entries"]
    (project / entries[2]["temp"]).unlink()
    (project / "app" / "a.py").write_text("a = 'edited after the crash'\n")  # renamed, then edited
    said: list[str] = []
    lock.recover_if_idle(project, say=said.append)
    assert "1 file(s) restored" in said[0] and "left 1 changed since as they are: app/a.py" in said[0]
    assert contents(project) == {**OLD, "app/a.py": "a = 'edited after the crash'\n"}
    assert no_leftovers(project)


def test_a_target_edited_before_its_rename_blocks_rolling_forward(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed(project, monkeypatch, count=1)
    (project / "app" / "c.py").write_text("c = 'someone else'\n")  # not renamed yet
    said: list[str] = []
    lock.recover_if_idle(project, say=said.append)
    assert "rolled back" in said[0] and "app/c.py" in said[0]
    assert contents(project) == {**OLD, "app/c.py": "c = 'someone else'\n"}
    assert no_leftovers(project)


def test_a_deletion_is_part_of_the_set(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "app" / "c.py").chmod(0o640)
    changes = ChangeSet()
    changes.delete(project / "app" / "c.py")
    changes.add(project / "app" / "a.py", "a = 2\n")
    assert "+++ /dev/null" in changes.diff(project)
    crash_after(monkeypatch, "RENAMES", 1)  # c.py deleted, a.py not renamed yet
    with pytest.raises(Crash):
        changes.apply()
    monkeypatch.undo()
    assert not (project / "app" / "c.py").exists()
    entries = json.loads((project / ".scaffold" / "journal.json").read_text())["entries"]
    (project / entries[1]["temp"]).write_text("tampered")  # cannot be trusted: roll back
    lock.recover_if_idle(project, say=lambda _m: None)
    assert contents(project) == OLD and no_leftovers(project)
    assert (project / "app" / "c.py").stat().st_mode & 0o777 == 0o640


def test_an_injected_io_error_mid_rename_restores_every_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCAFFOLD_FAULT_AFTER_RENAMES", "3")
    monkeypatch.setenv("SCAFFOLD_FAULT_SIGNAL", "ERROR")
    from scaffold.errors import OperationFailed

    with pytest.raises(
        OperationFailed, match=r"cannot write .*d\.py: injected fault; every file was left as it was"
    ):
        plan(project).apply()
    assert contents(project) == OLD and no_leftovers(project)


def test_a_live_runs_journal_is_left_alone_by_read_only_commands(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a run holds the lock its journal is its own, still committing: another process's
    read-only command must neither roll it back nor wait for it."""
    with lock.project_lock(project):
        crash_after(monkeypatch, "RENAMES", 2)
        with pytest.raises(Crash):
            plan(project).apply()
        mixed = contents(project)
        proc = subprocess.run(
            [sys.executable, "-m", "scaffold", "config", "--project", str(project)],
            capture_output=True,
            text=True,
            env={**os.environ, "SCAFFOLD_LOCK_TIMEOUT": "0"},
            timeout=120,
        )
        assert proc.returncode == 0 and "interrupted" not in proc.stderr and "waiting" not in proc.stderr
        assert contents(project) == mixed and journal.pending(project)
    monkeypatch.undo()
    lock.recover_if_idle(project, say=lambda _m: None)
    assert contents(project) == NEW and no_leftovers(project)


# -- modes ----------------------------------------------------------------------------------


@pytest.fixture()
def umask() -> Iterator[Any]:
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_created_files_get_the_umask_mode_and_rewritten_ones_keep_theirs(
    project: Path, umask: Any, mask: int
) -> None:
    umask(mask)
    c_mode = (project / "app" / "c.py").stat().st_mode & 0o777
    (project / "app" / "a.py").chmod(0o600)
    (project / "app" / "b.py").chmod(0o755)
    plan(project).apply()
    assert contents(project) == NEW
    assert (project / "new" / "pkg" / "d.py").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (project / "new" / "pkg").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (project / "app" / "a.py").stat().st_mode & 0o777 == 0o600
    assert (project / "app" / "b.py").stat().st_mode & 0o777 == 0o755
    assert (project / "app" / "c.py").stat().st_mode & 0o777 == c_mode
    atomic_write_bytes(project / "cache.json", b"{}")  # the engine cache's writer
    assert (project / "cache.json").stat().st_mode & 0o777 == 0o666 & ~mask


# -- interrupts and the engine cache --------------------------------------------------------


class Flaky:
    code = "flaky"
    version = "1"
    needles = (b"x",)

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def analyze(self, ctx: FileContext) -> Analysis:
        self.calls += 1
        raise self.error


def run_unit(root: Path, unit: Flaky) -> engine.RunReport:
    files = [SourceFile(root / "app" / "x.py", "app/x.py")]
    return engine.run([unit], files, root=root, settings={}, jobs=1, fix=False)


def test_a_crashing_unit_is_reported_but_never_cached(project: Path) -> None:
    (project / "app" / "x.py").write_text("x = 1\n")
    unit = Flaky(RuntimeError("boom"))
    report = run_unit(project, unit)
    assert "internal error analyzing this file" in report.results[0].messages[0].message
    run_unit(project, unit)
    assert unit.calls == 2  # the second run looked again instead of trusting a cached crash


def test_a_ctrl_c_wrapped_by_a_library_is_a_ctrl_c_and_not_cached(project: Path) -> None:
    (project / "app" / "x.py").write_text("x = 1\n")
    error = RuntimeError("raised while handling a KeyboardInterrupt")
    error.__context__ = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        run_unit(project, Flaky(error))
    assert not (project / ".scaffold-cache").exists()  # an interrupted run caches nothing


def test_ctrl_c_in_a_command_exits_130(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import scaffold.fix

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scaffold.fix, "fix", interrupted)
    assert main(["fix", "--project", str(project)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "aborted" not in err
    assert no_leftovers(project)


@pytest.mark.parametrize(
    ("phase", "expected", "said"), [("STAGED", OLD, "stopped before"), ("RENAMES", NEW, "completed first")]
)
@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_a_signal_in_the_commit_phase_finishes_or_undoes_the_set(
    project: Path, monkeypatch: pytest.MonkeyPatch, phase: str, expected: dict[str, str], said: str, sig: str
) -> None:
    from scaffold.errors import Interrupted

    monkeypatch.setenv(f"SCAFFOLD_FAULT_AFTER_{phase}", "2")
    monkeypatch.setenv("SCAFFOLD_FAULT_SIGNAL", sig)
    with pytest.raises(Interrupted, match=said) as caught:
        plan(project).apply()
    assert caught.value.exit_code == 130
    assert contents(project) == expected and no_leftovers(project)


def test_a_journal_that_cannot_be_written_leaves_every_file_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scaffold.errors import OperationFailed

    real = journal._write_journal

    def full(root: Path, state: str, *args: Any) -> None:
        if state == "committing":
            raise OSError(28, "No space left on device")
        real(root, state, *args)

    monkeypatch.setattr(journal, "_write_journal", full)
    with pytest.raises(OperationFailed, match="No space left on device; every file was left as it was"):
        plan(project).apply()
    assert contents(project) == OLD and no_leftovers(project)
