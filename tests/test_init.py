"""``scaffold init`` without a database: what it writes, what it refuses, idempotency.

The database behaviour of the core it renders is proven in tests/test_tenancy_core.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scaffold.cli import main
from tests.helpers.djproject import EXAMPLES, VENV_BIN, copy_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts
    }


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(textwrap.dedent(text).encode())
    return root


def run(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", *args, "--project", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


MANAGE = """\
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.dev")
"""


def settings_package(tmp_path: Path) -> Path:
    return write(
        tmp_path / "site",
        {
            "manage.py": MANAGE,
            "proj/__init__.py": "",
            "proj/urls.py": "urlpatterns = []\n",
            "proj/settings/__init__.py": "",
            "proj/settings/base.py": """\
                INSTALLED_APPS = (
                    "django.contrib.auth",  # users
                    "django.contrib.contenttypes",
                )
                ROOT_URLCONF = "proj.urls"
            """,
            "proj/settings/dev.py": """\
                from .base import *  # noqa

                DEBUG = True
            """,
            "pyproject.toml": """\
                [project]
                name = "site"  # keep me

                [tool.scaffold]
                api_prefix = "/v1/"

                [tool.ruff]
                line-length = 100
            """,
        },
    )


def test_settings_package_tuple_and_existing_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = settings_package(tmp_path)
    code, out, _ = run(root, "--no-input", capsys=capsys)
    assert code == 0, out
    base = (root / "proj/settings/base.py").read_text()
    assert base == textwrap.dedent(
        """\
        INSTALLED_APPS = (
            "django.contrib.auth",  # users
            "django.contrib.contenttypes",
            "tenancy",
        )
        ROOT_URLCONF = "proj.urls"
        """
    )
    assert "INSTALLED_APPS" not in (root / "proj/settings/dev.py").read_text()
    text = (root / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "site"  # keep me\n')
    assert text.rstrip().endswith("[tool.ruff]\nline-length = 100")
    table = tomllib.loads(text)["tool"]["scaffold"]
    assert table["api_prefix"] == "/v1/"  # the user's value is kept
    assert table["settings"] == "proj.settings.dev"
    assert table["urls"] == "proj.urls"
    assert table["tenancy_module"] == "tenancy"
    assert "middleware" not in table  # nothing detected, nothing written
    assert (root / "tenancy/context.py").is_file() and (root / "tenancy/checks.py").is_file()
    assert "edit proj/settings/base.py: add 'tenancy' to INSTALLED_APPS" in out
    # idempotent
    before = snapshot(root)
    code, out, _ = run(root, "--no-input", capsys=capsys)
    assert code == 0 and out.startswith("nothing to do")
    assert snapshot(root) == before


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = settings_package(tmp_path)
    before = snapshot(root)
    code, out, _ = run(root, "--dry-run", "--full", capsys=capsys)
    assert code == 1  # changes are due
    assert "+++ b/tenancy/context.py" in out and '+    "tenancy",\n' in out
    assert "dry run: " in out and "nothing was written" in out
    assert snapshot(root) == before


def test_crlf_settings_and_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "manage.py").write_bytes(b'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "s")\r\n')
    (root / "s.py").write_bytes(b'INSTALLED_APPS = [\r\n    "a",\r\n]\r\n')
    (root / "pyproject.toml").write_bytes(b'[project]\r\nname = "x"\r\n')
    code, out, _ = run(root, "--no-input", capsys=capsys)
    assert code == 0, out
    assert (root / "s.py").read_bytes() == b'INSTALLED_APPS = [\r\n    "a",\r\n    "tenancy",\r\n]\r\n'
    data = (root / "pyproject.toml").read_bytes()
    assert data.startswith(b'[project]\r\nname = "x"\r\n\r\n[tool.scaffold]\r\n')
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_legacy_example_records_existing_core(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not (EXAMPLES / "legacy_erp" / "custom_auth" / "rls.py").is_file():
        pytest.skip("examples/legacy_erp is not there yet")
    project = copy_example("legacy_erp", tmp_path / "legacy_erp")
    root = project.root
    settings_before = (root / "erp/settings.py").read_bytes()
    code, out, _ = run(root, "--no-input", capsys=capsys)
    assert code == 0, out
    assert "found an existing tenancy core in custom_auth.rls" in out
    assert not (root / "tenancy").exists()
    assert (root / "erp/settings.py").read_bytes() == settings_before
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["scaffold"]
    assert table["tenancy_module"] == "custom_auth.rls"
    assert table["settings"] == "erp.settings"
    assert table["middleware"] == "custom_auth.middleware_package.onboarding_middleware:OnboardingMiddleware"
    changed = subprocess.run(
        ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert [line for line in changed if line] == ["?? pyproject.toml"] or all(
        "pyproject.toml" in line for line in changed if line
    )
    before = snapshot(root)
    code, out, _ = run(root, "--no-input", capsys=capsys)
    assert code == 0 and out.startswith("nothing to do")
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, ["--package", "Bad-Name"], "expected a lower-case top-level package name"),
        ({"tenancy/__init__.py": "X = 1\n"}, [], "exists but is not a tenancy core"),
        (
            {"s.py": "INSTALLED_APPS = list(BASE) + apps()\n"},
            [],
            "`INSTALLED_APPS` is computed and none of its parts is a literal list or tuple",
        ),
        (
            {
                "a.py": "def set_tenant_context(t):\n    pass\n",
                "b.py": "def set_tenant_context(t):\n    pass\n",
            },
            [],
            "cannot detect `tenancy_module`: 2 candidates",
        ),
        ({"pyproject.toml": '[tool.scaffold]\ntenant_setting = "bad\'name"\n'}, [], "tenant_setting"),
    ],
    ids=["bad-package", "package-exists", "computed-installed-apps", "ambiguous-core", "bad-setting"],
)
def test_refused_and_nothing_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], args: list[str], message: str
) -> None:
    root = tmp_path / "site"
    write(
        root,
        {
            "manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "s")\n',
            "s.py": "INSTALLED_APPS = ['a']\n",
            **files,
        },
    )
    before = snapshot(root)
    code, out, err = run(root, "--no-input", *args, capsys=capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert snapshot(root) == before


def test_cli_help_lists_init() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "scaffold", "init", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "--dry-run" in proc.stdout and "--no-input" in proc.stdout


def test_declined_confirmation_writes_nothing(tmp_path: Path) -> None:
    from scaffold.init import init_project

    root = settings_package(tmp_path)
    before = snapshot(root)
    seen: list[str] = []

    def decline(result) -> bool:  # type: ignore[no-untyped-def]
        seen.append(result.to_text())
        return False

    result = init_project(root, confirm=decline)
    assert not result.applied and "declined: nothing was written" in result.to_text()
    assert "    tenancy/__init__.py (" in seen[0]  # listed by name and line count
    assert snapshot(root) == before
    assert init_project(root, confirm=lambda r: True).applied
    assert (root / "tenancy" / "__init__.py").is_file()
