"""``scaffold new-module`` end to end on a copy of ``examples/legacy_erp`` (real PostgreSQL).

One project per module (module-scoped fixture): three modules are generated into it
through the real CLI, exactly as a user would, then migrated as the owner:

* ``warehouse`` (``Warehouse``: a str and a per-tenant unique str);
* ``inventory`` (``StockItem``: str, unique str, decimal, int, bool, text, date,
  datetime, uuid, email, json, a required fk to ``warehouse.Warehouse`` and an optional
  fk to the legacy ``purchasing.Supplier``), onboarding-exempt (the default);
* ``ledger`` (``--protected``).

Every claim of isolation is made over HTTP through DRF's ``APIClient`` or in SQL while
connected as the runtime role (NOSUPERUSER NOBYPASSRLS, owns nothing: T1, T4), in a
subprocess (``DjangoProject.script``). The scenario runs twice: session login (the
onboarding middleware sees the user) and ``force_authenticate`` (it does not).

Checklist cases covered here: T2 (catalog), T5, T6, T8, T10, T16, T17, T22, T23, T24, T25, T27,
T29, T30, T31 (admin change views). Not applicable to the generated module: T7 (no
upsert endpoint), T26 (no nested routes), T28 (no bulk endpoint), T32 (no cache), T9
(foreign keys are on_delete=PROTECT: nothing cascades).
"""

from __future__ import annotations

import ast

import pytest

from tests.helpers.djproject import DjangoProject, copy_example, git
from tests.helpers.lint import assert_ruff_clean
from tests.helpers.rls import assert_tenant_rls

WAREHOUSE = [
    "new-module",
    "warehouse",
    "--no-input",
    "--field",
    "name:str:100",
    "--field",
    "code:str:20:unique",
]
INVENTORY = [
    "new-module",
    "inventory",
    "--no-input",
    "--model",
    "StockItem",
    *("--field", "name:str"),
    *("--field", "sku:str:64:unique"),
    *("--field", "price:decimal:10,2"),
    *("--field", "quantity:int"),
    *("--field", "active:bool"),
    *("--field", "notes:text:optional"),
    *("--field", "received:date:optional"),
    *("--field", "seen_at:datetime:optional"),
    *("--field", "ref:uuid:optional"),
    *("--field", "contact:email:optional"),
    *("--field", "extra:json"),
    *("--field", "warehouse:fk:Warehouse"),
    *("--field", "supplier:fk:purchasing.Supplier:optional"),
]
LEDGER = ["new-module", "ledger", "--no-input", "--protected", "--field", "title:str"]
MODULES = ("warehouse", "inventory", "ledger")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database) -> DjangoProject:
    proj = copy_example("legacy_erp", tmp_path_factory.mktemp("newmod") / "legacy_erp", pg_database)
    for args in (WAREHOUSE, INVENTORY, LEDGER):
        proj.scaffold(*args)
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "generated")
    proj.migrate()
    return proj


def porcelain(proj: DjangoProject) -> str:
    return git(proj.root, "status", "--porcelain")


# -- the generated files and the registration ------------------------------------------------


def test_files_and_registration(project: DjangoProject) -> None:
    root = project.root
    for name in (
        "__init__.py",
        "apps.py",
        "models.py",
        "serializers.py",
        "views.py",
        "urls.py",
        "admin.py",
        "migrations/0001_initial.py",
        "migrations/0002_stockitem_rls.py",
        "tests/test_tenant_isolation.py",
    ):
        assert (root / "inventory" / name).is_file(), name
    answers = (root / ".copier-answers.inventory.yml").read_text()
    assert "module_name: inventory" in answers and "_src_path:" in answers
    settings = (root / "erp/settings.py").read_text()
    for module in MODULES:
        assert f'    "{module}",\n' in settings
    urls = (root / "erp/urls.py").read_text()
    assert 'path("api/inventory/", include("inventory.urls")),' in urls
    middleware = (root / "custom_auth/middleware_package/onboarding_middleware.py").read_text()
    exempt = middleware.split("EXEMPT_PATHS = [")[1].split("]")[0]
    protected = middleware.split("PROTECTED_PATHS = [")[1].split("]")[0]
    assert '"/api/inventory/"' in exempt and '"/api/warehouse/"' in exempt
    assert '"/api/ledger/"' in protected and '"/api/ledger/"' not in exempt
    # comments next to the lists survive the libcst edit
    assert "# SEED: OnboardingMiddleware Blocking Module Endpoints" in middleware


