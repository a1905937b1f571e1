"""``scaffold probe`` when it cannot run: one line naming the problem and the fix, exit 2,
nothing touched (missing extra, settings that do not load, not PostgreSQL, no server,
no CREATEDB, bad ``probe_user``); and the pure parts (evidence search, route globs,
verdicts to exit codes) on plain values."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from scaffold.probe.data import Evidence
from scaffold.probe.endpoints import Endpoint, select
from scaffold.probe.report import CheckResult, DatabaseInfo, ProbeReport, Verdict
from tests.helpers.djproject import DjangoProject
from tests.helpers.pg import PgDatabase

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """\
SECRET_KEY = "x"
INSTALLED_APPS = [{apps}]
ROOT_URLCONF = "site_urls"
DATABASES = {{"default": {database}}}
"""
APPS = '"django.contrib.contenttypes", "django.contrib.auth", "rest_framework"'


def make_project(tmp_path: Path, database: str, apps: str = APPS, extra: str = "") -> DjangoProject:
    root = tmp_path / "site"
    root.mkdir()
    (root / "manage.py").write_text(MANAGE)
    (root / "site_settings.py").write_text(extra + SETTINGS.format(apps=apps, database=database))
    (root / "site_urls.py").write_text("urlpatterns = []\n")
    return DjangoProject(root)


def refused(project: DjangoProject, *args: str) -> str:
    proc = project.scaffold("probe", *args, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout == ""
    return lines[0]


PG = '{"ENGINE": "django.db.backends.postgresql", "NAME": "x", "HOST": "127.0.0.1", "PORT": "1"}'


def test_missing_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    project = make_project(tmp_path, PG)
    code = (
        "import sys; sys.modules['model_bakery'] = None\n"
        "from scaffold.cli import main\n"
        f"sys.exit(main(['probe', '--project', {str(project.root)!r}]))\n"
    )
    proc = project.run(sys.executable, "-c", code, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: scaffold probe needs model-bakery in this environment: run it in the project's "
        "environment with the probe extra (pip install scaffold-tenancy[probe])"
    ]


def test_settings_that_do_not_load(tmp_path: Path) -> None:
    project = make_project(tmp_path, PG, extra="import missing_dependency  # noqa\n")
    line = refused(project)
    assert (
        "settings site_settings do not load (ModuleNotFoundError: No module named 'missing_dependency')"
        in line
    )


def test_not_postgresql(tmp_path: Path) -> None:
    project = make_project(tmp_path, '{"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}')
    assert "is sqlite, not PostgreSQL" in refused(project)
    assert not (project.root / "db.sqlite3").exists()


def test_no_rest_framework(tmp_path: Path) -> None:
    project = make_project(tmp_path, PG, apps='"django.contrib.contenttypes", "django.contrib.auth"')
    assert "rest_framework is not in site_settings.INSTALLED_APPS" in refused(project)


def test_no_server(tmp_path: Path) -> None:
    line = refused(make_project(tmp_path, PG))
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in line and "start the server" in line


def test_bad_probe_user(tmp_path: Path) -> None:
    project = make_project(tmp_path, PG)
    (project.root / "pyproject.toml").write_text("[tool.scaffold]\nprobe_user = ['onboarding_completed']\n")
    line = refused(project)
    assert "probe_user" in line and "{ onboarding_completed = true }" in line


@pytest.mark.db
def test_a_role_without_createdb(tmp_path: Path, pg_database: PgDatabase) -> None:
    """The runtime role (NOCREATEDB) cannot create the test database: named, with the fix."""
    db = pg_database
    database = repr(
        {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db.name,
            "HOST": "127.0.0.1",
            "USER": db.runtime_role,
            "PASSWORD": db.runtime_password,
        }
    )
    line = refused(make_project(tmp_path, database))
    assert f"role {pg_database.runtime_role} may not create databases" in line
    assert f"ALTER ROLE {pg_database.runtime_role} CREATEDB" in line


def runner_database(db: PgDatabase) -> str:
    """The runner role (NOSUPERUSER NOBYPASSRLS CREATEDB) with its real password."""
    return repr(
        {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db.name,
            "HOST": "127.0.0.1",
            "USER": db.runner_role,
            "PASSWORD": db.runtime_password,
        }
    )


QUOTES_SETTINGS = """\
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

raise ImproperlyConfigured(f"reporting replica unreachable with {settings.DATABASES['default']}")
"""


@pytest.mark.db
def test_a_message_quoting_the_database_settings_masks_the_password(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    """The urlconf fails to import with a message that prints DATABASES (password and all):
    the exit-2 line masks it, as audit masks --database-url."""
    project = make_project(tmp_path, runner_database(pg_database))
    (project.root / "site_urls.py").write_text(QUOTES_SETTINGS)
    line = refused(project)
    assert "the root urlconf site_urls does not import" in line and "'PASSWORD': ***" in line
    assert pg_database.runtime_password not in line


LEAKY_VIEW = """\
from django.conf import settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class Replica(APIView):
    def get(self, request):
        password = settings.DATABASES["default"]["PASSWORD"]
        raise RuntimeError(f"replica refused password {password}")


