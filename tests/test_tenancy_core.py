"""The tenancy core rendered by ``scaffold init``, proven against real PostgreSQL.

A fresh ``django-admin startproject`` project is created once for this module, pointed
at the module's test database, initialised with ``scaffold init --no-input`` and given a
small ``items`` app: a model with ``TenantManager``, an RLS migration rendered from
``templates/module/_macros/rls.jinja`` (through ``scaffold.rls``) and a ViewSet with
``TenantScopedViewMixin``. Migrations run as the owner; every isolation assertion runs
in a subprocess as the NOSUPERUSER NOBYPASSRLS runtime role (T4), with real requests
through Django's test client (no TestCase: each request commits or rolls back for real).

Checklist coverage: T1 T2 T3 (role and tables), T5 (no context: fresh and reused
connection), T6 (WITH CHECK; cross-tenant UPDATE/DELETE affect 0), T15 (UUID-only ids,
allowlisted setting name, bound parameters), T16 (A -> anonymous -> B on one backend pid,
CONN_MAX_AGE > 0 and a psycopg pool of size 1), T17 (a raising request leaves nothing),
T18 (system checks), T19 (server-side binding on and off), T20 (threads, async view),
T21 (tenant_context for background work and on_commit), T22 (EXPLAIN uses the index).
The ``items_user`` table carries ``tenant_id`` but is deliberately not under RLS (users
must be readable before a tenant is known), which is why T2 is asserted on tenant data
tables only.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import sql

from scaffold.rls import disable_rls_sql, enable_rls_sql
from tests.helpers.djproject import VENV_BIN, DjangoProject
from tests.helpers.lint import assert_ruff_clean
from tests.helpers.pg import PgDatabase

pytestmark = pytest.mark.db

TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"

SETTINGS_TAIL = """

# --- test harness: database from DATABASE_URL, knobs from the environment ---------
import os  # noqa: E402
from urllib.parse import unquote, urlsplit  # noqa: E402

_url = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("TEST_CONN_MAX_AGE", "60")),
        "OPTIONS": {},
    }
}
if os.environ.get("TEST_POOL"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1}
if os.environ.get("TEST_SERVER_SIDE_BINDING"):
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
if os.environ.get("TEST_SESSION_OPTIONS"):
    DATABASES["default"]["OPTIONS"]["options"] = os.environ["TEST_SESSION_OPTIONS"]
ALLOWED_HOSTS = ["*"]
AUTH_USER_MODEL = "items.User"
INSTALLED_APPS += ["rest_framework", "items"]
"""

MODELS = """
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models

from tenancy import TenantManager


class User(AbstractUser):
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)


class Item(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=100)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]
"""

VIEWS = '''
import time

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy import (
    TenantScopedViewMixin,
    get_tenant_context,
    set_tenant_context,
    tenant_context,
)

from .models import Item


def probe_state():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), current_setting('app.current_tenant_id', true)"
        )
        pid, setting = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM items_item")
        raw = cursor.fetchone()[0]
    return {
        "pid": pid,
        "setting": setting,
        "raw": raw,
        "orm": Item.objects.count(),
        "base": Item._base_manager.count(),
    }


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "tenant_id", "name"]
        read_only_fields = ["id", "tenant_id"]


class ItemViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    serializer_class = ItemSerializer
    queryset = Item.objects.all()

    @action(detail=False)
    def state(self, request):
        names = sorted(self.get_queryset().values_list("name", flat=True))
        return Response({**probe_state(), "names": names})

    @action(detail=False)
    def boom(self, request):
        list(self.get_queryset())
        raise RuntimeError("boom after setting the tenant context")

    @action(detail=False, methods=["post"])
    def late_refusal(self, request):
        Item.objects.create(tenant_id=self.get_tenant_id(), name="written then refused")
        raise ValidationError({"name": ["refused after the write"]})


class ContextOutsideTransactionView(APIView):
    """Sets the context without a transaction: W004, and refused at runtime."""

    def get(self, request):
        set_tenant_context(request.user.tenant_id)
        return Response({"ok": True})


def anonymous_probe(request):
    return JsonResponse(probe_state())


async def async_names(request):
    tenant = request.GET["tenant"]

    def work():
        with tenant_context(tenant):
            time.sleep(0.02)
            names = sorted(Item.objects.values_list("name", flat=True))
            return names, str(get_tenant_context())

    names, bound = await sync_to_async(work)()
    outside = await Item.objects.acount()
    return JsonResponse({"names": names, "bound": bound, "outside": outside})
'''

URLS = """
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("items", views.ItemViewSet, basename="item")

