"""The bundled example ``examples/legacy_erp`` runs, and really reproduces the seed failures.

Everything that claims a leak or an isolation runs as the harness's runtime role
(NOSUPERUSER NOBYPASSRLS, not the owner) over HTTP through DRF's ``APIClient``; the script
asserts that about itself (T1, T4). The leak tests are *baselines*: they document the bugs
that ``scaffold migrate-viewsets`` and friends fix later, and should flip once those run.

Django is booted once per module (one ``project.script`` call) and the tests below read
the dict it returns.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.djproject import EXAMPLES, DjangoProject

EXAMPLE = EXAMPLES / "legacy_erp"
SEED = Path("/work/shared/seed/backend-troubleshooting-guide.md")

SEED_SECTIONS = (
    "OnboardingMiddleware Blocking Module Endpoints",
    "PostgreSQL UUID Type Mismatch Errors",
    "RLS Context Not Set During Authentication",
    "ViewSet Tenant Filtering Inconsistencies",
    "Django Session Backend Errors",
    "Database Connection Context Errors",
)

SCENARIO = r'''
import uuid

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from crm.models import Customer
from custom_auth.models import UserSession
from custom_auth.rls import set_tenant_context
from dashboard.services import tenant_schema_exists
from purchasing.models import Supplier

result = {}
with connection.cursor() as cur:
    cur.execute(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    user, superuser, bypass = cur.fetchone()
    cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'crm_customer'")
    owner = cur.fetchone()[0]
    cur.execute(
        "SELECT c.relrowsecurity, c.relforcerowsecurity, p.qual FROM pg_class c "
        "LEFT JOIN pg_policies p ON p.tablename = c.relname WHERE c.relname = 'crm_customer'"
    )
    rls = cur.fetchone()
result["role"] = {"user": user, "superuser": superuser, "bypassrls": bypass, "owner": owner}
result["crm_rls"] = {"enabled": rls[0], "forced": rls[1], "policy": rls[2]}
executor = MigrationExecutor(connection)
result["unapplied"] = [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())]

User = get_user_model()
ta, tb = uuid.uuid4(), uuid.uuid4()
alice = User.objects.create(username="alice", tenant_id=ta, onboarding_completed=True)
bob = User.objects.create(username="bob", tenant_id=tb, onboarding_completed=True)
newbie = User.objects.create(username="newbie", tenant_id=ta, onboarding_completed=False)
Supplier.objects.create(tenant_id=ta, name="Acme Bolts of Tenant A")
Supplier.objects.create(tenant_id=tb, name="Globex Steel of Tenant B")


def as_tenant(tenant_id, fn):
    """Run fn inside one transaction with the tenant context set (the seed's fix)."""
    with transaction.atomic():
        set_tenant_context(tenant_id)
        return fn()


cust_a = as_tenant(ta, lambda: Customer.objects.create(tenant_id=ta, name="Alpha Customer of A"))
cust_b = as_tenant(tb, lambda: Customer.objects.create(tenant_id=tb, name="Beta Customer of B"))
session_a = UserSession.objects.create(user=alice)


def names(response):
    body = response.json()
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return sorted(row["name"] for row in rows)


def get(client, url):
    response = client.get(url)
    return {"status": response.status_code, "names": names(response) if response.status_code == 200 else None}


SUPPLIERS = "/api/purchasing/suppliers/"
CUSTOMERS = "/api/crm/customers/"

# -- Baseline leak: SupplierViewSet returns Supplier.objects.all() to anyone.
forced = APIClient()
forced.force_authenticate(user=alice)
session = APIClient()
session.force_login(alice)
token = APIClient()
token.credentials(HTTP_AUTHORIZATION=f"Session {session_a.key}")
result["suppliers"] = {
    "force_authenticate": get(forced, SUPPLIERS),
    "session_login": get(session, SUPPLIERS),
    "session_token": get(token, SUPPLIERS),
    "anonymous": get(APIClient(), SUPPLIERS),
}

# -- Secure counterpart: CustomerViewSet filters explicitly.
result["customers"] = {
    # Nothing sets the RLS context during authentication: A sees none of A's rows.
    "no_context": get(forced, CUSTOMERS),
    # Context set at the transaction boundary (same connection as the in-process request).
    "context_a": as_tenant(ta, lambda: {
        "list": get(forced, CUSTOMERS),
        "own_detail": forced.get(f"{CUSTOMERS}{cust_a.pk}/").status_code,
        "other_detail": forced.get(f"{CUSTOMERS}{cust_b.pk}/").status_code,
    }),
    # A stale context of tenant B on A's request: the explicit filter still hides B's rows.
    "context_b_user_a": as_tenant(tb, lambda: {
        "list": get(forced, CUSTOMERS),
        "other_detail": forced.get(f"{CUSTOMERS}{cust_b.pk}/").status_code,
    }),
    "anonymous": APIClient().get(CUSTOMERS).status_code,
}

# -- OnboardingMiddleware: /api/hr/ is in neither EXEMPT_PATHS nor PROTECTED_PATHS.
newbie_session = APIClient()
newbie_session.force_login(newbie)
newbie_forced = APIClient()
newbie_forced.force_authenticate(user=newbie)
hr = newbie_session.get("/api/hr/employees/")
result["middleware"] = {
    "newbie_session_hr": hr.status_code,
    "newbie_session_hr_body": hr.json(),
    "newbie_session_crm": newbie_session.get(CUSTOMERS).status_code,
    "newbie_session_dashboard": newbie_session.get("/api/dashboard/summary/").status_code,
    "newbie_forced_hr": newbie_forced.get("/api/hr/employees/").status_code,
    "alice_session_hr": session.get("/api/hr/employees/").status_code,
}

# -- UUID bound against information_schema's sql_identifier.
try:
    tenant_schema_exists(uuid.uuid4(), "x")
    result["uuid_error"] = None
except Exception as exc:
    result["uuid_error"] = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"

# -- <str:session_id> routed to get(self, request, pk).
raising = APIClient(raise_request_exception=True)
raising.force_authenticate(user=alice)
try:
    response = raising.get(f"/api/sessions/{session_a.pk}/")
    result["session_route"] = {"status": response.status_code}
except TypeError as exc:
    result["session_route"] = {"type_error": str(exc)}

# -- Dashboard: session-level SET with string formatting outlives the request.
with connection.cursor() as cur:
    cur.execute("SELECT current_setting('app.current_tenant_id', true)")
    before = cur.fetchone()[0]
try:
    response = raising.get("/api/dashboard/summary/")
    dashboard_error = f"status {response.status_code}"
except Exception as exc:
    dashboard_error = f"{type(exc).__name__}: {exc}"
with connection.cursor() as cur:
    cur.execute("SELECT current_setting('app.current_tenant_id', true)")
    after = cur.fetchone()[0]
result["dashboard"] = {"error": dashboard_error, "before": before, "after": after, "tenant_a": str(ta)}
'''


@pytest.fixture(scope="module")
def observed(legacy_project: DjangoProject) -> dict:
    result = legacy_project.script(SCENARIO, runtime=True)
    assert isinstance(result, dict)
    return result


# -- the project runs --------------------------------------------------------------------


def test_manage_check_passes(legacy_project: DjangoProject) -> None:
    proc = legacy_project.manage("check")
    assert "System check identified no issues" in proc.stdout


def test_committed_migrations_are_complete(legacy_project: DjangoProject) -> None:
    proc = legacy_project.manage("makemigrations", "--check", "--dry-run")
    assert "No changes detected" in proc.stdout


def test_migrate_applied_everything(observed: dict) -> None:
    assert observed["unapplied"] == []


def test_scenario_runs_as_the_runtime_role(observed: dict) -> None:
    role = observed["role"]
    assert role["superuser"] is False
    assert role["bypassrls"] is False
    assert role["user"] != role["owner"]
    assert role["user"].startswith("scaffold_rt_")


def test_crm_has_the_legacy_enable_only_policy(observed: dict) -> None:
    assert observed["crm_rls"]["enabled"] is True
    assert observed["crm_rls"]["forced"] is False
    policy = observed["crm_rls"]["policy"]
    assert "(tenant_id)::text" in policy
    assert "current_setting('app.current_tenant_id'::text, true)" in policy


# -- baseline leak: ViewSet Tenant Filtering Inconsistencies ------------------------------


@pytest.mark.parametrize("auth", ["force_authenticate", "session_login", "session_token"])
def test_baseline_tenant_a_sees_tenant_b_suppliers(observed: dict, auth: str) -> None:
    """THE BUG codemods fix: A lists B's supplier (no filter, no permission_classes)."""
    seen = observed["suppliers"][auth]
    assert seen["status"] == 200
    assert "Globex Steel of Tenant B" in seen["names"]
    assert seen["names"] == ["Acme Bolts of Tenant A", "Globex Steel of Tenant B"]


def test_baseline_anonymous_lists_every_supplier(observed: dict) -> None:
    seen = observed["suppliers"]["anonymous"]
    assert seen["status"] == 200
    assert seen["names"] == ["Acme Bolts of Tenant A", "Globex Steel of Tenant B"]


# -- secure counterpart: CustomerViewSet --------------------------------------------------


def test_customers_are_empty_without_rls_context(observed: dict) -> None:
    """Seed "RLS Context Not Set During Authentication": authenticated, data exists, ``[]``."""
    assert observed["customers"]["no_context"] == {"status": 200, "names": []}


def test_customer_viewset_isolates_tenants(observed: dict) -> None:
    ctx = observed["customers"]["context_a"]
    assert ctx["list"] == {"status": 200, "names": ["Alpha Customer of A"]}
    assert ctx["own_detail"] == 200
    assert ctx["other_detail"] == 404


def test_customer_viewset_filter_holds_under_a_stale_context(observed: dict) -> None:
    """With tenant B's context left on the connection, A still gets nothing of B's."""
    ctx = observed["customers"]["context_b_user_a"]
    assert ctx["list"] == {"status": 200, "names": []}
    assert ctx["other_detail"] == 404


def test_customer_viewset_refuses_anonymous(observed: dict) -> None:
    assert observed["customers"]["anonymous"] == 403


# -- OnboardingMiddleware Blocking Module Endpoints ----------------------------------------


def test_hr_blocked_for_users_mid_onboarding(observed: dict) -> None:
    mw = observed["middleware"]
    assert mw["newbie_session_hr"] == 403
    assert mw["newbie_session_hr_body"]["onboarding_required"] is True
    assert mw["newbie_session_crm"] == 200  # /api/crm/ is exempt
    assert mw["newbie_session_dashboard"] == 403  # protected on purpose


def test_middleware_passes_onboarded_and_non_session_users(observed: dict) -> None:
    mw = observed["middleware"]
    assert mw["alice_session_hr"] == 200
    assert mw["newbie_forced_hr"] == 200  # not authenticated at the Django level


# -- PostgreSQL UUID Type Mismatch Errors -------------------------------------------------


def test_uuid_compared_with_sql_identifier_fails(observed: dict) -> None:
    error = observed["uuid_error"]
    assert error is not None
    assert "operator does not exist" in error
    assert "sql_identifier = uuid" in error


# -- Django Session Backend Errors --------------------------------------------------------


def test_session_detail_route_kwarg_mismatch(observed: dict) -> None:
    route = observed["session_route"]
    assert "type_error" in route, route
    assert "unexpected keyword argument 'session_id'" in route["type_error"]


# -- Database Connection Context Errors ---------------------------------------------------


def test_dashboard_session_level_set_outlives_the_request(observed: dict) -> None:
    dash = observed["dashboard"]
    assert "operator does not exist" in dash["error"]  # the same UUID bug breaks the view
    assert dash["before"] in (None, "")
    assert dash["after"] == dash["tenant_a"]  # left behind on the persistent connection


# -- static shape (no database) -----------------------------------------------------------


def _example_sources() -> dict[str, bytes]:
    return {
        p.relative_to(EXAMPLE).as_posix(): p.read_bytes()
        for p in EXAMPLE.rglob("*.py")
        if "__pycache__" not in p.parts
    }


def test_every_seed_section_has_a_marked_defect() -> None:
    text = b"\n".join(_example_sources().values()).decode("latin-1")
    marked = set(re.findall(r"# SEED: ([^:]+):", text))
    assert marked == set(SEED_SECTIONS)
    if SEED.exists():  # the titles are the seed's own section titles
        titles = set(re.findall(r"^## .*Issue: (.+?)\*\*", SEED.read_text(), re.M))
        assert set(SEED_SECTIONS) <= titles


def test_layout_matches_the_design() -> None:
    assert (EXAMPLE / "manage.py").is_file()
    assert not (EXAMPLE / "pyproject.toml").exists()  # scaffold init writes it
    assert not (EXAMPLE / "inventory").exists()  # the demo generates it
    tracked = subprocess.run(
        ["git", "ls-files", "."], cwd=EXAMPLE, capture_output=True, text=True, check=False
    ).stdout.split()
    assert not [f for f in tracked if "__pycache__" in f or f.endswith(".pyc")]
    for app in ("custom_auth", "crm", "purchasing", "hr"):
        assert (EXAMPLE / app / "migrations" / "0001_initial.py").is_file()
    rls = (EXAMPLE / "crm" / "migrations" / "0002_customer_rls.py").read_text()
    assert "ENABLE ROW LEVEL SECURITY" in rls
    assert "FORCE ROW LEVEL SECURITY" not in rls
    assert "GRANT " not in rls.upper()


def test_messy_files_are_there() -> None:
    sources = _example_sources()
    with pytest.raises(SyntaxError):
        ast.parse(sources["scripts/broken_import.py"])
    latin1 = sources["hr/exports.py"]
    assert latin1.startswith(b"# -*- coding: latin-1 -*-")
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    ast.parse(latin1)  # valid Python once the cookie is honoured
    # backups that the default excludes (*backup*) must skip
    assert "custom_auth/middleware_package/onboarding_middleware_backup.py" in sources
    assert "erp/backup/settings.py" in sources
