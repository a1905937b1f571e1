"""scaffold never reads or writes outside the project, never replaces a read-only file, and a
write that fails leaves every file as it was, with one line and exit 2 (no traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scaffold import journal
from scaffold.cli import main
from scaffold.errors import OperationFailed
from scaffold.fsutil import ChangeSet
from tests.helpers.audit_fixtures import audit_fixture

LEAKY = "shop/views.py"  # TEN001 fixture: views migrate-viewsets rewrites


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".scaffold-cache" not in p.parts
    }


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def two_projects(tmp_path: Path) -> tuple[Path, Path]:
    return audit_fixture("TEN001", tmp_path / "a"), audit_fixture("TEN001", tmp_path / "b")


@pytest.mark.parametrize("command", ["audit", "fix", "migrate-viewsets"])
def test_a_path_in_another_project_is_refused(
    two_projects: tuple[Path, Path], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    mine, other = two_projects
    before = snapshot(other)
    code, _out, err = run(capsys, command, str(other / "shop"), "--project", str(mine))
    assert code == 2
    assert err.count("\n") == 1 and "outside the project" in err and "Traceback" not in err
    assert snapshot(other) == before


@pytest.mark.parametrize("command", ["audit", "fix", "migrate-viewsets"])
def test_a_symlink_out_of_the_project_is_refused(
    two_projects: tuple[Path, Path], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    mine, other = two_projects
    (mine / "ext").symlink_to(other / "shop", target_is_directory=True)
    before = snapshot(other)
    code, _out, err = run(capsys, command, "ext", "--project", str(mine))
    assert code == 2 and "outside the project" in err and f"links to {other / 'shop'}" in err
    assert snapshot(other) == before


def test_a_whole_project_run_does_not_follow_a_symlinked_folder(
    two_projects: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mine, other = two_projects
    (mine / "ext").symlink_to(other / "shop", target_is_directory=True)
    before = snapshot(other)
    code, _out, _err = run(capsys, "fix", "--project", str(mine))
    assert code in (0, 1)
    assert snapshot(other) == before


@pytest.mark.parametrize("command", ["fix", "migrate-viewsets"])
def test_a_read_only_target_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    root = audit_fixture("TEN001", tmp_path)
    (root / LEAKY).chmod(0o444)
    before = snapshot(root)
    code, _out, err = run(capsys, command, "--project", str(root))
    assert code == 2, err
    assert err.count("\n") == 1 and "read-only file; make it writable" in err and "Traceback" not in err
    assert snapshot(root) == before


def test_a_failing_write_restores_every_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("a = 1\n")
    second.write_text("b = 1\n")
    changes = ChangeSet()
    changes.add(first, "a = 2\n")
    changes.add(second, "b = 2\n")
    real = journal.stage
    calls = []

    def flaky(path: Path, temp: Path, data: bytes, mode: int | None) -> None:
        if data == b"b = 2\n":  # staging b.py's new content (its backup is a hard link)
            calls.append(path)
            raise OSError(28, "No space left on device")
        real(path, temp, data, mode)

    monkeypatch.setattr(journal, "stage", flaky)
    with pytest.raises(OperationFailed, match=r"cannot write .*b\.py: No space left on device; every file"):
        changes.apply()
    assert (first.read_text(), second.read_text()) == ("a = 1\n", "b = 1\n")
    assert calls == [second]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]  # no temp file, no journal


def test_a_read_only_folder_is_refused_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    changes = ChangeSet()
    changes.add(tmp_path / "ok.py", "x = 1\n")
    changes.add(folder / "new.py", "x = 1\n")
    folder.chmod(0o555)
    try:
        with pytest.raises(OperationFailed, match="folder not writable"):
            changes.apply()
        assert not (tmp_path / "ok.py").exists()
    finally:
        folder.chmod(0o755)


def test_diff_of_a_pep263_source_is_text(tmp_path: Path) -> None:
    path = tmp_path / "legacy.py"
    old = "# -*- coding: latin-1 -*-\nname = 'Müller'\n".encode("latin-1")
    path.write_bytes(old)
    changes = ChangeSet()
    changes.add(path, old.replace(b"name", b"label"))
    diff = changes.diff(tmp_path)
    assert "Binary file" not in diff
    assert "-name = 'Müller'\n+label = 'Müller'\n" in diff


def test_an_excluded_folder_passed_explicitly_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = audit_fixture("TEN001", tmp_path)
    backup = root / "backup"
    backup.mkdir()
    views = (root / LEAKY).read_text().replace("from . import models", "from shop import models")
    (backup / "views.py").write_text(views.replace("from .models import", "from shop.models import"))
    code, out, _err = run(capsys, "audit", "--project", str(root), "--select", "TEN001", "--format", "json")
    assert code == 1 and "backup/views.py" not in out  # excluded by default
    code, out, _err = run(
        capsys, "audit", "backup", "--project", str(root), "--select", "TEN001", "--format", "json"
    )
    assert code == 1 and "backup/views.py" in out


def test_a_symlinked_settings_file_is_never_replaced_by_a_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = audit_fixture("TEN001", tmp_path)
    settings = root / "proj" / "settings.py"
    real = root / "proj" / "settings_real.py"
    settings.rename(real)
    settings.symlink_to("settings_real.py")
    before = snapshot(root)
    code, _out, err = run(
        capsys, "init", "--no-input", "--project", str(root)
    )  # adds "tenancy" to INSTALLED_APPS
    assert code == 2, err
    assert err.count("\n") == 1 and "is a symbolic link" in err and "settings_real.py" in err
    assert snapshot(root) == before and settings.is_symlink()