urlpatterns = [
    path("probe/", views.anonymous_probe),
    path("async/", views.async_names),
    path("outside/", views.ContextOutsideTransactionView.as_view()),
    path("", include(router.urls)),
]
"""

RLS_MIGRATION = '''
from django.db import migrations

FORWARD = """{forward}"""
REVERSE = """{reverse}"""


class Migration(migrations.Migration):
    dependencies = [("items", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
'''


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def startproject(dest: Path) -> Path:
    dest.mkdir(parents=True)
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(dest)], check=True)
    return dest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> DjangoProject:
    root = startproject(tmp_path_factory.mktemp("core") / "site")
    settings = root / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + SETTINGS_TAIL)
    proj = DjangoProject(root, pg_database)
    init = proj.scaffold("init", "--no-input")
    assert "tenancy" in init.stdout
    app = root / "items"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS.lstrip())
    (app / "views.py").write_text(VIEWS.lstrip())
    (app / "urls.py").write_text(URLS.lstrip())
    (root / "mysite" / "urls.py").write_text(
        "from django.urls import include, path\n\nurlpatterns = [path('', include('items.urls'))]\n"
    )
    proj.manage("makemigrations", "items", "-v", "0")
    (app / "migrations" / "0002_rls.py").write_text(
        RLS_MIGRATION.format(
            forward=enable_rls_sql("items_item"), reverse=disable_rls_sql("items_item")
        ).lstrip()
    )
    proj.migrate()
    proj.script(
        f"""
        from items.models import Item, User
        for name, tenant in (("a", {TENANT_A!r}), ("b", {TENANT_B!r}), ("nobody", None)):
            User.objects.create_user(name, password="pw", tenant_id=tenant)
        for tenant, names in (({TENANT_A!r}, ["a1", "a2", "a3"]), ({TENANT_B!r}, ["b1", "b2"])):
            for n in names:
                Item._base_manager.create(tenant_id=tenant, name=n)
        """,
        runtime=False,  # the owner is a superuser in the test DB: seeding bypasses RLS
    )
    return proj


def variant(project: DjangoProject, **env: str) -> DjangoProject:
    return DjangoProject(project.root, project.db, extra_env=dict(env))


# -- scaffold init on the fresh project ------------------------------------------------


def test_init_rendered_a_clean_core(project: DjangoProject) -> None:
    root = project.root
    core = root / "tenancy"
    assert {p.name for p in core.glob("*.py")} == {
        "__init__.py",
        "apps.py",
        "checks.py",
        "context.py",
        "managers.py",
        "views.py",
    }
    settings = (root / "mysite" / "settings.py").read_text()
    assert "    'tenancy',\n]" in settings  # appended to the literal list, its style kept
    pyproject = (root / "pyproject.toml").read_text()
    assert 'tenancy_module = "tenancy"' in pyproject and 'settings = "mysite.settings"' in pyproject
    text = "\n".join(p.read_text() for p in core.glob("*.py"))
    mentions = ("scaffold init", "scaffold new-module", "[tool.scaffold]")  # names, never imports
    for mention in mentions:
        text = text.replace(mention, "")
    assert "scaffold" not in text
    assert_ruff_clean(root, ["tenancy"])
    project.manage("makemigrations", "--check", "--dry-run")
    check = project.manage("check", runtime=True)
    assert "tenancy.W001" not in check.stdout + check.stderr


def test_init_is_idempotent(project: DjangoProject) -> None:
    before = snapshot(project.root)
    proc = project.scaffold("init", "--no-input")
    assert "nothing to do" in proc.stdout
    dry = project.scaffold("init", "--dry-run")
    assert dry.returncode == 0 and "nothing to do" in dry.stdout
    assert snapshot(project.root) == before


# -- T1, T2, T3: roles and tables --------------------------------------------------------


def test_roles_and_forced_policy(project: DjangoProject, pg_database: PgDatabase) -> None:
    with pg_database.owner() as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [pg_database.runtime_role]
        ).fetchone()
        assert role == (False, False)  # T1
        rel = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) "
            "FROM pg_class WHERE relname = 'items_item'"
        ).fetchone()
        assert rel[:2] == (True, True) and rel[2] != pg_database.runtime_role  # T1, T2
        policies = conn.execute(
            "SELECT qual, with_check FROM pg_policies WHERE tablename = 'items_item'"
        ).fetchall()
        assert len(policies) == 1
        for expr in policies[0]:
            assert "NULLIF(current_setting('app.current_tenant_id'::text, true), ''::text))::uuid" in expr
            assert "::text =" not in expr and " OR " not in expr.upper()
        # T2 for every table with a tenant column (the user table is deliberately exempt).
        tables = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) "
            "FROM information_schema.columns col JOIN pg_class c ON c.relname = col.table_name "
            "WHERE col.table_schema = 'public' AND col.column_name = 'tenant_id' AND c.relkind = 'r'"
        ).fetchall()
        assert {t[0] for t in tables} >= {"items_item", "items_user"}
        for name, enabled, forced, count in tables:
            if name not in ("items_user", "t3_nopolicy", "owned_unforced"):
                assert (enabled, forced) == (True, True) and count >= 1, name
        # T3: RLS enabled and forced but no policy at all: default deny.
        conn.execute("CREATE TABLE t3_nopolicy (tenant_id uuid)")
        conn.execute("INSERT INTO t3_nopolicy VALUES (%s)", [TENANT_A])
        conn.execute("ALTER TABLE t3_nopolicy ENABLE ROW LEVEL SECURITY")
        conn.execute("ALTER TABLE t3_nopolicy FORCE ROW LEVEL SECURITY")
        conn.execute(
            sql.SQL("GRANT SELECT ON t3_nopolicy TO {}").format(sql.Identifier(pg_database.runtime_role))
        )
    with pg_database.runtime() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == pg_database.runtime_role  # T4
        conn.execute("SELECT set_config('app.current_tenant_id', %s, true)", [TENANT_A])
        assert conn.execute("SELECT count(*) FROM t3_nopolicy").fetchone()[0] == 0


# -- T5, T15: no context, bad ids ------------------------------------------------------------

NO_CONTEXT = f"""
from django.db import connection, transaction
from django.test import Client
from items.models import Item, User
from items.views import probe_state

