"""The one view analysis (scaffold.analysis): the idioms it understands, the disagreements
it removed, and what it refuses to act on. Before/after through migrate-viewsets, findings
through audit, on minimal fixtures of our own (tests/fixtures/analysis_idioms)."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from scaffold.audit import audit
from scaffold.cli import main
from scaffold.migrate import migrate_viewsets
from tests.helpers.rewrite import rewrite

IDIOMS = Path(__file__).parent / "fixtures" / "analysis_idioms"
EXPECT = re.compile(r"#\s*expect:\s*(TEN\d{3})")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    shutil.copytree(IDIOMS, root)
    return root


def test_idioms_fixture_findings_are_exactly_the_marked_lines(tmp_path: Path) -> None:
    root = _project(tmp_path)
    want = {
        (p.relative_to(root).as_posix(), n, m.group(1))
        for p in root.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if (m := EXPECT.search(line))
    }
    report = audit(root, select="TEN001", jobs=1, cache=False)
    assert {(f.path, f.line, f.code) for f in report.findings} == want
    # the views it could not judge are named, never passed over in silence
    assert {v for _, _, v, _ in report.not_judged} == {"TenantsThemselves", "ThingsOfAnUnknownModel"}
    assert "views recognised" in report.summary()


def test_idioms_fixture_rewrites_only_unscoped_views(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = (root / "app" / "views.py").read_text()
    result = migrate_viewsets(root, jobs=1, cache=False)
    after = (root / "app" / "views.py").read_text()
    ast.parse(after)
    changed = {
        node.name
        for old, node in zip(
            (n for n in ast.parse(before).body if isinstance(n, ast.ClassDef)),
            (n for n in ast.parse(after).body if isinstance(n, ast.ClassDef)),
            strict=True,
        )
        if ast.dump(old) != ast.dump(node)
    }
    assert changed == {
        "AccountsThroughConditionalAlias",
        "ApiKeysOnThirdPartyBase",
        "OrdersUnstamped",
        "OrdersOfAnyExistingProject",
        "OrdersOfAnyProjectViaLocal",
        "OrdersInCorrelatedSubquery",
    }
    manual = "\n".join(m.message for _, m in result.report.manual)
    # URL-scoped tenancy (a membership decorator): unscoped, but never rewritten to the
    # request.user.<attr> pattern - its tenant comes from the URL; a human scopes it
    assert "OrdersOfUrlTenantOneAction takes its tenant from the URL" in manual
    assert "Tenant, the tenant model itself" in manual
    assert "vendor_lib.models.Thing" in manual
    # DEFAULT_PERMISSION_CLASSES = IsAuthenticated in settings: no permission_classes added
    assert "IsAuthenticated" not in after
    assert migrate_viewsets(root, check=True, jobs=1, cache=False).exit_code == 0  # idempotent


def test_and_assign_of_a_scoped_queryset_is_scoped_for_both_commands(tmp_path: Path) -> None:
    """qs &= X.objects.filter(tenant_id=...) was clean for audit, manual review for migrate."""
    source = """\
    from rest_framework import viewsets
    from rest_framework.permissions import IsAuthenticated

    from app.models import Supplier


    class V(viewsets.ReadOnlyModelViewSet):
        permission_classes = [IsAuthenticated]

        def get_queryset(self):
            qs = Supplier.objects.all()
            qs &= Supplier.objects.filter(tenant_id=self.request.user.tenant_id)
            return qs
    """
    new, result = rewrite(source)
    assert result.status == "unchanged" and not result.manual, result.messages


def test_unknown_model_is_never_rewritten(tmp_path: Path) -> None:
    source = """\
    from rest_framework import viewsets

    from vendor.models import Thing


    class V(viewsets.ModelViewSet):
        queryset = Thing.objects.all()
    """
    new, result = rewrite(source)
    assert result.status == "manual"
    assert "vendor.models.Thing" in result.manual[0].message


def test_tenant_model_itself_is_never_rewritten() -> None:
    source = """\
    from rest_framework import viewsets

    from app.models import Tenant


    class V(viewsets.ModelViewSet):
        queryset = Tenant.objects.all()
    """
    models = "from django.db import models\n\n\nclass Tenant(models.Model):\n    name = models.CharField()\n"
    new, result = rewrite(source, files={"app/models.py": models})
    assert result.status == "manual" and b"tenant_id=" not in new
    assert "the tenant model itself" in result.manual[0].message


@pytest.mark.parametrize(
    "save, stamped",
    [
        (
            "serializer.save(\n            owner=self.request.user,\n        )",
            "serializer.save(\n            owner=self.request.user,\n            tenant_id=tenant_id,\n        )",
        ),
        (
            "serializer.save(\n            owner=self.request.user\n        )",
            "serializer.save(\n            owner=self.request.user,\n            tenant_id=tenant_id\n        )",
        ),
        (
            "serializer.save(owner=self.request.user)",
            "serializer.save(owner=self.request.user, tenant_id=tenant_id)",
        ),
    ],
    ids=["trailing-comma", "one-per-line", "one-line"],
)
def test_inserted_keyword_follows_the_call_layout(save: str, stamped: str) -> None:
    source = f"""\
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from app.models import Supplier


