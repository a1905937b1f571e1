"""Property test: on generated messy Django/DRF modules the audit never crashes (no internal
rule errors), reports only lines that exist, is deterministic, and ``scaffold fix`` leaves
only parsable files and a second ``fix`` finds nothing more to do."""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaffold.audit import audit
from scaffold.fix import fix

HEADER = """\
import uuid

from django.db import connection, models
from django.urls import path
from app.core import set_tenant_context
from rest_framework import generics, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView


class Item(models.Model):
    tenant_id = models.UUIDField()
"""

names = st.sampled_from(["A", "B", "Orders", "Items", "Thing"])
bases = st.sampled_from(
    [
        "viewsets.ModelViewSet",
        "viewsets.ReadOnlyModelViewSet",
        "generics.ListAPIView",
        "APIView",
        "object",
        "BaseAuthentication",
    ]
)
querysets = st.sampled_from(
    [
        "Item.objects.all()",
        "Item.objects.filter(tenant_id=self.request.user.tenant_id)",
        "Item.objects.none()",
        "super().get_queryset()",
        "self.queryset.filter(tenant_id=tid)",
        "[1, 2]",
        "Item.objects.filter(tenant_id=self.request.query_params['t'])",
        "qs",
        "Item.objects.filter(**{'tenant_id': tid})",
        "Item.objects.all() if tid else Item.objects.none()",
    ]
)
guards = st.sampled_from(
    [
        "",
        "if not tid:\n            raise PermissionDenied()\n        ",
        "if tid is None:\n            return Item.objects.none()\n        ",
    ]
)
perms = st.sampled_from(
    [
        "",
        "permission_classes = [IsAuthenticated]\n    ",
        "permission_classes = [AllowAny]\n    ",
        "permission_classes = ()\n    ",
    ]
)
sqls = st.sampled_from(
    [
        '"SELECT 1 FROM information_schema.tables WHERE table_schema = %s"',
        '"SET app.current_tenant_id = %s"',
        "f\"SET app.current_tenant_id = '{tenant_id}'\"",
        "\"SELECT set_config('app.current_tenant_id', %s, false)\"",
        "\"SELECT set_config('app.current_tenant_id', %s, true)\"",
        "\"SELECT * FROM t WHERE tenant_id = '%s'\" % tenant_id",
        '"SELECT %s"',
    ]
)
params = st.sampled_from(["[tenant_id]", "[str(tenant_id)]", "(tenant_id,)", "[]", ""])
routes = st.sampled_from(['"<str:session_id>/"', '"<int:pk>/"', '"items/"', 'r"^(?P<x>[0-9]+)/$"'])


@st.composite
def module(draw: st.DrawFn) -> str:
    parts = [HEADER]
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["view", "sql", "auth", "urls"]))
        name = f"{draw(names)}{i}"
        if kind == "view":
            parts.append(
                f"\n\nclass {name}View({draw(bases)}):\n    {draw(perms)}queryset = Item.objects.all()\n\n"
                f"    def get_queryset(self):\n        tid = getattr(self.request.user, 'tenant_id', None)\n"
                f"        qs = Item.objects.all()\n        {draw(guards)}return {draw(querysets)}\n"
            )
        elif kind == "sql":
            ann = draw(st.sampled_from(["", ": uuid.UUID", ": str"]))
            p = draw(params)
            parts.append(
                f"\n\ndef {name.lower()}_sql(cursor, tenant_id{ann}):\n"
                f"    cursor.execute({draw(sqls)}{', ' + p if p else ''})\n"
            )
        elif kind == "auth":
            ret = draw(
                st.sampled_from(["(user, None)", "None", "user, None", "super().authenticate(request)"])
            )
            call = draw(st.sampled_from(["", "set_tenant_context(user.tenant_id)\n        "]))
            parts.append(
                f"\n\nclass {name}Auth({draw(bases)}):\n    def authenticate(self, request):\n"
                f"        user = request.user\n        {call}return {ret}\n"
            )
        else:
            parts.append(
                f"\n\nclass {name}Detail(APIView):\n    def get(self, request, pk):\n        return None\n"
            )
            parts.append(f"\n\nurlpatterns = [path({draw(routes)}, {name}Detail.as_view())]\n")
    return "".join(parts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module())
def test_audit_and_fix_never_crash(source: str) -> None:
    ast.parse(source)
    tmp = Path(tempfile.mkdtemp(prefix="audit-prop-"))
    try:
        (tmp / "manage.py").write_text("")
        (tmp / "app").mkdir()
        (tmp / "app" / "__init__.py").write_text("")
        (tmp / "app" / "mod.py").write_text(source)
        (tmp / "app" / "core.py").write_text("def set_tenant_context(tenant_id):\n    pass\n")
        (tmp / "pyproject.toml").write_text('[tool.scaffold]\ntenancy_module = "app.core"\n')
        first = audit(tmp, jobs=1, cache=False)
        assert not first.problems, first.problems
        n_lines = len(source.splitlines())
        assert all(1 <= f.line <= n_lines and f.column >= 1 for f in first.findings)
        again = audit(tmp, jobs=1, cache=False)
        assert again.findings == first.findings
        fix(tmp, jobs=1, cache=False)
        ast.parse((tmp / "app" / "mod.py").read_text())
        assert not fix(tmp, check=True, jobs=1, cache=False).due, "fix is not idempotent"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
