"""``scaffold update`` / ``check-update`` on a toy module template whose versions are built on
the fly: generate at v0.1.0, commit, edit by hand, release v0.2.0, update."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml

from scaffold import template_store
from scaffold.errors import UsageError
from scaffold.update import check_updates, update_modules
from tests.helpers.djproject import git
from tests.helpers.template_repo import TemplateRepo

V1_FOOTER = 'FOOTER = "v1"'
V2_FOOTER = 'FOOTER = "v2"'
USER_HEADER = 'HEADER = "edited by the module owner"'


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    templates = tmp_path / "templates"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SCAFFOLD_TEMPLATES_DIR", str(templates))
    return {**os.environ, "HOME": str(home), "SCAFFOLD_TEMPLATES_DIR": str(templates)}


@pytest.fixture
def toy(tmp_path: Path, env: dict[str, str]) -> TemplateRepo:
    repo = TemplateRepo.toy(tmp_path / "templates")
    repo.release("0.1.0")
    return repo


def generate(project: Path, module: str) -> None:
    """What new-module does for the template part: render from template_source()."""
    from scaffold.templates import template_source

    src, ref = template_source("module")
    copier.run_copy(
        src,
        project,
        data={"module_name": module},
        vcs_ref=ref,
        defaults=True,
        quiet=True,
        answers_file=f".copier-answers.{module}.yml",
    )


@pytest.fixture
def project(tmp_path: Path, toy: TemplateRepo) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "manage.py").write_text("# manage\n")
    (root / "settings.py").write_text("INSTALLED_APPS = []\n")
    git(root, "init", "-q", "-b", "main")
    generate(root, "inv")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generate inv")
    return root


def release_v2(toy: TemplateRepo) -> None:
    toy.edit("{{module_name}}/views.py.jinja", V1_FOOTER, V2_FOOTER)
    toy.write({"{{module_name}}/filters.py.jinja": "# filters of {{ module_name }}\n"})
    toy.release("0.2.0", "- footer v2, new filters.py")


def user_edit(project: Path, old: str, new: str, rel: str = "inv/views.py") -> None:
    path = project / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    git(project, "commit", "-qam", f"edit {rel}")


def answers(project: Path, module: str) -> dict[str, object]:
    return yaml.safe_load((project / f".copier-answers.{module}.yml").read_text())


def test_update_keeps_user_edit_and_brings_template_change(project: Path, toy: TemplateRepo) -> None:
    user_edit(project, 'HEADER = "header"', USER_HEADER)
    release_v2(toy)
    report = update_modules(project, ["inv"])
    views = (project / "inv" / "views.py").read_text()
    assert USER_HEADER in views and V2_FOOTER in views and V1_FOOTER not in views
    assert (project / "inv" / "filters.py").read_text() == "# filters of inv\n"
    assert answers(project, "inv")["_commit"] == "v0.2.0"
    (result,) = report.modules
    assert (result.from_version, result.to_version) == ("0.1.0", "0.2.0")
    assert result.merged == ["inv/views.py"] and result.created == ["inv/filters.py"]
    assert result.conflicts == [] and report.exit_code == 0
    assert (
        "inv: updated template 0.1.0 -> 0.2.0: 1 created, 0 updated, 1 merged, 0 in conflict"
        in report.to_text()
    )
    # A second run has nothing to do.
    git(project, "add", "-A")
    git(project, "commit", "-qm", "update")
    again = update_modules(project, ["inv"])
    assert again.modules[0].state == "up to date" and again.exit_code == 0


def test_untouched_file_is_reported_updated(project: Path, toy: TemplateRepo) -> None:
    release_v2(toy)
    result = update_modules(project, ["inv"]).modules[0]
    assert result.updated == ["inv/views.py"] and result.merged == []


def test_conflicting_edit_gives_markers_and_exit_1(project: Path, toy: TemplateRepo) -> None:
    user_edit(project, V1_FOOTER, 'FOOTER = "mine"')
    release_v2(toy)
    report = update_modules(project, ["inv"])
    views = (project / "inv" / "views.py").read_text()
    assert "<<<<<<< before updating" in views and ">>>>>>> after updating" in views
    assert 'FOOTER = "mine"' in views and V2_FOOTER in views
    assert report.modules[0].conflicts == ["inv/views.py"] and report.exit_code == 1
    assert "CONFLICT  inv/views.py" in report.to_text()
    # Unmerged in the index, as copier leaves it: git status, mergetool, --theirs all work.
    assert "UU inv/views.py" in git(project, "status", "--porcelain").splitlines()
    git(project, "checkout", "--theirs", "--", "inv/views.py")
    assert 'FOOTER = "mine"' not in (project / "inv" / "views.py").read_text()
    assert V2_FOOTER in (project / "inv" / "views.py").read_text()


def test_conflict_rej_leaves_a_rej_file(project: Path, toy: TemplateRepo) -> None:
    user_edit(project, V1_FOOTER, 'FOOTER = "mine"')
    release_v2(toy)
    report = update_modules(project, ["inv"], conflict="rej")
    assert (project / "inv" / "views.py.rej").is_file()
    # copier writes the new template version and rejects the owner's hunk into the .rej file.
    assert '+FOOTER = "mine"' in (project / "inv" / "views.py.rej").read_text()
    assert V2_FOOTER in (project / "inv" / "views.py").read_text()
    assert report.modules[0].conflicts == ["inv/views.py"] and report.exit_code == 1
    assert ".rej files" in report.to_text()


def test_file_deleted_by_user_is_not_resurrected(project: Path, toy: TemplateRepo) -> None:
    git(project, "rm", "-q", "inv/models.py")
    git(project, "commit", "-qm", "we do not need models")
    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")
    release_v2(toy)
    update_modules(project, ["inv"])
    assert not (project / "inv" / "models.py").exists()
    assert V2_FOOTER in (project / "inv" / "views.py").read_text()


def test_module_deleted_by_user_is_not_resurrected(project: Path, toy: TemplateRepo) -> None:
    git(project, "rm", "-rq", "inv")
    git(project, "commit", "-qm", "drop the inv module")
    release_v2(toy)
    report = update_modules(project, all_modules=True)
    assert not (project / "inv").exists()
    assert report.modules[0].state == "deleted" and report.exit_code == 0
    assert "skipped, its folder inv/ was deleted" in report.to_text()
    assert check_updates(project).modules[0].state == "deleted"


def test_all_updates_modules_independently(project: Path, toy: TemplateRepo) -> None:
    generate(project, "crm")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generate crm")
    user_edit(project, 'HEADER = "header"', USER_HEADER, "crm/views.py")
    release_v2(toy)
    assert [m.module for m in check_updates(project).behind] == ["crm", "inv"]
    report = update_modules(project, all_modules=True)
    assert [(m.module, m.state) for m in report.modules] == [("crm", "updated"), ("inv", "updated")]
    for module in ("crm", "inv"):
        views = (project / module / "views.py").read_text()
        assert V2_FOOTER in views and f'"""Views of {module}."""' in views
        assert (project / module / "filters.py").read_text() == f"# filters of {module}\n"
        assert answers(project, module)["_commit"] == "v0.2.0"
    assert USER_HEADER in (project / "crm" / "views.py").read_text()
    assert USER_HEADER not in (project / "inv" / "views.py").read_text()
    assert check_updates(project).exit_code == 0


def test_dirty_module_is_refused_and_nothing_touched(project: Path, toy: TemplateRepo) -> None:
    release_v2(toy)
    (project / "inv" / "views.py").write_text("# work in progress\n")
    (project / "settings.py").write_text("INSTALLED_APPS = ['x']\n")  # dirty elsewhere: fine
    with pytest.raises(UsageError, match=r"module inv has uncommitted changes \(inv/views.py\)"):
        update_modules(project, ["inv"])
    assert (project / "inv" / "views.py").read_text() == "# work in progress\n"
    assert not (project / "inv" / "filters.py").exists()
    assert answers(project, "inv")["_commit"] == "v0.1.0"
    # An untracked file in the module counts too.
    git(project, "checkout", "--", "inv/views.py")
    (project / "inv" / "scratch.py").write_text("x = 1\n")
    with pytest.raises(UsageError, match="uncommitted changes"):
        update_modules(project, ["inv"])
    (project / "inv" / "scratch.py").unlink()
    assert update_modules(project, ["inv"]).modules[0].created == ["inv/filters.py"]


def test_pretend_prints_the_diff_and_writes_nothing(project: Path, toy: TemplateRepo) -> None:
    release_v2(toy)
    report = update_modules(project, ["inv"], pretend=True)
    assert f"-{V1_FOOTER}" in report.diff and f"+{V2_FOOTER}" in report.diff
    assert "+++ b/inv/filters.py" in report.diff and report.exit_code == 1
    assert "inv: would update template 0.1.0 -> 0.2.0" in report.to_text()
    assert V1_FOOTER in (project / "inv" / "views.py").read_text()
    assert not (project / "inv" / "filters.py").exists()
    assert git(project, "status", "--porcelain") == ""


def test_vcs_ref_and_downgrade(project: Path, toy: TemplateRepo) -> None:
    release_v2(toy)
    toy.edit("{{module_name}}/views.py.jinja", V2_FOOTER, 'FOOTER = "v3"')
    toy.release("0.3.0")
    result = update_modules(project, ["inv"], vcs_ref="0.2.0").modules[0]
    assert result.to_version == "0.2.0" and answers(project, "inv")["_commit"] == "v0.2.0"
    git(project, "add", "-A")
    git(project, "commit", "-qm", "to 0.2.0")
    with pytest.raises(UsageError, match="downgrades are not supported"):
        update_modules(project, ["inv"], vcs_ref="v0.1.0")
    with pytest.raises(
        UsageError, match=r"--vcs-ref 9.9: no such template version \(released: v0.1.0, v0.2.0, v0.3.0\)"
    ):
        update_modules(project, ["inv"], vcs_ref="9.9")
    assert update_modules(project, ["inv"]).modules[0].to_version == "0.3.0"


def test_stale_src_path_is_normalised(project: Path, toy: TemplateRepo) -> None:
    """A module generated with a relative or virtualenv path still updates, and gets the stable one."""
    path = project / ".copier-answers.inv.yml"
    path.write_text(
        path.read_text().replace(
            "~/.local/share/scaffold/templates/module.bundle",
            "../old-venv/lib/site-packages/scaffold/_templates/module",
        )
    )
    git(project, "commit", "-qam", "generated by an old scaffold")
    release_v2(toy)
    update_modules(project, ["inv"])
    assert answers(project, "inv")["_src_path"] == "~/.local/share/scaffold/templates/module.bundle"
    assert V2_FOOTER in (project / "inv" / "views.py").read_text()


def test_unknown_commit_and_missing_commit_are_refused(project: Path, toy: TemplateRepo) -> None:
    path = project / ".copier-answers.inv.yml"
    original = path.read_text()
    path.write_text(original.replace("_commit: v0.1.0", "_commit: v0.1.0-1-gdeadbee"))
    git(project, "commit", "-qam", "dirty template commit")
    with pytest.raises(UsageError, match="not in the template history on this machine"):
        update_modules(project, ["inv"])
    path.write_text(original.replace("_commit: v0.1.0\n", ""))
    git(project, "commit", "-qam", "no commit")
    with pytest.raises(UsageError, match="records no `_commit`"):
        update_modules(project, ["inv"])


def test_bad_selection(project: Path) -> None:
    with pytest.raises(UsageError, match="name the modules"):
        update_modules(project)
    with pytest.raises(UsageError, match=r"no module 'nope'.*known: inv"):
        update_modules(project, ["nope"])


def test_plain_copier_update_works_on_a_generated_module(
    project: Path, toy: TemplateRepo, env: dict[str, str]
) -> None:
    user_edit(project, 'HEADER = "header"', USER_HEADER)
    release_v2(toy)
    template_store.resolve("module")  # any scaffold command refreshes the per-user store
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "copier"),
            "update",
            "--defaults",
            "-a",
            ".copier-answers.inv.yml",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    views = (project / "inv" / "views.py").read_text()
    assert USER_HEADER in views and V2_FOOTER in views
    assert (project / "inv" / "filters.py").exists()


def test_cli_exit_codes(project: Path, toy: TemplateRepo, env: dict[str, str]) -> None:
    def scaffold(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scaffold", *args, "--project", str(project)],
            env=env,
            capture_output=True,
            text=True,
        )

    assert scaffold("check-update").returncode == 0
    release_v2(toy)
    check = scaffold("check-update")
    assert check.returncode == 1 and "inv  0.1.0 -> 0.2.0" in check.stdout
    (project / "inv" / "views.py").write_text("# wip\n")
    dirty = scaffold("update", "inv")
    assert dirty.returncode == 2 and dirty.stderr.count("\n") == 1 and "uncommitted changes" in dirty.stderr
    git(project, "checkout", "--", "inv/views.py")
    pretend = scaffold("update", "--all", "--pretend")
    assert pretend.returncode == 1 and "+++ b/inv/filters.py" in pretend.stdout
    done = scaffold("update", "--all")
    assert done.returncode == 0, done.stderr
    assert "inv: updated template 0.1.0 -> 0.2.0" in done.stdout


def test_check_update_states(project: Path, toy: TemplateRepo) -> None:
    """current, behind, unknown version (a `_commit` this template history lacks: a typo, or
    a newer scaffold elsewhere), unknown (no `_commit`)."""
    for module in ("ahead", "legacy"):
        generate(project, module)
    path = project / ".copier-answers.ahead.yml"
    path.write_text(path.read_text().replace("_commit: v0.1.0", "_commit: v9.0.0"))
    path = project / ".copier-answers.legacy.yml"
    path.write_text(path.read_text().replace("_commit: v0.1.0\n", ""))
    report = check_updates(project)
    assert {m.module: m.state for m in report.modules} == {
        "ahead": "unknown version",
        "inv": "current",
        "legacy": "unknown",
    }
    assert report.exit_code == 1 and "legacy  no usable `_commit`" in report.to_text()
    release_v2(toy)
    report = check_updates(project)
    assert {m.module: m.state for m in report.modules}["inv"] == "behind"
    assert "inv     0.1.0 -> 0.2.0  (scaffold update inv)" in report.to_text()


def test_module_from_unreleased_template_updates_even_if_tagged_elsewhere(
    tmp_path: Path, toy: TemplateRepo
) -> None:
    """Dev tags: generated from unreleased edits, the module records a dev tag that exists;
    a dev number given by another machine's store is matched by the content id (`+t<tree>`)."""
    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")  # unreleased
    root = tmp_path / "devproj"
    root.mkdir()
    (root / "manage.py").write_text("")
    git(root, "init", "-q", "-b", "main")
    generate(root, "inv")
    recorded = str(answers(root, "inv")["_commit"])
    assert recorded.startswith("v0.1.0.post1.dev1+t")
    path = root / ".copier-answers.inv.yml"
    path.write_text(path.read_text().replace(".dev1+t", ".dev7+t"))  # how another store named it
    git(root, "add", "-A")
    git(root, "commit", "-qm", "generate inv from an unreleased template")
    release_v2(toy)
    result = update_modules(root, ["inv"]).modules[0]
    assert result.from_version and result.from_version.startswith("0.1.0.post1.dev7")
    assert answers(root, "inv")["_commit"] == "v0.2.0"
    assert (root / "inv" / "models.py").read_text() == "class Item:\n    id = None\n"
    assert V2_FOOTER in (root / "inv" / "views.py").read_text()


