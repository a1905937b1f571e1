"""Registration edits of one file compose: the onboarding paths live in settings.py itself.

A common layout keeps the onboarding middleware's configuration in the settings module:
module-level ``EXEMPT_PATHS`` / ``PROTECTED_PATHS`` that the middleware reads through
``django.conf.settings``. Then new-module edits settings.py twice (INSTALLED_APPS, then
the path list); the second edit must build on the first, not replace it. The project is
a real startproject (tests/test_new_module_fresh.py's helper) on PostgreSQL; the CLI is
run as a user would, and ``manage.py check`` must accept the result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.helpers.djproject import DjangoProject, git
from tests.test_new_module_fresh import startproject

ONBOARDING_SETTINGS = """

# Onboarding: read by accounts.middleware.OnboardingMiddleware.
EXEMPT_PATHS = [
    "/api/auth/",
]
PROTECTED_PATHS = []
MIDDLEWARE += ["accounts.middleware.OnboardingMiddleware"]
"""

MIDDLEWARE = """\
from django.conf import settings
from django.http import JsonResponse


class OnboardingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if any(path.startswith(p) for p in settings.EXEMPT_PATHS):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if any(path.startswith(p) for p in settings.PROTECTED_PATHS) and not getattr(
            user, "onboarding_completed", False
        ):
            return JsonResponse({"detail": "finish onboarding first"}, status=403)
        return self.get_response(request)
"""


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database) -> DjangoProject:
    proj = startproject(tmp_path_factory.mktemp("compose") / "mysite", pg_database)
    settings = proj.root / "mysite/settings.py"
    settings.write_text(settings.read_text() + ONBOARDING_SETTINGS)
    (proj.root / "accounts/middleware.py").write_text(MIDDLEWARE)
    git(proj.root, "add", "-A")
    git(proj.root, "commit", "-qm", "onboarding paths in settings")
    proj.scaffold("init", "--no-input")
    config = json.loads(proj.scaffold("config", "--json").stdout)["config"]
    assert config["middleware"]["value"] == "mysite.settings"  # the settings module itself
    return proj


def test_new_module_registers_app_and_paths_in_the_same_settings_file(project: DjangoProject) -> None:
    out = project.scaffold("new-module", "stock", "--no-input", "--field", "name:str").stdout
    assert "edited  mysite/settings.py" in out
    out = project.scaffold("new-module", "billing", "--no-input", "--protected").stdout
    settings = (project.root / "mysite/settings.py").read_text()
    apps = settings.split("INSTALLED_APPS = [")[1].split("]")[0]
    assert "'tenancy',\n    'stock',\n    'billing',\n" in apps  # both INSTALLED_APPS edits kept
    assert 'EXEMPT_PATHS = [\n    "/api/auth/",\n    "/api/stock/",\n]' in settings
    assert 'PROTECTED_PATHS = ["/api/billing/"]' in settings
    urls = (project.root / "mysite/urls.py").read_text()
    assert 'include("stock.urls")' in urls and 'include("billing.urls")' in urls

    project.manage("check")
    project.migrate()
    result = project.script(
        """
        from django.apps import apps
        from django.conf import settings
        result = [apps.is_installed("stock"), apps.is_installed("billing"),
                  settings.EXEMPT_PATHS, settings.PROTECTED_PATHS]
        """
    )
    assert result == [True, True, ["/api/auth/", "/api/stock/"], ["/api/billing/"]]


def test_second_run_changes_nothing(project: DjangoProject) -> None:
    before = snapshot(project.root)
    for args in (
        ("new-module", "stock", "--no-input", "--field", "name:str"),
        ("new-module", "billing", "--no-input", "--protected"),
    ):
        out = project.scaffold(*args).stdout
        assert out == f"{args[1]}: already up to date\n"
        assert project.scaffold(*args, "--dry-run").returncode == 0
    assert snapshot(project.root) == before