urlpatterns = [path("api/replica/", Replica.as_view())]
"""


@pytest.mark.db
def test_a_check_detail_quoting_the_password_masks_it(tmp_path: Path, pg_database: PgDatabase) -> None:
    """A view's 500 whose exception quotes the database password: the report's detail
    (text and JSON) shows the error with the password masked."""
    project = make_project(tmp_path, runner_database(pg_database))
    (project.root / "site_urls.py").write_text(LEAKY_VIEW)
    (project.root / "pyproject.toml").write_text('[tool.scaffold]\nuser_tenant_attr = "last_name"\n')
    for fmt in ("json", "text"):
        proc = project.scaffold("probe", "--format", fmt, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "RuntimeError: replica refused password ***" in proc.stdout
        assert pg_database.runtime_password not in proc.stdout + proc.stderr


EMPTY_VIEW = """\
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class Nothing(APIView):
    def get(self, request):
        return Response([])


urlpatterns = [path("api/nothing/", Nothing.as_view())]
"""


@pytest.mark.db
def test_no_user_without_a_tenant_skips_those_checks_with_the_reason(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    """A user tenant field that is not nullable: no user without a tenant can exist, so
    its checks are skipped naming why; anonymous is still checked."""
    project = make_project(tmp_path, runner_database(pg_database))
    (project.root / "site_urls.py").write_text(EMPTY_VIEW)
    (project.root / "pyproject.toml").write_text('[tool.scaffold]\nuser_tenant_attr = "last_name"\n')
    proc = project.scaffold("probe", "--format", "json", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {r["check"]: (r["verdict"], r["detail"]) for r in json.loads(proc.stdout)["endpoints"]}
    assert found == {
        "get as A": ("ok", "no id of tenant B in the response"),
        "get as user without tenant": (
            "skipped",
            "no user without a tenant (auth.User.last_name is not nullable)",
        ),
        "get as anonymous": ("ok", "answered 200 without tenant data"),
    }


# -- pure parts -------------------------------------------------------------------------


def test_evidence_finds_ids_anywhere_in_a_body() -> None:
    evidence = Evidence()
    evidence.add("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "B's row")
    evidence.add(1234567890, "B's user")
    body = {"results": [{"id": 1, "owner": {"pk": 1234567890}}], "next": None, "ok": True}
    assert evidence.find(body) == ["B's user"]
    assert evidence.find({"url": "http://testserver/api/x/3f2504e0-4f89-11d3-9a0c-0305e82c3301/"}) == [
        "B's row"
    ]
    assert evidence.find({"ids": [1234567891, 123456789, True]}) == []
    assert evidence.find_text("id;1234567890\n") == ["B's user"]


def endpoint(route: str) -> Endpoint:
    return Endpoint(route=route, template=route, params=[], callback=None, cls=object, actions={})


def test_select_matches_route_globs_with_or_without_the_slash() -> None:
    found = [endpoint("/api/crm/customers/"), endpoint("/api/hr/employees/<pk>/")]
    assert select(found, ()) == found
    assert [e.route for e in select(found, ("api/crm/*",))] == ["/api/crm/customers/"]
    assert [e.route for e in select(found, ("*/<pk>/",))] == ["/api/hr/employees/<pk>/"]


def report(*verdicts: Verdict, fail_on_skip: bool = False) -> ProbeReport:
    results = [CheckResult("/r/", "v.V", "GET", f"c{i}", v, "") for i, v in enumerate(verdicts)]
    return ProbeReport(results, DatabaseInfo("app"), fail_on_skip)


def test_exit_codes() -> None:
    assert report("ok", "skipped", "error").exit_code == 0
    assert report("ok", "leak").exit_code == 1
    assert report("ok", "skipped", fail_on_skip=True).exit_code == 1
    assert report("ok", "error", fail_on_skip=True).exit_code == 1
    assert report("ok", fail_on_skip=True).exit_code == 0


def test_role_warnings() -> None:
    assert DatabaseInfo("app").warnings() == []
    assert "superuser" in DatabaseInfo("postgres", superuser=True).warnings()[0]
    assert "BYPASSRLS" in DatabaseInfo("app", bypassrls=True).warnings()[0]
    (owned,) = DatabaseInfo("app", unforced_owned=["public.t"]).warnings()
    assert "owns public.t without FORCE ROW LEVEL SECURITY" in owned


def test_unbuilt_models_are_warned_about() -> None:
    probe = ProbeReport([], DatabaseInfo("app"), unbuilt=["shop.Order (IntegrityError: boom)"])
    assert probe.warnings() == [
        "cannot build rows of shop.Order (IntegrityError: boom): checks that need them are skipped"
    ]
    assert "warning: cannot build rows of shop.Order" in probe.to_text()


def test_the_probe_extra_is_declared_and_tested_with() -> None:
    """The exit-2 line names `scaffold-tenancy[probe]`: that extra must exist (and the test
    extra must install what the probe tests need)."""
    from scaffold.config import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert project["name"] == "scaffold-tenancy"
    extras = project["optional-dependencies"]
    assert any(dep.startswith("model-bakery") for dep in extras["probe"])
    assert set(extras["probe"]) <= set(extras["test"])
    assert not any(dep.startswith("model-bakery") for dep in project["dependencies"])
