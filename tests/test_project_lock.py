"""The project lock, with real processes: two mutating runs never lose each other's edits
(each reads after the other wrote), a run that finds the lock held waits saying so once or,
with ``--no-wait``, exits 2 with one line; read-only commands never take it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import lock
from tests.helpers.djproject import copy_example

MIDDLEWARE = "custom_auth/middleware_package/onboarding_middleware.py"


def command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scaffold", *args, "--project", str(root)]


ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def scaffold(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(root, *args), capture_output=True, text=True, env=env or ENV, timeout=300)


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".scaffold-cache", "__pycache__"} & set(p.relative_to(root).parts)
    }


def registered(root: Path, module: str) -> list[str]:
    """new-module's four registrations of ``module`` that the project holds."""
    found = []
    if f'"{module}"' in (root / "erp/settings.py").read_text():
        found.append("INSTALLED_APPS")
    if f"{module}.urls" in (root / "erp/urls.py").read_text():
        found.append("urls")
    if f"/api/{module}/" in (root / MIDDLEWARE).read_text():
        found.append("EXEMPT_PATHS")
    if (root / f".copier-answers.{module}.yml").is_file() and (root / module / "migrations").is_dir():
        found.append("module")
    return found


ALL = ["INSTALLED_APPS", "urls", "EXEMPT_PATHS", "module"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example("legacy_erp", tmp_path_factory.mktemp("lock") / "base", init_git=False).root


def fresh(base: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base, dest)
    return dest


def test_two_new_module_runs_at_once_both_register_every_time(base: Path, tmp_path: Path) -> None:
    """The lost update of the issue (each run read settings.py before the other wrote it)."""
    lost = []
    for trial in range(20):
        root = fresh(base, tmp_path / "p")
        procs = [
            subprocess.Popen(
                command(root, "new-module", name, "--no-input", "--field", "name:str"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            for name in ("stock", "orders")
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        for name, p, (_out, err) in zip(("stock", "orders"), procs, outs, strict=True):
            if p.returncode != 0:
                lost.append(f"trial {trial}: new-module {name} exited {p.returncode}: {err}")
            elif registered(root, name) != ALL:
                lost.append(f"trial {trial}: {name} registered only in {registered(root, name)}")
        assert not (root / ".scaffold").exists()
    assert not lost, "\n".join(lost)


def test_new_module_and_fix_at_once_keep_both_edits(base: Path, tmp_path: Path) -> None:
    """fix edits settings.py (ATOMIC_REQUESTS) and the middleware new-module also edits."""
    lost = []
    for trial in range(4):
        root = fresh(base, tmp_path / "p")
        procs = [
            subprocess.Popen(
                command(root, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
            )
            for args in (("new-module", "stock", "--no-input", "--field", "name:str"), ("fix", "--jobs", "1"))
        ]
        outs = [p.communicate(timeout=300) for p in procs]
        if procs[0].returncode != 0 or procs[1].returncode not in (0, 1) or "error" in outs[1][1]:
            lost.append(f"trial {trial}: exits {[p.returncode for p in procs]}: {outs}")
            continue
        settings = (root / "erp/settings.py").read_text()
        if registered(root, "stock") != ALL:
            lost.append(f"trial {trial}: stock registered only in {registered(root, 'stock')}")
        if '["ATOMIC_REQUESTS"] = True' not in settings:
            lost.append(f"trial {trial}: fix's ATOMIC_REQUESTS edit is gone")
    assert not lost, "\n".join(lost)


def test_a_held_lock_makes_a_run_wait_saying_so_once_then_it_runs(base: Path, tmp_path: Path) -> None:
    root = fresh(base, tmp_path / "p")
    with lock.project_lock(root):
        before = snapshot(root)
        proc = subprocess.Popen(
            command(root, "new-module", "stock", "--no-input", "--field", "name:str"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - the child's umask only
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()  # blocks until the run has found the lock held
        assert first == f"{lock.WAITING}\n"
        assert snapshot(root) == before  # it has not written (nor read to plan) anything
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert lock.WAITING not in err  # said once
    assert registered(root, "stock") == ALL
    # created files and folders get the umask's mode (not mkstemp's 0600)
    assert (root / "stock" / "models.py").stat().st_mode & 0o777 == 0o644
    assert (root / "stock" / "migrations").stat().st_mode & 0o777 == 0o755
    assert (root / ".copier-answers.stock.yml").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "args",
    [
        ("new-module", "stock", "--no-input", "--field", "name:str"),
        ("fix",),
        ("migrate-viewsets",),
        ("init", "--no-input"),
        ("update", "--all"),
    ],
    ids=lambda a: a[0],
)
def test_no_wait_exits_2_with_one_line_and_a_bounded_wait_gives_up(
    base: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    root = fresh(base, tmp_path / "p")
    before = snapshot(root)
    with lock.project_lock(root):
        proc = scaffold(root, *args, "--no-wait")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "another scaffold run is changing" in proc.stderr
        waited = scaffold(root, *args, env={**ENV, "SCAFFOLD_LOCK_TIMEOUT": "0"})
        assert waited.returncode == 2
        assert waited.stderr.splitlines() == [
            lock.WAITING,
            f"error: another scaffold run held the lock of {root} for 0s; re-run when it has finished "
            f"(or remove .scaffold/lock if no scaffold is running)",
        ]
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "args",
    [
        ("audit",),
        ("config",),
        ("check-update",),
        ("fix", "--check"),
        ("fix", "--diff"),
        ("migrate-viewsets", "--check"),
        ("migrate-viewsets", "--diff"),
        ("new-module", "stock", "--no-input", "--field", "name:str", "--dry-run"),
        ("init", "--dry-run"),
    ],
    ids=" ".join,
)
def test_read_only_commands_never_take_the_lock(base: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    root = fresh(base, tmp_path / "p")
    with lock.project_lock(root):
        # a run that tried to take the lock would give up at once (exit 2) with this timeout
        proc = scaffold(root, *args, env={**ENV, "SCAFFOLD_LOCK_TIMEOUT": "0"})
    assert proc.returncode in (0, 1), proc.stderr
    assert lock.WAITING not in proc.stderr and "lock" not in proc.stderr


ORPHAN = """
import os, signal, sys, time
from pathlib import Path
from scaffold import lock

with lock.project_lock(Path(sys.argv[1])):
    child = os.fork()  # as the engine's process pool forks its workers
    if child == 0:
        time.sleep(600)  # a worker orphaned by the kill below; the test kills it
        os._exit(0)
    print(child, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the run is killed; its worker lives on
"""


def test_a_killed_runs_orphaned_worker_does_not_hold_the_lock(base: Path, tmp_path: Path) -> None:
    root = fresh(base, tmp_path / "p")
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(root)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        assert proc.wait(timeout=120) == -9
        run = scaffold(root, "migrate-viewsets", "--no-wait")
        assert run.returncode == 0, run.stderr
        assert "rewrote purchasing/views.py" in run.stdout
    finally:
        os.kill(child, 9)
