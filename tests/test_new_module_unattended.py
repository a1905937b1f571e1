"""``scaffold new-module`` where nobody can answer or nothing can version: no silent
empty module, no silent loss of updatability.

Each case runs the real CLI in a subprocess (``python -m scaffold``) on a copy of
``examples/legacy_erp``, with stdin not a terminal (``/dev/null``) and, for the git cases,
a ``PATH`` that has no ``git`` on it (a slim Docker image).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.djproject import copy_example


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example("legacy_erp", tmp_path / "legacy_erp").root


def scaffold(root: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def no_git_path(tmp_path: Path) -> str:
    """A PATH with the usual tools but no git: an empty bin folder is enough for scaffold."""
    empty = tmp_path / "bin-without-git"
    empty.mkdir(exist_ok=True)
    assert shutil.which("git", path=str(empty)) is None
    return str(empty)


# -- no silent empty module ----------------------------------------------------------------


def test_without_a_terminal_and_without_no_input_it_refuses_naming_both_flags(project: Path) -> None:
    before = tree(project)
    proc = scaffold(project, "new-module", "billing")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--no-input" in lines[0] and "--field" in lines[0] and "not a terminal" in lines[0]
    assert proc.stdout == ""
    assert tree(project) == before  # nothing touched


def test_fields_on_the_command_line_need_no_terminal(project: Path) -> None:
    proc = scaffold(project, "new-module", "billing", "--field", "title:str", "--dry-run")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # a dry run with changes due
    assert "billing/models.py" in proc.stdout
    assert "no business fields" not in proc.stderr


def test_no_input_without_fields_warns_that_the_model_has_no_business_fields(project: Path) -> None:
    proc = scaffold(project, "new-module", "billing", "--no-input")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning: Billing has no business fields" in proc.stdout
    assert "--field NAME:TYPE" in proc.stdout
    assert (project / "billing/models.py").is_file()


# -- no silent loss of updatability ----------------------------------------------------------


def test_without_git_it_refuses_with_one_line_naming_git_and_unversioned(
    project: Path, tmp_path: Path
) -> None:
    before = tree(project)
    proc = scaffold(
        project, "new-module", "billing", "--no-input", "--field", "title:str", path=no_git_path(tmp_path)
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # never a raw Python warning
    assert lines[0].startswith("error: ")
    assert "install git" in lines[0] and "--unversioned" in lines[0]
    assert "Warning" not in proc.stderr and "site-packages" not in proc.stderr
    assert tree(project) == before


def test_unversioned_records_no_virtualenv_path_and_says_it_cannot_be_updated(
    project: Path, tmp_path: Path
) -> None:
    proc = scaffold(
        project,
        "new-module",
        "billing",
        "--no-input",
        "--field",
        "title:str",
        "--unversioned",
        path=no_git_path(tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Warning" not in proc.stderr and "site-packages" not in proc.stderr + proc.stdout
    assert "can never bring billing forward" in proc.stdout
    answers = (project / ".copier-answers.billing.yml").read_text(encoding="utf-8")
    assert "_src_path" not in answers and "_commit" not in answers
    assert sys.prefix not in answers and "site-packages" not in answers and str(Path.cwd()) not in answers
    assert "module_name: billing" in answers
    # check-update (which only reads) still works without git and names the module as unknown.
    check = scaffold(project, "check-update", path=no_git_path(tmp_path))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "billing" in check.stdout and "Warning" not in check.stderr


def test_unversioned_with_git_present_still_records_the_version(project: Path) -> None:
    """--unversioned accepts the loss; it does not cause it when git is there."""
    proc = scaffold(project, "new-module", "billing", "--no-input", "--field", "title:str", "--unversioned")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answers = (project / ".copier-answers.billing.yml").read_text(encoding="utf-8")
    assert "_commit: v" in answers
    assert "_src_path: ~/.local/share/scaffold/templates/module.bundle" in answers
    assert "--unversioned" not in proc.stdout


def test_the_tenancy_core_answers_record_no_template_folder(tmp_path: Path) -> None:
    """init's rendered core: its answers file never names the (virtualenv) template folder."""
    root = tmp_path / "site"
    root.mkdir()
    from tests.helpers.djproject import VENV_BIN

    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    proc = scaffold(root, "init", "--no-input", "--allow-non-postgres")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answers = (root / "tenancy" / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "_src_path" not in answers and sys.prefix not in answers and "templates" not in answers
    assert "package: tenancy" in answers