result = {{"fresh": probe_state()}}
try:
    with transaction.atomic():
        Item._base_manager.create(tenant_id={TENANT_A!r}, name="no-context")
    result["insert"] = "accepted"
except Exception as exc:
    result["insert"] = str(exc)
client = Client()
client.force_login(User.objects.get(username="a"))
response = client.get("/items/")
result["a_names"] = [row["name"] for row in response.json()]
result["reused"] = probe_state()
result["anonymous_request"] = Client().get("/probe/").json()
"""


def test_no_context_sees_nothing_fresh_and_reused(project: DjangoProject) -> None:
    r = project.script(NO_CONTEXT)
    assert r["fresh"]["setting"] is None  # never set on this session
    assert (r["fresh"]["orm"], r["fresh"]["base"], r["fresh"]["raw"]) == (0, 0, 0)
    assert "row-level security" in r["insert"]
    assert r["a_names"] == ["a1", "a2", "a3"]
    for state in (r["reused"], r["anonymous_request"]):
        assert state["pid"] == r["fresh"]["pid"]  # the same connection, reused (CONN_MAX_AGE)
        assert state["setting"] in ("", None)  # '' once set in the session: NULLIF handles it
        assert (state["orm"], state["base"], state["raw"]) == (0, 0, 0)


BAD_IDS = f"""
from django.db import connection, transaction
from items.models import Item
from tenancy import InvalidTenantId, TenantContextError, set_tenant_context, get_tenant_context

