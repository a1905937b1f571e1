"""``scaffold update`` on a real generated module (the real module template), end to end on
PostgreSQL: generate ``inventory`` into a copy of examples/legacy_erp from template v0.1.0,
commit, edit it by hand, release v0.2.0 of the template (a change in views.py elsewhere than
the owner's edit, plus a new file), update, then the module still checks, has no missing
migrations and passes its own isolation tests as a NOSUPERUSER NOBYPASSRLS role."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.djproject import DjangoProject, copy_example, git
from tests.helpers.template_repo import TemplateRepo

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_V2_LINE = "# Module template 0.2.0: this comment is the template's change.\n"
OWNER_CODE = (
    '\n\ndef stock_report_title():\n    """Added by the module owner."""\n    return "Stock report"\n'
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, pg_database) -> tuple[DjangoProject, TemplateRepo]:
    base = tmp_path_factory.mktemp("update_module")
    home = base / "home"
    home.mkdir()
    templates = TemplateRepo.copy_of(REPO / "templates" / "module", base / "templates")
    templates.release("0.1.0")
    proj = copy_example("legacy_erp", base / "legacy_erp", pg_database)
    proj.extra_env.update({"HOME": str(home), "SCAFFOLD_TEMPLATES_DIR": str(templates.root)})
    proj.scaffold(
        "new-module", "inventory", "--no-input", "--field", "name:str", "--field", "sku:str:64:unique"
    )
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-qm", "generate inventory")
    return proj, templates


@pytest.fixture(scope="module")
def updated(
    setup: tuple[DjangoProject, TemplateRepo],
) -> tuple[DjangoProject, subprocess.CompletedProcess[str]]:
    proj, templates = setup
    answers = yaml.safe_load((proj.root / ".copier-answers.inventory.yml").read_text())
    assert answers["_commit"] == "v0.1.0"
    assert answers["_src_path"] == "~/.local/share/scaffold/templates/module.bundle"
    views = proj.root / "inventory" / "views.py"
    assert TEMPLATE_V2_LINE not in views.read_text()
    views.write_text(views.read_text() + OWNER_CODE)
    git(proj.root, "commit", "-qam", "inventory: owner's helper")
    # v0.2.0 changes views.py above its first import, far from the owner's edit at the end.
    jinja = templates.folder / "{{module_name}}" / "views.py.jinja"
    lines = jinja.read_text().splitlines(keepends=True)
    first_import = next(i for i, line in enumerate(lines) if line.startswith(("from ", "import ")))
    jinja.write_text("".join([*lines[:first_import], TEMPLATE_V2_LINE, *lines[first_import:]]))
    templates.write(
        {"{{module_name}}/filters.py.jinja": '"""Filters for {{ model_name }} (template 0.2.0)."""\n'}
    )
    templates.release("0.2.0", "- views docstring, filters.py")
    behind = proj.scaffold("check-update", check=False)
    assert behind.returncode == 1 and "inventory  0.1.0 -> 0.2.0" in behind.stdout
    proc = proj.scaffold("update", "inventory", check=False)
    return proj, proc


def test_update_merges_owner_edit_and_template_change(
    updated: tuple[DjangoProject, subprocess.CompletedProcess[str]],
) -> None:
    proj, proc = updated
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "inventory: updated template 0.1.0 -> 0.2.0: 1 created, 0 updated, 1 merged, 0 in conflict"
        in proc.stdout
    )
    views = (proj.root / "inventory" / "views.py").read_text()
    assert TEMPLATE_V2_LINE in views and OWNER_CODE in views
    assert (proj.root / "inventory" / "filters.py").is_file()
    answers = yaml.safe_load((proj.root / ".copier-answers.inventory.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    # Registration edits made by new-module are not the template's: untouched.
    assert "inventory" in (proj.root / "erp" / "settings.py").read_text()
    assert proj.scaffold("check-update").returncode == 0


def test_updated_module_still_passes_its_isolation_tests(
    updated: tuple[DjangoProject, subprocess.CompletedProcess[str]],
) -> None:
    proj, proc = updated
    assert proc.returncode == 0, proc.stderr
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-qm", "update inventory to template 0.2.0")
    proj.manage("check")
    proj.manage("makemigrations", "--check", "--dry-run")
    assert proj.db is not None
    env = proj.env(runtime=False)
    env["DATABASE_URL"] = proj.db.runner_url
    test = subprocess.run(
        [sys.executable, "manage.py", "test", "inventory", "--noinput", "-v", "1"],
        cwd=proj.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "OK" in test.stderr and "Ran 0 tests" not in test.stderr
