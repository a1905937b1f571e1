"""Running inside the project: its settings, a throwaway test database, the role.

Like pytest-django, the probe runs in the current Python environment (the project's
dependencies and scaffold's ``probe`` extra installed there) with the project's folder
on ``sys.path`` and its settings module. The database is created and migrated exactly
as Django's test runner does it (``django.test.utils.setup_databases``: ``test_<NAME>``
or ``DATABASES[...]["TEST"]["NAME"]``), and destroyed at the end unless ``keep_db``:
the real database is never connected to for writing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from scaffold import errors
from scaffold.config import Config
from scaffold.conninfo import SECRET_KEYS, conninfo_from
from scaffold.errors import ScaffoldError
from scaffold.probe.report import DatabaseInfo
from scaffold.rls import ROLE_SQL

EXTRA = "pip install scaffold-tenancy[probe]"


class ProbeUnavailable(ScaffoldError):
    """The probe cannot run here (exit 2): settings, server, privileges, extras."""


def first_line(exc: BaseException) -> str:
    """``KeyError: 'x'``: the type and the first line of an exception the project raised."""
    return errors.first_line(exc, with_type=True)


def database_secrets() -> str:
    """The secrets of the project's ``DATABASES`` (every alias's ``PASSWORD`` and its
    ``OPTIONS`` password / sslpassword) as a connection string for
    :func:`scaffold.conninfo.mask`; empty while the settings are not loaded."""
    try:
        from django.conf import settings

        databases = dict(settings.DATABASES) if settings.configured else {}
    except Exception:  # noqa: BLE001 - no Django, or settings that do not load: nothing to read
        return ""
    params: list[tuple[str, object]] = []
    for db in databases.values():
        options = db.get("OPTIONS") or {}
        params.append(("password", db.get("PASSWORD")))
        params += [(key, options.get(key)) for key in sorted(SECRET_KEYS)]
    return conninfo_from(params)


def require_extras() -> None:
    """Django, DRF and model-bakery must be importable in this environment."""
    for module, what in (
        ("django", "Django"),
        ("rest_framework", "Django REST framework"),
        ("model_bakery", "model-bakery"),
    ):
        if importlib.util.find_spec(module) is None:
            raise ProbeUnavailable(
                f"scaffold probe needs {what} in this environment: run it in the project's "
                f"environment with the probe extra ({EXTRA})"
            )


def settings_module(cfg: Config) -> str:
    """[tool.scaffold] settings, else DJANGO_SETTINGS_MODULE, else the one manage.py names."""
    explicit = cfg.explicit.get("settings")
    if explicit:
        return str(explicit)
    env = os.environ.get("DJANGO_SETTINGS_MODULE")
    if env:
        return env
    return str(cfg.require("settings"))


def setup_django(cfg: Config) -> str:
    """``django.setup()`` with the project's settings; returns the settings module."""
    require_extras()
    module = settings_module(cfg)
    root = str(cfg.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django
    from django.conf import settings

    if settings.configured and os.environ.get("DJANGO_SETTINGS_MODULE") not in (None, module):
        raise ProbeUnavailable(
            f"Django is already set up with {os.environ.get('DJANGO_SETTINGS_MODULE')} in this process; "
            "run one `scaffold probe` per process"
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    try:
        django.setup()
        from django.db import connections

        connections["default"].vendor  # noqa: B018 - loads the database backend
    except Exception as exc:  # noqa: BLE001 - anything the settings raise stops the probe
        raise ProbeUnavailable(
            f"settings {module} do not load ({first_line(exc)}); fix them, or name the right module "
            "with settings = ... under [tool.scaffold]"
        ) from exc
    from django.db import connections

    if "rest_framework" not in settings.INSTALLED_APPS:
        raise ProbeUnavailable(
            f"rest_framework is not in {module}.INSTALLED_APPS: the probe checks Django REST framework "
            "endpoints; add it"
        )
    vendor = connections["default"].vendor
    if vendor != "postgresql":
        raise ProbeUnavailable(
            f"DATABASES['default'] in {module} is {vendor}, not PostgreSQL: tenant isolation rests on "
            "PostgreSQL row-level security; point it at a PostgreSQL server"
        )
    return module


def _server(settings_dict: dict[str, Any]) -> str:
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or "5432"
    user = settings_dict.get("USER") or "(default user)"
    return f"{host}:{port} as {user}"


def _precheck(keep_db: bool) -> None:
    """Reach the server without touching the real database, and check CREATEDB."""
    from django.db import connections

    conn = connections["default"]
    test_name = conn.creation._get_test_db_name()
    try:
        # Django warns when it falls back from the 'postgres' database to the configured one
        # for this connection (as its test runner does); the error below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with conn._nodb_cursor() as cursor:
                cursor.execute(
                    "SELECT current_user, rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
                )
                role, can_create = cursor.fetchone()
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [test_name])
                exists = cursor.fetchone() is not None
    except Exception as exc:  # noqa: BLE001 - psycopg/Django raise several kinds
        raise ProbeUnavailable(
            f"cannot reach PostgreSQL at {_server(conn.settings_dict)} ({first_line(exc)}); start the "
            "server or fix DATABASES['default']"
        ) from exc
    if not can_create and not (keep_db and exists):
        raise ProbeUnavailable(
            f"role {role} may not create databases: the probe migrates a throwaway {test_name} as "
            f"Django's test runner does; ALTER ROLE {role} CREATEDB (it stays NOSUPERUSER NOBYPASSRLS), "
            "or create that database for it and pass --keep-db"
        )


def inspect_role(test_database: str, keep_db: bool) -> DatabaseInfo:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ROLE_SQL)
        role, superuser, bypass = cursor.fetchone()
        cursor.execute(
            """
            SELECT n.nspname || '.' || c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relforcerowsecurity
              AND pg_has_role(current_user, c.relowner, 'USAGE')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            ORDER BY 1
            """
        )
        unforced = [row[0] for row in cursor.fetchall()]
    return DatabaseInfo(role, bool(superuser), bool(bypass), test_database, keep_db, unforced)


@contextlib.contextmanager
def test_database(keep_db: bool) -> Iterator[DatabaseInfo]:
    """The test environment and a migrated ``test_<NAME>`` database for ``default``,
    set up and torn down with Django's own test-runner functions."""
    from django.db import connections
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    conn = connections["default"]
    real_name = conn.settings_dict["NAME"]
    _precheck(keep_db)
    setup_test_environment(debug=False)
    try:
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
                old_config = setup_databases(
                    verbosity=0,
                    interactive=False,
                    keepdb=keep_db,
                    aliases={"default"},
                    serialized_aliases=set(),
                )
        except SystemExit as exc:  # Django's creation exits(2) on "permission denied" and co.
            said = captured.getvalue().strip().splitlines()
            raise ProbeUnavailable(
                f"cannot create the test database ({said[-1] if said else f'exit {exc.code}'}); "
                "give the role CREATEDB, or pass --keep-db with an existing test database"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - a migration that fails
            raise ProbeUnavailable(
                f"migrating the test database failed ({first_line(exc)}); "
                "`python manage.py migrate` against an empty database shows the same"
            ) from exc
        try:
            name = conn.settings_dict["NAME"]
            if name == real_name:  # pragma: no cover - Django always renames; never risk it
                raise ProbeUnavailable(f"refusing to probe the real database {real_name}")
            yield inspect_role(name, keep_db)
        finally:
            conn.close()
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                teardown_databases(old_config, verbosity=0, keepdb=keep_db)
    finally:
        teardown_test_environment()