bad = ["not-a-uuid", "{TENANT_A}'; DROP TABLE items_item; --", "' OR '1'='1", "", 42, None, b"x" * 16,
       "{TENANT_A}' OR tenant_id IS NOT NULL --"]
result = {{"refused": [], "accepted": []}}
with transaction.atomic():
    for value in bad:
        try:
            set_tenant_context(value)
            result["accepted"].append(repr(value))
        except InvalidTenantId as exc:
            assert isinstance(exc, ValueError)
            result["refused"].append(str(exc))
    result["bound_after"] = str(get_tenant_context())
    # a valid id in another spelling is normalised, then bound as a parameter
    set_tenant_context("{{" + {TENANT_A.upper()!r} + "}}")
    result["normalised"] = str(get_tenant_context())
try:
    set_tenant_context({TENANT_A!r})
    result["outside"] = "accepted"
except TenantContextError as exc:
    result["outside"] = str(exc)
with connection.cursor() as c:
    c.execute("SELECT count(*) FROM pg_class WHERE relname = 'items_item'")
    result["table_exists"] = c.fetchone()[0]
"""


def test_non_uuid_and_injection_refused(project: DjangoProject) -> None:
    r = project.script(BAD_IDS)
    assert r["accepted"] == []
    assert len(r["refused"]) == 8 and all("must be a UUID" in m for m in r["refused"])
    assert r["bound_after"] == "None"
    assert r["normalised"] == TENANT_A
    assert "outside a transaction" in r["outside"]
    assert r["table_exists"] == 1


def test_setting_name_is_allowlisted(tmp_path: Path) -> None:
    """T15: the setting name is written into SQL text, so every entry point allowlists it."""
    from scaffold.config import Config
    from scaffold.errors import ConfigError, UsageError

    evil = "app.x', true); DROP TABLE t; --"
    with pytest.raises(ConfigError, match="tenant_setting"):
        Config(tmp_path, {"tenant_setting": evil})
    with pytest.raises(UsageError, match="not allowed"):
        enable_rls_sql("items_item", setting=evil)
    with pytest.raises(UsageError, match="SQL identifier"):
        enable_rls_sql('items"; DROP TABLE x; --')
    import copier

    from scaffold.templates import template_path

    with pytest.raises(Exception, match="custom setting"):
        copier.run_copy(
            str(template_path("tenancy")),
            str(tmp_path / "out"),
            data={"tenant_setting": evil},
            defaults=True,
            quiet=True,
        )
    assert not (tmp_path / "out" / "tenancy").exists()


# -- T6: WITH CHECK ----------------------------------------------------------------------

CROSS_TENANT = f"""
from django.db import transaction
from items.models import Item
from tenancy import tenant_context

result = {{}}
def attempt(label, fn):
    try:
        with tenant_context({TENANT_A!r}):
            result[label] = fn()
    except Exception as exc:
        result[label] = "refused: " + str(exc).splitlines()[0]

