"""``scaffold probe`` on a copy of ``examples/legacy_erp`` (real PostgreSQL): before
``scaffold fix`` it reports the seed's leaking ``SupplierViewSet``; after, no leak.

The probe runs as the runner role, NOSUPERUSER NOBYPASSRLS CREATEDB (T1, T4): it creates,
migrates and owns the ``test_<db>`` database, as ``manage.py test`` does. The real
database is never migrated here and must stay empty. One project per module; the probe
runs three times on it (before fix; after fix; after fix with --keep-db --fail-on-skip).

Checklist cases: T1/T4 (the role is reported; the legacy ENABLE-only crm_customer owned
by the role is warned about), T23 (tenant id in the body: create and update), T24
(retrieve/update/delete of another tenant's pk), T25 (lists). The others (T2, T5-T22,
T26-T32) concern generated code and the database and are tested elsewhere; the probe's
generated-module results are in tests/test_probe_generated.py.
"""

from __future__ import annotations

import pytest

from tests.helpers.djproject import DjangoProject, copy_example, git
from tests.helpers.pg import PgDatabase
from tests.helpers.probe import (
    PYPROJECT,
    VIEWSET_CHECKS,
    ProbeRun,
    as_runner,
    database_exists,
    drop_database,
    kept_database_name,
    probe,
)

pytestmark = pytest.mark.db

SUPPLIERS = "/api/purchasing/suppliers/"
SUPPLIER = "/api/purchasing/suppliers/<pk>/"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> DjangoProject:
    proj = copy_example("legacy_erp", tmp_path_factory.mktemp("probe") / "legacy_erp", pg_database)
    (proj.root / "pyproject.toml").write_text(PYPROJECT)
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "probe config")
    return as_runner(proj)


@pytest.fixture(scope="module")
def before(project: DjangoProject) -> ProbeRun:
    return probe(project, "--format", "json")


@pytest.fixture(scope="module")
def after(project: DjangoProject, before: ProbeRun) -> ProbeRun:
    project.scaffold("fix", "--no-cache")
    return probe(project, "--format", "json")


def test_before_fix_the_seed_viewset_leaks(before: ProbeRun) -> None:
    assert before.returncode == 1
    listed = before.verdict(SUPPLIERS, "list as A")
    assert listed["verdict"] == "leak" and listed["method"] == "GET"
    assert listed["view"] == "purchasing.views.SupplierViewSet"
    assert "B's purchasing.Supplier" in listed["detail"] and "tenant B's id" in listed["detail"]
    retrieved = before.verdict(SUPPLIER, "retrieve as A on B's row")
    assert retrieved["verdict"] == "leak" and "answered 200" in retrieved["detail"]
    # T23: the tenant id in the body is honoured; T24: B's row is writable and deletable
    assert before.verdict(SUPPLIERS, "create as A with B's tenant id")["verdict"] == "leak"
    assert "stored in tenant B" in before.verdict(SUPPLIERS, "create as A with B's tenant id")["detail"]
    for check in ("update as A on B's row", "partial_update as A on B's row", "destroy as A on B's row"):
        assert before.verdict(SUPPLIER, check)["verdict"] == "leak", check
    assert before.verdict(SUPPLIER, "update as A moving own row to B")["verdict"] == "leak"
    # no permission_classes: anonymous sees every tenant's rows
    assert before.verdict(SUPPLIERS, "list as anonymous")["verdict"] == "leak"
    assert before.report["summary"]["leaks"] == len(before.checks("/api/purchasing/"))


def test_the_secure_reference_viewsets_probe_clean(before: ProbeRun) -> None:
    for prefix in ("/api/crm/", "/api/hr/"):
        checks = before.checks(prefix)
        assert {e["check"] for e in checks} == VIEWSET_CHECKS, prefix
        assert {e["verdict"] for e in checks} == {"ok"}, [e for e in checks if e["verdict"] != "ok"]


def test_a_500_is_an_error_with_its_exception(before: ProbeRun) -> None:
    """The seed's uuid-vs-sql_identifier bug in the dashboard (TEN030) surfaces as a 500."""
    error = before.verdict("/api/dashboard/summary/", "get as A")
    assert error["verdict"] == "error"
    assert error["detail"].startswith("500: ProgrammingError: operator does not exist")


def test_a_route_kwarg_it_cannot_fill_is_skipped_with_the_reason(before: ProbeRun) -> None:
    skipped = before.checks("/api/sessions/")
    assert {(e["method"], e["verdict"]) for e in skipped} == {("GET", "skipped"), ("DELETE", "skipped")}
    assert all("route kwarg <session_id>" in e["detail"] for e in skipped)


