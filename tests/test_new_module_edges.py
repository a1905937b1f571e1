"""``scaffold new-module`` at its edges, end to end on PostgreSQL (a copy of
examples/legacy_erp, migrated as the owner, checked as the runtime role):

* two foreign keys whose composite-key constraint names share their first 53 characters
  (they used to truncate to one name: ``migrate`` crashed with DuplicateObject);
* a foreign key to a same-named model of another app (``goods.StockItem`` ->
  ``inventory.StockItem``: the parent is imported under an alias, the queryset is the
  parent's table) and a 30-character model name (the isolation tests stay format-stable);
* the admin refuses a duplicate per-tenant unique value with a form error, not a 500;
* ``--force`` over an applied module keeps its migrations and says to run makemigrations.
"""

from __future__ import annotations

import pytest

from tests.helpers.djproject import DjangoProject, copy_example, git
from tests.helpers.lint import assert_ruff_clean
from tests.test_new_module import TENANT_SCRIPT

DEPOT = ["new-module", "depot", "--no-input", "--model", "Warehouse"]
DEPOT += ["--field", "name:str:100", "--field", "code:str:20:unique"]
INVENTORY = ["new-module", "inventory", "--no-input", "--model", "StockItem", "--field", "name:str"]
PROCUREMENT = [
    "new-module",
    "procurement",
    "--no-input",
    "--model",
    "PurchaseOrderLineItem",
    *("--field", "delivery_warehouse_primary:fk:Warehouse"),
    *("--field", "delivery_warehouse_secondary:fk:Warehouse:optional"),
]
GOODS = [
    "new-module",
    "goods",
    "--no-input",
    "--model",
    "StockItem",
    *("--field", "label:str"),
    *("--field", "item:fk:inventory.StockItem"),
    *("--field", "spare:fk:inventory.StockItem:optional"),
    *("--field", "depot:fk:Warehouse"),
]
LONG_MODEL = "AbcdefghijklmnopqrstuvwxyzAbcd"  # 30 characters, the maximum
LONGEST = ["new-module", "longest", "--no-input", "--model", LONG_MODEL, "--field", "name:str:unique"]
MODULES = ("depot", "inventory", "procurement", "goods", "longest")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database) -> DjangoProject:
    proj = copy_example("legacy_erp", tmp_path_factory.mktemp("edges") / "legacy_erp", pg_database)
    for args in (DEPOT, INVENTORY, PROCUREMENT, GOODS, LONGEST):
        proj.scaffold(*args)
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "generated")
    proj.migrate()
    return proj


def test_generated_code_is_ruff_and_django_clean(project: DjangoProject) -> None:
    assert_ruff_clean(project.root, list(MODULES))
    project.manage("check")
    assert "No changes detected" in project.manage("makemigrations", "--check", "--dry-run").stdout


def test_long_foreign_key_names_get_distinct_constraints(project: DjangoProject) -> None:
    """Both composite keys exist under distinct names of at most 63 bytes."""
    assert project.db is not None
    with project.db.owner() as conn:
        rows = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'procurement_purchaseorderlineitem'::regclass AND contype = 'f' "
            "AND pg_get_constraintdef(oid) LIKE 'FOREIGN KEY (tenant_id,%'"
        ).fetchall()
    names = sorted(name for name, _ in rows)
    assert len(names) == 2 and len(set(names)) == 2, rows
    assert all(len(n.encode()) <= 63 for n in names)
    defs = sorted(definition for _, definition in rows)
    assert "delivery_warehouse_primary_id" in defs[0] and "delivery_warehouse_secondary_id" in defs[1]


def test_same_named_parent_is_imported_under_an_alias(project: DjangoProject) -> None:
    serializers = (project.root / "goods/serializers.py").read_text()
    assert "from inventory.models import StockItem as InventoryStockItem\n" in serializers
    assert "from depot.models import Warehouse\n" in serializers
    assert "from .models import StockItem\n" in serializers
    assert serializers.count("queryset=InventoryStockItem._default_manager.all(),") == 2


FK_OVER_HTTP = (
    TENANT_SCRIPT
    + r"""
from rest_framework.test import APIClient

from depot.models import Warehouse
from goods.models import StockItem as GoodsItem
from inventory.models import StockItem

URL = "/api/goods/stock-items/"


user = User.objects.create_user(username=f"g-{uuid.uuid4().hex[:8]}", password="pw-goods-1!", tenant_id=ta)
client = APIClient()
client.force_authenticate(user)
own = in_tenant(ta, lambda: StockItem.objects.create(tenant_id=ta, name="own"))
theirs = in_tenant(tb, lambda: StockItem.objects.create(tenant_id=tb, name="theirs"))
depot = in_tenant(ta, lambda: Warehouse.objects.create(tenant_id=ta, name="D", code="D1"))
# a goods row of tenant A: its pk must not be accepted as an inventory item
decoy = in_tenant(ta, lambda: GoodsItem.objects.create(tenant_id=ta, label="decoy", item=own, depot=depot))


def post(item):
    body = {"label": "x", "item": str(item), "depot": str(depot.pk)}
    resp = client.post(URL, body, format="json")
    return [resp.status_code, sorted(resp.json())]


result = {
    "own": post(own.pk),
    "theirs": post(theirs.pk),
    "missing": post(uuid.uuid4()),
    "goods_pk": post(decoy.pk),
}
"""
)


