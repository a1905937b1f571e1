"""Before/after tests of the audit-fix codemods, through ``scaffold.fix.fix`` on tiny projects.

Every rewrite is checked to parse, to be idempotent (a second run changes nothing) and to
leave the audit clean for its rule; the no-change cases outnumber the rewrites.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from scaffold.audit import audit
from scaffold.fix import fix

CORE = "def set_tenant_context(tenant_id):\n    pass\n"


def project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    root = tmp_path / "proj"
    files = {"manage.py": "", "core/__init__.py": "", "core/tenancy.py": CORE, "app/__init__.py": "", **files}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(text).encode())
    (root / "pyproject.toml").write_text(f'[tool.scaffold]\ntenancy_module = "core.tenancy"\n{config}')
    return root


def run(root: Path, code: str) -> None:
    result = fix(root, select=code, jobs=1, cache=False)
    for change in result.changes:
        ast.parse(change.new)
    again = fix(root, select=code, jobs=1, cache=False)
    assert not again.changes, "a second run must find nothing to do"


CASES = [
    (
        "TEN030",
        "app/db.py",
        """\
        import uuid


        def f(cursor, tenant_id: uuid.UUID):
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [tenant_id])  # why
        """,
        """\
        import uuid


        def f(cursor, tenant_id: uuid.UUID):
            cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [str(tenant_id)])  # why
        """,
    ),
    (
        "TEN040",
        "app/auth.py",
        """\
        from rest_framework.authentication import BaseAuthentication


        class A(BaseAuthentication):
            def authenticate(self, request):
                user = find(request)
                if user is None:
                    return None
                # keep this comment
                return (user, None)
        """,
        """\
        from rest_framework.authentication import BaseAuthentication

        from core.tenancy import set_tenant_context


        class A(BaseAuthentication):
            def authenticate(self, request):
                user = find(request)
                if user is None:
                    return None
                # keep this comment
                if getattr(user, "tenant_id", None):
                    set_tenant_context(user.tenant_id)
                return (user, None)
        """,
    ),
    (
        "TEN050",
        "app/db.py",
        """\
        def use(cursor, tenant_id):
            cursor.execute("SET app.current_tenant_id = %s", [str(tenant_id)])
        """,
        """\
        from core.tenancy import set_tenant_context

        def use(cursor, tenant_id):
            set_tenant_context(str(tenant_id))
        """,
    ),
    (
        "TEN051",
        "app/db.py",
        """\
        def use(cursor, tenant_id):
            cursor.execute(f"SET LOCAL app.current_tenant_id = '{tenant_id}'")
        """,
        """\
        from core.tenancy import set_tenant_context

        def use(cursor, tenant_id):
            set_tenant_context(tenant_id)
        """,
    ),
    (
        "TEN010",
        "app/urls.py",
        """\
        from django.urls import path

        from app.views import Detail

        urlpatterns = [path('items/<uuid:item_id>/', Detail.as_view())]
        """,
        """\
        from django.urls import path

        from app.views import Detail

        urlpatterns = [path('items/<uuid:pk>/', Detail.as_view())]
        """,
    ),
]
MODELS = "from django.db import models\n\n\nclass Order(models.Model):\n    tenant_id = models.UUIDField()\n"
CASES.append(
    (
        "TEN004",
        "app/views.py",
        """\
        from rest_framework import viewsets
        from rest_framework.permissions import IsAuthenticated

        from app.models import Order


        class OrderViewSet(viewsets.ReadOnlyModelViewSet):
            permission_classes = [IsAuthenticated]

            def get_queryset(self):
                \"\"\"Orders of the user's tenant.\"\"\"
                return Order.objects.filter(tenant_id=self.request.user.tenant_id)
        """,
        """\
        from rest_framework import viewsets
        from rest_framework.exceptions import PermissionDenied
        from rest_framework.permissions import IsAuthenticated

        from app.models import Order


        class OrderViewSet(viewsets.ReadOnlyModelViewSet):
            permission_classes = [IsAuthenticated]

            def get_queryset(self):
                \"\"\"Orders of the user's tenant.\"\"\"
                tenant_id = getattr(self.request.user, "tenant_id", None)
                if not tenant_id:
                    raise PermissionDenied("User is not associated with a tenant.")
                return Order.objects.filter(tenant_id=self.request.user.tenant_id)
        """,
    )
)
VIEWS = """\
from rest_framework.views import APIView