def test_views_use_the_secure_pattern(project: DjangoProject) -> None:
    from scaffold import pattern

    views = (project.root / "inventory/views.py").read_text()
    assert "    permission_classes = (IsAuthenticated,)\n" in views
    assert f"    {pattern.permission_classes()}" in views
    for block in (
        pattern.get_queryset("StockItem.objects"),
        pattern.perform_create(),
        pattern.context_hooks(),
    ):
        indented = "".join(f"    {ln}" if ln.strip() else ln for ln in block.splitlines(keepends=True))
        assert indented in views


def test_check_and_makemigrations_are_clean(project: DjangoProject) -> None:
    project.manage("check")
    out = project.manage("makemigrations", "--check", "--dry-run")
    assert "No changes detected" in out.stdout


def test_generated_code_passes_ruff_and_never_imports_scaffold(project: DjangoProject) -> None:
    assert_ruff_clean(project.root, list(MODULES))
    for module in MODULES:
        for path in (project.root / module).rglob("*.py"):
            tree = ast.parse(path.read_bytes())
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(n.split(".")[0] == "scaffold" for n in names), path


def test_generated_module_tests_pass_as_non_superuser(project: DjangoProject) -> None:
    """The module's own tests, through the user's runner, as NOSUPERUSER NOBYPASSRLS CREATEDB."""
    project.run_module_tests("warehouse", "inventory", "ledger")


def test_rls_enabled_forced_with_policy(project: DjangoProject) -> None:
    """T2: every generated table has ENABLE + FORCE and a NULLIF equality policy."""
    assert project.db is not None
    assert_tenant_rls(project.db, ["warehouse_warehouse", "inventory_stockitem", "ledger_ledger"])


# -- isolation over HTTP and in SQL, as the runtime role -------------------------------------