attempt("insert_b", lambda: Item._base_manager.create(tenant_id={TENANT_B!r}, name="evil").pk and "accepted")
attempt("move_a_to_b", lambda: Item._base_manager.filter(name="a1").update(tenant_id={TENANT_B!r}))
attempt("update_b", lambda: Item._base_manager.filter(tenant_id={TENANT_B!r}).update(name="pwned"))
attempt("delete_b", lambda: Item._base_manager.filter(tenant_id={TENANT_B!r}).delete()[0])
attempt("raw_update_b", lambda: __import__("django.db").db.connection.cursor().execute(
    "UPDATE items_item SET name = 'pwned' WHERE tenant_id = %s", [{TENANT_B!r}]).rowcount)
attempt("own_insert", lambda: Item.objects.create(tenant_id={TENANT_A!r}, name="a-tmp").delete()[0])
with tenant_context({TENANT_B!r}):
    result["b_names"] = sorted(Item.objects.values_list("name", flat=True))
"""


def test_cross_tenant_writes_refused(project: DjangoProject) -> None:
    r = project.script(CROSS_TENANT)
    assert r["insert_b"].startswith("refused: new row violates row-level security policy")
    assert r["move_a_to_b"].startswith("refused: new row violates row-level security policy")
    assert r["update_b"] == 0 and r["delete_b"] == 0 and r["raw_update_b"] == 0
    assert r["own_insert"] == 1
    assert r["b_names"] == ["b1", "b2"]


# -- T16, T17, T19: context lifetime on one connection -------------------------------------

SEQUENCE = f"""
from django.db import connection
from django.test import Client
from items.models import User

def client_for(username):
    c = Client()
    if username:
        c.force_login(User.objects.get(username=username))
    return c

result = {{}}
result["a"] = client_for("a").get("/items/state/").json()
result["anon"] = client_for(None).get("/probe/").json()
result["b"] = client_for("b").get("/items/state/").json()
result["nobody"] = client_for("nobody").get("/items/").status_code
result["b_list"] = [r["name"] for r in client_for("b").get("/items/").json()]
a_pk = str(User.objects.get(username="a").pk)
# T17: an exception escapes the view after the context was set ...
try:
    client_for("a").get("/items/boom/")
    result["boom"] = "no exception"
except RuntimeError as exc:
    result["boom"] = str(exc)
result["after_boom"] = client_for(None).get("/probe/").json()
# ... and a handled error response (404 for B's row asked by A) leaves nothing either.
from items.models import Item
with __import__("tenancy").tenant_context({TENANT_B!r}):
    b_pk = str(Item.objects.first().pk)
result["a_gets_b_row"] = client_for("a").get(f"/items/{{b_pk}}/").status_code
result["a_patch_b_row"] = client_for("a").patch(
    f"/items/{{b_pk}}/", {{"name": "x"}}, content_type="application/json").status_code
result["after_404"] = client_for(None).get("/probe/").json()
created = client_for("a").post(
    "/items/", {{"name": "a-new", "tenant_id": {TENANT_B!r}}}, content_type="application/json")
