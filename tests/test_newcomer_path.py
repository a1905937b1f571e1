"""The README's newcomer path, followed literally: ``django-admin startproject`` + DRF to a
migrated, tenant-isolated first module (issue 15, "Done when").

The Quickstart's code blocks are read from README.md and run in order (role and database
names made unique per run, nothing else changed): the shell commands through ``bash`` with
scaffold's virtualenv on PATH, the settings block pasted over startproject's
``DATABASES``, the role SQL as the server's superuser. Then, on that project:

* the generated isolation tests pass as the README's test-runner role (NOSUPERUSER
  NOBYPASSRLS CREATEDB) and fail, with the one line naming the role setup, as a superuser;
  they skip only when ``TENANT_ISOLATION_TESTS_SKIP`` is set, and fail on a user model
  without ``user_tenant_attr`` (never ``setattr`` onto it);
* as the README's runtime role (no TRUNCATE, no CREATEDB), over HTTP with DRF's client in
  real transactions: another tenant's rows stay invisible, a protected delete is a 409
  naming the referencing model, the browsable API is a 403 (not a 500) for a user without a
  tenant on a module with a foreign key and a 200 for a user with one, and a malformed or
  too deeply nested body is a 400;
* ``init --user-model`` on the migrated database is refused (exit 2, nothing written).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers.djproject import VENV_BIN, DjangoProject
from tests.helpers.lint import assert_ruff_clean
from tests.helpers.pg import admin_url

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^ *```(\w+)\n(.*?)^ *```", re.S | re.M)


def newcomer_blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of the README's newcomer path, dedented."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- newcomer-path")
    end = text.index("\n## ", start)
    blocks = []
    for lang, code in FENCE.findall(text[start:end]):
        indent = min(len(ln) - len(ln.lstrip()) for ln in code.splitlines() if ln.strip())
        blocks.append((lang, "\n".join(ln[indent:] for ln in code.splitlines()) + "\n"))
    return blocks


class Names:
    """The README's names, made unique for this run."""

    def __init__(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.map = {
            "mysite_owner": f"nc_owner_{suffix}",
            "mysite_app": f"nc_app_{suffix}",
            "mysite_test": f"nc_test_{suffix}",
            "DATABASE mysite": f"DATABASE nc_{suffix}",
            "\\c mysite": f"\\c nc_{suffix}",
            "PGDATABASE=mysite": f"PGDATABASE=nc_{suffix}",
        }
        self.database = f"nc_{suffix}"
        self.roles = [v for k, v in self.map.items() if k.startswith("mysite_")]

    def apply(self, code: str) -> str:
        for old, new in self.map.items():
            code = code.replace(old, new)
        return code


def run_sql(script: str) -> None:
    """The README's SQL as the superuser: ``\\c db`` switches database, as in psql."""
    url = admin_url()
    for part in re.split(r"^\\c (\w+)\n", script, flags=re.M):
        if re.fullmatch(r"\w+", part.strip()):
            url = re.sub(r"/[^/?]*(\?|$)", rf"/{part.strip()}\1", url, count=1)
            continue
        if part.strip():
            with psycopg.connect(url, autocommit=True) as conn:
                for statement in part.split(";"):
                    if statement.strip():
                        conn.execute(statement)  # type: ignore[call-overload]


def shell_lines(code: str) -> list[str]:
    return [ln for ln in code.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


class Newcomer:
    def __init__(self, root: Path, names: Names, env: dict[str, str]) -> None:
        self.root = root
        self.names = names
        self.env = env
        self.log: list[str] = []  # each README command and what it printed

    def as_role(self, role: str) -> dict[str, str]:
        password = {"mysite_owner": "owner-password", "mysite_app": "app-password"}.get(role, "test-password")
        return {**self.env, "PGUSER": self.names.map.get(role, role), "PGPASSWORD": password}

    def bash(
        self, line: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line],
            cwd=cwd or self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def manage(
        self, *args: str, role: str = "mysite_owner", settings: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = self.as_role(role)
        if settings:
            env["DJANGO_SETTINGS_MODULE"] = settings
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def project(self, role: str) -> DjangoProject:
        proj = DjangoProject(self.root)
        proj.extra_env.update(self.as_role(role))
        return proj


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newcomer]:
    from tests.conftest import require_postgres

    require_postgres()
    names = Names()
    base = tmp_path_factory.mktemp("newcomer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DJANGO_SETTINGS"))}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(base / "home")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    (base / "home").mkdir()
    host = re.search(r"@([^:/]+)", admin_url())
    env["PGHOST"] = host[1] if host else "127.0.0.1"
    blocks = newcomer_blocks()
    assert [lang for lang, _ in blocks] == ["sh", "python", "sql", "sh"], blocks
    (_, startproject), (_, databases), (_, roles), (_, steps) = blocks
    nc = Newcomer(base / "mysite", names, env)
    try:
        for line in shell_lines(startproject):  # django-admin startproject mysite; cd mysite
            if line.startswith("cd "):
                continue
            if line.startswith("pip install "):  # what this virtualenv has installed
                assert line.split()[2:] == [
                    "scaffold-tenancy",
                    "Django",
                    "djangorestframework",
                    '"psycopg[binary]"',
                ]
                continue
            proc = nc.bash(line, cwd=base)
            assert proc.returncode == 0, proc.stderr
        settings = nc.root / "mysite" / "settings.py"
        text = settings.read_text()
        text = text.replace(
            "    'django.contrib.staticfiles',\n",
            "    'django.contrib.staticfiles',\n    'rest_framework',\n",
        )
        text, count = re.subn(r"^DATABASES = \{.*?^\}\n", lambda _m: databases, text, flags=re.S | re.M)
        assert count == 1
        settings.write_text(text)
        run_sql(names.apply(roles))
        for line in shell_lines(names.apply(steps)):
            if line.startswith("export "):
                for pair in line.split()[1:]:
                    key, _, value = pair.partition("=")
                    nc.env[key] = value
                continue
            proc = nc.bash(line)
            nc.log.append(f"$ {line}\n{proc.stdout}{proc.stderr}")
            assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        yield nc
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            for db in (names.database, f"test_{names.database}"):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            for role in names.roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


