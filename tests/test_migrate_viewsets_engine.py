"""The engine and command behind migrate-viewsets on messy input: line endings, encodings,
broken and huge files, the cache, the process pool, exit codes and atomic writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scaffold import engine
from scaffold.migrate import MigrateViewSets, migrate_viewsets
from scaffold.project import iter_python_files
from tests.helpers.rewrite import MODELS, rewrite

LEAKY = textwrap.dedent(
    """\
    from rest_framework import viewsets

    from app.models import Supplier


    class SupplierViewSet(viewsets.ReadOnlyModelViewSet):
        queryset = Supplier.objects.all()
    """
)


def test_crlf_tabs_and_comments_are_preserved() -> None:
    src = (
        b"from rest_framework import viewsets\r\n\r\nfrom app.models import Supplier\r\n\r\n\r\n"
        b"class S(viewsets.ModelViewSet):  # the leak\r\n"
        b"\tqueryset = Supplier.objects.all()  # keep me\r\n\r\n"
        b"\tdef get_serializer_class(self):\r\n\t\t# pick one\r\n\t\treturn X\r\n"
    )
    new, result = rewrite(src, dedent=False)
    assert result.status == "rewritten"
    assert b"\n" not in new.replace(b"\r\n", b"")
    assert b"\tqueryset = Supplier.objects.all()  # keep me\r\n" in new
    assert b"class S(viewsets.ModelViewSet):  # the leak\r\n" in new
    assert b"\t\t# pick one\r\n\t\treturn X\r\n" in new
    assert b"\tdef get_queryset(self):\r\n\t\ttenant_id = " in new
    compile(new, "x.py", "exec")


def test_latin1_with_coding_cookie_is_rewritten_in_latin1() -> None:
    src = ("# -*- coding: latin-1 -*-\n# Fournisseurs à régler\n" + LEAKY).encode("latin-1")
    new, result = rewrite(src, dedent=False)
    assert result.status == "rewritten"
    assert new.startswith("# -*- coding: latin-1 -*-\n# Fournisseurs à régler\n".encode("latin-1"))
    assert "filter(tenant_id=tenant_id)" in new.decode("latin-1")


def test_utf8_bom_is_kept() -> None:
    new, result = rewrite(b"\xef\xbb\xbf# \xc3\xa9\n" + LEAKY.encode(), dedent=False)
    assert result.status == "rewritten"
    assert new.startswith(b"\xef\xbb\xbf# \xc3\xa9\n")


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        pytest.param(
            b"# caf\xe9\n" + LEAKY.encode(), "skipped", "not valid UTF-8", id="latin1-without-cookie"
        ),
        pytest.param(
            b"# -*- coding: klingon -*-\n" + LEAKY.encode(), "skipped", "encoding", id="unknown-codec"
        ),
        pytest.param(
            LEAKY.encode() + b"\ndef broken(:\n    pass\n", "unparsable", "cannot parse", id="syntax-error"
        ),
        pytest.param(LEAKY.encode() + b"\x00\n", "unparsable", "cannot parse", id="null-byte"),
        pytest.param(LEAKY.encode() + b"#" * 1_000_001 + b"\n", "skipped", "1 MB", id="huge"),
    ],
)
def test_bad_files_are_reported_not_crashed_on(data: bytes, status: str, needle: str) -> None:
    new, result = rewrite(data, dedent=False)
    assert new == data
    assert result.status == status
    assert needle in result.messages[0].message


def test_syntax_error_reports_its_line() -> None:
    _, result = rewrite(LEAKY + "\n\ndef broken(:\n    pass\n")
    assert result.status == "unparsable"
    assert result.messages[0].line == 10


def _project(tmp_path: Path, views: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(MODELS)
    for rel, text in views.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _run(root: Path, **kw: object) -> engine.RunReport:
    return engine.run(
        [MigrateViewSets()],
        iter_python_files(root, ()),
        root=root,
        settings={"tenant_field": "tenant_id", "user_tenant_attr": "tenant_id"},
        **kw,  # type: ignore[arg-type]
    )


def test_cache_answers_warm_runs_and_follows_base_classes(tmp_path: Path) -> None:
    child = textwrap.dedent(
        """\
        from app.base import Base
        from app.models import Supplier


        class SupplierViewSet(Base):
            queryset = Supplier.objects.all()
        """
    )
    scoped_base = textwrap.dedent(
        """\
        from rest_framework import viewsets
        from rest_framework.permissions import IsAuthenticated


        class Base(viewsets.ReadOnlyModelViewSet):
            permission_classes = [IsAuthenticated]

            def get_queryset(self):
                return self.queryset.filter(tenant_id=self.request.user.tenant_id)
        """
    )
    root = _project(tmp_path, {"app/views.py": child, "app/base.py": scoped_base})
    cold = _run(root, jobs=1, need_bytes=False)
    assert [r.status for r in cold.results if r.rel == "app/views.py"] == ["unchanged"]
    warm = _run(root, jobs=1, need_bytes=False)
    views = next(r for r in warm.results if r.rel == "app/views.py")
    assert views.cached and views.status == "unchanged"
    assert {rel for rel, digest in views.deps.items() if digest} == {"app/base.py", "app/models.py"}
    assert views.deps["rest_framework/viewsets.py"] == ""  # not in the project: recorded as absent
    # the base class loses its scoping: the child's cached verdict must not survive
    (root / "app" / "base.py").write_text(
        scoped_base.replace(".filter(tenant_id=self.request.user.tenant_id)", ".all()")
    )
    after = _run(root, jobs=1, need_bytes=False)
    views = next(r for r in after.results if r.rel == "app/views.py")
    assert not views.cached
    assert views.status == "manual"
    assert "inherits get_queryset from Base" in views.messages[0].message


def test_process_pool_gives_the_same_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "INLINE_MAX_FILES", 2)
    monkeypatch.setattr(engine, "INLINE_MAX_BYTES", 0)
    files = {f"app/v{i}.py": LEAKY + f"\n\nN{i} = {i}\n" for i in range(30)}
    files["app/broken.py"] = LEAKY + "\nclass (:\n"
    root = _project(tmp_path, files)
    serial = _run(root, jobs=1, cache=False)
    pooled = _run(root, jobs=2, cache=False)
    assert [(r.rel, r.status, r.new) for r in serial.results] == [
        (r.rel, r.status, r.new) for r in pooled.results
    ]
    assert len(pooled.rewritten) == 30
    assert [r.rel for r in pooled.unparsable] == ["app/broken.py"]


def scaffold(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", "migrate-viewsets", *args, "--project", str(root)],
        capture_output=True,
        text=True,
    )


def test_cli_check_diff_apply_and_idempotence(tmp_path: Path) -> None:
    secure = LEAKY.replace(
        "queryset = Supplier.objects.all()",
        "queryset = Supplier.objects.all()\n    permission_classes = [IsAuthenticated]\n\n"
        "    def get_queryset(self):\n"
        "        return Supplier.objects.filter(tenant_id=self.request.user.tenant_id)",
    )
    root = _project(
        tmp_path,
        {
            "app/views.py": LEAKY,
            "app/other.py": "import os\n",
            "app/secure.py": secure,
            ".venv/lib/leaky.py": LEAKY,
            "legacy_backup/views.py": LEAKY,
            "extra/views.py": LEAKY,
            "scripts/broken.py": LEAKY + "\ndef (:\n",
        },
    )
    before = {p: p.read_bytes() for p in root.rglob("*.py")}
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*.py")}

    check = scaffold(root, "--check", "--exclude", "extra")
    assert check.returncode == 1, check.stderr
    assert "would rewrite app/views.py" in check.stdout
    assert "scripts/broken.py:9: unparsable" in check.stdout
    assert (
        "extra/views.py" not in check.stdout and ".venv" not in check.stdout and "backup" not in check.stdout
    )
    assert "1 to rewrite" in check.stdout and "1 unparsable" in check.stdout

    diff = scaffold(root, "--diff", "--exclude", "extra")
    assert diff.returncode == 0
    assert "+++ b/app/views.py" in diff.stdout
    assert "+        return Supplier.objects.filter(tenant_id=tenant_id)" in diff.stdout
    assert {p: p.read_bytes() for p in root.rglob("*.py")} == before

    apply = scaffold(root, "--exclude", "extra", "-j", "1")
    assert apply.returncode == 0, apply.stderr
    assert "rewrote app/views.py" in apply.stdout
    for path, data in before.items():
        if path.name == "views.py" and path.parent.name == "app":
            assert path.read_bytes() != data
            compile(path.read_bytes(), str(path), "exec")
        else:  # untouched files are byte-identical and not even rewritten in place
            assert path.read_bytes() == data, path
            assert path.stat().st_mtime_ns == mtimes[path], path
    assert not list(root.rglob("*.tmp"))

    again = scaffold(root, "--check", "--exclude", "extra")
    # nothing left to rewrite, but the unparsable (leaky) file was never looked at: not a pass
    assert again.returncode == 1, again.stdout
    assert "0 to rewrite" in again.stdout and "scripts/broken.py:9: unparsable" in again.stdout
    clean = scaffold(root, "--check", "--exclude", "extra", "--exclude", "scripts")
    assert clean.returncode == 0, clean.stdout
    assert "0 to rewrite" in clean.stdout and "0 unparsable" in clean.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "--jobs 0"),
        (["no/such/dir"], "no/such/dir: no such file"),
        (["/"], "/: outside the project"),
        (["--bogus"], "No such option"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    root = _project(tmp_path, {"app/views.py": LEAKY})
    proc = scaffold(root, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert (root / "app" / "views.py").read_text() == LEAKY


def test_bad_config_exits_2(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app/views.py": LEAKY})
    (root / "pyproject.toml").write_text('[tool.scaffold]\ntenant_field = "not an identifier"\n')
    proc = scaffold(root)
    assert proc.returncode == 2
    assert "tenant_field" in proc.stderr
    assert (root / "app" / "views.py").read_text() == LEAKY


def test_library_api_paths_limit_the_run(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app/views.py": LEAKY, "other/views.py": LEAKY})
    result = migrate_viewsets(root, ["app"], check=True, cache=False)
    assert [r.rel for r in result.report.rewritten] == ["app/views.py"]
    assert result.exit_code == 1


def test_a_file_edited_during_the_run_is_never_overwritten(tmp_path: Path) -> None:
    from scaffold.errors import OperationFailed

    root = _project(
        tmp_path, {"app/views.py": LEAKY, "app/other.py": LEAKY.replace("SupplierViewSet", "OtherViewSet")}
    )
    report = _run(root, jobs=1, cache=False)
    assert len(report.rewritten) == 2
    edited = LEAKY + "\n# edited by a human meanwhile\n"
    (root / "app" / "views.py").write_text(edited)
    changes = engine.changeset(report)
    with pytest.raises(OperationFailed, match="changed while scaffold was working"):
        changes.apply()
    assert (root / "app" / "views.py").read_text() == edited
    assert (root / "app" / "other.py").read_text() == LEAKY.replace(
        "SupplierViewSet", "OtherViewSet"
    )  # rolled back


def test_symlinked_files_are_skipped_not_replaced(tmp_path: Path) -> None:
    root = _project(tmp_path, {"shared/views.py": LEAKY})
    (root / "app" / "views.py").symlink_to(root / "shared" / "views.py")
    report = _run(root, jobs=1, cache=False)
    link = next(r for r in report.results if r.rel == "app/views.py")
    assert link.status == "skipped" and "symbolic link" in link.messages[0].message
    assert [r.rel for r in report.rewritten] == ["shared/views.py"]
    engine.changeset(report).apply()
    assert (root / "app" / "views.py").is_symlink()


def test_cache_notices_a_base_module_that_appears_later(tmp_path: Path) -> None:
    child = "from app.base import Base\nfrom app.models import Supplier\n\n\nclass V(Base):\n    queryset = Supplier.objects.all()\n"
    root = _project(tmp_path, {"app/views.py": child})
    first = _run(root, jobs=1, need_bytes=False)
    assert next(r for r in first.results if r.rel == "app/views.py").status == "unchanged"  # Base unknown
    (root / "app" / "base.py").write_text(
        "from rest_framework import viewsets\n\n\nclass Base(viewsets.ModelViewSet):\n    pass\n"
    )
    second = _run(root, jobs=1, need_bytes=False)
    views = next(r for r in second.results if r.rel == "app/views.py")
    assert not views.cached
    assert views.status == "rewritten"