SCENARIO = r"""
import uuid

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from __CORE__ import set_tenant_context
from inventory.models import StockItem
from purchasing.models import Supplier
from warehouse.models import Warehouse

AUTH = __AUTH__
PASSWORD = "pw-isolation-1!"
URL = "/api/inventory/stock-items/"
User = get_user_model()
result = {}

with connection.cursor() as cur:
    cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    result["role"] = list(cur.fetchone())


def in_tenant(tenant, fn):
    with transaction.atomic():
        set_tenant_context(tenant)
        return fn()


def user(name, tenant, onboarded=False):
    return User.objects.create_user(
        username=f"{name}-{uuid.uuid4().hex[:8]}", password=PASSWORD, tenant_id=tenant,
        onboarding_completed=onboarded,
    )


def client_for(u):
    c = APIClient()
    if AUTH == "session":
        assert c.login(username=u.username, password=PASSWORD)
    else:
        c.force_authenticate(u)
    return c


def j(resp):
    try:
        return resp.json()
    except Exception:
        return None


ta, tb = uuid.uuid4(), uuid.uuid4()
ua, ub = user("a", ta), user("b", tb)
wa = in_tenant(ta, lambda: Warehouse.objects.create(tenant_id=ta, name="A", code="WA"))
wb = in_tenant(tb, lambda: Warehouse.objects.create(tenant_id=tb, name="B", code="WB"))
sa = in_tenant(ta, lambda: Supplier.objects.create(tenant_id=ta, name="A supplier"))
sb = in_tenant(tb, lambda: Supplier.objects.create(tenant_id=tb, name="B supplier"))
ca, cb = client_for(ua), client_for(ub)


def body(n, wh, **extra):
    data = {"name": f"item {n}", "sku": f"SKU-{n}", "price": "9.99", "quantity": n,
            "active": True, "extra": {"n": n}, "warehouse": str(wh.pk)}
    data.update(extra)
    return data


# T23: a tenant_id in the body is ignored on create
resp = ca.post(URL, body(1, wa, tenant_id=str(tb), supplier=str(sa.pk)), format="json")
result["create"] = [resp.status_code, j(resp)]
item_a = j(resp)
resp = cb.post(URL, body(2, wb, sku="SKU-1"), format="json")
result["b_same_sku"] = resp.status_code  # T10: the same business key in another tenant
item_b = j(resp)
resp = ca.post(URL, body(3, wa, sku="SKU-1"), format="json")
result["a_duplicate_sku"] = [resp.status_code, j(resp)]
# T27: related fields are tenant-scoped; another tenant's parent == a missing parent
resp = ca.post(URL, body(4, wb), format="json")
result["fk_other"] = [resp.status_code, j(resp)]
resp = ca.post(URL, body(5, wa, warehouse=str(uuid.uuid4())), format="json")
result["fk_missing"] = [resp.status_code, j(resp)]
resp = ca.post(URL, body(6, wa, supplier=str(sb.pk)), format="json")
result["fk_other_supplier"] = [resp.status_code, j(resp)]
resp = ca.post(URL, body(7, wa, supplier=str(uuid.uuid4())), format="json")
result["fk_missing_supplier"] = [resp.status_code, j(resp)]

# T25 / T29: lists cover only the caller's tenant, whatever the query parameters
def ids(resp):
    data = j(resp)
    data = data["results"] if isinstance(data, dict) else data
    return sorted(row["id"] for row in data)

result["list_a"] = ids(ca.get(URL))
result["list_b"] = ids(cb.get(URL))
result["list_a_params"] = [
    ids(ca.get(URL, params)) for params in (
        {"tenant_id": str(tb)}, {"search": "item"}, {"ordering": "-sku"}, {"page_size": 1000},
        {"warehouse": str(wb.pk)}, {"tenant_id__in": f"{ta},{tb}"},
    )
]
# T24: another tenant's pk is the same 404 as a missing pk, for every method
other, missing = f"{URL}{item_b['id']}/", f"{URL}{uuid.uuid4()}/"
for method in ("get", "put", "patch", "delete"):
    r1 = getattr(ca, method)(other, body(8, wa), format="json")
    r2 = getattr(ca, method)(missing, body(8, wa), format="json")
    result[f"other_{method}"] = [r1.status_code, j(r1)]
    result[f"missing_{method}"] = [r2.status_code, j(r2)]
result["b_still_there"] = in_tenant(tb, lambda: StockItem.objects.filter(pk=item_b["id"]).count())
# T23: PATCH / PUT can never move a row to another tenant
own = f"{URL}{item_a['id']}/"
r1 = ca.patch(own, {"tenant_id": str(tb)}, format="json")
r2 = ca.put(own, body(1, wa, tenant_id=str(tb)), format="json")
result["move"] = [r1.status_code, j(r1)["tenant_id"], r2.status_code, j(r2)["tenant_id"]]
# T30: rendered relations are the caller's own rows
detail = j(ca.get(own))
result["detail_relations"] = [detail["warehouse"], detail["supplier"], str(wa.pk), str(sa.pk)]
result["b_detail_relations"] = [j(cb.get(other))["warehouse"], str(wb.pk)]
result["anonymous"] = APIClient().get(URL).status_code
nobody = user("nobody", None)
result["no_tenant"] = [client_for(nobody).get(URL).status_code,
                       client_for(nobody).post(URL, body(9, wa), format="json").status_code]
result["tenants"] = [str(ta), str(tb)]


# T16: A, then anonymous, then B on the same backend connection (CONN_MAX_AGE = 60): the
# context never outlives a request.
def backend_pid():
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def setting_now():
    with connection.cursor() as cur:
        cur.execute("SELECT NULLIF(current_setting('app.current_tenant_id', true), '')")
        return cur.fetchone()[0]


pid_before = backend_pid()
seen_a = ids(ca.get(URL))
after_a = setting_now()
anonymous_status = APIClient().get(URL).status_code
after_anonymous = setting_now()
seen_b = ids(cb.get(URL))
# T17: a request that raises leaves no context behind either.
from inventory.views import StockItemViewSet  # noqa: E402


def boom(self, serializer):
    raise RuntimeError("injected failure")


original_perform_create = StockItemViewSet.perform_create
StockItemViewSet.perform_create = boom
crashing = client_for(ua)
crashing.raise_request_exception = False
crash_status = crashing.post(URL, body(30, wa), format="json").status_code
StockItemViewSet.perform_create = original_perform_create
result["crash"] = [crash_status, setting_now(), backend_pid() == pid_before]
result["same_connection"] = [
    pid_before == backend_pid(), seen_a == result["list_a"], after_a, anonymous_status,
    after_anonymous, seen_b == result["list_b"], setting_now(),
]

# An error response after a write (DRF handles the exception, so nothing propagates out of
# the request transaction; no ATOMIC_REQUESTS) rolls the write back: 400 on create, 403 on
# update.
from rest_framework.exceptions import PermissionDenied, ValidationError  # noqa: E402


def then_raise(save, exc):
    def hook(self, serializer):
        save(self, serializer)
        raise exc
    return hook


original_perform_update = StockItemViewSet.perform_update
StockItemViewSet.perform_create = then_raise(original_perform_create, ValidationError({"name": ["late"]}))
created = ca.post(URL, body(31, wa), format="json")
StockItemViewSet.perform_create = original_perform_create
StockItemViewSet.perform_update = then_raise(original_perform_update, PermissionDenied("late"))
name_before = in_tenant(ta, lambda: StockItem.objects.get(pk=item_a["id"]).name)
updated = ca.patch(f"{URL}{item_a['id']}/", {"name": "written then refused"}, format="json")
StockItemViewSet.perform_update = original_perform_update
result["error_rollback"] = [
    created.status_code, in_tenant(ta, lambda: StockItem.objects.filter(sku="SKU-31").count()),
    updated.status_code, in_tenant(ta, lambda: StockItem.objects.get(pk=item_a["id"]).name) == name_before,
    setting_now(),
]

# T5: no context -> 0 rows from ORM and raw SQL, on this (reused) connection and a fresh one
def no_context_counts():
    with transaction.atomic():
        orm = StockItem.objects.count()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM inventory_stockitem")
            raw = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM warehouse_warehouse")
            raw_wh = cur.fetchone()[0]
    return [orm, raw, raw_wh]

result["no_context_reused"] = no_context_counts()
connection.close()
result["no_context_fresh"] = no_context_counts()


def attempt(fn):
    try:
        with transaction.atomic():
            fn()
        return "ok"
    except Exception as exc:
        cause = exc.__cause__ or exc
        return [type(exc).__name__, getattr(cause, "sqlstate", None), str(exc).splitlines()[0]]


def insert(tenant, wh, n, **extra):
    values = dict(tenant_id=tenant, name=f"raw {n}", sku=f"RAW-{n}", price=1, quantity=n, warehouse_id=wh)
    values.update(extra)
    return StockItem.objects.create(**values)


result["insert_no_context"] = attempt(lambda: insert(ta, wa.pk, 10))


# T6: with A's context, writing B's rows is refused (WITH CHECK) or touches nothing
def as_a(fn):
    def run():
        set_tenant_context(ta)
        return fn()
    return run

result["insert_into_b"] = attempt(as_a(lambda: insert(tb, wb.pk, 11)))
updated, deleted = [], []
result["update_b"] = attempt(as_a(lambda: updated.append(
    StockItem.objects.filter(pk=item_b["id"]).update(name="hacked"))))
result["update_b_rows"] = updated
result["delete_b"] = attempt(as_a(lambda: deleted.append(
    StockItem.objects.filter(pk=item_b["id"]).delete()[0])))
result["delete_b_rows"] = deleted
result["move_a_to_b"] = attempt(as_a(lambda: StockItem.objects.filter(pk=item_a["id"]).update(tenant_id=tb)))
with connection.cursor() as cur:
    result["raw_update_b"] = attempt(as_a(lambda: cur.execute(
        "UPDATE inventory_stockitem SET name = 'hacked' WHERE tenant_id = %s", [tb])))
    result["raw_update_b_rows"] = cur.rowcount

# T8: a child row pointing at another tenant's parent fails exactly like a missing parent
result["fk_cross_tenant"] = attempt(as_a(lambda: insert(ta, wb.pk, 12)))
result["fk_nonexistent"] = attempt(as_a(lambda: insert(ta, uuid.uuid4(), 13)))
result["fk_cross_tenant_supplier"] = attempt(as_a(lambda: insert(ta, wa.pk, 14, supplier_id=sb.pk)))
result["fk_same_tenant"] = attempt(as_a(lambda: insert(ta, wa.pk, 15, supplier_id=sa.pk)))

# T10: the unique constraint is per tenant: B's key is free for A and a clash reveals nothing
in_tenant(tb, lambda: insert(tb, wb.pk, 20, sku="ONLY-B"))
result["unique_cross_tenant"] = attempt(as_a(lambda: insert(ta, wa.pk, 16, sku="ONLY-B")))
result["unique_same_tenant"] = attempt(as_a(lambda: insert(ta, wa.pk, 17, sku="ONLY-B")))
with connection.cursor() as cur:
    cur.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'inventory_stockitem'::regclass "
        "AND contype = 'u'"
    )
    result["unique_defs"] = sorted(row[0] for row in cur.fetchall())

# T22: the list query uses a tenant_id index (runtime role, context set, seqscan off)
with transaction.atomic():
    set_tenant_context(ta)
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        sql, params = StockItem.objects.filter(tenant_id=ta).query.sql_with_params()
        cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0]
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inventory_stockitem'"
        )
        indexes = cur.fetchall()


def index_names(node):
    found = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", []):
        found += index_names(child)
    return found

plan = plan if isinstance(plan, list) else __import__("json").loads(plan)
result["plan_indexes"] = index_names(plan[0]["Plan"])
result["tenant_indexes"] = [name for name, definition in indexes if "(tenant_id" in definition]
"""