class Detail(APIView):
    def get(self, request, pk):
        return None
"""


CASES.append(
    (
        "TEN030",
        "app/named.py",
        """\
        import uuid


        def f(cursor, tenant_id: uuid.UUID):
            cursor.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(s)s",
                {"s": tenant_id},
            )
        """,
        """\
        import uuid


        def f(cursor, tenant_id: uuid.UUID):
            cursor.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(s)s",
                {"s": str(tenant_id)},
            )
        """,
    )
)


@pytest.mark.parametrize("code, rel, before, after", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_rewrite(tmp_path: Path, code: str, rel: str, before: str, after: str) -> None:
    files = {"app/views.py": VIEWS, "app/models.py": MODELS, rel: before}
    root = project(tmp_path, files)
    assert audit(root, select=code, jobs=1, cache=False).findings
    run(root, code)
    assert (root / rel).read_text() == textwrap.dedent(after)
    assert audit(root, select=code, jobs=1, cache=False).findings == []


NO_CHANGE = [
    (
        "TEN004",
        "app/views.py",
        "from rest_framework import viewsets\nfrom rest_framework.exceptions import PermissionDenied\nfrom rest_framework.permissions import IsAuthenticated\n\nfrom app.models import Order\n\n\nclass V(viewsets.ReadOnlyModelViewSet):\n    permission_classes = [IsAuthenticated]\n\n    def get_queryset(self):\n        if not self.request.user.tenant_id:\n            raise PermissionDenied()\n        return Order.objects.filter(tenant_id=self.request.user.tenant_id)\n",
    ),
    (
        "TEN030",
        "app/db.py",
        "def f(cursor, t: str):\n    cursor.execute('SELECT 1 FROM information_schema.tables WHERE table_schema = %s', [t])\n",
    ),
    (
        "TEN030",
        "app/db.py",
        "def f(cursor, tenant_id):\n    cursor.execute('SELECT 1 FROM information_schema.tables WHERE table_schema = %s::text', [tenant_id])\n",
    ),
    (
        "TEN040",
        "app/auth.py",
        "from rest_framework.authentication import BaseAuthentication\nfrom core.tenancy import set_tenant_context\n\n\nclass A(BaseAuthentication):\n    def authenticate(self, request):\n        set_tenant_context(1)\n        return (1, None)\n",
    ),
    (
        "TEN050",
        "app/db.py",
        "def use(cursor, tenant_id):\n    cursor.execute('SET LOCAL app.current_tenant_id = %s', [str(tenant_id)])\n",
    ),
    (
        "TEN050",
        "app/db.py",
        "def use(cursor, tenant_id):\n    cursor.execute('SET app.current_tenant_id = %s', [str(tenant_id)])  # noqa: TEN050\n",
    ),
    (
        "TEN051",
        "app/db.py",
        "def use(cursor, tenant_id):\n    cursor.execute('SELECT * FROM t WHERE tenant_id = %s', [tenant_id])\n",
    ),
    (
        "TEN010",
        "app/urls.py",
        "from django.urls import path\n\nfrom app.views import Detail\n\nurlpatterns = [path('items/<uuid:pk>/', Detail.as_view())]\n",
    ),
]


@pytest.mark.parametrize("code, rel, source", NO_CHANGE)
def test_no_change_is_byte_identical(tmp_path: Path, code: str, rel: str, source: str) -> None:
    root = project(tmp_path, {"app/views.py": VIEWS, "app/models.py": MODELS, rel: source})
    result = fix(root, select=code, jobs=1, cache=False)
    assert not result.changes
    assert (root / rel).read_text() == source


MANUAL = [
    # the tenant id is formatted into a query, not into a SET: binding it changes the SQL
    (
        "TEN051",
        "app/db.py",
        "def q(cursor, tenant_id):\n    cursor.execute(f\"SELECT * FROM t WHERE tenant_id = '{tenant_id}'\")\n",
        "bind it",
    ),
    # authenticate() returns something that is not a literal tuple
    (
        "TEN040",
        "app/auth.py",
        "from rest_framework.authentication import TokenAuthentication\n\n\nclass A(TokenAuthentication):\n    def authenticate(self, request):\n        return super().authenticate(request)\n",
        "literal (user, auth)",
    ),
]


@pytest.mark.parametrize("code, rel, source, reason", MANUAL)
def test_manual_review_leaves_the_file_alone(
    tmp_path: Path, code: str, rel: str, source: str, reason: str
) -> None:
    root = project(tmp_path, {rel: source})
    result = fix(root, select=code, jobs=1, cache=False)
    assert not result.changes and reason in result.summary()
    assert (root / rel).read_text() == source
    assert [f.code for f in result.remaining] == [code]  # still reported after the run, once
    assert "not fixed automatically" not in result.summary()


def test_ten010_other_callers_mean_manual_review(tmp_path: Path) -> None:
    urls = "from django.urls import path\n\nfrom app.views import Detail\n\nurlpatterns = [path('i/<uuid:item_id>/', Detail.as_view(), name='item-detail')]\n"
    caller = "from django.urls import reverse\n\nURL = reverse('item-detail', kwargs={'item_id': 1})\n"
    root = project(tmp_path, {"app/urls.py": urls, "app/views.py": VIEWS, "app/links.py": caller})
    result = fix(root, select="TEN010", jobs=1, cache=False)
    assert not result.changes and "app/links.py uses the route name" in result.summary()


def test_ten020_appends_to_exempt_paths_keeping_layout(tmp_path: Path) -> None:
    mw = 'class M:\n    EXEMPT_PATHS = [\n        "/api/auth/",  # login\n    ]\n    PROTECTED_PATHS = ["/api/reports/"]\n'
    urls = "from django.urls import include, path\n\nurlpatterns = [path('api/hr/', include('hr.urls')), path('api/reports/', include('r.urls'))]\n"
    root = project(
        tmp_path, {"app/mw.py": mw, "app/urls.py": urls}, 'urls = "app.urls"\nmiddleware = "app.mw:M"\n'
    )
    assert [f.symbol for f in audit(root, select="TEN020", jobs=1, cache=False).findings] == ["/api/hr/"]
    run(root, "TEN020")
    assert (root / "app/mw.py").read_text() == mw.replace("# login\n", '# login\n        "/api/hr/",\n')
    assert audit(root, select="TEN020", jobs=1, cache=False).findings == []


def test_ten020_check_names_the_middleware_without_libcst(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fix --check trusts the analysis for the middleware edit too: the same file as
    --diff changes, and libcst is never asked to parse it."""
    import libcst

    mw = 'class M:\n    EXEMPT_PATHS = ["/api/auth/"]\n    PROTECTED_PATHS = ["/api/reports/"]\n'
    urls = "from django.urls import include, path\n\nurlpatterns = [path('api/hr/', include('hr.urls'))]\n"
    root = project(
        tmp_path, {"app/mw.py": mw, "app/urls.py": urls}, 'urls = "app.urls"\nmiddleware = "app.mw:M"\n'
    )
    diff = fix(root, select="TEN020", diff=True, jobs=1, cache=False)
    assert diff.due == ["app/mw.py"]

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("fix --check ran libcst")

    monkeypatch.setattr(libcst, "parse_module", refuse)
    check = fix(root, select="TEN020", check=True, jobs=1, cache=False)
    assert check.due == ["app/mw.py"] and check.exit_code == 1
    assert "would fix app/mw.py" in check.summary()
    assert (root / "app/mw.py").read_text() == mw


