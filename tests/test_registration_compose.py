"""Registration edits of one file compose: the onboarding paths live in settings.py itself.

A common layout keeps the onboarding middleware's configuration in the settings module:
module-level ``EXEMPT_PATHS`` / ``PROTECTED_PATHS`` that the middleware reads through
``django.conf.settings``. Then new-module edits settings.py twice (INSTALLED_APPS, then
the path list); the second edit must build on the first, not replace it. The project is
a real startproject (tests/test_new_module_fresh.py's helper) on PostgreSQL; the CLI is
run as a user would, and ``manage.py check`` must accept the result.
"""

from __future__ import annotations

import difflib
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
    # startproject's urls.py is single-quoted: the edits follow it.
    assert "include('stock.urls')" in urls and "include('billing.urls')" in urls

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


TASKS = """\
from django.db import connection


def bind_tenant(tenant_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant_id', %s, true)", [str(tenant_id)])
"""


def test_fix_composes_its_onboarding_and_atomic_requests_edits_of_settings(project: DjangoProject) -> None:
    """`scaffold fix` edits settings.py twice too: TEN020 adds a module's path to the
    EXEMPT_PATHS that live there, TEN050 turns on ATOMIC_REQUESTS; both edits are kept."""
    (project.root / "reports").mkdir()
    (project.root / "reports/__init__.py").write_text("")
    (project.root / "reports/urls.py").write_text("urlpatterns = []\n")
    urls = project.root / "mysite/urls.py"
    urls.write_text(
        urls.read_text().replace(
            "urlpatterns = [", 'urlpatterns = [\n    path("api/reports/", include("reports.urls")),', 1
        )
    )
    (project.root / "accounts/tasks.py").write_text(TASKS)
    settings = project.root / "mysite/settings.py"
    before = settings.read_text()

    proc = project.scaffold("fix", "--select", "TEN020,TEN050", "--no-cache", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = settings.read_text()
    assert '    "/api/stock/",\n    "/api/reports/",\n]' in after  # TEN020
    assert 'DATABASES["default"]["ATOMIC_REQUESTS"] = True' in after  # TEN050
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    assert [line for line in diff if line.startswith("-") and not line.startswith("---")] == []
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert '    "/api/reports/",' in added
    assert 'DATABASES["default"]["ATOMIC_REQUESTS"] = True' in added

    project.manage("check")
    assert project.script(
        "from django.conf import settings\nresult = settings.DATABASES['default']['ATOMIC_REQUESTS']"
    )
    audit = project.scaffold("audit", "--select", "TEN020,TEN050", "--no-cache", check=False)
    assert audit.returncode == 0, audit.stdout
    again = snapshot(project.root)
    proc = project.scaffold("fix", "--select", "TEN020,TEN050", "--no-cache", check=False)
    assert proc.returncode == 0 and "0 to fix" in proc.stdout, proc.stdout
    assert snapshot(project.root) == again