@pytest.fixture(scope="module", params=["session", "force_authenticate"])
def scenario(request: pytest.FixtureRequest, project: DjangoProject) -> dict:
    code = SCENARIO.replace("__AUTH__", repr(request.param.split("_")[0])).replace(
        "__CORE__", "custom_auth.rls"
    )
    result = project.script(code)
    assert isinstance(result, dict)
    return result


def test_runs_as_the_runtime_role(scenario: dict) -> None:
    assert scenario["role"] == [False, False]  # T1 / T4


def test_create_stamps_the_caller_tenant(scenario: dict) -> None:
    """T23: the tenant comes from the user; a tenant_id in the body is ignored."""
    status, body = scenario["create"]
    assert status == 201, body
    assert body["tenant_id"] == scenario["tenants"][0]


def test_unique_is_per_tenant_over_http(scenario: dict) -> None:
    """T10: B may reuse A's SKU; a duplicate within A is a 400 naming the field (not a 500)."""
    assert scenario["b_same_sku"] == 201
    status, body = scenario["a_duplicate_sku"]
    assert status == 400 and set(body) == {"sku"}


def test_related_fields_are_tenant_scoped(scenario: dict) -> None:
    """T27: another tenant's parent is refused exactly like a missing one."""
    assert scenario["fk_other"][0] == 400
    assert scenario["fk_other"] == [400, {"warehouse": scenario["fk_other"][1]["warehouse"]}]
    other_msg = scenario["fk_other"][1]["warehouse"][0]
    missing_msg = scenario["fk_missing"][1]["warehouse"][0]
    assert other_msg.split('"')[0] == missing_msg.split('"')[0]  # same message, only the pk differs
    assert scenario["fk_other_supplier"][0] == scenario["fk_missing_supplier"][0] == 400


