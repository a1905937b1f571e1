"""The wheel ships the templates: build it, install it into a fresh venv, and find the
template from a directory outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("scaffold_tenancy-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    pip = env_dir / "bin" / "pip"
    proc = subprocess.run(
        [str(pip), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return env_dir


def test_wheel_contains_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "scaffold/_templates/module/copier.yml" in names
    assert "scaffold/_templates/module/_macros/secure.jinja" in names
    assert "scaffold/_templates/tenancy/copier.yml" in names
    assert not any(n.startswith("templates/") for n in names)


def test_wheel_claims_no_top_level_name_but_scaffold(wheel: Path) -> None:
    """codemods/ is the repository's layout, not an import name: installed, it is
    scaffold.codemods (pyproject's force-include), each file once."""
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"scaffold"}, top
    assert "scaffold/codemods/__init__.py" in names and "scaffold/codemods/_imports.py" in names
    codemods = sorted(p.name for p in (REPO / "codemods").glob("*.py"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("scaffold/codemods/")) == codemods
    assert len(names) == len(set(names))
    (dist_info,) = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    top_level = zipfile.ZipFile(wheel).read(f"{dist_info}/RECORD").decode()
    assert "\ncodemods/" not in "\n" + top_level


def test_installed_wheel_imports_scaffold_codemods_and_no_top_level_codemods(
    venv: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib.util, scaffold.codemods as c;"
        "print(sorted(c.CODEMODS)[0], c.__file__);"
        "print(importlib.util.find_spec('codemods'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    first, found = proc.stdout.splitlines()
    assert "site-packages/scaffold/codemods/__init__.py" in first
    assert found == "None"


def test_installed_wheel_migrates_a_project_with_its_own_codemods_package(venv: Path, tmp_path: Path) -> None:
    from tests.helpers.djproject import copy_example
    from tests.test_no_generic_import_names import add_own_codemods, assert_migrates_with_own_codemods

    project = copy_example("legacy_erp", tmp_path / "legacy_erp").root
    add_own_codemods(project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    for cmd in ([str(venv / "bin" / "scaffold")], [str(venv / "bin" / "python"), "-m", "scaffold"]):
        proc = subprocess.run(
            [*cmd, "migrate-viewsets", "--diff", "--no-cache", "--project", "."],
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
        )
        assert_migrates_with_own_codemods(project, proc)


def test_installed_wheel_finds_template_outside_repo(venv: Path, tmp_path: Path) -> None:
    code = (
        "import scaffold.templates as t, scaffold.pattern as p;"
        "print(t.template_path('module'));"
        "print(p.permission_classes().strip())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    template_dir, pattern_line = proc.stdout.splitlines()
    assert Path(template_dir).is_relative_to(venv)
    assert "site-packages/scaffold/_templates/module" in template_dir
    assert pattern_line == "permission_classes = (IsAuthenticated,)"
    version = subprocess.run(
        [str(venv / "bin" / "scaffold"), "--version"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert version.returncode == 0 and "module template" in version.stdout
    assert "missing" not in version.stdout


# --------------------------------------------------------------------------- template versions (issue 7)

STORE_URL = "~/.local/share/scaffold/templates/module.bundle"


def _installed_templates(venv: Path) -> Path:
    (site,) = venv.glob("lib/python*/site-packages")
    return site / "scaffold" / "_templates"


def test_wheel_ships_the_template_history(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    if (REPO / "templates" / "module.bundle").is_file():
        assert "scaffold/_templates/module.bundle" in names


def test_module_generated_from_the_wheel_can_be_updated(venv: Path, tmp_path: Path) -> None:
    """Generated offline from the installed wheel, the module records the stable per-user
    source and a tag; the source survives losing the store (another machine, a new venv),
    and both ``scaffold update`` and plain ``copier update`` bring it to a newer release."""
    import shutil

    import yaml
    from packaging.version import Version

    from tests.helpers.djproject import copy_example, git
    from tests.helpers.template_repo import TemplateRepo

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCAFFOLD_TEMPLATES_DIR")}
    env["HOME"] = str(home)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    project = copy_example("legacy_erp", tmp_path / "legacy_erp").root

    def run(*cmd: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / cmd[0]), *cmd[1:]],
            cwd=project,
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
        )

    made = run("scaffold", "new-module", "inventory", "--no-input", "--field", "name:str", "--project", ".")
    assert made.returncode == 0, made.stderr
    answers_file = project / ".copier-answers.inventory.yml"
    answers = yaml.safe_load(answers_file.read_text())
    assert answers["_src_path"] == STORE_URL
    assert str(venv) not in answers_file.read_text() and str(tmp_path) not in answers_file.read_text()
    installed = _installed_templates(venv)
    version = (installed / "module" / "VERSION").read_text().strip()
    if (installed / "module.bundle").is_file():  # a released template: exactly its tag
        assert answers["_commit"] == f"v{version}"
    else:  # unreleased: a dev tag of that version, committed into the per-user store
        assert answers["_commit"].startswith(f"v{version}.dev")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generate inventory from the wheel")

    # Another machine: an empty store is rebuilt from the wheel and still knows the commit.
    shutil.rmtree(home / ".local")
    check = run("scaffold", "check-update", "--project", ".")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date" in check.stdout

    # The owner edits the module; a newer template is released on top of the wheel's history.
    views = project / "inventory" / "views.py"
    views.write_text(views.read_text() + "\n\nOWNER = 'kept'\n")
    git(project, "commit", "-qam", "owner edit")
    templates = TemplateRepo.copy_of(installed / "module", tmp_path / "templates")
    if (installed / "module.bundle").is_file():
        shutil.copy(installed / "module.bundle", templates.bundle)
    parsed = Version(version)
    newer = f"{parsed.major}.{parsed.minor + 1}.0"
    templates.write({"{{module_name}}/filters.py.jinja": '"""Filters of {{ module_name }}."""\n'})
    templates.release(newer, "- filters.py")
    override = {"SCAFFOLD_TEMPLATES_DIR": str(templates.root)}

    pretend = run("scaffold", "update", "inventory", "--pretend", "--project", ".", extra=override)
    assert pretend.returncode == 1 and "+++ b/inventory/filters.py" in pretend.stdout, pretend.stderr
    done = run("scaffold", "update", "inventory", "--project", ".", extra=override)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OWNER = 'kept'" in views.read_text() and (project / "inventory" / "filters.py").is_file()
    assert yaml.safe_load(answers_file.read_text())["_commit"] == f"v{newer}"

    # Plain copier on the same project: roll back to the generated commit and update again.
    git(project, "checkout", "-q", "--", ".")
    git(project, "clean", "-qfd", "inventory")
    plain = run("copier", "update", "--defaults", "-a", ".copier-answers.inventory.yml")
    assert plain.returncode == 0, plain.stderr
    assert "OWNER = 'kept'" in views.read_text() and (project / "inventory" / "filters.py").is_file()
