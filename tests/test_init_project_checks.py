"""init / new-module on a project scaffold's isolation cannot work in.

An untouched ``django-admin startproject`` has a sqlite3 DATABASES and the default
``auth.User`` (no ``tenant_id``). Both commands refuse the non-PostgreSQL database (exit
2, one line naming the file and the fix, nothing touched) unless
``--allow-non-postgres``; a user model that cannot carry ``user_tenant_attr`` is a
warning naming the fix. The settings are read statically: a database that is not a
literal (``dj_database_url``, ``os.environ``, a helper) is never refused.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scaffold.cli import main
from scaffold.projectchecks import database_engine, is_postgres, user_model_problem
from tests.helpers.djproject import VENV_BIN, git, git_init

# -- an untouched startproject, through the CLI -----------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture()
def untouched(tmp_path: Path) -> Path:
    root = tmp_path / "erp"
    root.mkdir()
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "erp", str(root)], check=True)
    git_init(root)
    return root


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--project", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


SQLITE_REFUSAL = (
    "error: erp/settings.py: DATABASES['default'] uses sqlite3; scaffold's tenant isolation needs "
    "PostgreSQL row-level security: switch ENGINE to django.db.backends.postgresql "
    "(or pass --allow-non-postgres to generate code for PostgreSQL anyway)\n"
)


@pytest.mark.parametrize(
    "args",
    [
        ("init", "--no-input"),
        ("init", "--dry-run"),
        ("new-module", "stock", "--no-input", "--field", "name:str"),
        ("new-module", "stock", "--no-input", "--dry-run"),
    ],
)
def test_sqlite_startproject_is_refused_and_untouched(
    untouched: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    before = snapshot(untouched)
    code, out, err = run(untouched, capsys, *args)
    assert code == 2
    assert err == SQLITE_REFUSAL  # one line, no traceback
    assert out == ""
    assert snapshot(untouched) == before
    assert git(untouched, "status", "--porcelain") == ""


def test_escape_hatch_proceeds_with_warnings_and_the_project_checks(
    untouched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(untouched, capsys, "init", "--no-input", "--allow-non-postgres")
    assert (code, err) == (0, "")
    assert "warning: erp/settings.py: DATABASES['default'] uses sqlite3;" in out
    assert "`manage.py migrate` will fail on this database" in out
    assert (
        "warning: erp/settings.py: AUTH_USER_MODEL is not set, so request.user is django.contrib.auth's "
        "User, which has no tenant_id" in out
    )
    assert "or set [tool.scaffold] user_tenant_attr" in out
    assert (untouched / "tenancy/checks.py").is_file()
    assert "'tenancy'," in (untouched / "erp/settings.py").read_text()

    code, out, err = run(untouched, capsys, "new-module", "stock", "--no-input", "--allow-non-postgres")
    assert (code, err) == (0, "")
    assert "  warning: erp/settings.py: DATABASES['default'] uses sqlite3;" in out
    assert "AUTH_USER_MODEL is not set" in out
    assert "'stock'," in (untouched / "erp/settings.py").read_text()
    # the project loads and the core's own system checks say the same: only those fire
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=untouched, capture_output=True, text=True, timeout=300
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 1, report
    assert "tenancy.E001" in report and "Database 'default' is sqlite" in report, report
    assert "tenancy.W005" in report and "auth.User has no 'tenant_id' attribute" in report, report
    assert set(re.findall(r"\(([\w.]+\.[EWC]\d+)\)", report)) == {"tenancy.E001", "tenancy.W005"}, report

    # without the flag the refusal stands, also for an up-to-date module
    code, _out, err = run(untouched, capsys, "new-module", "stock", "--no-input")
    assert code == 2 and err == SQLITE_REFUSAL


def test_postgres_project_with_a_user_model_lacking_the_attribute_warns(
    untouched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = untouched / "erp/settings.py"
    text = settings.read_text().replace("django.db.backends.sqlite3", "django.db.backends.postgresql")
    text = text.replace(
        "    'django.contrib.staticfiles',\n", "    'django.contrib.staticfiles',\n    'accounts',\n"
    )
    settings.write_text(text + '\nAUTH_USER_MODEL = "accounts.User"\n')
    (untouched / "accounts").mkdir()
    (untouched / "accounts/__init__.py").write_text("")
    (untouched / "accounts/models.py").write_text(
        "from django.contrib.auth.models import AbstractUser\n\n\nclass User(AbstractUser):\n    pass\n"
    )
    code, out, _err = run(untouched, capsys, "init", "--no-input")
    assert code == 0
    warning = (
        "accounts/models.py: the user model User (AUTH_USER_MODEL) has no field or attribute tenant_id: "
        "generated views refuse every request; add a tenant_id field to User, or set [tool.scaffold] "
        "user_tenant_attr to the user attribute that holds the tenant id and re-run `scaffold init` "
        "(the tenancy core's USER_TENANT_ATTR follows it)"
    )
    assert f"warning: {warning}" in out
    code, out, _err = run(
        untouched, capsys, "new-module", "stock", "--no-input", "--field", "name:str", "--dry-run"
    )
    assert code == 1
    assert _err == f"warning: {warning}\n"
    # with the field, no warning
    (untouched / "accounts/models.py").write_text(
        "from django.contrib.auth.models import AbstractUser\nfrom django.db import models\n\n\n"
        "class User(AbstractUser):\n    tenant_id = models.UUIDField(null=True)\n"
    )
    code, out, err = run(untouched, capsys, "new-module", "stock", "--no-input", "--field", "name:str")
    assert (code, err) == (0, "")
    assert "warning" not in out


# -- the static reading of DATABASES ------------------------------------------------------


def project(tmp_path: Path, files: dict[str, str], settings: str = "proj.settings") -> Path:
    files = {"proj/__init__.py": "", **files}
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def engine(tmp_path: Path, settings_text: str, **extra: str) -> str | None:
    root = project(tmp_path, {"proj/settings.py": settings_text, **extra})
    return database_engine(root, "proj.settings").engine


PG = "django.db.backends.postgresql"
SQLITE = """\
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
"""


@pytest.mark.parametrize(
    ("settings_text", "expected"),
    [
        (SQLITE, "django.db.backends.sqlite3"),
        (SQLITE.replace("sqlite3", "mysql"), "django.db.backends.mysql"),
        (
            SQLITE.replace("django.db.backends.sqlite3", "django.contrib.gis.db.backends.postgis"),
            "django.contrib.gis.db.backends.postgis",
        ),
        # environment-driven: cannot be known, never refused
        ('import dj_database_url\nDATABASES = {"default": dj_database_url.config()}\n', None),
        ('import os\nDATABASES = {"default": {"ENGINE": os.environ["DB_ENGINE"]}}\n', None),
        ("DATABASES = build()\n", None),
        ("DEBUG = True\n", None),  # no DATABASES at all
        # a later literal assignment wins (test_tenancy_core appends one like this)
        (SQLITE + 'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n', PG),
        (SQLITE + 'DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"\n', PG),
        (
            SQLITE + 'DATABASES["default"] = {"ENGINE": "django.db.backends.oracle"}\n',
            "django.db.backends.oracle",
        ),
        # keys that cannot change the engine do not make it unknown
        (
            SQLITE + 'DATABASES["default"]["NAME"] = "other"\nDATABASES["replica"] = {}\n',
            "django.db.backends.sqlite3",
        ),
        (SQLITE + 'DATABASES["default"]["OPTIONS"]["timeout"] = 5\n', "django.db.backends.sqlite3"),
        # a conditional or computed change might switch it: unknown
        (
            SQLITE + 'import os\nif os.environ.get("PG"):\n'
            '    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"\n',
            None,
        ),
        (SQLITE + "DATABASES.update(load())\n", None),
        (SQLITE + 'DATABASES["default"].update(ENGINE=load())\n', None),
        (SQLITE + 'x = DATABASES["default"].get("NAME")\n', "django.db.backends.sqlite3"),
        ('DATABASES = {"default": {**BASE, "NAME": "x"}}\n', None),
    ],
)
def test_database_engine(tmp_path: Path, settings_text: str, expected: str | None) -> None:
    found = engine(tmp_path, settings_text)
    assert found == expected
    if found is not None:
        assert is_postgres(found) is (found in (PG, "django.contrib.gis.db.backends.postgis"))


def test_database_engine_follows_star_imports_in_order(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "proj/settings/__init__.py": "",
            "proj/settings/base.py": SQLITE,
            "proj/settings/prod.py": 'from .base import *\nDATABASES = {"default": {"ENGINE": "django.db.backends.postgresql"}}\n',
            "proj/settings/dev.py": "from .base import *  # noqa\nDEBUG = True\n",
        },
    )
    assert database_engine(root, "proj.settings.prod").engine == "django.db.backends.postgresql"
    dev = database_engine(root, "proj.settings.dev")
    assert dev.engine == "django.db.backends.sqlite3"
    assert dev.file == root / "proj/settings/base.py"


# -- the static reading of the user model -------------------------------------------------

APPS = 'INSTALLED_APPS = ["django.contrib.auth", "accounts"]\n'
DJANGO_IMPORTS = (
    "import uuid\n\nfrom django.contrib.auth.models import AbstractUser\nfrom django.db import models\n\n\n"
)


@pytest.mark.parametrize(
    ("models", "extra", "problem"),
    [
        ("class User(AbstractUser):\n    pass\n", {}, True),
        ("class User(AbstractUser):\n    tenant_id = models.UUIDField()\n", {}, False),
        ("class User(AbstractUser):\n    tenant_id: uuid.UUID = models.UUIDField()\n", {}, False),
        # a `tenant` foreign key gives `tenant_id`
        (
            "class User(AbstractUser):\n    tenant = models.ForeignKey('t.Tenant', models.CASCADE)\n",
            {},
            False,
        ),
        ("class User(AbstractUser):\n    @property\n    def tenant_id(self):\n        return 1\n", {}, False),
        # through a project base class, in the same file or imported
        ("class Base(AbstractUser):\n    tenant_id = 1\n\n\nclass User(Base):\n    pass\n", {}, False),
        (
            "from core.mixins import TenantMixin\n\n\nclass User(TenantMixin, AbstractUser):\n    pass\n",
            {"core/__init__.py": "", "core/mixins.py": "class TenantMixin:\n    tenant_id = None\n"},
            False,
        ),
        (
            "from core.mixins import TenantMixin\n\n\nclass User(TenantMixin, AbstractUser):\n    pass\n",
            {"core/__init__.py": "", "core/mixins.py": "class TenantMixin:\n    pass\n"},
            True,
        ),
        ("class User(models.Model):\n    name = models.CharField(max_length=10)\n", {}, True),
        # a third-party base may well provide it: unknown, no problem reported
        ("from tenants.models import TenantUser\n\n\nclass User(TenantUser):\n    pass\n", {}, False),
        ("from tenants.models import User as Base\n\n\nclass User(Base):\n    pass\n", {}, False),
        ("class User(UndefinedBase):\n    pass\n", {}, False),
    ],
)
def test_user_model(tmp_path: Path, models: str, extra: dict[str, str], problem: bool) -> None:
    root = project(
        tmp_path,
        {
            "proj/settings.py": APPS + 'AUTH_USER_MODEL = "accounts.User"\n',
            "accounts/__init__.py": "",
            "accounts/models.py": DJANGO_IMPORTS + models,
            **extra,
        },
    )
    found = user_model_problem(root, "proj.settings", "tenant_id")
    assert bool(found) is problem, found
    if found:
        assert found.startswith("accounts/models.py: the user model User (AUTH_USER_MODEL) has no")


def test_user_model_unset_means_auth_user(tmp_path: Path) -> None:
    root = project(tmp_path, {"proj/settings.py": APPS})
    found = user_model_problem(root, "proj.settings", "org_id")
    assert found is not None and "django.contrib.auth's User, which has no org_id" in found
    # without django.contrib.auth there is no user model to speak of
    root2 = project(tmp_path / "b", {"proj/settings.py": 'INSTALLED_APPS = ["core"]\n'})
    assert user_model_problem(root2, "proj.settings", "tenant_id") is None


def test_user_model_through_app_config_label(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "proj/settings.py": 'INSTALLED_APPS = ["people.apps.PeopleConfig"]\nAUTH_USER_MODEL = "users.Person"\n',
            "people/__init__.py": "",
            "people/apps.py": "class PeopleConfig(AppConfig):\n    name = 'people'\n    label = 'users'\n",
            "people/models.py": (
                "from django.contrib.auth import models as auth\n\n\nclass Person(auth.AbstractBaseUser):\n    email = 1\n"
            ),
        },
    )
    found = user_model_problem(root, "proj.settings", "tenant_id")
    assert found is not None and found.startswith("people/models.py: the user model Person")
