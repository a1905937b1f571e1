"""``scaffold new-module`` on a fresh ``django-admin startproject`` after ``scaffold init``.

The project is what a team starts from: startproject, DATABASES from ``DATABASE_URL``
with persistent connections (``CONN_MAX_AGE = 60``, no ``ATOMIC_REQUESTS``), DRF, and a
custom user with a ``tenant_id``. ``scaffold init --no-input`` renders scaffold's own
tenancy core (``tenancy/``, fail-closed ``TenantManager``); then three modules are
generated through the CLI: ``purchasing`` (``Supplier``), ``warehouse`` and
``inventory`` with the same field mix as the legacy_erp test, so the same HTTP/SQL
isolation scenario runs here, as the runtime role, for session login and
``force_authenticate``. The project has no onboarding middleware: new-module notes that
and registers INSTALLED_APPS and the root urls only.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.djproject import VENV_BIN, DjangoProject, git_init
from tests.helpers.lint import assert_ruff_clean
from tests.helpers.rls import assert_tenant_rls
from tests.test_new_module import (  # noqa: F401 - the shared scenario tests run here too
    INVENTORY,
    SCENARIO,
    WAREHOUSE,
    test_a_request_that_raises_leaves_no_context,
    test_an_error_response_rolls_back_the_requests_writes,
    test_anonymous_and_tenantless_users_are_refused,
    test_check_and_makemigrations_are_clean,
    test_context_never_outlives_a_request_on_a_reused_connection,
    test_create_stamps_the_caller_tenant,
    test_cross_tenant_writes_are_refused,
    test_foreign_keys_cannot_cross_tenants,
    test_list_query_uses_the_tenant_index,
    test_lists_cover_only_the_callers_tenant,
    test_no_context_means_no_rows,
    test_other_tenants_rows_are_404_like_missing_ones,
    test_related_fields_are_tenant_scoped,
    test_rendered_relations_are_own_rows,
    test_rows_never_move_tenant,
    test_runs_as_the_runtime_role,
    test_unique_constraints_include_the_tenant,
    test_unique_is_per_tenant_over_http,
)

SUPPLIERS = [
    "new-module",
    "purchasing",
    "--no-input",
    "--model",
    "Supplier",
    *("--field", "name:str:200"),
    *("--field", "contact_email:email:optional"),
]
MODULES = ("purchasing", "warehouse", "inventory")

DATABASES = """\
def database_from_url(url):
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
AUTH_USER_MODEL = "accounts.User"
"""

USER_MODEL = """\
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    onboarding_completed = models.BooleanField(default=False)
"""


def startproject(root: Path, db) -> DjangoProject:
    root.mkdir(parents=True)
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    settings = root / "mysite/settings.py"
    text = settings.read_text()
    text = text.replace(
        "from pathlib import Path",
        "import os\nfrom pathlib import Path\nfrom urllib.parse import unquote, urlsplit",
    )
    text = re.sub(r"DATABASES = \{.*?\n\}\n", DATABASES, text, flags=re.S)
    text = text.replace("ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["testserver", "localhost"]')
    text = text.replace(
        "    'django.contrib.staticfiles',\n",
        "    'django.contrib.staticfiles',\n    'rest_framework',\n    'accounts',\n",
    )
    settings.write_text(text)
    (root / "accounts/migrations").mkdir(parents=True)
    (root / "accounts/__init__.py").write_text("")
    (root / "accounts/migrations/__init__.py").write_text("")
    (root / "accounts/models.py").write_text(USER_MODEL)
    proj = DjangoProject(root, db)
    proj.manage("makemigrations", "accounts", "-v", "0")
    git_init(root)
    return proj


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_database) -> DjangoProject:
    proj = startproject(tmp_path_factory.mktemp("fresh") / "mysite", pg_database)
    proj.scaffold("init", "--no-input")
    for args in (SUPPLIERS, WAREHOUSE, INVENTORY):
        out = proj.scaffold(*args)
        assert "no onboarding middleware" in out.stdout
    proj.migrate()
    return proj


@pytest.fixture(scope="module", params=["session", "force_authenticate"])
def scenario(request: pytest.FixtureRequest, project: DjangoProject) -> dict:
    code = SCENARIO.replace("__AUTH__", repr(request.param.split("_")[0])).replace("__CORE__", "tenancy")
    result = project.script(code)
    assert isinstance(result, dict)
    return result


def test_modules_use_the_rendered_core_and_are_registered(project: DjangoProject) -> None:
    models = (project.root / "inventory/models.py").read_text()
    assert "from tenancy import TenantManager" in models
    assert "from tenancy import set_tenant_context" in (project.root / "inventory/views.py").read_text()
    settings = (project.root / "mysite/settings.py").read_text()
    for module in MODULES:
        assert f"    '{module}',\n" in settings  # the file's quote style is kept
    urls = (project.root / "mysite/urls.py").read_text()
    assert "from django.urls import include, path" in urls
    assert "path('api/inventory/', include('inventory.urls'))" in urls  # single-quoted like startproject


def test_generated_module_tests_pass_as_non_superuser(project: DjangoProject) -> None:
    project.run_module_tests(*MODULES)


def test_generated_code_passes_ruff(project: DjangoProject) -> None:
    """The modules and the tenancy core scaffold init rendered."""
    assert_ruff_clean(project.root, [*MODULES, "tenancy"])


def test_rls_enabled_forced_with_policy(project: DjangoProject) -> None:
    """T2 for the generated tables."""
    assert project.db is not None
    assert_tenant_rls(project.db, ["purchasing_supplier", "warehouse_warehouse", "inventory_stockitem"])
