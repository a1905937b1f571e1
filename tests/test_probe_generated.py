"""``scaffold probe`` on modules from ``scaffold new-module`` (copy of legacy_erp, real
PostgreSQL, the NOSUPERUSER NOBYPASSRLS CREATEDB runner role: T1, T4).

Generated as a user would: ``warehouse`` (a per-tenant unique field), ``inventory``
(required fk to ``Warehouse``, optional fk to the legacy ``purchasing.Supplier``) and
``ledger`` (``--protected``) probe clean with every check ``ok`` and none skipped. Three
more generated modules are then broken on purpose, one layer at a time:

* ``rlsoff``: a migration turns row-level security off; only the view's filter protects;
* ``rlsonly``: ``get_queryset`` returns ``objects.all()`` (the legacy ``TenantManager``
  returns every row); only RLS protects (the ViewSet still sets the context);
* ``neither``: both: the probe must report the leak.

The first two probe clean, the last leaks (list, retrieve, update, delete). And
``handmade`` (RLS off, the view filter protects) gets what teams add by hand: a list-level
``@action`` that is scoped, one that is not (``Handmade.objects.all()``: the probe must
find it although the list is clean), a detail ``@action`` that writes, and a pair of
generic views (``ListCreateAPIView``, ``RetrieveUpdateDestroyAPIView``). One project and
one probe run (``--select`` on the generated routes) for the whole module.
"""

from __future__ import annotations

import pytest

from scaffold import pattern
from tests.helpers.djproject import DjangoProject, copy_example, git
from tests.helpers.pg import PgDatabase
from tests.helpers.probe import PYPROJECT, VIEWSET_CHECKS, ProbeRun, as_runner, probe

pytestmark = pytest.mark.db

GENERATED = {
    "warehouse": ["--field", "name:str:100", "--field", "code:str:20:unique"],
    "inventory": [
        *("--model", "StockItem"),
        *("--field", "name:str"),
        *("--field", "sku:str:64:unique"),
        *("--field", "price:decimal:10,2"),
        *("--field", "quantity:int"),
        *("--field", "active:bool"),
        *("--field", "notes:text:optional"),
        *("--field", "extra:json"),
        *("--field", "warehouse:fk:Warehouse"),
        *("--field", "supplier:fk:purchasing.Supplier:optional"),
    ],
    "ledger": ["--protected", "--field", "title:str"],
}
BROKEN = ("rlsoff", "rlsonly", "neither", "handmade")

HANDMADE_VIEWS = """

from django.urls import path  # noqa: E402
from rest_framework import generics  # noqa: E402
from rest_framework.decorators import action  # noqa: E402
from rest_framework.response import Response  # noqa: E402


class HandmadeActionsViewSet(HandmadeViewSet):
    @action(detail=False)
    def recent(self, request):
        return Response(self.get_serializer(self.get_queryset()[:5], many=True).data)

    @action(detail=False)
    def everything(self, request):
        return Response(HandmadeSerializer(Handmade.objects.all(), many=True).data)

    @action(detail=True, methods=["post"])
    def touch(self, request, pk=None):
        row = self.get_object()
        row.save()
        return Response({"id": str(row.pk)})


class Scoped:
    serializer_class = HandmadeSerializer
    permission_classes = (IsAuthenticated,)

    def get_queryset(self):
        tenant_id = getattr(self.request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("User is not associated with a tenant.")
        return Handmade.objects.filter(tenant_id=tenant_id)

    def perform_create(self, serializer):
        tenant_id = getattr(self.request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("User is not associated with a tenant.")
        serializer.save(tenant_id=tenant_id)


class HandmadeList(Scoped, generics.ListCreateAPIView):
    pass


class HandmadeDetail(Scoped, generics.RetrieveUpdateDestroyAPIView):
    pass


GENERIC_URLS = [
    path("generic/", HandmadeList.as_view()),
    path("generic/<uuid:pk>/", HandmadeDetail.as_view()),
]
"""
HANDMADE_URLS = """\
from rest_framework.routers import DefaultRouter

from .views import GENERIC_URLS, HandmadeActionsViewSet

router = DefaultRouter()
router.register("handmades", HandmadeActionsViewSet, basename="handmade-handmade")

urlpatterns = router.urls + GENERIC_URLS
"""

