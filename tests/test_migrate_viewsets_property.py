"""Property test: migrate-viewsets on generated ViewSet modules.

Hypothesis builds modules from realistic pieces (import styles and aliases, ViewSet kinds,
tenant and non-tenant models, queryset attributes, get_queryset variants including fallback
branches, lists and raw SQL, permission and perform_create variants, comments, unrelated
functions and classes) and checks, for every module:

* the output parses;
* a second pass is a no-op (idempotence);
* unrelated code is byte-for-byte unchanged, and a module without anything to do is
  byte-identical; line endings (LF or CRLF) are kept;
* every view over tenant data that is not reported for manual review is scoped afterwards.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaffold.index import ProjectIndex
from scaffold.viewsets import Settings, ViewPlan, parse_and_analyze
from tests.helpers.rewrite import MODELS, rewrite

IMPORT_STYLES = {
    "module": ("from rest_framework import viewsets\n", "viewsets."),
    "alias": ("from rest_framework import viewsets as drf_v\n", "drf_v."),
    "dotted": ("import rest_framework.viewsets\n", "rest_framework.viewsets."),
    "names": ("from rest_framework.viewsets import ModelViewSet, ReadOnlyModelViewSet\n", ""),
}

QUERYSET_ATTRS = [
    "",
    "    queryset = {m}.objects.all()\n",
    "    queryset = {m}.objects.filter(tenant_id=None)\n",
]
PERMISSIONS = [
    "",
    "    permission_classes = [AllowAny]\n",
    "    permission_classes = [IsAuthenticated]  # reviewed\n",
    "    permission_classes = (AllowAny,)\n",
]
GET_QUERYSETS = [
    "",
    "\n    def get_queryset(self):\n        # legacy\n        return {m}.objects.all()\n",
    "\n    def get_queryset(self):\n        return {m}.objects.filter(tenant_id=self.request.user.tenant_id)\n",
    "\n    def get_queryset(self):\n        return {m}.objects.none()\n",
    (
        "\n    def get_queryset(self):\n        if self.request.user.is_staff:\n            return {m}.objects.all()\n"
        "        return {m}.objects.filter(tenant_id=self.request.user.tenant_id)\n"
    ),
    "\n    def get_queryset(self):\n        return [x for x in {m}.objects.all()]\n",
    '\n    def get_queryset(self):\n        return {m}.objects.raw("SELECT 1")\n',
    "\n    def get_queryset(self):\n        qs = {m}.objects.order_by('name')\n        return qs\n",
]
PERFORM_CREATES = [
    "",
    "\n    def perform_create(self, serializer):\n        serializer.save()\n",
    '\n    def perform_create(self, serializer):\n        serializer.save(tenant_id=self.request.data["tenant"])\n',
    "\n    def perform_create(self, serializer):\n        serializer.save(tenant_id=self.request.user.tenant_id)\n",
]
UNRELATED = st.sampled_from(
    [
        "def helper_{i}(value):\n    # unrelated helper\n    return value * {i}\n",
        "LIMIT_{i} = {i}  # a constant\n",
        "class Plain{i}:\n    queryset = 'not a view'\n\n    def all(self):\n        return []\n",
        "def view_{i}(request):\n    return Supplier.objects.all()\n",
    ]
)


@st.composite
def view_class(draw: st.DrawFn, i: int, prefix: str) -> str:
    model = draw(st.sampled_from(["Supplier", "Country"]))
    base = draw(st.sampled_from(["ModelViewSet", "ReadOnlyModelViewSet"]))
    body = "".join(
        [
            draw(st.sampled_from(["", '    """A view."""\n\n'])),
            "    serializer_class = None\n",
            draw(st.sampled_from(QUERYSET_ATTRS)).format(m=model),
            draw(st.sampled_from(PERMISSIONS)),
            draw(st.sampled_from(GET_QUERYSETS)).format(m=model),
            draw(st.sampled_from(PERFORM_CREATES)) if base == "ModelViewSet" else "",
        ]
    )
    return f"class View{i}({prefix}{base}):\n{body}"


@st.composite
def module(draw: st.DrawFn) -> tuple[str, list[str]]:
    header, prefix = IMPORT_STYLES[draw(st.sampled_from(sorted(IMPORT_STYLES)))]
    header += "from rest_framework.permissions import AllowAny, IsAuthenticated\n\nfrom app.models import Country, Supplier\n"
    pieces: list[str] = []
    unrelated: list[str] = []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            chunk = draw(UNRELATED).format(i=i)
            unrelated.append(chunk)
            pieces.append(chunk)
        else:
            pieces.append(draw(view_class(i, prefix)))
    return header + "".join("\n\n" + p for p in pieces), unrelated


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module(), st.sampled_from(["\n", "\r\n"]))
def test_generated_modules(generated: tuple[str, list[str]], newline: str) -> None:
    source, unrelated = generated
    ast.parse(source)
    data = source.replace("\n", newline).encode()
    new, result = rewrite(data, dedent=False)
    assert newline == "\r\n" or b"\r" not in new
    assert newline == "\n" or b"\n" not in new.replace(b"\r\n", b""), "line endings must be kept"
    text = new.decode().replace("\r\n", "\n")
    ast.parse(text)
    for chunk in unrelated:
        assert chunk in text
    if result.status != "rewritten":
        assert new == data
    again, second = rewrite(new, dedent=False)
    assert again == new, "second pass must be a no-op"
    assert second.status in ("unchanged", "manual")
    # the security property: every tenant view left without a manual-review note is scoped
    flagged = {m.symbol for m in second.messages if m.kind != "view"}
    for plan in _plans(text):
        if plan.model and plan.model.endswith(".Supplier") and plan.name not in flagged:
            assert plan.scoped_by and not plan.actions, plan


def _plans(text: str) -> list[ViewPlan]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").mkdir()
        (root / "app" / "__init__.py").write_text("")
        (root / "app" / "models.py").write_text(MODELS)
        path = root / "app" / "views.py"
        path.write_text(text)
        return parse_and_analyze(text, "app.views", path, ProjectIndex(root), Settings())