ORDERS = (
    "new-module",
    "orders",
    "--no-input",
    "--model",
    "Order",
    "--field",
    "item:fk:inventory.StockItem",
    "--field",
    "quantity:int",
)


@pytest.fixture(scope="module")
def with_orders(newcomer: Newcomer) -> Newcomer:
    """A second module whose rows reference the first one's (PROTECT), migrated as the owner."""
    owner = newcomer.project("mysite_owner")
    owner.scaffold(*ORDERS)
    proc = newcomer.manage("migrate", "--noinput")
    assert proc.returncode == 0, proc.stderr
    return newcomer


def test_init_says_what_comes_next(newcomer: Newcomer) -> None:
    init = next(entry for entry in newcomer.log if entry.startswith("$ scaffold init"))
    assert "next: python manage.py makemigrations tenancy" in init
    assert "next: python manage.py migrate" in init and "owns the tables" in init
    assert "NOSUPERUSER NOBYPASSRLS" in init
    assert "warning" not in init  # the user model now carries the tenant
    settings = (newcomer.root / "mysite" / "settings.py").read_text()
    assert "AUTH_USER_MODEL = 'tenancy.User'" in settings  # the file's own quote style
    pyproject = (newcomer.root / "pyproject.toml").read_text()
    assert 'user_tenant_attr = "tenant_id"' in pyproject