NO_RLS = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{m}", "0002_{m}_rls")]

    operations = [
        migrations.RunSQL(
            'ALTER TABLE "{m}_{m}" NO FORCE ROW LEVEL SECURITY; '
            'ALTER TABLE "{m}_{m}" DISABLE ROW LEVEL SECURITY;',
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> DjangoProject:
    proj = copy_example("legacy_erp", tmp_path_factory.mktemp("probegen") / "legacy_erp", pg_database)
    (proj.root / "pyproject.toml").write_text(PYPROJECT)
    for name, args in GENERATED.items():
        proj.scaffold("new-module", name, "--no-input", *args)
    for name in BROKEN:
        proj.scaffold("new-module", name, "--no-input", "--field", "title:str")
    for name in ("rlsoff", "neither", "handmade"):
        (proj.root / name / "migrations" / "0003_no_rls.py").write_text(NO_RLS.format(m=name))
    for name in ("rlsonly", "neither"):
        views = proj.root / name / "views.py"
        model = name.capitalize()
        source = views.read_text()
        filtered = pattern.tenant_filter(f"{model}.objects")  # the secure pattern's one source
        assert source.count(filtered) == 1, source
        views.write_text(source.replace(filtered, f"{model}.objects.all()"))
    with (proj.root / "handmade" / "views.py").open("a") as views:
        views.write(HANDMADE_VIEWS)
    (proj.root / "handmade" / "urls.py").write_text(HANDMADE_URLS)
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-q", "-m", "generated")
    return as_runner(proj)


@pytest.fixture(scope="module")
def run(project: DjangoProject) -> ProbeRun:
    routes = [f"/api/{name}/*" for name in (*GENERATED, *BROKEN)]
    return probe(project, "--format", "json", "--select", ",".join(routes))


def verdicts(run: ProbeRun, module: str) -> dict[tuple[str, str], str]:
    return {(e["route"], e["check"]): e["verdict"] for e in run.checks(f"/api/{module}/")}


def test_runs_as_a_role_rls_binds(run: ProbeRun) -> None:
    database = run.report["database"]
    assert (database["superuser"], database["bypassrls"]) == (False, False)
    assert database["role"].startswith("scaffold_tr_")
    # the generated tables are FORCE'd: the role owns them and is bound all the same
    assert not [t for t in database["unforced_owned_tables"] if not t.startswith("public.crm_")]


@pytest.mark.parametrize("module", list(GENERATED))
def test_generated_module_probes_clean_with_nothing_skipped(run: ProbeRun, module: str) -> None:
    checks = run.checks(f"/api/{module}/")
    assert {e["verdict"] for e in checks} == {"ok"}, [e for e in checks if e["verdict"] != "ok"]
    expected = VIEWSET_CHECKS | ({"create as A with B's parent rows"} if module == "inventory" else set())
    assert sorted(e["check"] for e in checks) == sorted(expected)


def test_foreign_keys_to_the_other_tenant_are_refused(run: ProbeRun) -> None:
    parents = run.verdict("/api/inventory/stock-items/", "create as A with B's parent rows")
    assert parents["verdict"] == "ok" and parents["detail"].startswith("rejected (4"), parents
    created = run.verdict("/api/inventory/stock-items/", "create as A with B's tenant id")
    assert created["verdict"] == "ok", created
    assert created["detail"] == "stored in A (201)" or created["detail"].startswith("rejected (4")


def test_rls_off_view_filter_only_probes_clean(run: ProbeRun) -> None:
    found = verdicts(run, "rlsoff")
    assert set(check for _route, check in found) == VIEWSET_CHECKS and set(found.values()) == {"ok"}, found


def test_view_filter_missing_rls_only_probes_clean(run: ProbeRun) -> None:
    found = verdicts(run, "rlsonly")
    assert set(check for _route, check in found) == VIEWSET_CHECKS and set(found.values()) == {"ok"}, found
    assert "public.rlsonly_rlsonly" not in run.report["database"]["unforced_owned_tables"]


def test_both_missing_leaks(run: ProbeRun) -> None:
    assert run.returncode == 1
    found = verdicts(run, "neither")
    leaks = {check for (_route, check), verdict in found.items() if verdict == "leak"}
    assert leaks == {
        "list as A",
        "retrieve as A on B's row",
        "update as A on B's row",
        "partial_update as A on B's row",
        "destroy as A on B's row",
    }
    assert run.report["summary"]["leaks"] == 5 + 1  # and handmade's unscoped action, as A
    detail = run.verdict("/api/neither/neithers/", "list as A")["detail"]
    assert detail.startswith("B's ids in the response: tenant B's id, B's neither.Neither ")


def test_every_action_and_generic_view_is_probed(run: ProbeRun) -> None:
    found = verdicts(run, "handmade")
    base = "/api/handmade/handmades/"
    # the scoped list-level action is clean, the unscoped one leaks although list is clean
    assert found[(base, "list as A")] == "ok"
    assert found[(f"{base}recent/", "recent as A")] == "ok"
    assert found[(f"{base}everything/", "everything as A")] == "leak"
    everything = run.verdict(f"{base}everything/", "everything as A")["detail"]
    assert everything.startswith("B's ids in the response: tenant B's id, B's handmade.Handmade ")
    # it bypasses get_queryset's guard, but the module's check_permissions (template 0.3.0)
    # refuses a user without a tenant before any handler runs
    assert found[(f"{base}everything/", "everything as user without tenant")] == "ok"
    assert found[(f"{base}everything/", "everything as anonymous")] == "ok"  # IsAuthenticated
    # the detail action that writes: B's row is a 404 and unchanged
    assert found[(f"{base}<pk>/touch/", "touch as A on B's row")] == "ok"
    touch = run.verdict(f"{base}<pk>/touch/", "touch as A on B's row")
    assert touch["method"] == "POST" and touch["detail"].startswith("refused (404)")
    # the generic views get the same checks as a ViewSet's routes
    generic = {check for (route, check) in found if route.startswith("/api/handmade/generic/")}
    assert generic == VIEWSET_CHECKS
    others = {k: v for k, v in found.items() if k[0] != f"{base}everything/"}
    assert set(others.values()) == {"ok"}, others
