"""``scaffold probe`` on the canonical path: ``django-admin startproject``, ``scaffold
init`` (scaffold's own tenancy core: fail-closed ``TenantManager``), three modules from
``new-module`` (the project builder of test_new_module_fresh.py). Every check is ``ok``,
none skipped, no role warning (the generated tables are FORCE'd), as the NOSUPERUSER
NOBYPASSRLS CREATEDB runner role (T1, T4); ``--fail-on-skip`` exits 0.
"""

from __future__ import annotations

import pytest

from tests.helpers.djproject import DjangoProject
from tests.helpers.pg import PgDatabase
from tests.helpers.probe import VIEWSET_CHECKS, ProbeRun, as_runner, probe
from tests.test_new_module import INVENTORY, WAREHOUSE
from tests.test_new_module_fresh import SUPPLIERS, startproject

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> ProbeRun:
    project: DjangoProject = startproject(tmp_path_factory.mktemp("probefresh") / "mysite", pg_database)
    project.scaffold("init", "--no-input")
    for args in (SUPPLIERS, WAREHOUSE, INVENTORY):
        project.scaffold(*args)
    return probe(as_runner(project), "--format", "json", "--fail-on-skip")


def test_everything_probes_clean_with_nothing_skipped(run: ProbeRun) -> None:
    assert run.returncode == 0
    summary = run.report["summary"]
    assert summary["checks"] == summary["ok"] > 0, summary
    assert run.report["warnings"] == []


@pytest.mark.parametrize(
    "module", ["/api/purchasing/suppliers/", "/api/warehouse/warehouses/", "/api/inventory/stock-items/"]
)
def test_every_route_gets_every_check(run: ProbeRun, module: str) -> None:
    checks = {e["check"] for e in run.checks(module)}
    extra = {"create as A with B's parent rows"} if "inventory" in module else set()
    assert checks == VIEWSET_CHECKS | extra
