"""benchmarks/realworld.py: diff hunks and findings are attributed to the right view, the
configuration goes into a copy (never the corpus), and a labelled mini corpus is scored through
the real scaffold CLI."""

from __future__ import annotations

import difflib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.benchmarks import load_benchmark

rw = load_benchmark("realworld")

VIEWS = textwrap.dedent(
    """
    from rest_framework import viewsets
    from rest_framework.permissions import IsAuthenticated

    from shop.models import Order


    class Leaky(viewsets.ReadOnlyModelViewSet):
        permission_classes = (IsAuthenticated,)
        queryset = Order.objects.all()


    class Scoped(viewsets.ReadOnlyModelViewSet):
        permission_classes = (IsAuthenticated,)

        def get_queryset(self):
            tenant_id = getattr(self.request.user, "tenant_id", None)
            if not tenant_id:
                return Order.objects.none()
            return Order.objects.filter(tenant_id=tenant_id)
    """
).lstrip()


def test_changed_classes_attributes_insertions_after_a_class_to_that_class(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "views.py").write_text(VIEWS)
    new = VIEWS.replace(
        "    queryset = Order.objects.all()\n",
        "    queryset = Order.objects.all()\n\n    def get_queryset(self):\n        return self.queryset.none()\n",
    ).replace("from rest_framework import viewsets\n", "from rest_framework import viewsets\nimport os\n")
    diff = "".join(
        difflib.unified_diff(
            VIEWS.splitlines(keepends=True),
            new.splitlines(keepends=True),
            "a/shop/views.py",
            "b/shop/views.py",
        )
    )
    # the import is not a view; the method inserted after Leaky's last line is Leaky's
    assert rw.changed_classes(diff, rw.ClassLocator(tmp_path)) == {"shop/views.py": {"Leaky"}}


def test_write_config_appends_to_the_copy_and_refuses_an_existing_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    rw.write_config(tmp_path, {"tenant_field": "organization_id", "exclude": ["legacy/*"]})
    text = (tmp_path / "pyproject.toml").read_text()
    assert '[tool.scaffold]\ntenant_field = "organization_id"\nexclude = ["legacy/*"]' in text
    with pytest.raises(SystemExit):
        rw.write_config(tmp_path, {"tenant_field": "tenant_id"})


def test_mini_corpus_is_scored_through_the_cli_and_left_untouched(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    project = corpus / "mini"
    (project / "shop").mkdir(parents=True)
    (project / "proj").mkdir()
    (project / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n'
    )
    (project / "proj" / "__init__.py").write_text("")
    (project / "proj" / "settings.py").write_text('INSTALLED_APPS = ["rest_framework", "shop"]\n')
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "models.py").write_text(
        "from django.db import models\n\n\nclass Order(models.Model):\n    tenant_id = models.UUIDField()\n"
    )
    (project / "shop" / "views.py").write_text(VIEWS)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}

    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "manifest.toml").write_text(
        '[[codebase]]\nname = "mini"\nrepo = "example/mini"\ncommit = "c0ffee"\nroot = "."\n'
        '[codebase.config]\ntenant_field = "tenant_id"\nuser_tenant_attr = "tenant_id"\n'
    )
    (labels / "mini.csv").write_text(
        "repo,commit,path,class,label,reason\n"
        "example/mini,c0ffee,shop/views.py,Leaky,unscoped,queryset over every tenant\n"
        "example/mini,c0ffee,shop/views.py,Scoped,scoped,filters tenant_id of the user\n"
    )
    out = tmp_path / "out.json"
    scaffold = str(Path(sys.executable).parent / "scaffold")
    code = rw.main(
        [
            "--corpus",
            str(corpus),
            "--labels",
            str(labels),
            "--scaffold",
            scaffold,
            "-j",
            "1",
            "--json",
            str(out),
        ]
    )

    assert code == 0
    (result,) = json.loads(out.read_text())
    assert result["errors"] == [] and result["views_labelled"] == 2
    assert result["tp"] == ["shop/views.py:Leaky"] and result["fn"] == []
    assert result["fp"] == [] and result["precision"] == 1.0 and result["recall"] == 1.0
    assert result["rewrites_on_safe"] == [] and result["manual_on_safe"] == []
    assert "shop/views.py:Leaky" in result["rewrites"] + result["manual"]
    assert result["disagreements"] == []
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
