"""new-module refuses a NAME whose module audit would never look at again (it matches a
default or configured exclude glob), one git ignores (the project's .gitignore), and a NAME
with surrounding whitespace (``"inventory\\n"`` is not silently taken as ``inventory``):
exit 2, one line, nothing written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scaffold.cli import main
from scaffold.project import git_ignored

REPO = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names") / "legacy_erp"
    shutil.copytree(REPO / "examples" / "legacy_erp", root)
    (root / "pyproject.toml").write_text('[tool.scaffold]\nexclude = ["vendor_*"]\n', encoding="utf-8")
    return root


@pytest.fixture(params=["plain", "git"])
def project(request: pytest.FixtureRequest, example: Path, tmp_path: Path) -> Path:
    root = tmp_path / "legacy_erp"
    shutil.copytree(example, root)
    if request.param == "git":  # git answers; otherwise .gitignore is read directly
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def refuse(project: Path, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    before = snapshot(project)
    code = main(["new-module", name, "--no-input", "--project", str(project)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert snapshot(project) == before
    return err


@pytest.mark.parametrize(
    ("name", "glob"),
    [
        ("migrations", "'migrations'"),
        ("build", "'build'"),
        ("dist", "'dist'"),
        ("backup", "'*backup*'"),
        ("my_backup", "'*backup*'"),
        ("legacy_old", "'*_old'"),
        ("old_stock", "'old_*'"),
        ("node_modules", "'node_modules'"),
        ("stock_bak", "'*_bak'"),
    ],
)
def test_default_exclude_names_are_refused(
    project: Path, name: str, glob: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refuse(project, name, capsys)
    assert f"matches the glob {glob} (a default exclude)" in err and "audit" in err


def test_configured_exclude_names_are_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refuse(project, "vendor_stock", capsys)
    assert "matches the glob 'vendor_*' ([tool.scaffold] exclude)" in err


def test_git_ignored_folder_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refuse(project, "static", capsys)  # examples/legacy_erp/.gitignore has /static/
    assert "static/ is ignored by git (.gitignore:4:/static/)" in err


@pytest.mark.parametrize("name", ["inventory\n", " inventory", "inventory ", "inventory\t", "\ninventory"])
def test_whitespace_is_refused_not_stripped(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refuse(project, name, capsys)
    assert "leading or trailing whitespace; pass 'inventory' exactly" in err


def test_a_plain_name_is_still_accepted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-module", "inventory", "--no-input", "--project", str(project)]) == 0
    assert (project / "inventory" / "views.py").is_file()


def test_git_ignored_reads_negations(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("# x\ngen*/\n!generated/\n/static\n", encoding="utf-8")
    assert git_ignored(tmp_path, "gens") == ".gitignore:2:gen*/"
    assert git_ignored(tmp_path, "generated") is None
    assert git_ignored(tmp_path, "static") == ".gitignore:4:/static"
    assert git_ignored(tmp_path, "inventory") is None


@pytest.mark.parametrize(
    "pattern",
    [
        "**/billing",
        "billing/**",
        "**/billing/",
        "**/billing/**",
        "billing/",
        "/billing",
        "bill*",
        "*/billing",
        "a/billing",
        "**",
    ],
)
def test_git_ignored_outside_a_work_tree_reads_gitignore_as_git_does(tmp_path: Path, pattern: str) -> None:
    """Without a git work tree, .gitignore is read by hand: the verdict must be git's own
    (git check-ignore in a work tree holding the same .gitignore)."""
    plain, repo = tmp_path / "plain", tmp_path / "repo"
    for root in (plain, repo):
        root.mkdir()
        (root / ".gitignore").write_text(pattern + "\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    by_git = git_ignored(repo, "billing")
    assert by_git is None or by_git.startswith(".gitignore:1:")
    assert git_ignored(plain, "billing") == by_git
