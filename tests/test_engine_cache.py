"""The content-hash cache behind --check, --diff, fix --check and fix --diff, and the engine's
one-parse-per-file rule. These tests count calls (libcst parses, ast parses, unit fixes);
none of them measures time."""

from __future__ import annotations

import ast
import shutil
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import libcst
import pytest

from scaffold import engine
from scaffold.audit import audit
from scaffold.fix import fix
from scaffold.migrate import migrate_viewsets
from tests.helpers.audit_fixtures import BASE

HEAD = "from rest_framework import viewsets\n\nfrom shop.models import Order\n\n\n"
LEAKY = "class {name}(viewsets.ModelViewSet):\n    queryset = Order.objects.all()\n"
SCOPED_BASE = textwrap.dedent(
    """\
    from rest_framework import viewsets
    from rest_framework.permissions import IsAuthenticated


    class Base(viewsets.ReadOnlyModelViewSet):
        permission_classes = [IsAuthenticated]

        def get_queryset(self):
            return self.queryset.filter(tenant_id=self.request.user.tenant_id)
    """
)
CHILD = "from app.base import Base\nfrom shop.models import Order\n\n\nclass Child(Base):\n    queryset = Order.objects.all()\n"


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(BASE, root)
    (root / "app").mkdir()
    (root / "app/__init__.py").write_text("")
    for rel, text in files.items():
        (root / rel).write_text(text)
    (root / "pyproject.toml").write_text("[tool.scaffold]\n")
    return root