def test_lists_cover_only_the_callers_tenant(scenario: dict) -> None:
    """T25, T29: filters, search, ordering, page size and ?tenant_id= never widen the list."""
    own = scenario["list_a"]
    assert own == [scenario["create"][1]["id"]]
    assert len(scenario["list_b"]) == 1 and scenario["list_b"] != own
    for ids in scenario["list_a_params"]:
        assert ids == own


def test_other_tenants_rows_are_404_like_missing_ones(scenario: dict) -> None:
    """T24: GET/PUT/PATCH/DELETE of B's pk is the same 404 as a nonexistent pk."""
    for method in ("get", "put", "patch", "delete"):
        assert scenario[f"other_{method}"][0] == 404
        assert scenario[f"other_{method}"] == scenario[f"missing_{method}"]
    assert scenario["b_still_there"] == 1


def test_rows_never_move_tenant(scenario: dict) -> None:
    """T23: tenant_id in a PATCH/PUT body is ignored, never a 500."""
    tenant = scenario["create"][1]["tenant_id"]
    assert scenario["move"] == [200, tenant, 200, tenant]


def test_rendered_relations_are_own_rows(scenario: dict) -> None:
    """T30: the relations rendered are the caller's own parents."""
    warehouse, supplier, own_warehouse, own_supplier = scenario["detail_relations"]
    assert (warehouse, supplier) == (own_warehouse, own_supplier)
    theirs = scenario["b_detail_relations"]
    assert theirs[0] == theirs[1]