def test_foreign_key_to_same_named_model_is_validated_over_http(project: DjangoProject) -> None:
    result = project.script(FK_OVER_HTTP)
    assert isinstance(result, dict)
    assert result["own"][0] == 201, result
    for case in ("theirs", "missing", "goods_pk"):
        assert result[case] == [400, ["item"]], (case, result)


def test_generated_module_tests_pass(project: DjangoProject) -> None:
    project.run_module_tests("procurement", "goods", "longest")


ADMIN_DUPLICATE = (
    TENANT_SCRIPT
    + r"""
from django.test import Client

from depot.models import Warehouse


in_tenant(tb, lambda: Warehouse.objects.create(tenant_id=tb, name="B", code="SHARED"))
staff = User.objects.create_user(
    username=f"staff-{uuid.uuid4().hex[:6]}", password="pw-admin-1!", tenant_id=ta,
    is_staff=True, is_superuser=True, onboarding_completed=True,
)
client = Client()
client.raise_request_exception = False
assert client.login(username=staff.username, password="pw-admin-1!")
add = "/admin/depot/warehouse/add/"
first = client.post(add, {"name": "A", "code": "SHARED"})  # B's value is free for A
second = client.post(add, {"name": "A again", "code": "SHARED"})
own = in_tenant(ta, lambda: Warehouse.objects.get(tenant_id=ta, code="SHARED"))
other = in_tenant(ta, lambda: Warehouse.objects.create(tenant_id=ta, name="Other", code="OTHER"))
change = client.post(f"/admin/depot/warehouse/{other.pk}/change/", {"name": "Other", "code": "SHARED"})
keep = client.post(f"/admin/depot/warehouse/{own.pk}/change/", {"name": "Renamed", "code": "SHARED"})
result = {
    "first": first.status_code,
    "second": second.status_code,
    "second_error": "This value already exists." in second.content.decode(),
    "change": change.status_code,
    "change_error": "This value already exists." in change.content.decode(),
    "keep": keep.status_code,
    "rows_a": in_tenant(ta, lambda: sorted(Warehouse.objects.values_list("code", "name"))),
}
"""
)


def test_admin_refuses_a_duplicate_unique_value_with_a_form_error(project: DjangoProject) -> None:
    """T31: the admin form checks UNIQUE(tenant_id, code); a duplicate is a form error, not a 500."""
    result = project.script(ADMIN_DUPLICATE)
    assert isinstance(result, dict)
    assert result["first"] == 302  # saved, redirected to the list
    assert (result["second"], result["second_error"]) == (200, True)
    assert (result["change"], result["change_error"]) == (200, True)
    assert result["keep"] == 302  # saving a row with its own value is no duplicate
    assert result["rows_a"] == [["OTHER", "Other"], ["SHARED", "Renamed"]]


def test_force_keeps_applied_migrations_and_asks_for_makemigrations(project: DjangoProject) -> None:
    """Runs last: regenerating an applied module with another field keeps 0001/0002 as they
    are (migrate would not run a rewritten 0001 again) and tells the owner what to do."""
    migrations = project.root / "inventory" / "migrations"
    before = {p.name: p.read_bytes() for p in migrations.glob("0*.py")}
    args = [*INVENTORY, "--field", "quantity:int:optional", "--force"]
    proc = project.scaffold(*args)
    note = [line for line in proc.stdout.splitlines() if "makemigrations inventory" in line]
    assert len(note) == 1 and "0001_initial.py" in note[0], proc.stdout
    assert {p.name: p.read_bytes() for p in migrations.glob("0*.py")} == before
    assert "quantity = models.IntegerField(" in (project.root / "inventory/models.py").read_text()
    project.manage("makemigrations", "inventory", "-v", "0")
    project.migrate()
    assert "No changes detected" in project.manage("makemigrations", "--check", "--dry-run").stdout
    rows = project.script(
        """
import uuid
from django.db import transaction
from custom_auth.rls import set_tenant_context
from inventory.models import StockItem
tenant = uuid.uuid4()
with transaction.atomic():
    set_tenant_context(tenant)
    StockItem.objects.create(tenant_id=tenant, name="n", quantity=3)
    result = list(StockItem.objects.values_list("quantity", flat=True))
"""
    )
    assert rows == [3]
    # the second identical run changes nothing and keeps the new migration
    again = project.scaffold(*args)
    assert "already up to date" in again.stdout
