"""Each rule against its fixture project: every line marked ``# expect: CODE`` is reported,
and nothing else is (negative cases, aliases, mixins and ``# noqa`` lines must not fire)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scaffold.audit import audit
from scaffold.rules import all_rules
from tests.helpers.audit_fixtures import AUDIT_FIXTURES, audit_fixture

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>TEN\d{3}(?:\s*,\s*TEN\d{3})*)")
STATIC = [r.code for r in all_rules() if r.scope == "file"]


def expected(root: Path, prefix: str = "TEN") -> set[tuple[str, int, str]]:
    out = set()
    for path in sorted(root.rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match.group("codes").split(","):
                    if code.strip().startswith(prefix):
                        out.add((path.relative_to(root).as_posix(), lineno, code.strip()))
    return out


def reported(root: Path, select: str) -> set[tuple[str, int, str]]:
    report = audit(root, select=select, jobs=1, cache=False)
    return {(f.path, f.line, f.code) for f in report.findings}


@pytest.mark.parametrize("code", STATIC)
def test_rule_fixture(code: str, tmp_path: Path) -> None:
    assert (AUDIT_FIXTURES / code).is_dir(), f"every static rule needs a fixture project: {code}"
    root = audit_fixture(code, tmp_path)
    want = expected(root)
    assert want, f"{root} marks no expected finding"
    assert {w for w in want if w[2] == code}, f"{root} marks no {code} finding"
    # Fixture projects for TEN001-TEN004 share models; only compare codes the fixture is about.
    codes = ",".join(sorted({c for _, _, c in want}))
    assert reported(root, codes) == want


def test_precision_base_classes_mixins_owner_filters_and_configured_field(tmp_path: Path) -> None:
    """business_id via config, scoping through a cross-file mixin and base class, owner filters."""
    root = audit_fixture("precision", tmp_path)
    assert reported(root, "TEN00") == expected(root)


def test_scoping_what_counts_as_scoped_to_the_requesting_tenant(tmp_path: Path) -> None:
    """Q objects under | or ~, client-chosen tenants, union / | / or, exclude and non-equality
    lookups, reassignment, dynamic models, handler-only files, filter_queryset mixins,
    serializers that expose the tenant, AllowAny | X and [AllowAny, X]."""
    root = audit_fixture("scoping", tmp_path)
    assert reported(root, "TEN001,TEN003") == expected(root)


def test_findings_carry_symbol_message_and_fixable(tmp_path: Path) -> None:
    report = audit(audit_fixture("TEN001", tmp_path), select="TEN001", jobs=1, cache=False)
    by_line = {f.line: f for f in report.findings}
    f = by_line[16]
    assert (f.path, f.column, f.symbol, f.fixable) == ("shop/views.py", 5, "AttrOnly", True)
    assert "AttrOnly" in f.message and "Order" in f.message


def test_noqa_and_per_file_ignores(tmp_path: Path) -> None:
    root = audit_fixture("TEN050", tmp_path)
    assert reported(root, "TEN050")
    (root / "pyproject.toml").write_text('[tool.scaffold]\nper_file_ignores = { "shop/*" = ["TEN05"] }\n')
    report = audit(root, select="TEN050", jobs=1, cache=False)
    assert report.findings == [] and report.silenced == len(expected(root)) + 1  # + the `# noqa` line


def test_framework_not_imported_means_no_findings(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "app" / "views.py").write_text(
        "class ModelViewSet:\n    pass\n\n\nclass V(ModelViewSet):\n    queryset = Thing.objects.all()\n"
        "\n\ndef authenticate(request):\n    return (1, 2)\n"
    )
    assert audit(root, jobs=1, cache=False).findings == []


def test_transaction_local_context_is_fine_with_atomic_requests(tmp_path: Path) -> None:
    root = audit_fixture("TEN050", tmp_path)
    settings = root / "proj" / "settings.py"
    settings.write_text(settings.read_text() + 'DATABASES = {"default": {"ATOMIC_REQUESTS": True}}\n')
    lost = [
        f
        for f in audit(root, select="TEN050", jobs=1, cache=False).findings
        if "transaction-locally" in f.message
    ]
    assert lost == []


def test_scaffolds_own_tenancy_core_is_audit_clean(tmp_path: Path) -> None:
    """`scaffold init` renders the tenancy core into a project that has none; the audit has
    nothing to say about it (it is the reference the rules describe)."""
    import subprocess
    import sys

    from tests.helpers.djproject import git_init

    root = audit_fixture("precision", tmp_path)
    git_init(root)
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "init", "--no-input", "--project", str(root)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    core = [
        p
        for p in root.rglob("*.py")
        if "set_tenant_context" in p.read_text() and "def set_tenant_context" in p.read_text()
    ]
    assert core, "init wrote no tenancy core"
    findings = audit(root, jobs=1, cache=False).findings
    package = core[0].relative_to(root).parts[0]
    assert not [f for f in findings if f.path.startswith(f"{package}/")]


# -- audit and migrate-viewsets agree on what is scoped ------------------------------------
# The same get_queryset bodies through both analyzers: a leak is a TEN001 finding for audit
# and, for migrate-viewsets, a rewrite or a manual-review note (never "already scoped");
# a scoped body is clean for both.
GUARD = """\
tenant_id = getattr(self.request.user, "tenant_id", None)
if not tenant_id:
    raise PermissionDenied("no tenant")
