"""One template locator: every command finds its templates through
``scaffold.templates.templates_root``, which honours ``$SCAFFOLD_TEMPLATES_DIR``; one
version reader (``templates.template_version``); the release tooling lives in
``scaffold.release``, not in the runtime store module.

The commands run as subprocesses (``python -m scaffold``) with ``HOME`` in a temp dir, so
the per-user template store of the machine is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import template_store, templates
from tests.helpers.djproject import VENV_BIN

REPO = Path(__file__).resolve().parents[1]
MARKER = "# rendered from the SCAFFOLD_TEMPLATES_DIR copy"


@pytest.fixture
def override(tmp_path: Path) -> Path:
    """A copy of the shipped templates with a marked tenancy core and module version 9.9.9."""
    dest = tmp_path / "templates"
    shutil.copytree(REPO / "templates", dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    context = dest / "tenancy" / "{{ package }}" / "context.py.jinja"
    context.write_text(context.read_text(encoding="utf-8") + f"\n{MARKER}\n", encoding="utf-8")
    (dest / "module" / "VERSION").write_text("9.9.9\n", encoding="utf-8")
    return dest


def run(*args: str, cwd: Path, templates_dir: Path | None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("SCAFFOLD_TEMPLATES_DIR", "DJANGO_SETTINGS_MODULE")
    }
    env["HOME"] = str(cwd / "home")
    if templates_dir is not None:
        env["SCAFFOLD_TEMPLATES_DIR"] = str(templates_dir)
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def startproject(root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    return root


def test_version_init_and_new_module_all_use_the_override(override: Path, tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path, templates_dir=override)
    assert version.returncode == 0, version.stderr
    assert "module template 9.9.9" in version.stdout

    project = startproject(tmp_path / "site")
    init = run(
        "init",
        "--project",
        str(project),
        "--no-input",
        "--allow-non-postgres",
        cwd=tmp_path,
        templates_dir=override,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    assert MARKER in (project / "tenancy" / "context.py").read_text(encoding="utf-8")

    made = run(
        "new-module",
        "billing",
        "--project",
        str(project),
        "--no-input",
        "--field",
        "title:str",
        "--allow-non-postgres",
        cwd=tmp_path,
        templates_dir=override,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    answers = (project / ".copier-answers.billing.yml").read_text(encoding="utf-8")
    # 9.9.9 is not a release of the copied bundle: a dev tag of that version in the store.
    assert re.search(r"^_commit: v9\.9\.9\.dev\d+\+t[0-9a-f]{12}$", answers, re.M), answers


def test_without_the_override_the_shipped_templates_are_used(tmp_path: Path) -> None:
    version = run("--version", cwd=tmp_path, templates_dir=None)
    shipped = (REPO / "templates" / "module" / "VERSION").read_text(encoding="utf-8").strip()
    assert version.stdout.strip().endswith(f"(module template {shipped})")


def test_a_template_missing_from_the_override_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    only_module = tmp_path / "templates"
    shutil.copytree(REPO / "templates" / "module", only_module / "module")
    project = startproject(tmp_path / "site")
    before = sorted(p.relative_to(project).as_posix() for p in project.rglob("*"))
    init = run(
        "init",
        "--project",
        str(project),
        "--no-input",
        "--allow-non-postgres",
        cwd=tmp_path,
        templates_dir=only_module,
    )
    assert init.returncode == 2
    lines = init.stderr.strip().splitlines()
    assert len(lines) == 1 and "'tenancy' not found in $SCAFFOLD_TEMPLATES_DIR" in lines[0], init.stderr
    assert "unset SCAFFOLD_TEMPLATES_DIR" in lines[0]
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == before


def test_locator_and_store_agree(override: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAFFOLD_TEMPLATES_DIR", str(override))
    assert templates.template_path("tenancy") == override.resolve() / "tenancy"
    assert templates.template_path("module") == override.resolve() / "module"
    assert templates.template_version("module") == "9.9.9"
    assert templates.packaged_bundle("module") == override.resolve() / "module.bundle"
    monkeypatch.delenv("SCAFFOLD_TEMPLATES_DIR")
    assert templates.template_path("module") == templates.shipped_root() / "module"


def test_one_reader_of_the_override_and_no_release_tooling_in_the_store() -> None:
    """Only scaffold/templates.py reads $SCAFFOLD_TEMPLATES_DIR or a VERSION file; the
    store module knows nothing of releasing (CHANGELOG sections, bundle rewriting)."""
    readers = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "scaffold").rglob("*.py")
        if "SCAFFOLD_TEMPLATES_DIR" in p.read_text(encoding="utf-8")
        or '"VERSION"' in p.read_text(encoding="utf-8")
    )
    assert readers == ["scaffold/release.py", "scaffold/templates.py"], readers
    release_text = (REPO / "scaffold" / "release.py").read_text(encoding="utf-8")
    assert "SCAFFOLD_TEMPLATES_DIR" not in release_text  # it releases the checkout's templates/
    for name in ("release", "release_state", "changelog_section", "bundle_tree", "ReleaseState"):
        assert not hasattr(template_store, name), name
    assert not (REPO / "scaffold" / "versioning.py").exists()
