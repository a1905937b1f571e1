"""Names the rewrites use at runtime are imported at runtime.

An import under ``if TYPE_CHECKING:`` binds nothing when the code runs: a tenant guard that
raises ``PermissionDenied`` imported only there is a NameError (a 500 instead of a 403).
The rewrites move such an import out of the block, where isort would put it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from scaffold.codemods._imports import runtime_imports, tidy_added_imports
from scaffold.fix import fix
from scaffold.migrate import migrate_viewsets
from tests.helpers.audit_fixtures import BASE


def project(tmp_path: Path, views: str) -> Path:
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(BASE, root)
    (root / "app").mkdir()
    (root / "app/__init__.py").write_text("")
    (root / "app/views.py").write_text(textwrap.dedent(views))
    return root


def runtime_names(source: str) -> set[str]:
    """Names bound when the module runs (top-level imports not under TYPE_CHECKING)."""
    import ast

    bound: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return bound


VIEWS = '''\
"""Views."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import viewsets

from shop.models import Order

if TYPE_CHECKING:
    from rest_framework.exceptions import PermissionDenied
    from rest_framework.permissions import IsAuthenticated


class V(viewsets.ModelViewSet):
    queryset = Order.objects.all()

    def check(self, exc: PermissionDenied) -> IsAuthenticated | None:
        return None
'''

VIEWS_AFTER = '''\
"""Views."""
from __future__ import annotations

from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from shop.models import Order


class V(viewsets.ModelViewSet):
    queryset = Order.objects.all()
    permission_classes = (IsAuthenticated,)
'''


def test_migrate_viewsets_moves_type_checking_imports_out(tmp_path: Path) -> None:
    root = project(tmp_path, VIEWS)
    migrate_viewsets(root, jobs=1, cache=False)
    text = (root / "app/views.py").read_text()
    assert text.startswith(VIEWS_AFTER), text
    assert "TYPE_CHECKING" not in text  # the block and its import went with the last name
    assert {"PermissionDenied", "IsAuthenticated"} <= runtime_names(text)
    assert not migrate_viewsets(root, check=True, jobs=1, cache=False).report.rewritten


def test_fix_ten004_guard_imports_at_runtime(tmp_path: Path) -> None:
    views = """\
    from __future__ import annotations

    import typing

    from rest_framework import viewsets

    from shop.models import Order

    if typing.TYPE_CHECKING:
        from django.http import HttpRequest
        from rest_framework.exceptions import PermissionDenied


    class V(viewsets.ReadOnlyModelViewSet):
        def get_queryset(self):
            return Order.objects.filter(tenant_id=self.request.user.tenant_id)

        def deny(self, request: HttpRequest) -> PermissionDenied:
            raise NotImplementedError
    """
    root = project(tmp_path, views)
    fix(root, select="TEN004", jobs=1, cache=False)
    text = (root / "app/views.py").read_text()
    assert 'raise PermissionDenied("User is not associated with a tenant.")' in text
    assert "PermissionDenied" in runtime_names(text)
    # the other type-only import stays where it was
    assert "if typing.TYPE_CHECKING:\n    from django.http import HttpRequest\n\n" in text
    assert text.count("import PermissionDenied") == 1


@pytest.mark.parametrize(
    "before, after",
    [
        # read at runtime before the rewrite already, and the rewrite adds no read
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\nX()\n",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\nX()\nY()\n",
        ),
        # bound at runtime too
        (
            "from a import X\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\n",
            "from a import X\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\nX()\n",
        ),
        # only in annotations
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\n",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import X\ndef f(x: X) -> X: ...\n",
        ),
    ],
)
def test_runtime_imports_leaves_other_modules_alone(before: str, after: str) -> None:
    assert runtime_imports(cst.parse_module(before), cst.parse_module(after)).code == after


def test_runtime_imports_keeps_else_branch_and_other_names() -> None:
    before = (
        "from typing import TYPE_CHECKING\n\nimport os\n\n"
        "if TYPE_CHECKING:\n    from a import X, Y\nelse:\n    Y = None\n"
    )
    after = before + "X()\n"
    out = tidy_added_imports(cst.parse_module(before), cst.parse_module(after))
    assert out.code == (
        "from typing import TYPE_CHECKING\n\nimport os\n\nfrom a import X\n\n"
        "if TYPE_CHECKING:\n    from a import Y\nelse:\n    Y = None\nX()\n"
    )


LOCAL = {"custom_auth", "shop"}.__contains__


@pytest.mark.parametrize(
    ("before", "added", "expected"),
    [
        pytest.param(
            "import uuid\n\nfrom django.db import connection\n\n\nx = 1\n",
            "from custom_auth.rls import set_tenant_context\n",
            "import uuid\n\nfrom django.db import connection\n\nfrom custom_auth.rls import set_tenant_context\n\n\nx = 1\n",
            id="first-party-gets-its-own-block-after-third-party",
        ),
        pytest.param(
            "import uuid\n\nfrom django.db import connection\n\nfrom shop.models import Item\n\n\nx = 1\n",
            "from custom_auth.rls import set_tenant_context\n",
            "import uuid\n\nfrom django.db import connection\n\n"
            "from custom_auth.rls import set_tenant_context\nfrom shop.models import Item\n\n\nx = 1\n",
            id="first-party-joins-the-first-party-block-sorted",
        ),
        pytest.param(
            "import uuid\n\nfrom shop.models import Item\n\n\nx = 1\n",
            "from rest_framework.exceptions import PermissionDenied\n",
            "import uuid\n\nfrom rest_framework.exceptions import PermissionDenied\n\n"
            "from shop.models import Item\n\n\nx = 1\n",
            id="third-party-block-between-stdlib-and-first-party",
        ),
        pytest.param(
            "from django.db import models\n\nfrom shop.models import Item\n\n\nx = 1\n",
            "from rest_framework.exceptions import PermissionDenied\n",
            "from django.db import models\nfrom rest_framework.exceptions import PermissionDenied\n\n"
            "from shop.models import Item\n\n\nx = 1\n",
            id="third-party-joins-the-third-party-block",
        ),
    ],
)
def test_added_imports_go_to_their_isort_section(before: str, added: str, expected: str) -> None:
    original = cst.parse_module(before)
    body = list(original.body)
    last = max(
        i
        for i, s in enumerate(body)
        if isinstance(s, cst.SimpleStatementLine) and "import" in original.code_for_node(s)
    )
    body.insert(last + 1, cst.parse_statement(added))  # where AddImportsVisitor puts it
    out = tidy_added_imports(original, original.with_changes(body=body), LOCAL)
    assert out.code == expected
