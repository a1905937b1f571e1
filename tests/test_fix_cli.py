"""``scaffold fix`` and ``migrate-viewsets`` agree with ``audit``: suppressions, exit codes,
files that could not be analyzed."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from scaffold.audit import audit
from scaffold.cli import main
from scaffold.migrate import migrate_viewsets
from tests.helpers.audit_fixtures import BASE

LEAKY = """\
class {name}(viewsets.ModelViewSet):{class_comment}
    queryset = Order.objects.all(){queryset_comment}
"""

HEAD = """\
from rest_framework import viewsets

from shop.models import Order

"""


def leaky(name: str, class_comment: str = "", queryset_comment: str = "") -> str:
    return "\n" + LEAKY.format(name=name, class_comment=class_comment, queryset_comment=queryset_comment)


def project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    root = tmp_path / "proj"
    shutil.copytree(BASE, root)
    (root / "app").mkdir()
    (root / "app/__init__.py").write_text("")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(textwrap.dedent(text).encode())
    (root / "pyproject.toml").write_text(f"[tool.scaffold]\n{config}")
    return root


def cli(root: Path, *args: str) -> int:
    return main([*args, "--project", str(root), "--no-cache", "--jobs", "1"])


# -- M1: what audit silences, fix and migrate-viewsets leave alone ---------------------------

# B's findings: TEN001 + TEN003 on the class line (no perform_create, AllowAny), TEN001 on
# the queryset line.
SILENCED = HEAD + leaky("B", "  # noqa: TEN001,TEN003", "  # noqa: TEN001")


@pytest.mark.parametrize(
    "files, config",
    [
        ({"app/views.py": SILENCED}, ""),
        ({"app/views.py": HEAD + leaky("B", "  # noqa", "  # noqa: TEN00")}, ""),
        (
            {"app/pfi.py": HEAD + leaky("B")},
            'per_file_ignores = { "app/pfi.py" = ["TEN001", "TEN003", "TEN004"] }\n',
        ),
        ({"app/pfi.py": HEAD + leaky("B")}, 'per_file_ignores = { "pfi.py" = ["TEN00"] }\n'),
    ],
)
def test_silenced_views_are_left_alone(tmp_path: Path, files: dict[str, str], config: str) -> None:
    root = project(tmp_path, files, config)
    assert audit(root, jobs=1, cache=False).findings == []
    assert cli(root, "audit") == 0
    assert cli(root, "fix", "--check") == 0
    assert cli(root, "migrate-viewsets", "--check") == 0
    assert cli(root, "fix") == 0
    assert cli(root, "migrate-viewsets") == 0
    for rel, text in files.items():
        assert (root / rel).read_text() == textwrap.dedent(text)


def test_unsilenced_views_in_the_same_file_are_fixed(tmp_path: Path) -> None:
    source = SILENCED + "\n" + leaky("C", "  # noqa: E501") + "\n" + leaky("D", "  # noqa: TEN003")
    root = project(tmp_path, {"app/views.py": source})
    assert {f.symbol for f in audit(root, jobs=1, cache=False).findings} == {"C", "D"}
    assert cli(root, "fix", "--check") == 1
    assert cli(root, "migrate-viewsets", "--check") == 1
    migrate_viewsets(root, jobs=1, cache=False)
    text = (root / "app/views.py").read_text()
    b = text.split("class B")[1].split("class C")[0]
    c = text.split("class C")[1].split("class D")[0]
    assert "def get_queryset" not in b and "permission_classes" not in b
    assert "def get_queryset" in c and "permission_classes" in c
    # a partly silenced view is rewritten whole (its unsilenced TEN001 needs the rewrite)
    assert "def get_queryset" in text.split("class D")[1]
    assert audit(root, jobs=1, cache=False).findings == []
    assert cli(root, "fix", "--check") == 0


# -- M2: exit codes --------------------------------------------------------------------------

HANDLER_LEAK = (
    HEAD.replace("viewsets", "views")
    + """
class Report(views.APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request):
        return Response(list(Order.objects.values("number")))
""".replace(
        "from shop",
        "from rest_framework.permissions import IsAuthenticated\nfrom rest_framework.response import Response\n\nfrom shop",
    )
)


def test_fix_exits_1_when_findings_are_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {"app/views.py": HEAD + leaky("B"), "app/report.py": HANDLER_LEAK})
    assert cli(root, "fix", "--check") == 1  # fixes are due
    assert cli(root, "fix", "--diff") == 0  # only shows them
    capsys.readouterr()
    assert cli(root, "fix") == 1  # applied, but the handler query is left
    out = capsys.readouterr().out
    assert "fixed app/views.py" in out and "app/report.py:" in out
    # the handler query is audit's TEN001 and migrate-viewsets' manual review alike
    assert out.rstrip().endswith("1 fixed, 1 need manual review, 0 unparsable, 0 skipped, 1 finding left")
    assert cli(root, "fix", "--check") == 0  # nothing more fix can do
    assert cli(root, "fix") == 1  # still not clean


def test_fix_exits_0_when_clean(tmp_path: Path) -> None:
    root = project(tmp_path, {"app/views.py": HEAD + leaky("B")})
    assert cli(root, "fix") == 0
    assert cli(root, "fix") == 0
    assert cli(root, "audit") == 0


@pytest.mark.parametrize("select", ["TEN06", "TEN060,TEN062"])
def test_selecting_only_database_rules_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], select: str
) -> None:
    root = project(tmp_path, {"app/views.py": HEAD + leaky("B")})
    before = (root / "app/views.py").read_bytes()
    assert cli(root, "fix", "--select", select) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has an automatic fix" in err and "select from TEN001" in err
    assert (root / "app/views.py").read_bytes() == before


# -- M6: files that could hold a finding but were not analyzed -------------------------------


def test_fix_lists_files_it_could_not_analyze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, {"app/views.py": HEAD + leaky("B")})
    (root / "app/broken.py").write_text("class V(viewsets.ModelViewSet):\n    queryset = (\n")
    (root / "app/latin.py").write_bytes("# queryset \xe9t\xe9\n".encode("latin-1"))
    (root / "app/huge.py").write_text("queryset = None\n" + "x = 1\n" * 200_000)
    (root / "app/huge_data.py").write_text("x = 1\n" * 200_000)  # nothing any rule looks for: not missed
    for command in ("fix", "migrate-viewsets"):
        for args in (["--check"], ["--diff"], []):
            capsys.readouterr()
            code = cli(root, command, *args)
            captured = capsys.readouterr()
            out = captured.out + captured.err
            assert "app/broken.py:2: unparsable: cannot parse:" in out, (command, args, out)
            assert "app/latin.py: skipped: not valid UTF-8" in out
            assert "app/huge.py: skipped: 1171 KiB is over the 1 MB limit" in out
            assert "huge_data" not in out
            assert "1 unparsable, 2 skipped" in out
            if args == ["--check"] or command == "fix" and not args:
                assert code == 1, (command, args)  # never a pass without having looked (TEN090)
    capsys.readouterr()
    assert cli(root, "audit") == 1
    out = capsys.readouterr().out
    assert "app/broken.py:2:" in out and "TEN090 not analyzed: cannot parse:" in out
    assert (
        "app/latin.py:1:1: TEN090 not analyzed: not valid UTF-8" in out and "app/huge.py:1:1: TEN090" in out
    )
    assert "huge_data" not in out
