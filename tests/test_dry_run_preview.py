"""Readable dry runs: ``init --dry-run`` and ``new-module --dry-run`` list new files with
their line counts and show the full diff only of files that exist and are edited;
``--full`` (or ``-v``) shows every diff. On an untouched ``django-admin startproject``
(sqlite, hence ``--allow-non-postgres``), in-process through ``scaffold.cli.main``."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from scaffold.cli import main
from scaffold.fsutil import Change
from scaffold.preview import line_count, preview
from tests.helpers.djproject import VENV_BIN


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "site"
    root.mkdir()
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_line_count() -> None:
    assert [line_count(b""), line_count(b"a\n"), line_count(b"a\nb"), line_count(b"a\nb\n")] == [0, 1, 2, 2]


def test_preview_lists_new_files_and_diffs_edited_ones(tmp_path: Path) -> None:
    changes = [
        Change(tmp_path / "pkg/new.py", b"one\ntwo\nthree\n"),
        Change(tmp_path / "settings.py", b"A = 1\nB = 2\n", b"A = 1\n"),
    ]
    text = preview(changes, tmp_path, reasons={tmp_path / "pkg/new.py": "the core"})
    assert text.splitlines() == [
        "# create: the core",
        "    pkg/new.py (3 lines)",
        "# edit settings.py",
        "--- a/settings.py",
        "+++ b/settings.py",
        "@@ -1 +1,2 @@",
        " A = 1",
        "+B = 2",
        "(1 new file(s) listed by name; --full shows their content)",
    ]
    full = preview(changes, tmp_path, full=True)
    assert "+++ b/pkg/new.py" in full and "+three" in full and "+B = 2" in full
    assert preview([], tmp_path) == ""


def test_init_dry_run_shows_the_settings_edit_and_only_names_the_core(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(site)
    code, out, _err = cli(capsys, "init", "--project", str(site), "--dry-run", "--allow-non-postgres")
    assert code == 1
    # The edit of the user's own file is shown in full ...
    assert "# edit mysite/settings.py:" in out and "+    'tenancy',\n" in out
    # ... the rendered core only by name and size.
    counts = dict(re.findall(r"^    (tenancy/\S+) \((\d+) lines?\)$", out, re.M))
    assert {"tenancy/__init__.py", "tenancy/checks.py", "tenancy/context.py", "tenancy/views.py"} <= set(
        counts
    )
    assert all(int(n) > 0 for n in counts.values())
    assert "+++ b/tenancy/" not in out and "def set_tenant_context" not in out
    assert "--full shows their content" in out and "nothing was written" in out
    compact = len(out.splitlines())

    for flag in ("--full", "-v"):
        code, full, _err = cli(
            capsys, "init", "--project", str(site), "--dry-run", "--allow-non-postgres", flag
        )
        assert code == 1
        assert "+++ b/tenancy/context.py" in full and "def set_tenant_context" in full
        assert "+    'tenancy',\n" in full
        assert len(full.splitlines()) > 10 * compact
    assert snapshot(site) == before
    # the line counts are the real ones
    assert main(["init", "--project", str(site), "--no-input", "--allow-non-postgres"]) == 0
    capsys.readouterr()
    for rel, n in counts.items():
        assert line_count((site / rel).read_bytes()) == int(n), rel


def test_new_module_dry_run_shows_registration_edits_and_names_the_module_files(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--project", str(site), "--no-input", "--allow-non-postgres"]) == 0
    capsys.readouterr()
    before = snapshot(site)
    args = ["new-module", "billing", "--project", str(site), "--no-input", "--field", "title:str"]
    code, out, _err = cli(capsys, *args, "--dry-run", "--allow-non-postgres")
    assert code == 1
    assert "# edit mysite/urls.py" in out and "+    path('api/billing/', include('billing.urls')),\n" in out
    assert "# edit mysite/settings.py" in out and "+    'billing',\n" in out
    assert re.search(r"^    billing/models\.py \(\d+ lines\)$", out, re.M)
    assert re.search(r"^    billing/migrations/0002_billing_rls\.py \(\d+ lines\)$", out, re.M), out
    assert "+++ b/billing/" not in out
    code, full, _err = cli(capsys, *args, "--dry-run", "--allow-non-postgres", "--full")
    assert code == 1 and "+++ b/billing/models.py" in full and "+++ b/mysite/urls.py" in full
    assert snapshot(site) == before
