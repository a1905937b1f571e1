"""audit and migrate-viewsets give the same verdict on every view of every fixture project.

Both read one analysis (:mod:`scaffold.analysis`); this checks the readers too. The views
come from the fixtures themselves (every fixture project under ``tests/fixtures/audit/`` and
``tests/fixtures/realworld_idioms/``), never from a hand list: for each DRF view both
commands plan for, audit flags it (a TEN001-TEN003 finding, or "not judged") exactly when
migrate-viewsets acts on it (a rewrite, or manual review), and a view audit could not judge
is never rewritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scaffold import engine
from scaffold.audit import audit, rule_settings
from scaffold.config import Config
from scaffold.migrate import VIEW_CODES, MigrateViewSets
from scaffold.project import iter_python_files
from tests.helpers.audit_fixtures import audit_fixture

FIXTURES = Path(__file__).parent / "fixtures"
# The codes migrate-viewsets fixes (TEN004, the guard, is its own codemod: ``scaffold fix``).
MIGRATED = ("TEN001", "TEN002", "TEN003")


def _projects() -> list[Path]:
    """Every fixture project: the audit rule fixtures (layered over ``_base``), and every
    folder holding a ``manage.py`` under the idiom fixture groups."""
    found = [p for p in (FIXTURES / "audit").iterdir() if p.is_dir() and not p.name.startswith("_")]
    for group in ("realworld_idioms", "analysis_idioms"):
        if (FIXTURES / group).is_dir():
            found += [m.parent for m in (FIXTURES / group).rglob("manage.py")]
    return sorted(found)


PROJECTS = _projects()


def _copy(src: Path, tmp_path: Path) -> Path:
    if src.parent.name == "audit":  # layered over the shared models (tests/helpers/audit_fixtures.py)
        return audit_fixture(src.name, tmp_path)
    root = tmp_path / src.name
    shutil.copytree(src, root)
    return root


def _audit_verdicts(root: Path) -> dict[tuple[str, str], str]:
    report = audit(root, select=",".join(MIGRATED), jobs=1, cache=False)
    out: dict[tuple[str, str], str] = {}
    for path, _line, view, _why in report.not_judged:
        out[(path, view)] = "not judged"
    for f in report.findings:
        if f.code != "TEN002" or f.fixable:  # TEN002 on a fail-closed manager is advice
            out.setdefault((f.path, f.symbol.split(".")[0]), "flag")
    return out


def _migrate_views(root: Path) -> dict[tuple[str, str], str]:
    cfg = Config.load(root)
    settings = {**rule_settings(cfg, VIEW_CODES), "per_file_ignores": cfg.per_file_ignores}
    report = engine.run(
        [MigrateViewSets()],
        iter_python_files(root, cfg.exclude_globs, None),
        root=root,
        settings=settings,
        jobs=1,
        fix=False,
        cache=False,
    )
    return {
        (res.rel, m.symbol): m.message for res in report.results for m in res.messages if m.kind == "view"
    }


@pytest.mark.parametrize("fixture", PROJECTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_audit_and_migrate_viewsets_agree_on_every_view(fixture: Path, tmp_path: Path) -> None:
    root = _copy(fixture, tmp_path)
    audited = _audit_verdicts(root)
    planned = _migrate_views(root)
    disagreements = []
    for view, plan in sorted(planned.items()):
        acts = plan.startswith(engine.NOT_JUDGED) or "; rewrite" in plan or "; manual review" in plan
        flagged = view in audited
        if acts != flagged:
            disagreements.append(f"{view}: audit {audited.get(view, 'clean')}, migrate-viewsets {plan!r}")
        if audited.get(view) == "not judged" and "; rewrite" in plan:
            disagreements.append(f"{view}: audit could not judge it, migrate-viewsets rewrites it")
    assert not disagreements, "\n".join(disagreements)
