"""Run ``migrate-viewsets`` on source strings: a tiny project in a temp dir, one call.

``rewrite(before, files={...})`` writes ``app/views.py`` (plus ``app/models.py`` with the
models the tests use and any extra files) and returns the new text of ``app/views.py``
and the engine's result for it.
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from scaffold import engine
from scaffold.migrate import MigrateViewSets
from scaffold.project import iter_python_files

MODELS = """\
from django.db import models


class Supplier(models.Model):
    tenant_id = models.UUIDField()
    name = models.CharField(max_length=100)


class Country(models.Model):
    name = models.CharField(max_length=100)


class Shop(models.Model):
    business_id = models.UUIDField()


class Order(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
"""


def rewrite(
    before: str | bytes,
    files: dict[str, str] | None = None,
    *,
    settings: dict[str, str] | None = None,
    dedent: bool = True,
) -> tuple[bytes, engine.FileResult]:
    data = before if isinstance(before, bytes) else (textwrap.dedent(before) if dedent else before).encode()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "manage.py").write_text("")
        (root / "app").mkdir()
        (root / "app" / "__init__.py").write_text("")
        (root / "app" / "models.py").write_text(MODELS)
        for rel, text in (files or {}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        views = root / "app" / "views.py"
        views.write_bytes(data)
        report = engine.run(
            [MigrateViewSets()],
            iter_python_files(root, (), [views]),
            root=root,
            settings={"tenant_field": "tenant_id", "user_tenant_attr": "tenant_id", **(settings or {})},
            jobs=1,
            cache=False,
        )
        (result,) = report.results
        return (result.new if result.new is not None else data), result


def rewrite_text(before: str, files: dict[str, str] | None = None, **kw: object) -> str:
    new, _ = rewrite(before, files, **kw)  # type: ignore[arg-type]
    return new.decode()