class V(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return Supplier.objects.filter(tenant_id=self.request.user.tenant_id)

    def perform_create(self, serializer):
        {save}
"""
    new, result = rewrite(source, dedent=False)
    assert result.status == "rewritten", result.messages
    text = new.decode()
    ast.parse(text)
    assert stamped in text, text


@pytest.mark.parametrize(
    "key, value",
    [
        ("scoping_helpers", '["app.x", 3]'),
        ("membership_permissions", '"app.perms.IsMember"'),
        ("tenant_models", '["not a name"]'),
        ("global_models", "true"),
        ("published_models", '["boards.models.ShareLink", ""]'),
    ],
)
def test_analysis_keys_are_validated(key: str, value: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = _project(tmp_path)
    (root / "pyproject.toml").write_text(f"[tool.scaffold]\n{key} = {value}\n")
    before = (root / "app" / "views.py").read_text()
    assert main(["migrate-viewsets", "--project", str(root), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"[tool.scaffold] {key}" in err[0] and "pyproject.toml" in err[0]
    assert (root / "app" / "views.py").read_text() == before


def test_zero_views_recognised_is_said(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A project with its own copy of DRF: scaffold recognises no view and says so."""
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "app" / "views.py").write_text(
        "from app.drf import viewsets\n\n\nclass V(viewsets.ModelViewSet):\n    queryset = None\n"
    )
    assert main(["audit", "--project", str(root), "--no-cache"]) == 0
    assert "0 views recognised, 0 analysed" in capsys.readouterr().out
    assert main(["migrate-viewsets", "--project", str(root), "--no-cache", "--check"]) == 0
    assert "0 views recognised, 0 analysed" in capsys.readouterr().out


REALWORLD = Path(__file__).parent / "fixtures" / "realworld_idioms"
VIEW_MARK = re.compile(r"^class (\w+).*#\s*expect:\s*(TEN001|clean)")


@pytest.mark.parametrize(
    "fixture",
    sorted(p for p in REALWORLD.iterdir() if (p / "manage.py").exists()) if REALWORLD.is_dir() else [],
    ids=lambda p: p.name,
)
def test_realworld_idioms_per_view_verdicts(fixture: Path, tmp_path: Path) -> None:
    """Each idiom met in public code bases, reduced to a fixture with per-view markers
    (tests/fixtures/realworld_idioms/README.md): `TEN001` views are reported by audit and
    rewritten or sent to manual review; `clean` views get no TEN001-TEN004 finding, no rewrite
    and no manual-review claim."""
    root = tmp_path / fixture.name
    shutil.copytree(fixture, root)
    want = {
        (p.relative_to(root).as_posix(), m.group(1)): m.group(2)
        for p in root.rglob("*.py")
        for line in p.read_text().splitlines()
        if (m := VIEW_MARK.match(line))
    }
    assert want, f"{fixture} marks no view"
    report = audit(root, select="TEN001,TEN002,TEN003,TEN004", jobs=1, cache=False)
    codes: dict[tuple[str, str], set[str]] = {}
    for f in report.findings:
        codes.setdefault((f.path, f.symbol.split(".")[0]), set()).add(f.code)
    result = migrate_viewsets(root, check=True, jobs=1, cache=False)
    acted = {(res.rel, m.symbol) for res in result.report.results for m in res.messages if m.kind == "manual"}
    acted |= {
        (res.rel, m.symbol)
        for res in result.report.results
        for m in res.messages
        if m.kind == "view" and "; rewrite" in m.message
    }
    wrong = []
    for view, expect in sorted(want.items()):
        if expect == "TEN001" and ("TEN001" not in codes.get(view, set()) or view not in acted):
            wrong.append(
                f"{view}: expected TEN001 and a rewrite or review, got {codes.get(view)}, acted={view in acted}"
            )
        if expect == "clean" and (codes.get(view) or view in acted):
            wrong.append(f"{view}: expected clean, got {codes.get(view)}, acted={view in acted}")
    assert not wrong, "\n".join(wrong)


