"""scaffold.index: names resolved by meaning across files (aliases, relative imports,
re-exports, project base classes), and the engine's unit protocol as audit uses it."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from scaffold import engine
from scaffold.index import Imports, ProjectIndex
from scaffold.project import iter_python_files


def _imports(code: str, module: str = "pkg.views", is_package: bool = False) -> Imports:
    return Imports.from_tree(ast.parse(textwrap.dedent(code)), module, is_package)


def test_aliases_and_dotted_imports_resolve() -> None:
    imports = _imports(
        """\
        import rest_framework.viewsets as rv
        import rest_framework.generics
        from rest_framework import viewsets as v
        from rest_framework.permissions import AllowAny as Open
        try:
            from fast import json
        except ImportError:
            import json
        """
    )
    assert imports.qualify("v.ModelViewSet") == "rest_framework.viewsets.ModelViewSet"
    assert imports.qualify("rv.GenericViewSet") == "rest_framework.viewsets.GenericViewSet"
    assert imports.qualify("rest_framework.generics.ListAPIView") == "rest_framework.generics.ListAPIView"
    assert imports.qualify("Open") == "rest_framework.permissions.AllowAny"
    assert imports.qualify("json") == "fast.json"  # the try branch is what normally runs
    assert imports.qualify("Local", {"Local": "pkg.views.Local"}) == "pkg.views.Local"


def test_relative_imports_resolve_against_the_package() -> None:
    assert _imports("from .models import Supplier").qualify("Supplier") == "pkg.models.Supplier"
    assert _imports("from ..core.base import B", "app.sub.views").qualify("B") == "app.core.base.B"
    assert _imports("from . import mixins", "pkg", is_package=True).qualify("mixins.M") == "pkg.mixins.M"
    assert _imports("from .... import x", "a.b").names == {}  # beyond the top: ignored


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_ancestors_follow_reexports_across_files_and_survive_cycles(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "core/__init__.py": "from core.views import TenantViewSet\n",
            "core/views.py": """\
                from rest_framework import viewsets

                from core.mixins import ScopedMixin


                class TenantViewSet(ScopedMixin, viewsets.ModelViewSet):
                    pass
                """,
            "core/mixins.py": "class ScopedMixin:\n    pass\n",
            "app/views.py": "from core import TenantViewSet as Base\n\n\nclass V(Base):\n    pass\n",
            "loop.py": "class A(B):\n    pass\n\n\nclass B(A):\n    pass\n",
        },
    )
    index = ProjectIndex(tmp_path)
    views = index.module("app.views")
    assert views is not None
    with index.tracking(tmp_path / "app" / "views.py") as deps:
        chain = [q for q, _ in index.ancestors(views.classes["V"])]
    assert chain == [
        "core.views.TenantViewSet",
        "core.mixins.ScopedMixin",
        "rest_framework.viewsets.ModelViewSet",
    ]
    assert {rel for rel, digest in deps.hashes().items() if digest} == {
        "core/__init__.py",
        "core/views.py",
        "core/mixins.py",
    }
    loop = index.module("loop")
    assert loop is not None
    assert [q for q, _ in index.ancestors(loop.classes["A"])] == ["loop.B"]
    assert index.module("no.such.module") is None


class FindingOnly:
    """An audit-style unit: findings only, no fix."""

    code = "DEMO001"
    version = "1"
    needles = (b"print(",)

    def analyze(self, ctx: engine.FileContext) -> engine.Analysis:
        return engine.Analysis(
            [
                engine.Message(n.lineno, n.col_offset, self.code, "print() call", symbol=ctx.module)
                for n in ast.walk(ctx.tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
            ]
        )


class Exploding:
    code = "BOOM"
    version = "1"
    needles = ()

    def analyze(self, ctx: engine.FileContext) -> engine.Analysis:
        raise KeyError("bug")


def test_units_that_only_report_findings(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.py": "x = 1\nprint(x)\n", "b.py": "y = 2\n", "c.py": "print(\n"})
    report = engine.run(
        [FindingOnly(), Exploding()], iter_python_files(tmp_path, ()), root=tmp_path, settings={}, fix=False
    )
    assert [(r.rel, m.line, m.code) for r, m in report.findings] == [("a.py", 2, "DEMO001")]
    assert [r.rel for r in report.unparsable] == ["c.py"]
    # a crashing unit is reported per file and never stops the run
    assert {(r.rel, m.code) for r, m in report.manual} == {("a.py", "BOOM"), ("b.py", "BOOM")}
    assert not report.rewritten
    assert engine.changeset(report).changes == []


def test_may_mention_is_false_only_for_known_ascii_source_without_the_word(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("class V:\n    pass\n")
    (tmp_path / "looks.py").write_text("class V:\n    def get(self):\n        self.lookup_field = 'slug'\n")
    # NFKC: a fullwidth letter spells the same identifier, so non-ASCII source is never ruled out
    (tmp_path / "wide.py").write_text(
        "class V:\n    def get(self):\n        self.\uff4cookup_field = 'slug'\n"
    )
    index = ProjectIndex(tmp_path)
    plain, looks, wide = (index.module(m) for m in ("plain", "looks", "wide"))
    assert plain is not None and looks is not None and wide is not None
    assert not plain.may_mention(b"lookup_")
    assert looks.may_mention(b"lookup_")
    assert wide.may_mention(b"lookup_")
    registered = index.add_tree("fresh", tmp_path / "fresh.py", ast.parse("x = 1\n"))
    assert registered.may_mention(b"lookup_")  # bytes unknown: never ruled out


def test_a_self_lookup_assignment_spelled_with_a_fullwidth_letter_still_counts(tmp_path: Path) -> None:
    from scaffold.analysis.routes import lookup_kwarg
    from scaffold.analysis.scope import ClassRef

    (tmp_path / "views.py").write_text(
        "class V:\n    lookup_field = 'slug'\n\n    def initial(self):\n        self.\uff4cookup_field = 'id'\n"
    )
    (tmp_path / "other.py").write_text("class W:\n    lookup_field = 'slug'\n")
    index = ProjectIndex(tmp_path)
    for module, name, expected in (("views", "V", None), ("other", "W", "slug")):
        info = index.module(module)
        assert info is not None
        assert lookup_kwarg([ClassRef(info.classes[name], info)]) == expected
