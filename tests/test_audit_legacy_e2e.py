"""On a copy of examples/legacy_erp: the audit finds every seed problem (code and live
database); after ``scaffold fix`` a re-audit of the code is clean and requests through DRF
show the seed's verification steps hold (as the NOSUPERUSER NOBYPASSRLS runtime role)."""

from __future__ import annotations

import json

import pytest

from tests.helpers.djproject import VENV_BIN, DjangoProject, git

pytestmark = pytest.mark.db

SEEDS = {
    ("TEN001", "purchasing/views.py", "SupplierViewSet"),
    ("TEN002", "purchasing/views.py", "SupplierViewSet"),
    ("TEN003", "purchasing/views.py", "SupplierViewSet"),
    ("TEN004", "purchasing/views.py", "SupplierViewSet"),
    ("TEN010", "custom_auth/urls.py", "SessionDetailView"),
    ("TEN020", "erp/urls.py", "/api/hr/"),
    ("TEN030", "dashboard/services.py", "tenant_schema_exists"),
    ("TEN040", "custom_auth/authentication.py", "SessionTokenAuthentication"),
    ("TEN050", "dashboard/services.py", "use_tenant_schema"),
    ("TEN050", "custom_auth/rls.py", "set_tenant_context"),  # transaction-local, but no transaction
    ("TEN051", "dashboard/services.py", "use_tenant_schema"),
}

REQUESTS = r"""
import uuid
from django.test.utils import setup_test_environment
setup_test_environment()
from rest_framework.test import APIClient
from custom_auth.models import User, UserSession
from purchasing.models import Supplier
from hr.models import Employee

ta, tb = uuid.uuid4(), uuid.uuid4()
tag = uuid.uuid4().hex[:8]
a = User.objects.create_user(f"a{tag}", password="x", tenant_id=ta, onboarding_completed=True)
b = User.objects.create_user(f"b{tag}", password="x", tenant_id=tb, onboarding_completed=True)
mid = User.objects.create_user(f"m{tag}", password="x", tenant_id=ta, onboarding_completed=False)
none = User.objects.create_user(f"n{tag}", password="x", tenant_id=None)
sa = Supplier.objects.create(tenant_id=ta, name="A supplies")
sb = Supplier.objects.create(tenant_id=tb, name="B supplies")
Employee.objects.create(tenant_id=ta, first_name="Ann", last_name="A")

def client(user=None, login=False):
    c = APIClient()
    if user is not None and login:
        c.force_login(user)      # Django session: the onboarding middleware applies
    elif user is not None:
        c.force_authenticate(user)
    return c

result = {}
r = client(a).get("/api/purchasing/suppliers/")
result["a_list"] = [s["name"] for s in r.json()]
result["a_gets_b"] = client(a).get(f"/api/purchasing/suppliers/{sb.pk}/").status_code
result["no_tenant"] = client(none).get("/api/purchasing/suppliers/").status_code
result["anonymous"] = client().get("/api/purchasing/suppliers/").status_code
created = client(a).post("/api/purchasing/suppliers/", {"name": "new", "tenant_id": str(tb)}, format="json")
result["created_tenant"] = str(Supplier.objects.get(name="new").tenant_id) == str(ta) if created.status_code == 201 else created.status_code
result["hr_mid_onboarding"] = client(mid, login=True).get("/api/hr/employees/").status_code
session = UserSession.objects.create(user=a)
r = APIClient().get(f"/api/sessions/{session.pk}/", HTTP_AUTHORIZATION=f"Session {session.key}")
result["session_detail"] = r.status_code
# RLS context during authentication: crm_customer is under RLS for the runtime role.
from django.db import transaction
from crm.models import Customer
from custom_auth.rls import set_tenant_context
for tenant, name in ((ta, "Alpha of A"), (tb, "Beta of B")):
    with transaction.atomic():
        set_tenant_context(tenant)
        Customer.objects.create(tenant_id=tenant, name=name)
r = APIClient().get("/api/crm/customers/", HTTP_AUTHORIZATION=f"Session {session.key}")
body = r.json()
rows = body["results"] if isinstance(body, dict) and "results" in body else body
result["crm_token"] = [r.status_code, sorted(c["name"] for c in rows) if r.status_code == 200 else body]
r = client(a, login=True).get("/api/dashboard/summary/")
result["dashboard"] = [r.status_code, r.json().get("legacy_schema") if r.status_code == 200 else None]
"""


def audit_json(project: DjangoProject, *args: str) -> tuple[int, dict]:
    proc = project.scaffold("audit", "--format", "json", "--no-cache", *args, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_every_seed_problem_detected_then_fixed(legacy_project: DjangoProject) -> None:
    project = legacy_project
    db = project.db
    assert db is not None
    rc, before = audit_json(project)
    found = {(f["code"], f["path"], f["symbol"]) for f in before["findings"]}
    assert rc == 1
    assert SEEDS <= found, SEEDS - found
    assert found <= SEEDS, found - SEEDS  # no false positives (crm and hr are secure)

    # Live database, as the application's runtime role.
    rc, live = audit_json(project, "--select", "TEN06", "--database-url", db.runtime_url)
    messages = [f["message"] for f in live["findings"] if f["code"] == "TEN060"]
    assert any("public.crm_customer enables row-level security without FORCE" in m for m in messages)
    assert any("casts tenant_id to text" in m for m in messages)
    assert any("public.purchasing_supplier" in m and "not enabled" in m for m in messages)
    assert not any(f["code"] == "TEN061" for f in live["findings"])  # the runtime role is sound

    fixed = project.scaffold("fix", "--no-cache")
    assert "need manual review" in fixed.stdout and "0 need manual review" in fixed.stdout, fixed.stdout
    rc, after = audit_json(project)
    assert (rc, after["findings"]) == (0, [])
    assert project.scaffold("fix", "--check", "--no-cache", check=False).returncode == 0
    # the fixed files are still lint-clean, imports in their isort sections included
    changed = [p for p in git(project.root, "diff", "--name-only").split() if p.endswith(".py")]
    assert changed
    ruff = str(VENV_BIN / "ruff")
    lint = project.run(ruff, "check", "--isolated", "--select", "E4,E7,E9,F,I", *changed, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    result = project.script(REQUESTS)  # as the runtime role
    assert result["a_list"] == ["A supplies"]  # A never sees B
    assert result["a_gets_b"] == 404  # B's pk is 404 for A
    assert result["no_tenant"] == 403  # no tenant: refused
    assert result["anonymous"] in (401, 403)
    assert result["created_tenant"] is True  # stamped from the user, not the body
    assert result["hr_mid_onboarding"] == 200  # TEN020: /api/hr/ is exempt now
    assert result["session_detail"] == 200  # TEN010: no TypeError on session_id
    assert result["dashboard"] == [200, False]  # TEN030: no sql_identifier = uuid error
    # TEN040 + TEN050: the token authentication sets the context inside the request's
    # transaction, so RLS returns A's rows (the seed: "authenticated but sees no data").
    assert result["crm_token"] == [200, ["Alpha of A"]]


def test_generated_module_passes_the_audit(legacy_project: DjangoProject) -> None:
    """What scaffold generates is what the audit asks for: a new module is clean."""
    project = legacy_project
    project.scaffold(
        "new-module", "inventory", "--no-input", "--field", "name:str", "--field", "sku:str:unique"
    )
    rc, report = audit_json(project)
    assert not [f for f in report["findings"] if f["path"].startswith("inventory/")], report
    rc, report = audit_json(project, "inventory")
    assert (rc, report["findings"]) == (0, [])