def test_the_project_is_migrated_and_clean(newcomer: Newcomer) -> None:
    check = newcomer.manage("check")
    assert check.returncode == 0 and "tenancy.W005" not in check.stderr + check.stdout, check.stderr
    dry = newcomer.manage("makemigrations", "--check", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    plan = newcomer.manage("showmigrations", "--plan")
    assert "[ ]" not in plan.stdout and "[X]  tenancy.0001_initial" in plan.stdout
    # what scaffold wrote (tenancy/migrations/ is makemigrations' own output)
    core = sorted(str(p.relative_to(newcomer.root)) for p in (newcomer.root / "tenancy").glob("*.py"))
    assert "tenancy/models.py" in core
    assert_ruff_clean(newcomer.root, ["inventory", *core])


def test_generated_tests_passed_as_the_readme_test_runner_role(newcomer: Newcomer) -> None:
    run = next(entry for entry in newcomer.log if "manage.py test inventory" in entry)
    assert re.search(r"Ran (\d+) tests", run) and "OK" in run and "skipped" not in run, run
    assert "Ran 0 tests" not in run


def test_generated_tests_fail_as_a_superuser(newcomer: Newcomer) -> None:
    proc = newcomer.manage("test", "inventory", "--noinput", role=superuser())
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "is a superuser, so row-level security does not apply" in out, out
    assert "NOSUPERUSER NOBYPASSRLS" in out
    assert not re.search(r"^OK", out, re.M)


def test_generated_tests_skip_only_when_the_setting_says_so(newcomer: Newcomer) -> None:
    (newcomer.root / "mysite" / "settings_skip.py").write_text(
        'from .settings import *  # noqa: F403\n\nTENANT_ISOLATION_TESTS_SKIP = "shared dev database"\n'
    )
    proc = newcomer.manage(
        "test", "inventory", "--noinput", role=superuser(), settings="mysite.settings_skip"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert re.search(r"OK \(skipped=\d+\)", out), out
    assert (
        "shared dev database"
        in newcomer.manage(
            "test", "inventory", "--noinput", "-v", "2", role=superuser(), settings="mysite.settings_skip"
        ).stderr
    )


def test_generated_tests_fail_on_a_user_model_without_the_tenant(newcomer: Newcomer) -> None:
    """auth.User has no tenant_id: the tests fail naming the fix (they never setattr it)."""
    (newcomer.root / "mysite" / "settings_plain_user.py").write_text(
        "from .settings import *  # noqa: F403\n\n"
        'INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "tenancy"]  # noqa: F405\n'
        'AUTH_USER_MODEL = "auth.User"\n'
    )
    proc = newcomer.manage(
        "test", "inventory", "--noinput", role="mysite_test", settings="mysite.settings_plain_user"
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "the user model auth.User has no field tenant_id" in out, out
    assert "user_tenant_attr" in out
    source = (newcomer.root / "inventory" / "tests" / "test_tenant_isolation.py").read_text()
    assert "setattr(" not in source


def test_rls_enabled_and_forced(newcomer: Newcomer) -> None:
    with psycopg.connect(
        re.sub(r"/[^/?]*(\?|$)", rf"/{newcomer.names.database}\1", admin_url(), count=1)
    ) as conn:
        rows = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'inventory_stockitem'"
        ).fetchall()
    assert rows == [(True, True)]


HTTP = """
import json
import uuid

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tenancy.models import Tenant

User = get_user_model()
acme, globex = Tenant.objects.create(name="Acme"), Tenant.objects.create(name="Globex")
tag = uuid.uuid4().hex[:6]
alice = User.objects.create_user(f"alice-{tag}", password="x", tenant=acme)
bob = User.objects.create_user(f"bob-{tag}", password="x", tenant=globex)
nobody = User.objects.create_user(f"nobody-{tag}", password="x")


def client(user):
    c = APIClient(HTTP_HOST="localhost")  # startproject's ALLOWED_HOSTS (DEBUG) has no testserver
    c.force_authenticate(user)
    return c


a, b, n = client(alice), client(bob), client(nobody)
item = a.post("/api/inventory/stock-items/", {"name": "bolt", "sku": "B1"}, format="json")
order = a.post("/api/orders/orders/", {"item": item.json()["id"], "quantity": 3}, format="json")
theirs = b.post("/api/inventory/stock-items/", {"name": "nut", "sku": "N1"}, format="json")
cross_delete = b.delete(f"/api/inventory/stock-items/{item.json()['id']}/")
missing_delete = b.delete(f"/api/inventory/stock-items/{uuid.uuid4()}/")
delete = a.delete(f"/api/inventory/stock-items/{item.json()['id']}/")
result = {
    "item": item.status_code,
    "order": order.status_code,
    "alice_sees": [r["name"] for r in a.get("/api/inventory/stock-items/").json()],
    "bob_sees": [r["name"] for r in b.get("/api/inventory/stock-items/").json()],
    "cross_tenant": a.get(f"/api/inventory/stock-items/{theirs.json()['id']}/").status_code,
    "protected_delete": [delete.status_code, delete.json()],
    "cross_tenant_delete": [cross_delete.status_code, cross_delete.json()],
    "missing_delete": [missing_delete.status_code, missing_delete.json()],
    "still_there": a.get(f"/api/inventory/stock-items/{item.json()['id']}/").status_code,
    "api_no_tenant": n.get("/api/orders/orders/", {"format": "api"}).status_code,
    "api_no_tenant_post_form": n.get("/api/orders/orders/?format=api").status_code,
    "api_tenant": a.get("/api/orders/orders/", {"format": "api"}).status_code,
    "api_tenant_detail": a.get(f"/api/orders/orders/{order.json()['id']}/", {"format": "api"}).status_code,
    "malformed": a.post("/api/orders/orders/", '{"item": ', content_type="application/json").status_code,
    "too_deep": a.post(
        "/api/orders/orders/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    ).status_code,
    "too_deep_object": a.post(
        "/api/orders/orders/", '{"a": ' * 50_000 + "1" + "}" * 50_000, content_type="application/json"
    ).status_code,
}
"""


@pytest.fixture(scope="module")
def http(with_orders: Newcomer) -> dict:
    runtime = with_orders.project("mysite_app")
    result = runtime.script(HTTP, runtime=False, settings="mysite.settings")
    assert isinstance(result, dict)
    return result


def test_runtime_role_sees_only_its_tenant(http: dict) -> None:
    assert http["item"] == 201 and http["order"] == 201
    assert http["alice_sees"] == ["bolt"] and http["bob_sees"] == ["nut"]
    assert http["cross_tenant"] == 404


def test_protected_delete_is_a_409_naming_the_referencing_model(http: dict) -> None:
    status, body = http["protected_delete"]
    assert status == 409
    assert "orders.Order" in body["detail"] and "cannot be deleted" in body["detail"]
    assert http["still_there"] == 200
    # T24: another tenant's protected row is the same 404 as a missing one, not a 409.
    assert http["cross_tenant_delete"] == http["missing_delete"] and http["missing_delete"][0] == 404


def test_browsable_api_is_a_403_without_tenant_and_works_with_one(http: dict) -> None:
    assert http["api_no_tenant"] == 403
    assert http["api_no_tenant_post_form"] == 403
    assert http["api_tenant"] == 200 and http["api_tenant_detail"] == 200


def test_malformed_or_too_deep_bodies_are_400s(http: dict) -> None:
    assert (http["malformed"], http["too_deep"], http["too_deep_object"]) == (400, 400, 400)


def test_runtime_role_is_what_the_readme_says(with_orders: Newcomer) -> None:
    role = with_orders.names.map["mysite_app"]
    url = re.sub(r"/[^/?]*(\?|$)", rf"/{with_orders.names.database}\1", admin_url(), count=1)
    with psycopg.connect(url) as conn:
        attrs = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = %s", [role]
        ).fetchone()
        truncate = conn.execute(  # T11: no TRUNCATE, no REFERENCES
            "SELECT has_table_privilege(%s, 'django_session', 'TRUNCATE'),"
            " has_table_privilege(%s, 'inventory_stockitem', 'TRUNCATE, REFERENCES')",
            [role, role],
        ).fetchone()
        dml = conn.execute(
            "SELECT has_table_privilege(%s, 'orders_order', 'SELECT, INSERT, UPDATE, DELETE')", [role]
        ).fetchone()
    assert attrs == (False, False, False) and truncate == (False, False) and dml == (True,)


def test_user_model_is_refused_once_auth_is_migrated(newcomer: Newcomer, tmp_path: Path) -> None:
    """A project on this (migrated) database without AUTH_USER_MODEL: --user-model is refused."""
    import shutil

    copy = tmp_path / "mysite"
    shutil.copytree(newcomer.root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tenancy" / "models.py").unlink()
    shutil.rmtree(copy / "tenancy" / "migrations")
    settings = copy / "mysite" / "settings.py"
    settings.write_text(re.sub(r"\n# The custom user model.*\n.*\n", "\n", settings.read_text()))
    assert "AUTH_USER_MODEL" not in settings.read_text()
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "init", "--no-input", "--user-model", "--project", str(copy)],
        env=newcomer.as_role("mysite_owner"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "already has django.contrib.auth's migrations applied" in proc.stderr
    assert "recreate the database" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def superuser() -> str:
    """The admin connection's role (a superuser: the suite's server)."""
    with psycopg.connect(admin_url()) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row is not None and row[1], "the test server's admin role must be a superuser"
    return str(row[0])
