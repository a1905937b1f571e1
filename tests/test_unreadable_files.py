"""A file scaffold cannot read (``chmod 000``) is one line, never a traceback.

The suite usually runs as root, where ``chmod 000`` does not stop a read. So every command
here runs in a child process that cannot bypass file permissions: as root it drops
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its capability bounding set before exec (the
kernel then checks permissions for it as for any user); as an ordinary user it runs as is.
Each test first proves the child really gets ``PermissionError`` on the file, so the path
exercised is the real one, not a simulation.

Files a command must read to do its job (settings for init/new-module, the urls and
middleware new-module edits, the tenancy core) stop it with exit 2 and one line naming the
file and the fix, writing nothing; other files are one warning line each.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_dac() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python argv...`` unable to bypass file permissions."""
    preexec = _drop_dac if os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, *argv],
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def scaffold(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run("-m", "scaffold", *args, "--project", str(project))


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".scaffold-cache" not in p.parts:
            try:
                out[p.relative_to(root).as_posix()] = p.read_bytes()  # the test process may read it
            except PermissionError:
                out[p.relative_to(root).as_posix()] = b"<unreadable>"
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "legacy_erp"
    shutil.copytree(REPO / "examples" / "legacy_erp", root)
    return root


def lock(project: Path, rel: str) -> None:
    path = project / rel
    path.chmod(0)
    probe = run("-c", f"open({str(path)!r}, 'rb')")
    if "PermissionError" not in probe.stderr:
        pytest.skip(f"cannot make {rel} unreadable for a child process here ({probe.stderr.strip()[-200:]})")


def one_line_about(result: subprocess.CompletedProcess[str], rel: str) -> str:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if rel in line]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.parametrize("rel", ["erp/settings.py", "crm/views.py"])
def test_audit_and_fix_list_an_unreadable_file_in_one_line(project: Path, rel: str) -> None:
    lock(project, rel)
    before = snapshot(project)
    for args in (("audit", "--no-cache"), ("fix", "--check", "--no-cache"), ("migrate-viewsets", "--check")):
        result = scaffold(project, *args)
        line = one_line_about(result, rel)
        assert "cannot read (Permission denied)" in line, line
        assert result.returncode == 1, (args, result.stdout, result.stderr)  # findings / fixes due
    assert snapshot(project) == before


@pytest.mark.parametrize("command", [("init", "--no-input"), ("new-module", "widgets", "--no-input")])
def test_unreadable_settings_stop_init_and_new_module_with_one_line(
    project: Path, command: tuple[str, ...]
) -> None:
    lock(project, "erp/settings.py")
    before = snapshot(project)
    result = scaffold(project, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: erp/settings.py: cannot read")
    assert "fix its permissions" in result.stderr
    assert snapshot(project) == before


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("erp/urls.py", "error: erp/urls.py: cannot read (Permission denied); scaffold must edit it"),
        (
            "custom_auth/middleware_package/onboarding_middleware.py",
            "error: cannot detect `middleware`: custom_auth/middleware_package/onboarding_middleware.py: "
            "cannot read (Permission denied), and it may be the one",
        ),
        (
            "custom_auth/rls.py",
            "error: cannot detect `tenancy_module`: custom_auth/rls.py: cannot read (Permission denied)",
        ),
    ],
)
def test_unreadable_file_new_module_must_use_stops_it(project: Path, rel: str, expected: str) -> None:
    lock(project, rel)
    before = snapshot(project)
    result = scaffold(project, "new-module", "widgets", "--no-input")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr
    assert snapshot(project) == before


def test_unreadable_tenancy_core_stops_init_from_writing_a_second_core(project: Path) -> None:
    lock(project, "custom_auth/rls.py")
    before = snapshot(project)
    result = scaffold(project, "init", "--no-input")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot detect `tenancy_module`: custom_auth/rls.py: cannot read")
    assert snapshot(project) == before


def test_an_unrelated_unreadable_file_is_a_warning_line(project: Path) -> None:
    lock(project, "crm/views.py")
    result = scaffold(project, "new-module", "widgets", "--no-input")
    assert result.returncode == 0, result.stdout + result.stderr
    line = one_line_about(result, "crm/views.py")
    assert "warning: crm/views.py: cannot read (Permission denied)" in line
    assert (project / "widgets" / "views.py").is_file()


def test_config_lists_unreadable_files_one_line_each(project: Path) -> None:
    lock(project, "crm/views.py")
    lock(project, "erp/settings.py")
    result = scaffold(project, "config")
    assert result.returncode == 0, result.stderr
    for rel in ("crm/views.py", "erp/settings.py"):
        line = one_line_about(result, rel)
        assert line.startswith(f"warning: {rel}: cannot read (Permission denied)"), line


def test_any_other_os_error_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last line of defence in ``main``: an OSError no command turned into its own
    message (here raised by the audit itself) is still one line, exit 2."""
    import scaffold.audit
    from scaffold.cli import main

    def unreadable(*_args: object, **_kw: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "x.py"))

    monkeypatch.setattr(scaffold.audit, "audit", unreadable)
    assert main(["audit", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'x.py'}: Permission denied; fix its permissions and re-run\n"