def test_project_in_a_subfolder_of_the_repository(tmp_path: Path, toy: TemplateRepo) -> None:
    """A monorepo: the Django project is backend/, the git top is one level up."""
    top = tmp_path / "mono"
    root = top / "backend"
    root.mkdir(parents=True)
    (root / "manage.py").write_text("")
    (top / "frontend.txt").write_text("not ours\n")
    git(top, "init", "-q", "-b", "main")
    generate(root, "inv")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "generate")
    user_edit(root, 'HEADER = "header"', USER_HEADER)
    (top / "frontend.txt").write_text("dirty elsewhere in the repo\n")
    release_v2(toy)
    result = update_modules(root, ["inv"]).modules[0]
    assert result.merged == ["inv/views.py"] and result.created == ["inv/filters.py"]
    views = (root / "inv" / "views.py").read_text()
    assert USER_HEADER in views and V2_FOOTER in views
    assert (top / "frontend.txt").read_text() == "dirty elsewhere in the repo\n"


def test_file_removed_from_the_template_is_deleted_and_new_answers_get_defaults(
    project: Path, toy: TemplateRepo
) -> None:
    toy.write({"{{module_name}}/models.py.jinja": None})
    toy.write({"{{module_name}}/entities.py.jinja": "class {{ model_name }}:\n    plural = '{{ plural }}'\n"})
    (toy.folder / "copier.yml").write_text(
        (toy.folder / "copier.yml").read_text() + "plural:\n  type: str\n  default: items\n"
    )
    toy.release("0.2.0", "- models.py renamed entities.py; new question `plural`")
    report = update_modules(project, ["inv"], pretend=True)
    assert "+++ /dev/null" in report.diff and report.modules[0].deleted == ["inv/models.py"]
    assert (project / "inv" / "models.py").exists()
    result = update_modules(project, ["inv"]).modules[0]
    assert result.deleted == ["inv/models.py"] and result.created == ["inv/entities.py"]
    assert not (project / "inv" / "models.py").exists()
    assert "plural = 'items'" in (project / "inv" / "entities.py").read_text()
    assert answers(project, "inv")["plural"] == "items"


