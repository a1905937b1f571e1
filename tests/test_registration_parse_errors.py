"""A file scaffold must read to register a module that does not parse: exit 2, one line
naming the file, the line and Python's message, and nothing touched.

Before, a settings file with a syntax error was skipped while looking for INSTALLED_APPS
("no INSTALLED_APPS assignment found": wrong problem, wrong fix), and a broken onboarding
middleware was silently not found. Runs through the CLI entry point on a copy of
examples/legacy_erp (no database needed: nothing gets as far as Django).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scaffold.cli import main
from tests.helpers.djproject import copy_example

MIDDLEWARE = "custom_auth/middleware_package/onboarding_middleware.py"


@pytest.fixture()
def legacy(tmp_path: Path) -> Path:
    return copy_example("legacy_erp", tmp_path / "legacy_erp", init_git=False).root


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def break_file(root: Path, rel: str) -> int:
    """Append an unclosed list to ``rel``; return the line Python reports."""
    path = root / rel
    text = path.read_text()
    if not text.endswith("\n"):
        text += "\n"
    line = text.count("\n") + 1
    path.write_text(text + "BROKEN = [\n")
    return line


def refused(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    before = snapshot(root)
    assert main([*args, "--project", str(root)]) == 2
    out, err = capsys.readouterr()
    assert snapshot(root) == before, "nothing may be touched"
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_settings_syntax_error_is_named_not_missing_installed_apps(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = break_file(legacy, "erp/settings.py")
    message = refused(legacy, capsys, "new-module", "stock", "--no-input", "--field", "name:str")
    assert message == (
        f"error: erp/settings.py: cannot parse (line {line}: '[' was never closed); fix the syntax error first"
    )
    assert "INSTALLED_APPS" not in message
    # --dry-run and init read the same file and say the same
    assert refused(legacy, capsys, "new-module", "stock", "--no-input", "--dry-run") == message
    assert refused(legacy, capsys, "init", "--no-input") == message


def test_star_imported_settings_base_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """settings/dev.py does ``from .base import *``; the broken base.py is the one named."""
    root = tmp_path / "site"
    files = {
        "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings.dev")\n',
        "proj/__init__.py": "",
        "proj/urls.py": "urlpatterns = []\n",
        "proj/settings/__init__.py": "",
        "proj/settings/base.py": 'ROOT_URLCONF = "proj.urls"\nINSTALLED_APPS = ["django.contrib.auth"\n',
        "proj/settings/dev.py": "from .base import *  # noqa\nDEBUG = True\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    message = refused(root, capsys, "init", "--no-input")
    assert message.startswith("error: proj/settings/base.py: cannot parse (line 2: ")
    assert message.endswith("; fix the syntax error first")


def test_urls_syntax_error_names_the_line(legacy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = break_file(legacy, "erp/urls.py")
    message = refused(legacy, capsys, "new-module", "stock", "--no-input", "--field", "name:str")
    assert message == (
        f"error: erp/urls.py: cannot parse (line {line}: '[' was never closed); fix the syntax error first"
    )


def test_autodetected_middleware_syntax_error_is_not_skipped(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Detection used to pass over the broken file and report 'no onboarding middleware'."""
    line = break_file(legacy, MIDDLEWARE)
    message = refused(legacy, capsys, "new-module", "stock", "--no-input", "--field", "name:str")
    assert message == (
        f"error: {MIDDLEWARE}: cannot parse (line {line}: '[' was never closed); fix the syntax error first"
    )


def test_configured_middleware_syntax_error(legacy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (legacy / "pyproject.toml").write_text(
        "[tool.scaffold]\n"
        'middleware = "custom_auth.middleware_package.onboarding_middleware:OnboardingMiddleware"\n'
    )
    path = legacy / MIDDLEWARE
    text = path.read_text()
    path.write_text(text.replace("    EXEMPT_PATHS = [", "    EXEMPT_PATHS = [[", 1))
    line = text.split("    EXEMPT_PATHS = [")[0].count("\n") + 1
    message = refused(legacy, capsys, "new-module", "stock", "--no-input", "--protected")
    assert message.startswith(f"error: {MIDDLEWARE}: cannot parse (line {line}: ")
    assert message.endswith("; fix the syntax error first")
