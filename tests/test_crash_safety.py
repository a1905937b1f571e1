"""Tests that kill: every mutating command is stopped at every point of its commit phase
(after each temp file, after each rename) by SIGKILL, SIGINT and SIGTERM, through the
journal's fault hook (SCAFFOLD_FAULT_AFTER_STAGED / _RENAMES + SCAFFOLD_FAULT_SIGNAL) in a
real subprocess; then another scaffold command runs, and the project must be wholly as
before or wholly as after the command (as a set, registration included), with no temp file,
no journal and no lock left, and re-running the command must succeed.

Plus the project lock: concurrent runs never lose an update, ``--no-wait`` refuses at once,
a waiting run says so once, read-only commands never wait."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.djproject import copy_example, git
from tests.helpers.template_repo import TemplateRepo

REPO = Path(__file__).resolve().parents[1]
SIGNALS = ("KILL", "INT", "TERM")
IGNORED_PARTS = {".git", ".scaffold-cache", "__pycache__"}


def tree(root: Path) -> dict[str, str]:
    """Every project file and its content hash (git's and the caches' folders left out)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not IGNORED_PARTS & set(p.relative_to(root).parts)
    }


def leftovers(root: Path) -> list[str]:
    """Temp files, journals, kept copies or lock folders anywhere in the project."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if ".git" not in p.relative_to(root).parts
        and (p.name.endswith(".tmp") or p.name == ".scaffold" or ".scaffold" in p.relative_to(root).parts)
    )


def scaffold(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
        timeout=300,
        # a background job inherits SIGINT ignored, and Python keeps it so: undo that here
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )


@dataclass
class Scenario:
    """A pristine project, the command to run in it, and the tree before and after."""

    base: Path
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    changes: int = 0
    # update refuses a module with uncommitted changes, an updated one included: the user
    # commits an update before anything else, and so does the test before re-running
    commit_after: bool = False

    def fresh(self, dest: Path) -> Path:
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(self.base, dest, symlinks=True)
        return dest

    def measure(self, work: Path) -> None:
        """Run the command once, undisturbed: the tree after, and how many files it changes."""
        self.before = tree(self.base)
        root = self.fresh(work)
        proc = scaffold(root, *self.args, env=self.env)
        assert proc.returncode in (0, 1) and "error" not in proc.stderr, proc.stdout + proc.stderr
        self.after = tree(root)
        assert not leftovers(root)
        self.changes = sum(
            1 for rel in self.before.keys() | self.after.keys() if self.before.get(rel) != self.after.get(rel)
        )
        assert self.changes >= 3, "a multi-file change set is needed to test atomicity"


def registration(root: Path, module: str) -> set[str]:
    """Which of new-module's registrations of ``module`` the project holds."""
    found = set()
    if f'"{module}"' in (root / "erp/settings.py").read_text():
        found.add("INSTALLED_APPS")
    if f"{module}.urls" in (root / "erp/urls.py").read_text():
        found.add("urls")
    if f"/api/{module}/" in (root / "custom_auth/middleware_package/onboarding_middleware.py").read_text():
        found.add("EXEMPT_PATHS")
    if (root / module).is_dir():
        found.add("module")
    return found


# -- the scenarios --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenarios_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash")


@pytest.fixture(scope="module")
def new_module(scenarios_dir: Path) -> Scenario:
    base = copy_example("legacy_erp", scenarios_dir / "nm-base").root
    s = Scenario(base, ("new-module", "inventory", "--no-input", "--field", "name:str"))
    s.measure(scenarios_dir / "nm-measure")
    return s


@pytest.fixture(scope="module")
def migrate_viewsets(scenarios_dir: Path) -> Scenario:
    base = copy_example("legacy_erp", scenarios_dir / "mv-base", init_git=False).root
    views = (base / "purchasing" / "views.py").read_text()
    for suffix in "abcd":  # five leaky views files: one set of five rewrites
        (base / "purchasing" / f"views_{suffix}.py").write_text(views)
    s = Scenario(base, ("migrate-viewsets", "--jobs", "1"))
    s.measure(scenarios_dir / "mv-measure")
    return s


@pytest.fixture(scope="module")
def fix(scenarios_dir: Path) -> Scenario:
    base = copy_example("legacy_erp", scenarios_dir / "fix-base", init_git=False).root
    s = Scenario(base, ("fix", "--jobs", "1"))
    s.measure(scenarios_dir / "fix-measure")
    return s


@pytest.fixture(scope="module")
def update(scenarios_dir: Path) -> Scenario:
    """inventory generated at template v0.1.0 and committed; v0.2.0 changes views.py, adds
    filters.py and drops admin.py: the update writes, creates and deletes."""
    home = scenarios_dir / "home"
    home.mkdir()
    templates = TemplateRepo.copy_of(REPO / "templates" / "module", scenarios_dir / "templates")
    env = {"HOME": str(home), "SCAFFOLD_TEMPLATES_DIR": str(templates.root)}
    templates.release("0.1.0")
    base = copy_example("legacy_erp", scenarios_dir / "up-base").root
    proc = scaffold(base, "new-module", "inventory", "--no-input", "--field", "name:str", env=env)
    assert proc.returncode == 0, proc.stderr
    git(base, "add", "-A")
    git(base, "commit", "-qm", "generate inventory")
    views = templates.folder / "{{module_name}}" / "views.py.jinja"
    views.write_text("# template 0.2.0\n" + views.read_text())
    templates.write({"{{module_name}}/filters.py.jinja": '"""Filters (template 0.2.0)."""\n'})
    templates.write({"{{module_name}}/admin.py.jinja": None})
    templates.release("0.2.0", "- views, filters.py, no admin.py")
    s = Scenario(base, ("update", "inventory"), env, commit_after=True)
    s.measure(scenarios_dir / "up-measure")
    assert "inventory/admin.py" in s.before and "inventory/admin.py" not in s.after
    return s