"""
LEAKS = {
    "q-or": GUARD + 'return Supplier.objects.filter(Q(tenant_id=tenant_id) | Q(name="public"))',
    "q-not": GUARD + "return Supplier.objects.filter(~Q(tenant_id=tenant_id))",
    "query-param": 'tid = self.request.query_params.get("tenant")\nreturn Supplier.objects.filter(tenant_id=tid)',
    "body": 'tid = self.request.data["tenant"]\nreturn Supplier.objects.filter(tenant_id=tid)',
    "url-kwarg": 'tid = self.kwargs["tenant"]\nreturn Supplier.objects.filter(tenant_id=tid)',
    "union": GUARD + "return Supplier.objects.filter(tenant_id=tenant_id).union(Supplier.objects.all())",
    "bit-or": GUARD
    + "qs1 = Supplier.objects.filter(tenant_id=tenant_id)\nreturn qs1 | Supplier.objects.all()",
    "or": GUARD + "return Supplier.objects.filter(tenant_id=tenant_id) or Supplier.objects.all()",
    "exclude": GUARD + "return Supplier.objects.exclude(tenant_id=tenant_id)",
    "isnull": GUARD + "return Supplier.objects.filter(tenant_id__isnull=False)",
    "gt": GUARD + "return Supplier.objects.filter(tenant_id__gt=tenant_id)",
    "constant": "return Supplier.objects.filter(tenant_id=1)",
    "reassigned": GUARD
    + "qs = Supplier.objects.filter(tenant_id=tenant_id)\n"
    + "if self.request.user.is_staff:\n    qs = Supplier.objects.all()\nreturn qs",
    "list-comp": "return [s for s in Supplier.objects.all()]",
    "dynamic-model": "return self.get_model().objects.all()",
    "for-tenant-from-query": 'return Supplier.objects.for_tenant(self.request.query_params.get("tenant"))',
    "for-tenant-from-url": 'return Supplier.objects.for_tenant(tenant_id=self.kwargs["tenant"])',
    "for-tenant-constant": "return Supplier.objects.for_tenant(1)",
    "in-with-another": GUARD
    + 'return Supplier.objects.filter(tenant_id__in=[tenant_id, self.request.query_params["t"]])',
    "in-list-local-grown": "tids = [self.request.user.tenant_id]\ntids.append(self.request.query_params['t'])\n"
    + "return Supplier.objects.filter(tenant_id__in=tids)",
    "q-local-or": GUARD
    + 'cond = Q(tenant_id=tenant_id) | Q(name="public")\nreturn Supplier.objects.filter(cond)',
    "q-local-reassigned": GUARD
    + 'cond = Q(tenant_id=tenant_id)\nif self.request.query_params.get("all"):\n    cond = Q(name="public")\n'
    + "return Supplier.objects.filter(cond)",
    "kwargs-local-mutated": GUARD
    + 'filters = {"tenant_id": tenant_id}\nfilters["tenant_id"] = self.request.query_params["t"]\n'
    + "return Supplier.objects.filter(**filters)",
}
SCOPED = {
    "pattern": GUARD + "return Supplier.objects.filter(tenant_id=tenant_id)",
    "q-and": GUARD + 'return Supplier.objects.filter(Q(name="a") & Q(tenant_id=tenant_id))',
    "q-plain": GUARD + "return Supplier.objects.filter(Q(tenant_id=tenant_id))",
    "exact": GUARD + "return Supplier.objects.filter(tenant_id__exact=tenant_id)",
    "user-attr": "return Supplier.objects.filter(tenant_id=self.request.user.tenant_id)",
    "refined": GUARD
    + "qs = Supplier.objects.filter(tenant_id=tenant_id)\n"
    + 'if self.request.query_params.get("n"):\n    qs = qs.filter(name=self.request.query_params["n"])\nreturn qs',
    "helper": "return Supplier.objects.filter(tenant_id=self.get_tenant_id())",
    "filtered-where-the-other-path-raises": 'qs = Supplier.objects.order_by("name")\n'
    + "if self.request.user.tenant_id:\n    qs = qs.filter(tenant_id=self.request.user.tenant_id)\n"
    + 'else:\n    raise PermissionDenied("no tenant")\nreturn qs',
    "for-tenant-user": "return Supplier.objects.for_tenant(self.request.user.tenant_id)",
    "for-tenant-local": GUARD + "return Supplier.objects.for_tenant(tenant_id=tenant_id)",
    "for-tenant-no-argument": "return Supplier.objects.for_tenant()",
    "for-request": "return Supplier.objects.for_request(self.request)",
    "for-user": "return Supplier.objects.for_user(self.request.user)",
    "in-list-local": "tid = self.request.user.tenant_id\nreturn Supplier.objects.filter(tenant_id__in=[tid])",
    "in-tuple-local": GUARD + "return Supplier.objects.filter(tenant_id__in=(tenant_id,))",
    "in-tuple-held-in-local": "tids = (self.request.user.tenant_id,)\nreturn Supplier.objects.filter(tenant_id__in=tids)",
    "q-local": GUARD + 'cond = Q(tenant_id=tenant_id) & Q(name="a")\nreturn Supplier.objects.filter(cond)',
    "kwargs-local": GUARD + 'filters = {"tenant_id": tenant_id}\nreturn Supplier.objects.filter(**filters)',
}
VIEW = """\
from django.db.models import Q
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from app.models import Supplier


class SupplierViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated]

    def get_tenant_id(self):
        tenant_id = getattr(self.request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("no tenant")
        return tenant_id

    def get_queryset(self):
{body}
"""


def _audit_and_migrate(views_source: str, tmp_path: Path) -> tuple[list[Any], Any]:
    """TEN001 findings and the migrate-viewsets result for one views module over the
    shared test models."""
    from scaffold import engine
    from scaffold.migrate import MigrateViewSets
    from scaffold.project import iter_python_files
    from tests.helpers.rewrite import MODELS

    (tmp_path / "manage.py").write_text("")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "models.py").write_text(MODELS)
    views = tmp_path / "app" / "views.py"
    views.write_text(views_source)
    findings = audit(tmp_path, select="TEN001", jobs=1, cache=False).findings
    report = engine.run(
        [MigrateViewSets()],
        iter_python_files(tmp_path, (), [views]),
        root=tmp_path,
        settings={"tenant_field": "tenant_id", "user_tenant_attr": "tenant_id"},
        jobs=1,
        cache=False,
    )
    (result,) = report.results
    return findings, result


def _both(body: str, tmp_path: Path) -> tuple[set[str], str]:
    findings, result = _audit_and_migrate(
        VIEW.format(body="\n".join("        " + line for line in body.splitlines())), tmp_path
    )
    return {f.code for f in findings}, result.status


@pytest.mark.parametrize("body", LEAKS.values(), ids=list(LEAKS))
def test_audit_and_migrate_agree_on_leaks(body: str, tmp_path: Path) -> None:
    codes, status = _both(body, tmp_path)
    assert "TEN001" in codes
    assert status in ("rewritten", "manual")


@pytest.mark.parametrize("body", SCOPED.values(), ids=list(SCOPED))
def test_audit_and_migrate_agree_on_scoped(body: str, tmp_path: Path) -> None:
    codes, status = _both(body, tmp_path)
    assert codes == set()
    assert status == "unchanged"


GET_OBJECT = """\
from django.shortcuts import get_object_or_404
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from app.models import Supplier


class SupplierViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        tenant_id = self.request.user.tenant_id
        if not tenant_id:
            raise PermissionDenied("no tenant")
        return Supplier.objects.filter(tenant_id=tenant_id)

    def get_object(self):
        {body}
"""


@pytest.mark.parametrize(
    ("body", "leaks"),
    [
        ('return Supplier.objects.get(pk=self.kwargs["pk"])', True),
        ('return get_object_or_404(Supplier, pk=self.kwargs["pk"])', True),
        ('return get_object_or_404(self.filter_queryset(self.get_queryset()), pk=self.kwargs["pk"])', False),
        ('return self.get_queryset().get(pk=self.kwargs["pk"])', False),
        ('return Supplier.objects.get(pk=self.kwargs["pk"], tenant_id=self.request.user.tenant_id)', False),
    ],
    ids=["manager", "get_object_or_404", "filter_queryset", "get_queryset", "filtered"],
)
def test_audit_and_migrate_agree_on_get_object(body: str, leaks: bool, tmp_path: Path) -> None:
    """An overridden get_object() serves retrieve / update / destroy: a manager query there
    bypasses get_queryset. audit reports it (TEN001) where migrate-viewsets asks for review."""
    findings, result = _audit_and_migrate(GET_OBJECT.format(body=body), tmp_path)
    line = GET_OBJECT.count("\n")
    found = {(f.code, f.line) for f in findings}
    if leaks:
        assert found == {("TEN001", line)}
        assert result.status == "manual"
        assert [m.line for m in result.messages if m.kind != "view"] == [line], result.messages
    else:
        assert found == set()
        assert result.status == "unchanged"