result["created"] = created.json()
client_for("a").delete(f"/items/{{created.json()['id']}}/")
options = connection.settings_dict["OPTIONS"]
result["pooled"] = bool(options.get("pool")) and connection.pool is not None
result["ssb"] = bool(options.get("server_side_binding"))
result["conn_max_age"] = connection.settings_dict["CONN_MAX_AGE"]
"""


@pytest.mark.parametrize(
    "env",
    [
        {"TEST_CONN_MAX_AGE": "60"},
        {"TEST_POOL": "1"},
        {"TEST_CONN_MAX_AGE": "60", "TEST_SERVER_SIDE_BINDING": "1"},
        {"TEST_POOL": "1", "TEST_SERVER_SIDE_BINDING": "1"},
    ],
    ids=["conn_max_age", "pool_size_1", "conn_max_age-server_side_binding", "pool-server_side_binding"],
)
def test_a_anonymous_b_on_one_backend(project: DjangoProject, env: dict[str, str]) -> None:
    r = variant(project, **env).script(SEQUENCE)
    pids = {r[k]["pid"] for k in ("a", "anon", "b", "after_boom", "after_404")}
    assert len(pids) == 1, f"expected one backend for every request, got {pids}"
    assert r["a"]["names"] == ["a1", "a2", "a3"] and r["a"]["raw"] == 3 and r["a"]["setting"] == TENANT_A
    assert r["b"]["names"] == ["b1", "b2"] and r["b"]["raw"] == 2 and r["b"]["orm"] == 2
    assert r["b_list"] == ["b1", "b2"]
    assert r["nobody"] == 403
    for key in ("anon", "after_boom", "after_404"):
        state = r[key]
        assert state["setting"] in ("", None), key
        assert (state["orm"], state["base"], state["raw"]) == (0, 0, 0), key
    assert r["boom"] == "boom after setting the tenant context"
    assert r["a_gets_b_row"] == 404 and r["a_patch_b_row"] == 404
    assert r["created"]["tenant_id"] == TENANT_A  # stamped, never taken from the body
    assert r["pooled"] == ("TEST_POOL" in env)
    assert r["ssb"] == ("TEST_SERVER_SIDE_BINDING" in env)
    assert r["conn_max_age"] == (0 if "TEST_POOL" in env else 60)


LATE_REFUSAL = f"""
from django.test import Client
from items.models import Item, User
from tenancy import tenant_context

client = Client()
client.force_login(User.objects.get(username="a"))
status = client.post("/items/late_refusal/").status_code
with tenant_context({TENANT_A!r}):
    rows = Item.objects.filter(name="written then refused").count()
result = {{"status": status, "rows": rows}}
"""


def test_an_error_response_rolls_back_the_requests_writes(project: DjangoProject) -> None:
    """A handled exception after a write (400 here) commits nothing: no ATOMIC_REQUESTS
    needed, TenantScopedViewMixin.dispatch rolls its transaction back."""
    assert project.script(LATE_REFUSAL) == {"status": 400, "rows": 0}


SSB_CONTRAST = f"""
from django.db import connection, transaction
from tenancy import set_tenant_context, get_tenant_context
result = {{"ssb": connection.settings_dict["OPTIONS"].get("server_side_binding", False)}}
with transaction.atomic():
    try:
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SET LOCAL app.current_tenant_id = %s", [{TENANT_A!r}])
        result["set_statement"] = "accepted"
    except Exception as exc:
        result["set_statement"] = "refused"
    set_tenant_context({TENANT_B!r})
    result["set_config"] = str(get_tenant_context())
"""


def test_server_side_binding(project: DjangoProject) -> None:
    """T19: `SET x = %s` cannot take a bound parameter server-side; set_config can."""
    on = variant(project, TEST_SERVER_SIDE_BINDING="1").script(SSB_CONTRAST)
    off = project.script(SSB_CONTRAST)
    assert on["ssb"] is True and off["ssb"] is False
    assert on["set_statement"] == "refused"
    assert on["set_config"] == off["set_config"] == TENANT_B


# -- T20: threads and async ----------------------------------------------------------------

THREADS = """
import threading
from concurrent.futures import ThreadPoolExecutor
from django.db import connections
from django.test import Client
from items.models import User

users = {u.username: u for u in User.objects.filter(username__in=["a", "b"])}
expected = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
barrier = threading.Barrier(4)

def worker(name):
    client = Client()
    client.force_login(users[name])
    barrier.wait()
    bad = []
    for _ in range(15):
        names = [r["name"] for r in client.get("/items/").json()]
        if names != expected[name]:
            bad.append(names)
        anon = Client().get("/probe/").json()
        if (anon["orm"], anon["raw"]) != (0, 0):
            bad.append(anon)
    connections.close_all()
    return bad

with ThreadPoolExecutor(4) as pool:
    result = {"threads": [b for b in pool.map(worker, ["a", "b", "a", "b"])]}
"""

ASYNC = f"""
import asyncio
from django.test import AsyncClient

