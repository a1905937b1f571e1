"""The template's versioned source: tree ids, releases into the bundle, the per-user store,
dev versions for unreleased edits, and the repo's own bundle never drifting from templates/."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from packaging.version import Version

from scaffold import release, template_store
from scaffold.errors import UsageError
from scaffold.template_store import TemplateStore, read_bundle_refs, tag_version, tree_hash
from tests.helpers.template_repo import TemplateRepo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME (the store lives under it) and a toy template set as the templates dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def toy(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateRepo:
    repo = TemplateRepo.toy(tmp_path / "templates")
    monkeypatch.setenv("SCAFFOLD_TEMPLATES_DIR", str(repo.root))
    return repo


def test_tree_hash_is_gits(toy: TemplateRepo, tmp_path: Path) -> None:
    files = template_store.template_files(toy.folder)
    (toy.folder / "__pycache__").mkdir()
    (toy.folder / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert template_store.template_files(toy.folder) == files  # caches are not content
    git_dir = tmp_path / "t.git"
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    _, tree = template_store.write_commit(git_dir, files, parent=None, message="m")
    assert tree == tree_hash(files)


def test_release_appends_pep440_tags_to_the_bundle(toy: TemplateRepo) -> None:
    assert toy.release("0.1.0") == "v0.1.0"
    toy.edit("{{module_name}}/views.py.jinja", 'FOOTER = "v1"', 'FOOTER = "v2"')
    assert toy.release("0.2.0", "- footer v2") == "v0.2.0"
    refs = read_bundle_refs(toy.bundle)
    assert {"refs/tags/v0.1.0", "refs/tags/v0.2.0", "refs/heads/main"} <= set(refs)
    assert refs["refs/heads/main"] == refs["refs/tags/v0.2.0"]
    assert b'FOOTER = "v1"' in release.bundle_tree(toy.bundle, "v0.1.0")["{{module_name}}/views.py.jinja"]
    assert release.bundle_tree(toy.bundle, "v0.2.0") == {
        rel: p.read_bytes() for rel, p in template_store.template_files(toy.folder)
    }


def test_release_refuses_drift_and_bad_versions(toy: TemplateRepo) -> None:
    toy.release("0.1.0")
    assert toy.release("0.1.0") == "v0.1.0"  # re-running an unchanged release is a no-op
    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")
    with pytest.raises(UsageError, match="already released with different content"):
        release.release("module", toy.root, toy.changelog)
    (toy.folder / "VERSION").write_text("0.0.9\n")
    with pytest.raises(UsageError, match="not newer than the last release"):
        release.release("module", toy.root, toy.changelog)
    (toy.folder / "VERSION").write_text("0.2.0\n")
    with pytest.raises(UsageError, match="no `## 0.2.0` section"):
        release.release("module", toy.root, toy.changelog)
    (toy.folder / "VERSION").write_text("banana\n")
    with pytest.raises(UsageError, match="PEP 440"):
        release.release("module", toy.root, toy.changelog)


def test_source_is_the_stable_store_and_a_release_tag(toy: TemplateRepo, home: Path) -> None:
    toy.release("0.1.0")
    source = template_store.resolve("module")
    assert source.as_tuple() == ("~/.local/share/scaffold/templates/module.bundle", "v0.1.0")
    assert source.released and source.version == "0.1.0"
    store = home / ".local/share/scaffold/templates/module.bundle"
    assert read_bundle_refs(store)["refs/tags/v0.1.0"] == read_bundle_refs(toy.bundle)["refs/tags/v0.1.0"]
    # Steady state: nothing is rewritten.
    before = store.stat().st_mtime_ns
    assert template_store.resolve("module") == source
    assert store.stat().st_mtime_ns == before


def test_rendered_module_records_a_usable_source(toy: TemplateRepo, tmp_path: Path) -> None:
    toy.release("0.1.0")
    src, ref = template_store.resolve("module").as_tuple()
    dst = tmp_path / "proj"
    copier.run_copy(
        src,
        dst,
        data={"module_name": "inv"},
        vcs_ref=ref,
        defaults=True,
        quiet=True,
        answers_file=".copier-answers.inv.yml",
    )
    answers = yaml.safe_load((dst / ".copier-answers.inv.yml").read_text())
    assert answers["_commit"] == "v0.1.0"
    assert answers["_src_path"] == "~/.local/share/scaffold/templates/module.bundle"  # no venv, no cwd in it
    assert TemplateStore("module").has_ref(answers["_commit"])


def test_unreleased_edits_get_a_dev_version_that_sorts_after_the_release(toy: TemplateRepo) -> None:
    toy.release("0.1.0")
    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")
    first = template_store.resolve("module")
    assert not first.released
    assert re.fullmatch(r"v0\.1\.0\.post1\.dev1\+t[0-9a-f]{12}", first.vcs_ref or "")
    assert template_store.resolve("module") == first  # the same content keeps its tag
    toy.edit("{{module_name}}/models.py.jinja", "id = None", "id = 1")
    second = template_store.resolve("module")
    assert Version("0.1.0") < Version(first.version) < Version(second.version) < Version("0.1.1")
    # Bumping VERSION (not yet released) gives dev versions of that release.
    (toy.folder / "VERSION").write_text("0.2.0\n")
    third = template_store.resolve("module")
    assert (third.vcs_ref or "").startswith("v0.2.0.dev1+t")
    # Every state stays in the store, so modules generated from any of them can be updated.
    store = TemplateStore("module")
    assert all(store.has_ref(s.vcs_ref or "") for s in (first, second, third))
    # And a later release of the same content is preferred over its dev tag.
    toy.release("0.2.0")
    assert template_store.resolve("module").vcs_ref == "v0.2.0"


def test_store_keeps_tags_from_every_installed_version(toy: TemplateRepo, tmp_path: Path) -> None:
    toy.release("0.1.0")
    old_bundle = tmp_path / "old.bundle"
    old_bundle.write_bytes(toy.bundle.read_bytes())
    toy.edit("{{module_name}}/views.py.jinja", 'FOOTER = "v1"', 'FOOTER = "v2"')
    toy.release("0.2.0")
    assert template_store.resolve("module").vcs_ref == "v0.2.0"
    # An older scaffold (older bundle and folder) runs on the same machine afterwards.
    toy.bundle.write_bytes(old_bundle.read_bytes())
    toy.edit("{{module_name}}/views.py.jinja", 'FOOTER = "v2"', 'FOOTER = "v1"')
    (toy.folder / "VERSION").write_text("0.1.0\n")
    assert template_store.resolve("module").vcs_ref == "v0.1.0"
    store = TemplateStore("module")
    assert store.has_ref("v0.2.0") and store.has_ref("v0.1.0")


def test_tag_version_reads_copier_describe_strings() -> None:
    assert tag_version("v0.2.0") == Version("0.2.0")
    assert tag_version("refs/tags/v1.0.0rc1") == Version("1.0.0rc1")
    assert tag_version("v0.1.0-3-gabc123") == Version("0.1.0.post3+gabc123")
    assert tag_version("not-a-version") is None


# --------------------------------------------------------------------------- the repo itself


def _released_tags() -> list[str]:
    bundle = REPO / "templates" / "module.bundle"
    if not bundle.is_file():
        return []
    return sorted(
        (r.removeprefix("refs/tags/") for r in read_bundle_refs(bundle) if r.startswith("refs/tags/")),
        key=lambda t: Version(t),
    )


def test_repo_tags_are_pep440_releases_with_changelog_sections() -> None:
    changelog = REPO / "CHANGELOG.md"
    for tag in _released_tags():
        assert re.fullmatch(r"v\d+(\.\d+)*([abc]|rc)?\d*", tag), f"{tag} is not a v<PEP 440 release> tag"
        assert release.changelog_section(changelog, tag[1:]), f"CHANGELOG.md has no `## {tag[1:]}` section"
    version = (REPO / "templates" / "module" / "VERSION").read_text().strip()
    Version(version)
    assert release.changelog_section(changelog, version), f"CHANGELOG.md has no `## {version}` section"


def test_repo_bundle_matches_templates_module() -> None:
    """templates/module may only differ from its newest release after VERSION was bumped."""
    tags = _released_tags()
    if not tags:
        pytest.skip("templates/module has no release yet (run python -m scaffold.release)")
    version = (REPO / "templates" / "module" / "VERSION").read_text().strip()
    assert Version(version) >= Version(tags[-1]), f"VERSION {version} is older than the released {tags[-1]}"
    state = release.release_state("module", REPO / "templates")
    assert not state.drifted, state.message


def test_release_state_and_command(toy: TemplateRepo) -> None:
    (toy.folder / "VERSION").write_text("0.1.0\n")
    assert "not released yet" in release.release_state("module", toy.root).message
    toy.release("0.1.0")
    assert release.release_state("module", toy.root).released
    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")
    state = release.release_state("module", toy.root)
    assert state.drifted and "{{module_name}}/models.py.jinja" in state.message
    # `python -m scaffold.release --check` reports on the repo's own template: 0 released, 1 not (yet).
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold.release", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "templates/module is release" in proc.stdout or "not released yet" in proc.stdout


def test_repo_template_needs_no_trust() -> None:
    """No `_tasks`: copying and updating a module never needs `--trust`."""
    config = yaml.safe_load((REPO / "templates" / "module" / "copier.yml").read_text())
    assert "_tasks" not in config
    assert "_jinja_extensions" not in config


def test_store_recovers_from_a_lost_repository(toy: TemplateRepo, home: Path) -> None:
    import shutil

    toy.edit("{{module_name}}/models.py.jinja", "pass", "id = None")
    dev = template_store.resolve("module")  # only in the store, not in any shipped bundle
    shutil.rmtree(home / ".local/share/scaffold/templates/module.git")
    (home / ".local/share/scaffold/templates/module.json").unlink()
    toy.edit("{{module_name}}/models.py.jinja", "id = None", "id = 2")
    template_store.resolve("module")
    assert TemplateStore("module").has_ref(dev.vcs_ref or "")