def test_check_update_refuses_a_version_not_in_the_history(
    project: Path, toy: TemplateRepo, env: dict[str, str]
) -> None:
    path = project / ".copier-answers.inv.yml"
    path.write_text(path.read_text().replace("_commit: v0.1.0", "_commit: v9.9.9"))
    git(project, "commit", "-qam", "a version that was never released")
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "check-update", "--project", str(project)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "inv  unknown version 9.9.9" in proc.stdout and "released: 0.1.0" in proc.stdout


CI_ANSWERS = """\
# Changes here will be overwritten by Copier; do not edit manually.
_commit: v1.4.0
_src_path: gh:acme/ci-template
python_version: "3.12"
"""


def test_answers_files_of_other_templates_are_not_modules(
    project: Path, toy: TemplateRepo, env: dict[str, str]
) -> None:
    (project / ".copier-answers.ci.yml").write_text(CI_ANSWERS)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "ci template")
    report = check_updates(project)
    assert [m.module for m in report.modules] == ["inv"] and report.exit_code == 0
    release_v2(toy)
    result = update_modules(project, all_modules=True)
    assert [m.module for m in result.modules] == ["inv"] and result.exit_code == 0
    assert (project / ".copier-answers.ci.yml").read_text() == CI_ANSWERS
    with pytest.raises(
        UsageError, match=r"gh:acme/ci-template, not scaffold's .*copier update -a \.copier-answers\.ci\.yml"
    ):
        update_modules(project, ["ci"])


@pytest.mark.parametrize(
    ("pyproject", "message"),
    [
        ("[tool.scaffold]\nnot_a_key = 1\n", "unknown key [tool.scaffold] not_a_key"),
        ("[tool.scaffold\n", "invalid TOML"),
        ('[tool.scaffold]\ntenant_setting = "no-dot"\n', "tenant_setting"),
    ],
    ids=["unknown-key", "invalid-toml", "bad-tenant-setting"],
)
def test_update_commands_refuse_a_broken_configuration(
    project: Path, toy: TemplateRepo, env: dict[str, str], pyproject: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(pyproject)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "config")
    release_v2(toy)
    for args in (["check-update"], ["update", "--all"], ["update", "--all", "--pretend"]):
        proc = subprocess.run(
            [sys.executable, "-m", "scaffold", *args, "--project", str(project)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert 'FOOTER = "v1"' in (project / "inv" / "views.py").read_text()