def test_anonymous_and_tenantless_users_are_refused(scenario: dict) -> None:
    assert scenario["anonymous"] in (401, 403)
    assert scenario["no_tenant"] == [403, 403]


def test_context_never_outlives_a_request_on_a_reused_connection(scenario: dict) -> None:
    """T16: A, anonymous, B on one backend pid; nothing is left set between requests."""
    same_pid, a_ok, after_a, anonymous, after_anonymous, b_ok, after_b = scenario["same_connection"]
    assert same_pid and a_ok and b_ok
    assert (after_a, after_anonymous, after_b) == (None, None, None)
    assert anonymous in (401, 403)


def test_a_request_that_raises_leaves_no_context(scenario: dict) -> None:
    """T17."""
    assert scenario["crash"] == [500, None, True]


def test_an_error_response_rolls_back_the_requests_writes(scenario: dict) -> None:
    """A 400 or 403 raised after the row was saved leaves no row and no change behind."""
    assert scenario["error_rollback"] == [400, 0, 403, True, None]


def test_no_context_means_no_rows(scenario: dict) -> None:
    """T5: 0 rows from ORM and raw SQL, after tenant requests and on a fresh connection."""
    assert scenario["no_context_reused"] == [0, 0, 0]
    assert scenario["no_context_fresh"] == [0, 0, 0]
    name, sqlstate, message = scenario["insert_no_context"]
    assert sqlstate == "42501" and "row-level security" in message


def test_cross_tenant_writes_are_refused(scenario: dict) -> None:
    """T6: INSERT into B is refused by WITH CHECK; UPDATE/DELETE of B's rows touch 0 rows."""
    assert scenario["insert_into_b"][1] == "42501"
    assert "row-level security" in scenario["insert_into_b"][2]
    assert scenario["update_b"] == "ok" and scenario["update_b_rows"] == [0]
    assert scenario["delete_b"] == "ok" and scenario["delete_b_rows"] == [0]
    assert scenario["raw_update_b"] == "ok" and scenario["raw_update_b_rows"] == 0
    assert scenario["move_a_to_b"][1] == "42501"


def test_foreign_keys_cannot_cross_tenants(scenario: dict) -> None:
    """T8: a parent of another tenant fails exactly like a nonexistent parent (23503)."""
    cross, missing = scenario["fk_cross_tenant"], scenario["fk_nonexistent"]
    assert cross[:2] == missing[:2] == ["IntegrityError", "23503"]
    assert scenario["fk_cross_tenant_supplier"][:2] == ["IntegrityError", "23503"]
    assert scenario["fk_same_tenant"] == "ok"


def test_unique_constraints_include_the_tenant(scenario: dict) -> None:
    """T10: no global UNIQUE on business keys; every unique constraint starts with tenant_id."""
    assert scenario["unique_cross_tenant"] == "ok"
    assert scenario["unique_same_tenant"][:2] == ["IntegrityError", "23505"]
    assert scenario["unique_defs"] == ["UNIQUE (tenant_id, id)", "UNIQUE (tenant_id, sku)"]


def test_list_query_uses_the_tenant_index(scenario: dict) -> None:
    """T22: EXPLAIN as the runtime role with context set and seqscan off uses a tenant_id index."""
    assert scenario["plan_indexes"], "no index scan in the plan"
    assert set(scenario["plan_indexes"]) <= set(scenario["tenant_indexes"])


# -- onboarding registration matters ---------------------------------------------------------

ONBOARDING = r"""
import uuid

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

User = get_user_model()
result = {}
for onboarded in (False, True):
    u = User.objects.create_user(
        username=f"o-{uuid.uuid4().hex[:8]}", password="pw-onboard-1!", tenant_id=uuid.uuid4(),
        onboarding_completed=onboarded,
    )
    c = APIClient()
    assert c.login(username=u.username, password="pw-onboard-1!")
    result[str(onboarded)] = {
        path: c.get(path).status_code
        for path in ("/api/inventory/stock-items/", "/api/ledger/ledgers/", "/api/hr/employees/")
    }
"""


