"""Edits in the file's own style: an appended string or ``path(...)`` takes the quote the
list (else the file) already uses. Before/after on sources, then end to end on an untouched
``django-admin startproject`` (single-quoted settings.py and urls.py) through init and
new-module."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold.registration import add_expression_to_sequence, add_to_sequence
from tests.helpers.djproject import VENV_BIN


def never(_node: object) -> bool:
    return False


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("APPS = ['a', 'b']\n", "APPS = ['a', 'b', 'new']\n"),
        ('APPS = ["a", "b"]\n', 'APPS = ["a", "b", "new"]\n'),
        # An empty list takes the file's style.
        ("X = 'x'\nAPPS = []\n", "X = 'x'\nAPPS = ['new']\n"),
        ('X = "x"\nAPPS = []\n', 'X = "x"\nAPPS = ["new"]\n'),
        # An empty list takes the nearest statement's style, not the file's majority.
        (
            "A = 'a'\nB = 'b'\nC = 'c'\nX = \"x\"\nAPPS = []\n",
            "A = 'a'\nB = 'b'\nC = 'c'\nX = \"x\"\nAPPS = [\"new\"]\n",
        ),
        # No strings at all: double quotes (ruff format's default).
        ("APPS = []\n", 'APPS = ["new"]\n'),
        # The list's own majority wins over a docstring-only module.
        ('"""Doc."""\nAPPS = (\n    \'a\',\n)\n', '"""Doc."""\nAPPS = (\n    \'a\',\n    \'new\',\n)\n'),
    ],
)
def test_append_string_keeps_the_quote_style(before: str, after: str) -> None:
    assert add_to_sequence(before, "APPS", "new") == after


def test_a_value_holding_the_quote_falls_back_to_the_other_quote() -> None:
    assert add_to_sequence("APPS = ['a']\n", "APPS", "it's") == "APPS = ['a', \"it's\"]\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "urlpatterns = [\n    path('admin/', admin.site.urls),\n]\n",
            "urlpatterns = [\n    path('admin/', admin.site.urls),\n    path('api/x/', include('x.urls')),\n]\n",
        ),
        (
            'urlpatterns = [\n    path("admin/", admin.site.urls),\n]\n',
            'urlpatterns = [\n    path("admin/", admin.site.urls),\n    path("api/x/", include("x.urls")),\n]\n',
        ),
    ],
)
def test_appended_expression_keeps_the_quote_style(before: str, after: str) -> None:
    expression = 'path("api/x/", include("x.urls"))'
    assert add_expression_to_sequence(before, "urlpatterns", expression, present=never) == after


def _added_lines(old: str, new: str) -> list[str]:
    return [
        line[1:]
        for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]


def test_startproject_files_get_single_quotes(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    settings, urls = root / "mysite" / "settings.py", root / "mysite" / "urls.py"
    old_settings, old_urls = settings.read_text(), urls.read_text()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["HOME"] = str(tmp_path / "home")
    for args in (
        ["init", "--no-input", "--allow-non-postgres"],
        ["new-module", "billing", "--no-input", "--field", "title:str", "--allow-non-postgres"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "scaffold", *args, "--project", str(root)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    added_settings = _added_lines(old_settings, settings.read_text())
    added_urls = _added_lines(old_urls, urls.read_text())
    assert "    'tenancy'," in added_settings and "    'billing'," in added_settings, added_settings
    assert "    path('api/billing/', include('billing.urls'))," in added_urls, added_urls
    assert not any('"' in line for line in added_settings + added_urls), added_settings + added_urls