def test_url_scoped_views_are_never_rewritten_to_the_user_pattern(tmp_path: Path) -> None:
    """A view whose tenant comes from the URL (workspace__slug=self.kwargs["slug"]) and is not
    scoped (no membership check) is manual review: rewriting it to request.user.<attr> would
    invent a tenant attribute the project does not have."""
    root = tmp_path / "url_kwarg_membership"
    shutil.copytree(REALWORLD / "url_kwarg_membership", root)
    before = (root / "shop" / "views.py").read_text()
    result = migrate_viewsets(root, jobs=1, cache=False)
    assert (root / "shop" / "views.py").read_text() == before
    manual = {m.symbol: m.message for _, m in result.report.manual}
    assert "PeekLabelViewSet" in manual
    assert "takes its tenant from the URL" in manual["PeekLabelViewSet"]


def test_client_chosen_relations_are_reported_for_review_and_never_rewritten(tmp_path: Path) -> None:
    """A write whose tenant (or the parent save() derives it from) the client chose, or whose
    unchecked body id the answer reads through, is TEN001 in audit (not fixable) and one
    manual-review line per relation in migrate-viewsets, which rewrites nothing."""
    root = tmp_path / "client_chosen_relations"
    shutil.copytree(REALWORLD / "client_chosen_relations", root)
    views = root / "shop" / "views.py"
    before = views.read_text()
    report = audit(root, select="TEN001", jobs=1, cache=False)
    found = {(f.symbol.split(".")[0], f.line): f for f in report.findings}
    assert all(f.fixable is False for f in report.findings)
    by_view = {view: f.message for (view, _), f in found.items()}
    assert "project_id= taken from the URL" in by_view["TaskViewSet"]
    assert "covers on create" in by_view["TaskViewSet"]
    assert "from the request body" in by_view["MoveTaskEndpoint"]
    assert (
        "linked_id=" in by_view["TaskLinkViewSet"]
        and "reads another tenant's Task" in by_view["TaskLinkViewSet"]
    )
    result = migrate_viewsets(root, jobs=1, cache=False)
    assert views.read_text() == before
    manual = {(m.symbol, m.line) for _, m in result.report.manual}
    assert set(found) <= manual  # every finding is a manual-review line at the same place


def test_a_routed_view_of_an_unreadable_queryset_is_not_judged_by_either_command(tmp_path: Path) -> None:
    """get_queryset returns what scaffold cannot read (a property of the user). A base class
    would be skipped, but the urlconf mounts this one: audit names it as not judged and
    migrate-viewsets asks for manual review; neither passes it in silence."""
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "pyproject.toml").write_text('[tool.scaffold]\ntenant_field = "organization_id"\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "views.py").write_text(
        "from rest_framework import viewsets\n\n\n"
        "class TeamViewSet(viewsets.ReadOnlyModelViewSet):\n"
        "    def get_queryset(self):\n"
        "        return self.request.user.available_teams\n"
    )
    (root / "app" / "urls.py").write_text(
        "from rest_framework.routers import DefaultRouter\n\nfrom app.views import TeamViewSet\n\n"
        'router = DefaultRouter()\nrouter.register("teams", TeamViewSet, basename="team")\n'
        "urlpatterns = router.urls\n"
    )
    report = audit(root, select="TEN001", jobs=1, cache=False)
    assert not report.findings
    assert {v for _, _, v, _ in report.not_judged} == {"TeamViewSet"}
    result = migrate_viewsets(root, check=True, jobs=1, cache=False)
    assert {m.symbol for _, m in result.report.manual} == {"TeamViewSet"}