def test_after_fix_nothing_leaks(after: ProbeRun) -> None:
    assert after.returncode == 0, after.stdout
    assert after.report["summary"]["leaks"] == 0
    suppliers = after.checks("/api/purchasing/")
    assert {e["check"] for e in suppliers} == VIEWSET_CHECKS and len(suppliers) == len(VIEWSET_CHECKS)
    assert {e["verdict"] for e in suppliers} == {"ok"}, [e for e in suppliers if e["verdict"] != "ok"]
    assert after.verdict(SUPPLIERS, "create as A with B's tenant id")["detail"].startswith("stored in A")
    assert after.verdict("/api/dashboard/summary/", "get as A")["verdict"] == "ok"  # TEN030 fixed


def test_json_shape_and_summary(before: ProbeRun) -> None:
    report = before.report
    assert set(report) >= {"endpoints", "summary"}
    for entry in report["endpoints"]:
        assert set(entry) == {"route", "view", "method", "check", "verdict", "detail"}
        assert entry["verdict"] in ("ok", "leak", "skipped", "error")
    summary = report["summary"]
    verdicts = [e["verdict"] for e in report["endpoints"]]
    assert summary == {
        "checks": len(verdicts),
        "ok": verdicts.count("ok"),
        "leaks": verdicts.count("leak"),
        "skipped": verdicts.count("skipped"),
        "errors": verdicts.count("error"),
    }


def test_the_role_is_reported_and_an_owned_unforced_table_warned(
    before: ProbeRun, pg_database: PgDatabase
) -> None:
    database = before.report["database"]
    assert database["role"] == pg_database.runner_role
    assert (database["superuser"], database["bypassrls"]) == (False, False)
    assert database["test_database"] == kept_database_name(pg_database)
    assert database["unforced_owned_tables"] == ["public.crm_customer"]
    (warning,) = before.report["warnings"]
    assert "owns public.crm_customer without FORCE ROW LEVEL SECURITY" in warning


def test_the_real_database_is_never_written_and_the_test_one_dropped(
    after: ProbeRun, pg_database: PgDatabase
) -> None:
    with pg_database.owner() as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)
    assert not database_exists(kept_database_name(pg_database))


def test_text_output_keep_db_and_fail_on_skip(
    project: DjangoProject, after: ProbeRun, pg_database: PgDatabase
) -> None:
    name = kept_database_name(pg_database)
    try:
        run = probe(project, "--keep-db", "--fail-on-skip")
        assert run.returncode == 1  # no leak, but the sessions route could not be checked
        assert database_exists(name)
        lines = run.stdout.splitlines()
        assert lines[0].startswith(f"probe: as role {pg_database.runner_role} (NOSUPERUSER NOBYPASSRLS)")
        assert f"{SUPPLIERS}  (purchasing.views.SupplierViewSet)" in lines
        assert any(
            ln.split()
            == ["GET", "list", "as", "A", "ok", "no", "id", "of", "tenant", "B", "in", "the", "response"]
            for ln in lines
        )
        assert lines[-1].endswith("0 leaks, 2 skipped, 0 errors")
        # --select narrows to matching routes (with or without the leading slash)
        run = probe(project, "--keep-db", "--fail-on-skip", "--select", "api/crm/*", "--format", "json")
        assert run.returncode == 0
        assert {e["route"] for e in run.report["endpoints"]} == {
            "/api/crm/customers/",
            "/api/crm/customers/<pk>/",
        }
        bad = project.scaffold("probe", "--keep-db", "--select", "/api/nothing/*", check=False)
        assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1, bad.stderr
        assert "--select /api/nothing/* matches no endpoint" in bad.stderr
    finally:
        drop_database(name)


def test_without_probe_user_a_blocked_own_request_is_skipped_never_ok(
    project: DjangoProject, after: ProbeRun
) -> None:
    """The dashboard is a PROTECTED_PATHS module: a user mid-onboarding gets 403 from the
    middleware, which proves nothing about B's data."""
    pyproject = project.root / "pyproject.toml"
    pyproject.write_text("[tool.scaffold]\n")
    try:
        run = probe(project, "--format", "json", "--select", "/api/dashboard/*")
        strict = probe(project, "--format", "json", "--select", "/api/dashboard/*", "--fail-on-skip")
    finally:
        pyproject.write_text(PYPROJECT)
    assert run.returncode == 0
    blocked = run.verdict("/api/dashboard/summary/", "get as A")
    assert blocked["verdict"] == "skipped"
    assert blocked["detail"].startswith("A's own get answered 403: ")
    assert "Complete onboarding" in blocked["detail"]
    assert strict.returncode == 1, strict.stdout