async def main():
    client = AsyncClient()
    tenants = [{TENANT_A!r}, {TENANT_B!r}] * 6
    responses = await asyncio.gather(*(client.get("/async/", {{"tenant": t}}) for t in tenants))
    return [(t, r.json()) for t, r in zip(tenants, responses)]

result = asyncio.run(main())
"""


def test_threads_never_cross_tenants(project: DjangoProject) -> None:
    r = project.script(THREADS)
    assert r["threads"] == [[], [], [], []]


def test_async_view_never_crosses_tenants(project: DjangoProject) -> None:
    rows = project.script(ASYNC)
    assert len(rows) == 12
    for tenant, body in rows:
        expected = ["a1", "a2", "a3"] if tenant == TENANT_A else ["b1", "b2"]
        assert body == {"names": expected, "bound": tenant, "outside": 0}


# -- T21: background work ----------------------------------------------------------------

BACKGROUND = f"""
from django.db import transaction
from items.models import Item
from tenancy import get_tenant_context, tenant_context

result = {{"outside": Item.objects.count(), "callbacks": {{}}}}

@tenant_context({TENANT_B!r})
def task():
    return sorted(Item.objects.values_list("name", flat=True))

def bare_callback():
    result["callbacks"]["bare"] = [Item.objects.count(), str(get_tenant_context())]

def own_context_callback():
    with tenant_context({TENANT_B!r}):
        result["callbacks"]["own"] = Item.objects.count()

with tenant_context({TENANT_A!r}):
    result["a"] = Item.objects.count()
    with tenant_context({TENANT_B!r}):
        result["nested_b"] = Item.objects.count()
    result["restored"] = str(get_tenant_context())
    transaction.on_commit(bare_callback)
    transaction.on_commit(own_context_callback)
result["after"] = [Item.objects.count(), str(get_tenant_context())]
result["task"] = task()
try:
    with tenant_context({TENANT_A!r}):
        raise KeyError("fail")
except KeyError:
    pass
result["after_error"] = str(get_tenant_context())
"""


def test_background_work_sets_its_own_context(project: DjangoProject) -> None:
    r = project.script(BACKGROUND)
    assert r["outside"] == 0
    assert (r["a"], r["nested_b"], r["restored"]) == (3, 2, TENANT_A)
    assert r["callbacks"] == {"bare": [0, "None"], "own": 2}
    assert r["after"] == [0, "None"]
    assert r["task"] == ["b1", "b2"]
    assert r["after_error"] == "None"


# -- T22: the policy keeps the tenant_id index usable --------------------------------------

EXPLAIN = f"""
from django.db import connection
from items.models import Item
from tenancy import tenant_context

def index_names(plan):
    found = []
    def walk(node):
        if "Index Name" in node:
            found.append(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)
    walk(plan[0]["Plan"])
    return found

result = {{}}
with tenant_context({TENANT_A!r}), connection.cursor() as c:
    c.execute("SET LOCAL enable_seqscan = off")
    c.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items_item' AND indexdef LIKE '%%(tenant_id)%%'")
    result["tenant_indexes"] = [row[0] for row in c.fetchall()]
    for label, qs in (("list", Item.objects.all()), ("explicit", Item.objects.filter(tenant_id={TENANT_A!r}))):
        query, params = qs.query.sql_with_params()
        c.execute("EXPLAIN (FORMAT JSON) " + query, params)
        plan = c.fetchone()[0]
        plan = plan if isinstance(plan, list) else __import__("json").loads(plan)
        result[label] = index_names(plan)
    c.execute("EXPLAIN (FORMAT JSON) SELECT * FROM items_item")
    result["rls_only"] = index_names(c.fetchone()[0])
