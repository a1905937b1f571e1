"""``scaffold probe`` on a hand-written project whose tenant field is a foreign key to a
``Tenant`` model with integer primary keys (real PostgreSQL, the NOSUPERUSER NOBYPASSRLS
CREATEDB runner role: T1, T4).

It is probed from another folder (``--project``), with settings that read a file relative
to the project and print while loading: the report on stdout stays pure JSON. The probe
makes a tenant row per tenant, gives each user ``tenant`` (``user_tenant_attr =
"tenant_id"``, the foreign key's column) and builds every tenant model's rows inside it;
integer ids come from its random range, so they count as evidence. ``notes`` filters by
the user's tenant (no RLS: the view filter protects) and probes clean; ``leaky`` returns
``Note.objects.all()`` and leaks B's integer ids; ``Comment`` (a required foreign key to
``Note``) is built under the same tenant as its note. The other checklist cases concern
RLS and generated code and are tested in test_probe_generated.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.djproject import DjangoProject, git_init
from tests.helpers.pg import PgDatabase
from tests.helpers.probe import ProbeRun, as_runner

pytestmark = pytest.mark.db

FILES = {
    "manage.py": """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
""",
    "site_settings.py": """\
import os
from urllib.parse import urlsplit

url = urlsplit(os.environ["DATABASE_URL"])
print("settings loaded")  # must not end up in the JSON report
SECRET_KEY = open("secret.txt").read().strip()  # relative to the project, as manage.py runs
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "accounts",
    "notes",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AUTH_USER_MODEL = "accounts.User"
ROOT_URLCONF = "site_urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": url.username,
        "PASSWORD": url.password or "",
        "HOST": url.hostname,
        "PORT": str(url.port or ""),
    }
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
""",
    "secret.txt": "not-so-secret\n",
    "site_urls.py": """\
from django.urls import include, path

urlpatterns = [path("api/", include("notes.urls"))]
""",
    "pyproject.toml": '[tool.scaffold]\ntenant_field = "tenant_id"\nuser_tenant_attr = "tenant_id"\n',
    "accounts/__init__.py": "",
    "accounts/models.py": """\
from django.contrib.auth.models import AbstractUser
from django.db import models


class Tenant(models.Model):
    name = models.CharField(max_length=50)


class User(AbstractUser):
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT)
""",
    "notes/__init__.py": "",
    "notes/models.py": """\
from django.db import models


class Note(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT)
    title = models.CharField(max_length=50)


class Comment(models.Model):
    tenant = models.ForeignKey("accounts.Tenant", on_delete=models.PROTECT)
    note = models.ForeignKey(Note, on_delete=models.PROTECT)
    body = models.TextField()
""",
    "notes/views.py": """\
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from notes.models import Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "tenant", "title"]
        read_only_fields = ["id", "tenant"]


class NoteViewSet(viewsets.ModelViewSet):
    serializer_class = NoteSerializer

    def get_queryset(self):
        if not self.request.user.tenant_id:
            raise PermissionDenied("no tenant")
        return Note.objects.filter(tenant_id=self.request.user.tenant_id)

    def perform_create(self, serializer):
        if not self.request.user.tenant_id:
            raise PermissionDenied("no tenant")
        serializer.save(tenant_id=self.request.user.tenant_id)


class LeakyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NoteSerializer
    queryset = Note.objects.all()
""",
    "notes/urls.py": """\
from rest_framework.routers import SimpleRouter

from notes.views import LeakyViewSet, NoteViewSet

router = SimpleRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("leaky", LeakyViewSet, basename="leaky")
urlpatterns = router.urls
""",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> ProbeRun:
    root: Path = tmp_path_factory.mktemp("probefk") / "site"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for app in ("accounts", "notes"):
        (root / app / "migrations").mkdir()
        (root / app / "migrations" / "__init__.py").write_text("")
    git_init(root)
    project = as_runner(DjangoProject(root, pg_database))
    project.manage("makemigrations", "accounts", "notes", "-v", "0")
    # from another folder, as `scaffold probe --project DIR` is used
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "probe", "--project", str(root), "--format", "json"],
        cwd=root.parent,
        env=project.env(runtime=False),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert "settings loaded" in proc.stderr
    return ProbeRun(proc.returncode, proc.stdout, proc.stderr)


def test_every_tenant_model_was_built(run: ProbeRun) -> None:
    assert run.report["warnings"] == []  # Comment (fk to Note) built too, no role warning


def test_the_filtered_viewset_probes_clean(run: ProbeRun) -> None:
    checks = run.checks("/api/notes/")
    assert checks and {e["verdict"] for e in checks} == {"ok"}, [e for e in checks if e["verdict"] != "ok"]
    created = run.verdict("/api/notes/", "create as A with B's tenant id")
    assert created["detail"] == "stored in A (201)"


def test_the_unfiltered_viewset_leaks_integer_ids(run: ProbeRun) -> None:
    assert run.returncode == 1
    detail = run.verdict("/api/leaky/", "list as A")["detail"]
    assert detail.startswith("B's ids in the response: ")
    assert "tenant B's id" in detail and "B's notes.Note 1" in detail  # ids from the random range
    assert run.verdict("/api/leaky/<pk>/", "retrieve as A on B's row")["verdict"] == "leak"
    # DEFAULT_PERMISSION_CLASSES = IsAuthenticated: anonymous is refused, the tenantless user is not
    assert run.verdict("/api/leaky/", "list as anonymous")["verdict"] == "ok"
    assert run.verdict("/api/leaky/", "list as user without tenant")["verdict"] == "leak"
