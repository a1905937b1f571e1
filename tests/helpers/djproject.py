"""Django projects in temp dirs: copy an example, ``git init`` it, run manage.py and
scripts there against a test database, as the owner or as the runtime role."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.pg import PgDatabase

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
VENV_BIN = Path(sys.executable).parent


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def git_init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial", "--allow-empty")


@dataclass
class DjangoProject:
    root: Path
    db: PgDatabase | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, *, runtime: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if self.db is not None:
            env["DATABASE_URL"] = self.db.runtime_url if runtime else self.db.owner_url
        env.update(self.extra_env)
        return env

    def run(
        self,
        *cmd: str,
        runtime: bool = False,
        check: bool = True,
        timeout: int = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(cmd),
            cwd=self.root,
            env=self.env(runtime=runtime),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def manage(
        self, *args: str, runtime: bool = False, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``manage.py ARGS``; as the owner unless ``runtime`` (the NOSUPERUSER NOBYPASSRLS role)."""
        return self.run(sys.executable, "manage.py", *args, runtime=runtime, check=check)

    def migrate(self) -> None:
        """Migrate as the owner, then grant the runtime role DML on the new tables."""
        self.manage("migrate", "--noinput", "-v", "0")
        assert self.db is not None
        self.db.grant_runtime()

    def scaffold(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            sys.executable, "-m", "scaffold", *args, "--project", str(self.root), check=check, input=input
        )

    def run_module_tests(self, *modules: str) -> subprocess.CompletedProcess[str]:
        """The modules' own tests through the project's runner (``manage.py test``), as the
        runner role (NOSUPERUSER NOBYPASSRLS, CREATEDB for the test database); they must run
        and pass."""
        assert self.db is not None
        env = self.env(runtime=False)
        env["DATABASE_URL"] = self.db.runner_url
        proc = subprocess.run(
            [sys.executable, "manage.py", "test", *modules, "--noinput", "-v", "1"],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "OK" in proc.stderr and "Ran 0 tests" not in proc.stderr, proc.stderr
        return proc

    def script(self, code: str, *, runtime: bool = True, settings: str | None = None) -> object:
        """Run ``code`` with Django set up; it must assign ``result``, which comes back as JSON."""
        settings = settings or self.settings_module()
        wrapper = (
            "import json, os, django\n"
            f"os.environ.setdefault('DJANGO_SETTINGS_MODULE', {settings!r})\n"
            "django.setup()\n"
            "result = None\n"
            + textwrap.dedent(code)
            + "\nprint('@@RESULT@@' + json.dumps(result, default=str))\n"
        )
        proc = self.run(sys.executable, "-c", wrapper, runtime=runtime)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT@@")][-1]
        return json.loads(line[len("@@RESULT@@") :])

    def settings_module(self) -> str:
        manage = (self.root / "manage.py").read_text()
        marker = "DJANGO_SETTINGS_MODULE"
        for line in manage.splitlines():
            if marker in line and "setdefault" in line:
                return line.split(",")[1].strip().strip(")").strip().strip("'\"")
        raise AssertionError("no DJANGO_SETTINGS_MODULE in manage.py")


def copy_example(
    name: str, dest: Path, db: PgDatabase | None = None, *, init_git: bool = True
) -> DjangoProject:
    """Copy ``examples/<name>`` into ``dest`` (skipping caches) and ``git init`` it."""
    src = EXAMPLES / name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".venv"))
    if init_git:
        git_init(dest)
    return DjangoProject(dest, db)