def test_crlf_and_check_diff_write_nothing(tmp_path: Path) -> None:
    src = "def use(cursor, tenant_id):\r\n    cursor.execute(f\"SET app.current_tenant_id = '{tenant_id}'\")\r\n"
    root = project(tmp_path, {"app/db.py": src})
    assert fix(root, select="TEN05", check=True, jobs=1, cache=False).exit_code == 1
    assert fix(root, select="TEN05", diff=True, jobs=1, cache=False).diff_text()
    assert (root / "app/db.py").read_bytes() == src.encode()
    fix(root, select="TEN05", jobs=1, cache=False)
    data = (root / "app/db.py").read_bytes()
    assert b"set_tenant_context(tenant_id)\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")


def test_per_file_ignores_are_not_fixed(tmp_path: Path) -> None:
    src = "def use(cursor, tenant_id):\n    cursor.execute('SET app.current_tenant_id = %s', [str(tenant_id)])\n"
    root = project(tmp_path, {"app/db.py": src}, 'per_file_ignores = { "app/db.py" = ["TEN050"] }\n')
    assert not fix(root, select="TEN050", jobs=1, cache=False).changes


def test_atomic_requests_for_a_transaction_local_context_without_transaction(tmp_path: Path) -> None:
    core = (
        "from django.db import connection\n\n\n"
        "def set_tenant_context(tenant_id):\n"
        "    with connection.cursor() as cursor:\n"
        "        cursor.execute(\"SELECT set_config('app.current_tenant_id', %s, true)\", [str(tenant_id)])\n"
    )
    settings = 'import os\n\nDATABASES = {"default": db_from_env()}\n\nTIME_ZONE = "UTC"\n'
    root = project(
        tmp_path,
        {"core/tenancy.py": core, "proj/__init__.py": "", "proj/settings.py": settings},
        'settings = "proj.settings"\n',
    )
    assert [f.path for f in audit(root, select="TEN050", jobs=1, cache=False).findings] == ["core/tenancy.py"]
    run(root, "TEN050")
    assert (root / "core/tenancy.py").read_text() == core  # the core itself is left alone
    assert (root / "proj/settings.py").read_text() == settings.replace(
        "()}\n\n",
        "()}\n\n# One transaction per request: the transaction-local tenant context lasts exactly as\n"
        '# long as the request (scaffold fix TEN050).\nDATABASES["default"]["ATOMIC_REQUESTS"] = True\n\n',
    )
    assert audit(root, select="TEN050", jobs=1, cache=False).findings == []


@pytest.mark.parametrize(
    "fixture, left",
    [
        # handler queries (APIView.get, @action) are reported, never guessed at
        ("TEN001", {("TEN001", "OrderDetail"), ("TEN001", "OrderStats")}),
        # a custom-named manager attribute (Product.guarded): migrate-viewsets asks for a human
        ("TEN002", {("TEN002", "ClosedManager")}),
        ("TEN003", set()),
        ("TEN004", set()),
        ("precision", set()),
    ],
)
def test_fix_then_audit_agree_on_viewsets(tmp_path: Path, fixture: str, left: set[tuple[str, str]]) -> None:
    """migrate-viewsets' rewrites clear exactly what TEN001-TEN004 report, except the cases
    both sides send to manual review."""
    from tests.helpers.audit_fixtures import audit_fixture

    root = audit_fixture(fixture, tmp_path)
    result = fix(root, select="TEN00", jobs=1, cache=False)
    for change in result.changes:
        ast.parse(change.new)
    assert {(f.code, f.symbol) for f in result.remaining} == left
    assert not fix(root, select="TEN00", check=True, jobs=1, cache=False).due
