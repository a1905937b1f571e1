"""How a run treats the interpreter: automatic garbage collection paused for the run (each
file's young objects collected after it) and restored after it, even when a run fails; the
console script leaving an analysis command with os._exit once its output is flushed, and the
normal way after other commands and under a tracer or profiler."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import engine
from scaffold.project import iter_python_files


class Cyclic:
    """A unit whose analysis leaves a reference cycle behind for every file."""

    code = "CYC001"
    version = "1"
    needles = ()
    seen_enabled: list[bool] = []

    def analyze(self, ctx: engine.FileContext) -> engine.Analysis:
        Cyclic.seen_enabled.append(gc.isenabled())
        node: dict[str, object] = {"file": ctx.rel}
        node["self"] = node  # garbage only the cycle collector frees
        return engine.Analysis([])


class Failing:
    code = "FAIL001"
    version = "1"
    needles = ()

    def analyze(self, ctx: engine.FileContext) -> engine.Analysis:
        raise KeyboardInterrupt  # propagates out of the run, like Ctrl-C


def _files(root: Path, n: int) -> None:
    for i in range(n):
        (root / f"m{i}.py").write_text(f"x = {i}\n")


def test_collection_is_paused_during_a_run_and_restored_after(tmp_path: Path) -> None:
    _files(tmp_path, 5)
    Cyclic.seen_enabled.clear()
    assert gc.isenabled()
    engine.run([Cyclic()], iter_python_files(tmp_path, ()), root=tmp_path, settings={}, fix=False, jobs=1)
    assert Cyclic.seen_enabled == [False] * 5
    assert gc.isenabled()


def test_each_files_cycles_are_collected_after_it(tmp_path: Path) -> None:
    _files(tmp_path, 3)
    gc.collect()
    collected_before = sum(s["collected"] for s in gc.get_stats()[:2])
    engine.run([Cyclic()], iter_python_files(tmp_path, ()), root=tmp_path, settings={}, fix=False, jobs=1)
    # the young generations were collected during the run and freed the files' cycles
    assert sum(s["collected"] for s in gc.get_stats()[:2]) >= collected_before + 3


def test_collection_is_restored_when_the_run_fails(tmp_path: Path) -> None:
    _files(tmp_path, 1)
    with pytest.raises(KeyboardInterrupt):
        engine.run([Failing()], iter_python_files(tmp_path, ()), root=tmp_path, settings={}, jobs=1)
    assert gc.isenabled()


def test_collection_left_off_stays_off(tmp_path: Path) -> None:
    _files(tmp_path, 1)
    gc.disable()
    try:
        engine.run([Cyclic()], iter_python_files(tmp_path, ()), root=tmp_path, settings={}, jobs=1)
        assert not gc.isenabled()
    finally:
        gc.enable()


def _scaffold(args: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *extra, "-m", "scaffold", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_console_script_output_is_flushed_before_it_leaves() -> None:
    done = _scaffold(["--version"])
    assert done.returncode == 0
    assert done.stdout.startswith("scaffold ")
    bad = _scaffold(["no-such-command"])
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ")


def test_under_a_profiler_the_console_script_leaves_normally(tmp_path: Path) -> None:
    stats = tmp_path / "stats.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "scaffold", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert stats.exists() and stats.stat().st_size > 0  # written at exit: no os._exit under a profiler


PROBE_EXIT = """
import atexit, sys
atexit.register(lambda: print("atexit ran", flush=True))
sys.argv = ["scaffold", *sys.argv[1:]]
from scaffold.cli import console
console()
"""


def _console(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE_EXIT, *args], capture_output=True, text=True, cwd=project, timeout=120
    )


def test_analysis_commands_skip_the_teardown_and_others_do_not(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "views.py").write_text("from rest_framework import viewsets\n")
    audit = _console(tmp_path, "audit", "--format", "json", "--no-cache")
    assert audit.returncode in (0, 1), audit.stderr
    assert audit.stdout.rstrip().endswith("}")  # the whole report was flushed
    assert "atexit ran" not in audit.stdout  # os._exit: no interpreter teardown
    config = _console(tmp_path, "config", "--json")
    assert config.returncode == 0, config.stderr
    assert "atexit ran" in config.stdout  # any other command leaves the normal way