def test_a_write_path_migrate_cannot_judge_is_not_judged_by_audit_either(tmp_path: Path) -> None:
    """The queryset is scoped but create() builds the row without serializer.save():
    migrate-viewsets cannot tell how the tenant is stamped and asks for manual review, so
    audit names the view as not judged instead of passing it."""
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "pyproject.toml").write_text('[tool.scaffold]\ntenant_field = "tenant_id"\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(
        "from django.db import models\n\n\nclass Token(models.Model):\n"
        "    tenant_id = models.IntegerField()\n    name = models.CharField(max_length=20)\n"
    )
    (root / "app" / "views.py").write_text(
        "from rest_framework import viewsets\nfrom rest_framework.permissions import IsAuthenticated\n"
        "from rest_framework.response import Response\n\nfrom app.models import Token\n\n\n"
        "class TokenViewSet(viewsets.ModelViewSet):\n"
        "    permission_classes = [IsAuthenticated]\n\n"
        "    def get_queryset(self):\n"
        "        return Token.objects.filter(tenant_id=self.request.user.tenant_id)\n\n"
        "    def create(self, request):\n"
        "        token = Token.objects.create(tenant_id=request.user.tenant_id, name=request.data['name'])\n"
        "        return Response({'id': token.pk})\n"
    )
    report = audit(root, select="TEN001", jobs=1, cache=False)
    assert not report.findings
    result = migrate_viewsets(root, check=True, jobs=1, cache=False)
    manual = {m.symbol for _, m in result.report.manual}
    assert {v for _, _, v, _ in report.not_judged} == manual == {"TokenViewSet"}


def test_detail_actions_the_analysis_drops_are_reported_as_route_kwarg_mismatch(tmp_path: Path) -> None:
    """DRF's retrieve / update routed on a path without the view's lookup kwarg serve no rows
    (the analysis leaves them out of the view's actions): TEN010 reports exactly those routes,
    and not the ones whose route captures the lookup kwarg, whose get_object() is overridden or
    whose dispatch() fills the kwarg in."""
    root = tmp_path / "detail_route_without_lookup"
    shutil.copytree(REALWORLD / "detail_route_without_lookup", root)
    report = audit(root, select="TEN010", jobs=1, cache=False)
    assert {(f.path, f.symbol) for f in report.findings} == {
        ("proj/urls.py", "CardViewSet"),
        ("proj/urls.py", "NoteCardViewSet"),
        ("proj/urls.py", "TimedCardViewSet"),
    }


def test_an_include_prefix_that_may_capture_the_lookup_kwarg_keeps_detail_actions_served(
    tmp_path: Path,
) -> None:
    """The same routes mounted under ``include()`` below a prefix capturing ``pk``: DRF's
    retrieve / update may get their kwarg from there, so they still serve the unchecked rows;
    a view whose lookup kwarg is ``note_pk`` still gets none."""
    root = tmp_path / "detail_route_without_lookup"
    shutil.copytree(REALWORLD / "detail_route_without_lookup", root)
    (root / "shop" / "urls.py").write_text((root / "proj" / "urls.py").read_text())
    (root / "proj" / "urls.py").write_text(
        "from django.urls import include, path\n\n"
        'urlpatterns = [path("tenants/<int:pk>/", include("shop.urls"))]\n'
    )
    report = audit(root, select="TEN001", jobs=1, cache=False)
    flagged = {f.symbol.split(".")[0] for f in report.findings}
    assert {"CardViewSet", "TimedCardViewSet"} <= flagged
    assert "NoteCardViewSet" not in flagged


MUTUAL = """\
from rest_framework import viewsets

from app.models import Order


class OrderViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        if self.request.query_params.get("everything"):
            return Order.objects.all()
        return self.narrowed()

    def narrowed(self):
        return self.get_queryset().filter(tenant_id=self.request.user.tenant_id)
"""


def _order_view(tmp_path: Path) -> tuple[object, object]:
    from scaffold.analysis import Analyzer, Settings, class_ref
    from scaffold.index import ProjectIndex

    root = tmp_path / "mutual"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(
        "from django.db import models\n\n\nclass Order(models.Model):\n"
        "    tenant_id = models.IntegerField()\n"
    )
    (root / "app" / "views.py").write_text(MUTUAL)
    index = ProjectIndex(root)
    view = class_ref(index, "app.views.OrderViewSet")
    assert view is not None
    return Analyzer(view, index, Settings()), view


def test_a_views_analysis_does_not_depend_on_which_method_is_asked_first(tmp_path: Path) -> None:
    """get_queryset and a helper call each other: evaluating the helper first cuts the call
    back into it short inside get_queryset; that answer must not become get_queryset's."""
    first, _ = _order_view(tmp_path)
    result = first.analyze()
    assert result is not None

    second, view = _order_view(tmp_path / "again")
    helper = view.method("narrowed")
    assert helper is not None
    second.flow.returns(view, helper)  # a reader that asks about the helper first
    again = second.analyze()
    assert again is not None

    scopes = [r.scope.name for r in result.returns]
    assert scopes == ["UNSCOPED", "TENANT"]  # every row on one path, the tenant's on the other
    assert [r.scope.name for r in again.returns] == scopes
    assert again.verdict == result.verdict == "unscoped"