"""


def test_explain_uses_tenant_index(project: DjangoProject) -> None:
    r = project.script(EXPLAIN)
    assert r["tenant_indexes"]
    for label in ("list", "explicit", "rls_only"):
        assert set(r[label]) & set(r["tenant_indexes"]), (label, r)


# -- T18: system checks ------------------------------------------------------------------


def test_system_checks(project: DjangoProject, pg_database: PgDatabase) -> None:
    owner = project.manage("check")  # the owner is a superuser
    out = owner.stdout + owner.stderr
    assert "tenancy.W001" in out and "is a superuser" in out
    assert "tenancy.W004" in out and "ContextOutsideTransactionView" in out
    assert "ItemViewSet" not in out  # the mixin makes its requests transactional
    runtime = project.manage("check", runtime=True)
    for clean in ("tenancy.W001", "tenancy.W003", "tenancy.E001", "tenancy.W005"):
        assert clean not in runtime.stdout + runtime.stderr  # PostgreSQL; the user has tenant_id
    session = variant(project, TEST_SESSION_OPTIONS=f"-c app.current_tenant_id={TENANT_A}")
    out = session.manage("check", runtime=True).stderr
    assert "tenancy.W003" in out and "CONN_MAX_AGE = 60" in out
    out = variant(project, TEST_SESSION_OPTIONS=f"-c app.current_tenant_id={TENANT_A}", TEST_CONN_MAX_AGE="0")
    assert "tenancy.W003" not in out.manage("check", runtime=True).stderr
    pooled = variant(project, TEST_SESSION_OPTIONS=f"-c app.current_tenant_id={TENANT_A}", TEST_POOL="1")
    assert "a connection pool" in pooled.manage("check", runtime=True).stderr
    legacy = project.root / "items" / "legacy_sql.py"
    legacy.write_text("def use(cursor, t):\n    cursor.execute(f\"SET app.current_tenant_id = '{t}'\")\n")
    try:
        out = project.manage("check", runtime=True).stderr
        assert "tenancy.W003" in out and "legacy_sql.py" in out
    finally:
        legacy.unlink()
    # W002: the runtime role owns an RLS table that is not forced.
    with pg_database.owner() as conn:
        conn.execute("CREATE TABLE owned_unforced (tenant_id uuid)")
        conn.execute("ALTER TABLE owned_unforced ENABLE ROW LEVEL SECURITY")
        conn.execute(
            sql.SQL("ALTER TABLE owned_unforced OWNER TO {}").format(sql.Identifier(pg_database.runtime_role))
        )
    try:
        out = project.manage("check", runtime=True).stderr
        assert "tenancy.W002" in out and "owned_unforced" in out
    finally:
        with pg_database.owner() as conn:
            conn.execute("DROP TABLE owned_unforced")
    # W001 also for a role that is not a superuser but has BYPASSRLS.
    bypass = f"{pg_database.runtime_role}_bypass"
    with pg_database.owner() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER BYPASSRLS").format(
                sql.Identifier(bypass), sql.Literal(pg_database.runtime_password)
            )
        )
    try:
        env = project.env(runtime=True)
        env["DATABASE_URL"] = pg_database.runtime_url.replace(pg_database.runtime_role, bypass)
        proc = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=project.root, env=env, capture_output=True, text=True
        )
        assert "tenancy.W001" in proc.stderr and "BYPASSRLS" in proc.stderr, proc.stderr
    finally:
        with pg_database.owner() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(bypass)))
    # The runtime guard behind W004: the request fails instead of running unscoped.
    r = project.script(
        """
        from django.test import Client
        from items.models import User
        client = Client(raise_request_exception=True)
        client.force_login(User.objects.get(username="a"))
        try:
            client.get("/outside/")
            result = "served"
        except Exception as exc:
            result = type(exc).__name__ + ": " + str(exc)
        """
    )
    assert r.startswith("TenantContextError: set_tenant_context() called outside a transaction")


def test_check_skips_unreachable_database(project: DjangoProject) -> None:
    env = project.env(runtime=True)
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=project.root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for code in ("tenancy.W001", "tenancy.W002", "tenancy.W003"):
        assert code not in proc.stdout + proc.stderr