# -- the kills --------------------------------------------------------------------------------


def kill_points(changes: int) -> list[tuple[str, int]]:
    """After the first and the last temp file, then after every rename (0: none yet)."""
    return [("STAGED", 1), ("STAGED", changes), *(("RENAMES", n) for n in range(changes + 1))]


def trial(s: Scenario, sig: str, phase: str, n: int, root: Path, module: str | None) -> list[str]:
    """Kill one run at one point; what went wrong (nothing, hopefully)."""
    failures: list[str] = []
    where = f"{sig} after {n} {phase.lower()}"
    s.fresh(root)
    env = {**s.env, f"SCAFFOLD_FAULT_AFTER_{phase}": str(n), "SCAFFOLD_FAULT_SIGNAL": sig}
    killed = scaffold(root, *s.args, env=env)
    expected_rc = -signal.SIGKILL if sig == "KILL" else 130
    if killed.returncode != expected_rc:
        return [f"{where}: exit {killed.returncode}, expected {expected_rc}: {killed.stderr}"]
    if sig == "KILL":
        # any other command finishes what the kill left: here a read-only one
        other = scaffold(root, "config", env=s.env)
        said = [line for line in other.stderr.splitlines() if "interrupted" in line]
        verb = "completed the interrupted" if phase == "RENAMES" else "rolled back the interrupted"
        if other.returncode != 0 or len(said) != 1 or verb not in said[0]:
            failures.append(f"{where}: config exited {other.returncode} saying {other.stderr!r}")
    else:  # SIGINT / SIGTERM: finished in the process itself, which says how
        verb = "completed first" if phase == "RENAMES" else "stopped before writing anything"
        if verb not in killed.stderr or killed.stderr.count("\n") != 1:
            failures.append(f"{where}: stderr {killed.stderr!r}")
    state = tree(root)
    if state not in (s.before, s.after):
        changed = s.before.keys() | s.after.keys()
        unknown = sorted(k for k in changed if state.get(k) not in (s.before.get(k), s.after.get(k)))
        old = sorted(
            k for k in changed if s.before.get(k) != s.after.get(k) and state.get(k) == s.before.get(k)
        )
        failures.append(f"{where}: mixed tree (unknown {unknown}, still old {old})")
    elif state != (s.after if phase == "RENAMES" else s.before):
        failures.append(f"{where}: rolled the wrong way")
    if leftovers(root):  # no temp file, no kept copy, no journal (nothing left to recover)
        failures.append(f"{where}: left {leftovers(root)}")
    if module is not None and len(registration(root, module)) not in (0, 4):
        failures.append(f"{where}: registration {sorted(registration(root, module))} is partial")
    # A tree equal to a measured one re-runs as that one did: the re-run (what the user
    # does next) is checked at every SIGKILL point, where recovery happened in another
    # process, and at two points for SIGINT / SIGTERM, which finish in the process itself.
    if failures or (sig != "KILL" and (phase, n) not in {("STAGED", 1), ("RENAMES", s.changes // 2)}):
        return failures
    if s.commit_after and state == s.after:
        git(root, "add", "-A")
        git(root, "commit", "-qm", "updated")
    again = scaffold(root, *s.args, env=s.env)
    if again.returncode not in (0, 1) or "error" in again.stderr or tree(root) != s.after or leftovers(root):
        failures.append(f"{where}: re-run exit {again.returncode}: {again.stderr}")
    return failures


def sweep(s: Scenario, sig: str, work: Path, *, module: str | None = None) -> None:
    """Every kill point, two trials at a time (each in its own copy of the project)."""
    points = kill_points(s.changes)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(
            lambda point: trial(s, sig, point[1][0], point[1][1], work / str(point[0]), module),
            enumerate(points),
        )
        failures = [f for result in results for f in result]
    assert not failures, f"{len(failures)} of {len(points)} kill points failed:\n" + "\n".join(failures)


@pytest.mark.parametrize("sig", SIGNALS)
def test_new_module_killed_at_every_point(new_module: Scenario, sig: str, tmp_path: Path) -> None:
    sweep(new_module, sig, tmp_path / "p", module="inventory")


@pytest.mark.parametrize("sig", SIGNALS)
def test_migrate_viewsets_killed_at_every_point(migrate_viewsets: Scenario, sig: str, tmp_path: Path) -> None:
    sweep(migrate_viewsets, sig, tmp_path / "p")


@pytest.mark.parametrize("sig", SIGNALS)
def test_fix_killed_at_every_point(fix: Scenario, sig: str, tmp_path: Path) -> None:
    sweep(fix, sig, tmp_path / "p")


@pytest.mark.parametrize("sig", SIGNALS)
def test_update_killed_at_every_point(update: Scenario, sig: str, tmp_path: Path) -> None:
    sweep(update, sig, tmp_path / "p")
