"""TEN090: a views file that could hold a leak but cannot be analyzed (over 1 MB, not
decodable, binary, not parsable) is a finding, so ``audit`` and ``migrate-viewsets --check``
exit 1 until the user fixes or excludes it; before, both passed at exit 0 with "1 could not
be analyzed". ``fix`` with an onboarding middleware that does not parse exits non-zero and
says TEN020 was not checked, instead of "0 unparsable" and exit 0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scaffold.cli import main

REPO = Path(__file__).resolve().parents[1]
LEAKY = (
    "from rest_framework import viewsets\n"
    "from shop.models import Order\n\n\n"
    "class OrderViewSet(viewsets.ModelViewSet):\n"
    "    queryset = Order.objects.all()\n"
)

BAD: dict[str, tuple[bytes, str]] = {
    "huge": (LEAKY.encode() + b"x = 1\n" * 200_000, "KiB is over the 1 MB limit"),
    "latin1": (LEAKY.encode() + "# r\xe9sum\xe9\n".encode("latin-1"), "not valid UTF-8"),
    "wrong-cookie": (
        b"# -*- coding: ascii -*-\n" + LEAKY.encode() + "# r\xe9sum\xe9\n".encode(),
        "not valid ascii",
    ),
    "binary": (LEAKY.encode() + b"\x00\x01\x02binary\x00\n", "cannot parse"),
    "syntax": (LEAKY.encode() + b"def broken(:\n", "cannot parse"),
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def make(tmp_path: Path, data: bytes, pyproject: str = "") -> Path:
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "views.py").write_bytes(data)
    (root / "pyproject.toml").write_text("[tool.scaffold]\n" + pyproject)
    return root


@pytest.mark.parametrize("kind", sorted(BAD))
def test_unanalyzable_views_file_fails_audit_and_check(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, reason = BAD[kind]
    root = make(tmp_path, data)
    code, out, err = cli(capsys, "audit", "--project", str(root), "--no-cache")
    assert code == 1, out + err
    (line,) = [ln for ln in out.splitlines() if "TEN090" in ln]
    assert (
        line.startswith("shop/views.py:")
        and "TEN090 not analyzed: " in line
        and reason.lower() in line.lower()
    ), line
    assert (
        out.splitlines()[-1]
        == "Found 1 finding; 3 files scanned, 0 views recognised, 0 analysed, 1 could not be analyzed."
    )
    assert err == ""  # one line about the file, not two
    # a narrower --select does not make it pass either
    code, out, _ = cli(capsys, "audit", "--project", str(root), "--no-cache", "--select", "TEN001")
    assert code == 1 and "TEN090" in out

    code, out, err = cli(capsys, "migrate-viewsets", "--check", "--project", str(root), "--no-cache")
    assert code == 1, out + err
    assert "shop/views.py" in out and reason.lower() in out.lower()


@pytest.mark.parametrize(
    "how",
    [
        'exclude = ["shop/views.py"]\n',
        'per_file_ignores = {"shop/views.py" = ["TEN090"]}\n',
        "--ignore",
    ],
)
def test_the_user_can_exclude_it(how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make(tmp_path, BAD["latin1"][0], "" if how == "--ignore" else how)
    extra = ["--ignore", "TEN090"] if how == "--ignore" else []
    code, out, err = cli(capsys, "audit", "--project", str(root), "--no-cache", *extra)
    assert code == 0, out + err
    assert out.startswith("No findings")
    if how == "--ignore":  # still said, as a warning line
        assert err.startswith("warning: shop/views.py:1: skipped: not valid utf-8") and err.count("\n") == 1
    if how.startswith("exclude"):
        code, out, _ = cli(capsys, "migrate-viewsets", "--check", "--project", str(root), "--no-cache")
        assert code == 0 and "0 unparsable, 0 skipped" in out


def test_a_huge_file_no_rule_looks_into_is_not_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make(tmp_path, b"x = 1\n" * 200_000)
    code, out, _ = cli(capsys, "audit", "--project", str(root), "--no-cache")
    assert code == 0 and out.strip() == "No findings; 3 files scanned, 0 views recognised, 0 analysed."
    code, out, _ = cli(capsys, "migrate-viewsets", "--check", "--project", str(root), "--no-cache")
    assert code == 0 and "0 skipped" in out


@pytest.fixture
def broken_middleware(tmp_path: Path) -> Path:
    root = tmp_path / "legacy_erp"
    shutil.copytree(REPO / "examples" / "legacy_erp", root)
    middleware = root / "custom_auth" / "middleware_package" / "onboarding_middleware.py"
    middleware.write_text(middleware.read_text() + "\ndef broken(:\n")
    return root


@pytest.mark.parametrize("args", [["--check"], []])
def test_fix_with_an_unparsable_middleware_is_not_a_pass(
    broken_middleware: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "fix", "--project", str(broken_middleware), "--no-cache", "--select", "TEN020", *args
    )
    assert code == 1, out + err
    lines = [ln for ln in out.splitlines() if "onboarding_middleware.py" in ln]
    assert len(lines) == 1, out
    assert "unparsable: cannot parse" in lines[0] and "TEN020 was neither checked nor fixed" in lines[0]
    middleware = broken_middleware / "custom_auth" / "middleware_package" / "onboarding_middleware.py"
    broken_line = len(middleware.read_text().splitlines())
    assert f"onboarding_middleware.py:{broken_line}: unparsable: cannot parse: invalid syntax;" in lines[0]
    assert "1 unparsable" in out.splitlines()[-1] and "0 unparsable" not in out