def test_not_onboarded_user_reaches_exempt_module_but_not_protected(project: DjangoProject) -> None:
    result = project.script(ONBOARDING)
    assert isinstance(result, dict)
    mid_onboarding, onboarded = result["False"], result["True"]
    assert mid_onboarding["/api/inventory/stock-items/"] == 200  # registered in EXEMPT_PATHS
    assert mid_onboarding["/api/hr/employees/"] == 403  # the seed's unregistered module, for contrast
    assert mid_onboarding["/api/ledger/ledgers/"] == 403  # --protected
    assert onboarded["/api/ledger/ledgers/"] == 200
    assert onboarded["/api/inventory/stock-items/"] == 200


# -- the admin is tenant-scoped (T31) ---------------------------------------------------------

# Scripts run with project.script() on legacy_erp (whose core is custom_auth.rls): two
# tenant ids and a helper running a function inside a transaction with a tenant's context.
TENANT_SCRIPT = r"""
import uuid

from django.contrib.auth import get_user_model
from django.db import transaction

from custom_auth.rls import set_tenant_context

User = get_user_model()
ta, tb = uuid.uuid4(), uuid.uuid4()


def in_tenant(tenant, fn):
    with transaction.atomic():
        set_tenant_context(tenant)
        return fn()
"""

ADMIN = (
    TENANT_SCRIPT
    + r"""
from django.test import Client

from warehouse.models import Warehouse


wa = in_tenant(ta, lambda: Warehouse.objects.create(tenant_id=ta, name="Alpha depot", code="A1"))
wb = in_tenant(tb, lambda: Warehouse.objects.create(tenant_id=tb, name="Beta depot", code="B1"))
result = {}
for label, tenant in (("a", ta), ("none", None)):
    staff = User.objects.create_user(
        username=f"staff-{label}-{uuid.uuid4().hex[:6]}", password="pw-admin-1!", tenant_id=tenant,
        is_staff=True, is_superuser=True, onboarding_completed=True,
    )
    client = Client()
    assert client.login(username=staff.username, password="pw-admin-1!")
    listing = client.get("/admin/warehouse/warehouse/")
    body = listing.content.decode()
    result[label] = {
        "list": listing.status_code,
        "sees_a": "Alpha depot" in body,
        "sees_b": "Beta depot" in body,
        "own_change": client.get(f"/admin/warehouse/warehouse/{wa.pk}/change/").status_code,
        "other_change": client.get(f"/admin/warehouse/warehouse/{wb.pk}/change/").status_code,
        "other_delete": client.post(f"/admin/warehouse/warehouse/{wb.pk}/delete/", {"post": "yes"}).status_code,
        "add": client.get("/admin/warehouse/warehouse/add/").status_code,
    }
result["b_still_there"] = in_tenant(tb, lambda: Warehouse.objects.filter(pk=wb.pk).count())
"""
)


def test_admin_is_tenant_scoped(project: DjangoProject) -> None:
    """T31: the generated admin lists and opens only the staff user's tenant's rows."""
    result = project.script(ADMIN)
    assert isinstance(result, dict)
    own = result["a"]
    assert own["list"] == 200 and own["sees_a"] and not own["sees_b"]
    assert own["own_change"] == 200
    assert own["other_change"] == 302  # the admin's "does not exist" redirect, like a missing pk
    assert own["other_delete"] == 302 and result["b_still_there"] == 1
    assert own["add"] == 200
    nobody = result["none"]
    assert nobody["list"] == 200 and not nobody["sees_a"] and not nobody["sees_b"]
    assert nobody["own_change"] == 302 and nobody["add"] == 403


# -- idempotency ------------------------------------------------------------------------------


def test_second_identical_run_is_already_up_to_date(project: DjangoProject) -> None:
    assert porcelain(project) == ""
    proc = project.scaffold(*INVENTORY)
    assert proc.returncode == 0 and "already up to date" in proc.stdout
    assert porcelain(project) == ""


def test_migrations_are_reversible(project: DjangoProject) -> None:
    """Runs last: the RLS migration (policy, FORCE, composite keys) unapplies and reapplies."""
    project.manage("migrate", "inventory", "zero", "--noinput", "-v", "0")
    project.manage("migrate", "warehouse", "0001", "--noinput", "-v", "0")
    assert project.db is not None
    with project.db.owner() as conn:
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'warehouse_warehouse'"
        ).fetchone()
        assert row == (False, False)
        assert conn.execute("SELECT to_regclass('inventory_stockitem')").fetchone() == (None,)
    project.migrate()
    out = project.manage("showmigrations", "inventory", "warehouse").stdout
    assert "[ ]" not in out