@pytest.fixture
def libcst_parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The whole modules libcst parsed in an in-process run (-j 1): the codemods also parse
    snippets (statements to insert), which are not counted."""
    calls: list[str] = []
    real = libcst.parse_module

    def counting(source: str | bytes, *args: object, **kw: object) -> libcst.Module:
        text = source if isinstance(source, str) else source.decode()
        if text.startswith(("from ", "import ", "#")):
            calls.append(text)
        return real(source, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(libcst, "parse_module", counting)
    yield calls


def files_with_views(n_leaky: int, n_clean: int) -> dict[str, str]:
    files = {f"app/leaky{i}.py": HEAD + LEAKY.format(name=f"L{i}") for i in range(n_leaky)}
    files |= {f"app/clean{i}.py": f"# queryset notes\nX{i} = {i}\n" for i in range(n_clean)}
    return files


def test_diff_after_check_runs_libcst_only_on_due_files_and_a_rerun_not_at_all(
    tmp_path: Path, libcst_parses: list[str]
) -> None:
    root = project(tmp_path, files_with_views(2, 3))
    check = migrate_viewsets(root, check=True, jobs=1)
    assert [r.rel for r in check.report.rewritten] == ["app/leaky0.py", "app/leaky1.py"]
    assert libcst_parses == []  # --check trusts the analysis
    first = migrate_viewsets(root, diff=True, jobs=1)
    assert len(libcst_parses) == 2  # the two due files, nothing else
    clean = next(r for r in first.report.results if r.rel == "app/clean0.py")
    assert clean.cached  # answered by --check's cache entries
    libcst_parses.clear()
    second = migrate_viewsets(root, diff=True, jobs=1)
    assert libcst_parses == []
    assert second.diff_text() == first.diff_text() != ""
    assert all(r.cached for r in second.report.results)
    # and --check after --diff still answers from the cache with the same verdict
    again = migrate_viewsets(root, check=True, jobs=1)
    assert [r.rel for r in again.report.rewritten] == ["app/leaky0.py", "app/leaky1.py"]
    assert libcst_parses == []


def test_a_changed_file_is_rewritten_afresh_and_only_it(tmp_path: Path, libcst_parses: list[str]) -> None:
    root = project(tmp_path, files_with_views(2, 0))
    migrate_viewsets(root, diff=True, jobs=1)
    libcst_parses.clear()
    (root / "app/leaky1.py").write_text(HEAD + LEAKY.format(name="Renamed"))
    result = migrate_viewsets(root, diff=True, jobs=1)
    assert len(libcst_parses) == 1
    assert "class Renamed" in result.diff_text() and "class L0" in result.diff_text()


def test_a_changed_base_class_invalidates_the_cached_rewrite(
    tmp_path: Path, libcst_parses: list[str]
) -> None:
    root = project(tmp_path, {"app/base.py": SCOPED_BASE, "app/views.py": CHILD})
    first = migrate_viewsets(root, diff=True, jobs=1)
    assert "app/views.py" not in {r.rel for r in first.report.rewritten}  # the base scopes it
    (root / "app/base.py").write_text(
        "from rest_framework import viewsets\n\n\nclass Base(viewsets.ReadOnlyModelViewSet):\n    pass\n"
    )
    result = migrate_viewsets(root, diff=True, jobs=1)
    views = next(r for r in result.report.results if r.rel == "app/views.py")
    assert not views.cached and views.status == "rewritten"
    assert "get_queryset" in result.diff_text()
    libcst_parses.clear()
    assert migrate_viewsets(root, diff=True, jobs=1).diff_text() == result.diff_text()
    assert libcst_parses == []


def test_damaged_or_missing_cached_rewrite_is_recomputed(tmp_path: Path, libcst_parses: list[str]) -> None:
    root = project(tmp_path, files_with_views(1, 0))
    expected = migrate_viewsets(root, diff=True, jobs=1).diff_text()
    blobs = [p for p in (root / engine.CACHE_DIR).glob("new-*/*")]
    assert len(blobs) == 1
    blobs[0].write_bytes(b"class Tampered: pass\n")
    libcst_parses.clear()
    assert migrate_viewsets(root, diff=True, jobs=1).diff_text() == expected
    assert len(libcst_parses) == 1
    blobs[0].unlink()
    assert migrate_viewsets(root, diff=True, jobs=1).diff_text() == expected


def test_a_rewrite_that_is_applied_leaves_no_stale_bytes(tmp_path: Path) -> None:
    root = project(tmp_path, files_with_views(1, 0))
    migrate_viewsets(root, diff=True, jobs=1)
    migrate_viewsets(root, jobs=1)  # writes the file
    after = migrate_viewsets(root, diff=True, jobs=1)
    assert after.diff_text() == "" and not after.report.rewritten
    assert list((root / engine.CACHE_DIR).glob("new-*/*")) == []  # nothing refers to the old bytes


def test_fix_check_uses_no_libcst_and_agrees_with_fix_diff(tmp_path: Path, libcst_parses: list[str]) -> None:
    root = project(tmp_path, files_with_views(2, 2))
    check = fix(root, check=True, jobs=1, cache=False)
    assert libcst_parses == []
    assert check.exit_code == 1
    diff = fix(root, diff=True, jobs=1)
    assert libcst_parses  # the diff needs the rewritten bytes
    assert check.due == diff.due == ["app/leaky0.py", "app/leaky1.py"]
    libcst_parses.clear()
    again = fix(root, diff=True, jobs=1)
    assert libcst_parses == [] and again.diff_text() == diff.diff_text()
    assert fix(root, check=True, jobs=1).due == check.due


def test_each_file_is_parsed_once_even_when_it_is_also_a_base_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """app/base.py is both analysed and read by the index as Child's base module; whichever
    comes first, its bytes are parsed once."""
    parsed: Counter[str] = Counter()
    real = ast.parse

    def counting(source: str | bytes, *args: object, **kw: object) -> ast.Module:
        text = source.decode() if isinstance(source, bytes) else source
        parsed[text] += 1
        return real(source, *args, **kw)  # type: ignore[arg-type,call-overload]

    monkeypatch.setattr(ast, "parse", counting)
    # "a_views" sorts before "base": the index parses base.py before the engine reaches it
    root = project(tmp_path, {"app/base.py": SCOPED_BASE, "app/a_views.py": CHILD})
    report = audit(root, jobs=1, cache=False)
    assert report.scanned
    assert parsed[SCOPED_BASE] == 1
    assert parsed[CHILD] == 1
    # the models module is read by the index for both views; also once
    analysed = [p.read_text() for p in (root / "app").glob("*.py")] + [(root / "shop/models.py").read_text()]
    assert {parsed[text] for text in analysed if text} == {1}


def test_an_analysed_file_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine hashes a file's bytes and hands the same bytes to the worker that analyses
    it: no second read (the index reads only the modules it is asked about)."""
    reads: Counter[str] = Counter()
    real = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads[self.name] += 1
        return real(self)

    from scaffold.migrate import MigrateViewSets
    from scaffold.project import iter_python_files

    root = project(tmp_path, {"app/base.py": SCOPED_BASE, "app/views.py": CHILD})
    monkeypatch.setattr(Path, "read_bytes", counting)
    report = engine.run(
        [MigrateViewSets()],
        iter_python_files(root, ()),
        root=root,
        settings={"tenant_field": "tenant_id", "user_tenant_attr": "tenant_id"},
        jobs=1,
        cache=False,
    )
    assert next(r for r in report.results if r.rel == "app/views.py").status != "skipped"
    assert reads["views.py"] == 1


def test_remembered_answers_still_record_their_dependencies(tmp_path: Path) -> None:
    """Project-wide answers (the routes of every urlconf) and class ancestors are computed
    once per index; each later file that uses them still depends on the modules they read."""
    from scaffold.index import ProjectIndex

    root = project(tmp_path, {"app/base.py": SCOPED_BASE, "app/views.py": CHILD})
    (root / "app/urls.py").write_text("urlpatterns = []\n")
    index = ProjectIndex(root)
    calls: list[str] = []

    def compute() -> str:
        calls.append("computed")
        assert index.module("app.urls") is not None
        return "answer"

    with index.tracking(root / "app/one.py") as first:
        assert index.remembered("routes", compute) == "answer"
    with index.tracking(root / "app/two.py") as second:
        assert index.remembered("routes", compute) == "answer"
    assert calls == ["computed"]
    assert "app/urls.py" in first.hashes() and "app/urls.py" in second.hashes()

    child = index.module("app.views")
    assert child is not None
    for own in ("app/one.py", "app/two.py"):  # the second answer is the remembered one
        with index.tracking(root / own) as deps:
            assert [q for q, _ in index.ancestors(child.classes["Child"])][0] == "app.base.Base"
        assert "app/base.py" in deps.hashes()


def test_stored_rewrites_do_not_outlive_a_change_to_the_codemods(
    tmp_path: Path, libcst_parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache keeps rewritten bytes, so its key covers the code that made them: a changed
    codemod (here: its fingerprint) means libcst runs again."""
    import scaffold.migrate

    root = project(tmp_path, files_with_views(1, 0))
    migrate_viewsets(root, diff=True, jobs=1)
    libcst_parses.clear()
    monkeypatch.setattr(scaffold.migrate, "codemods_fingerprint", lambda: "edited")
    migrate_viewsets(root, diff=True, jobs=1)
    assert len(libcst_parses) == 1
    # the fix units' key (TEN010, TEN030, ...) changes with the codemods too
    from scaffold.fix import FIX_VERSION, _fix_version

    assert _fix_version() != FIX_VERSION


SHAPES = [
    "class A:\n    pass\n",
    '"""Doc."""\nfrom __future__ import annotations\n\nimport os\n# the views\nclass A:\n    x = 1\n\n\ndef f():\n    import sys\n',
    "from rest_framework.exceptions import NotFound  # keep\nfrom app import models\n\nif True:\n    import json\nclass A:\n    pass\n",
    "__strict__ = True\nimport os\n\n\n@decorator\nclass A:\n    pass\nX = 1\ntry:\n    import y\nexcept ImportError:\n    y = None\n",
    "from rest_framework.exceptions import *\n\nclass A:\n    pass\n",
    "# comment only line\n\n\nasync def f():\n    pass\n\n\nwith x:\n    pass\n",
]


@pytest.mark.parametrize("source", SHAPES)
def test_light_import_pass_writes_what_libcst_writes(source: str) -> None:
    """migrate-viewsets runs libcst's AddImportsVisitor on the module with its compound
    statements stood in for; the result is the module libcst's own pass gives."""
    from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
    from libcst.codemod.visitors import AddImportsVisitor

    from scaffold.migrate import transform_with_light_imports

    class NeedsImports(VisitorBasedCodemodCommand):
        def visit_Module(self, node: libcst.Module) -> None:
            AddImportsVisitor.add_needed_import(self.context, "rest_framework.exceptions", "PermissionDenied")
            AddImportsVisitor.add_needed_import(self.context, "app.tenancy", "set_tenant_context")

    tree = libcst.parse_module(source)
    expected = NeedsImports(CodemodContext()).transform_module(tree).code
    assert transform_with_light_imports(NeedsImports(CodemodContext()), tree).code == expected
    assert "set_tenant_context" in expected  # the pass did add an import


def test_a_temp_left_by_a_killed_cache_save_is_swept_by_the_next_save(tmp_path: Path) -> None:
    """A SIGKILL between writing a cache temp and renaming it leaves ``.<name>.<hex>.tmp``
    in .scaffold-cache/; the next run that saves the cache removes it, but never a temp young
    enough to belong to a concurrent run."""
    import os

    root = project(tmp_path, {"app/views.py": HEAD + LEAKY.format(name="Leaky")})
    migrate_viewsets(root, check=True, jobs=1)
    cache = root / ".scaffold-cache"
    stale = cache / ".engine-x.json.0badc0de.tmp"
    fresh = cache / ".engine-y.json.0000beef.tmp"
    stale.write_text("{")
    fresh.write_text("{")
    old = stale.stat().st_mtime - engine.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    (root / "app/views.py").write_text(HEAD + LEAKY.format(name="Changed"))  # the cache is dirty again
    migrate_viewsets(root, check=True, jobs=1)
    assert not stale.exists()
    assert fresh.exists()
