"""``scaffold init --tenant-model NAME [--user-model]``: give a project its tenant.

A fresh ``startproject`` has no tenant and ``request.user`` is ``auth.User``, which carries
no tenant id, so every generated view would refuse every user. :func:`plan_tenant_models`
adds, to an init plan (a :class:`~scaffold.fsutil.ChangeSet`):

* ``models.py`` (from ``templates/tenancy/_models/models.py.jinja``) in the tenancy core or
  the app the user chose: a ``NAME`` model (the tenant registry) and, with ``user_model``, a
  custom ``User(AbstractUser)`` whose ``tenant`` foreign key gives ``request.user.tenant_id``
  (the ``user_tenant_attr``), plus an empty ``migrations`` package so ``makemigrations``
  writes the app's first migration;
* ``AUTH_USER_MODEL = "<app>.User"`` appended to the settings file holding
  ``INSTALLED_APPS``, in that file's quote style.

A custom user model can only be introduced before ``django.contrib.auth`` is migrated
(Django's documentation, "Changing to a custom user model mid-project"). So a user model
is refused, naming what to do instead, when the database (reached through the project's
own settings, in a subprocess) has ``auth`` migrations applied, or, when it cannot be
reached, when a project migration already points at ``auth.User``; an unreachable
database is also said in a note.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.config import IDENT, Config
from scaffold.errors import ConfigError, UsageError
from scaffold.fsutil import ChangeSet
from scaffold.project import module_file, rel_path
from scaffold.projectchecks import auth_user_model
from scaffold.registration import add_installed_app
from scaffold.templates import template_path

MODEL_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# What `startapp` writes into models.py: replaced as if the file were empty.
_STARTAPP_STUB = re.compile(rb"\A\s*from django\.db import models\s*(# Create your models here\.?\s*)?\Z")
# A migration that points at auth's own user model (not the swappable setting).
_AUTH_USER_REF = re.compile(r"""["']auth\.user["']""", re.IGNORECASE)

MID_PROJECT_FIX = (
    "switching AUTH_USER_MODEL after auth is migrated breaks its foreign keys, so scaffold will "
    "not add a user model: either recreate the database (drop it, then makemigrations and "
    "migrate) if its data can go, or keep your user model and give it a tenant by hand (Django: "
    "'Changing to a custom user model mid-project'), then set user_tenant_attr under "
    "[tool.scaffold]; init --tenant-model NAME without --user-model still adds the tenant model"
)


@dataclass
class TenantModels:
    """What :func:`plan_tenant_models` added to the plan."""

    app: str
    app_label: str
    tenant_model: str
    user_model: bool
    reasons: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_model_name(name: str) -> None:
    if not MODEL_NAME.match(name) or name == "User":
        raise UsageError(
            f"--tenant-model {name!r}: expected a PascalCase model name other than User, like Tenant"
        )


def _render(tenant_model: str, user_model: bool, app_label: str, cfg: Config, tenant_fk: str) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path("tenancy"))),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("_models/models.py.jinja").render(
        tenant_model=tenant_model,
        user_model=user_model,
        app_label=app_label,
        tenant_field=cfg.tenant_field,
        user_tenant_attr=cfg.user_tenant_attr,
        tenant_fk=tenant_fk,
    )


_PROBE = """\
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = sys.argv[1]
import django
django.setup()
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
recorder = MigrationRecorder(connections["default"])
applied = recorder.has_table() and recorder.migration_qs.filter(app="auth").exists()
print("@@auth-migrated@@" if applied else "@@auth-not-migrated@@")
"""


def auth_migrated(root: Path, settings_module: str) -> tuple[bool | None, str]:
    """Whether the project's database has ``auth`` migrations applied: ``(True|False, "")``,
    or ``(None, why)`` when it cannot be told (Django or the database unreachable). Runs the
    project's settings in a subprocess, as ``manage.py`` would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a dry run writes nothing into the project
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, settings_module],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    if "@@auth-migrated@@" in proc.stdout:
        return True, ""
    if "@@auth-not-migrated@@" in proc.stdout:
        return False, ""
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return None, lines[-1].strip() if lines else f"exit code {proc.returncode}"


def _migrations_on_auth_user(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("migrations/*.py")):
        if any(part in (".venv", "venv", "node_modules", "site-packages") for part in path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _AUTH_USER_REF.search(text):
            found.append(path)
    return found


def _quote(text: str) -> str:
    singles = len(re.findall(r"'[^'\n]*'", text))
    doubles = len(re.findall(r'"[^"\n]*"', text))
    return "'" if singles > doubles else '"'


def plan_tenant_models(
    root: Path,
    cfg: Config,
    settings_module: str,
    changes: ChangeSet,
    *,
    tenant_model: str,
    user_model: bool,
    app: str,
    app_is_core: bool,
) -> TenantModels:
    """Add the tenant (and user) model to ``changes``; see the module docstring."""
    check_model_name(tenant_model)
    if not IDENT.match(app) or app != app.lower() or "." in app:
        raise UsageError(f"--models-app {app!r}: expected a lower-case top-level package name like tenancy")
    attr = cfg.user_tenant_attr
    if user_model and not attr.endswith("_id"):
        raise ConfigError(
            f"user_tenant_attr = {attr!r} under [tool.scaffold]: --user-model gives the user a "
            f"foreign key whose column is <name>_id; set user_tenant_attr to a name ending in _id "
            f"(tenant_id), or add the tenant to your user model by hand"
        )
    tenant_fk = attr[: -len("_id")] if user_model else ""
    label = app
    result = TenantModels(app, label, tenant_model, user_model)
    label_model = f"{label}.User"

    if user_model:
        current, known = auth_user_model(root, settings_module)
        if not known:
            raise ConfigError(
                "AUTH_USER_MODEL is computed in the settings, so init cannot tell which user model "
                "is in use; add the tenant foreign key to it by hand (no --user-model)"
            )
        if current is not None and current != label_model:
            raise ConfigError(
                f"AUTH_USER_MODEL is already {current!r}: add a {tenant_fk} foreign key to "
                f"{tenant_model} on that model instead of --user-model (request.user.{attr} is what "
                "the generated views read)"
            )
        if current is None:
            migrated, why = auth_migrated(root, settings_module)
            if migrated:
                raise ConfigError(
                    "the database already has django.contrib.auth's migrations applied "
                    f"(django_migrations): {MID_PROJECT_FIX}"
                )
            if migrated is None:
                stale = _migrations_on_auth_user(root)
                if stale:
                    raise ConfigError(
                        f"{rel_path(root, stale[0])} points at auth.User (makemigrations ran "
                        f"against it): {MID_PROJECT_FIX}"
                    )
                result.notes.append(
                    f"could not reach the database to check that auth is not migrated yet ({why}); "
                    "if `migrate` already ran on it, do not apply this: AUTH_USER_MODEL must be set "
                    "before the first migrate"
                )

    folder = root / app
    models_py = folder / "models.py"
    text = _render(tenant_model, user_model, label, cfg, tenant_fk)
    existing = changes.pending(models_py)
    if existing is not None and existing != text.encode() and not _STARTAPP_STUB.match(existing):
        raise ConfigError(
            f"{rel_path(root, models_py)} already has models; pass --models-app with an app whose "
            "models.py is empty or missing (a new package name creates one)"
        )
    if not app_is_core and changes.pending(folder / "__init__.py") is None:
        if folder.exists():
            raise ConfigError(
                f"{rel_path(root, folder)} exists but is not a Python package; pass --models-app NAME"
            )
        changes.add(folder / "__init__.py", b"")
        result.reasons[folder / "__init__.py"] = f"a new app {app!r} for the tenant model"
    what = f"the tenant model {tenant_model}" + (
        " and the custom user model with its tenant" if user_model else ""
    )
    changes.add(models_py, text)
    result.reasons[models_py] = what
    migrations = folder / "migrations" / "__init__.py"
    if changes.pending(migrations) is None:
        changes.add(migrations, b"")
        result.reasons[migrations] = "so makemigrations writes the app's first migration"
    if not app_is_core:
        for path in add_installed_app(root, settings_module, app, changes):
            result.reasons.setdefault(path, f"add {app!r} to INSTALLED_APPS (it holds {what})")

    if user_model:
        # Appended to the settings module itself: it runs last (after any star import).
        target = module_file(root, settings_module)
        if target is None:  # Config.require("settings") found it; kept for mypy
            raise ConfigError(f"settings module {settings_module!r} not found")
        current_text = (changes.pending(target) or b"").decode("utf-8")
        if auth_user_model(root, settings_module)[0] != label_model:
            q = _quote(current_text)
            nl = "\r\n" if "\r\n" in current_text else "\n"
            lead = (
                current_text
                if current_text.endswith(("\n", "\r\n")) or not current_text
                else current_text + nl
            )
            addition = (
                f"{nl}# The custom user model with its tenant (scaffold init): set before the first migrate."
                f"{nl}AUTH_USER_MODEL = {q}{label_model}{q}{nl}"
            )
            changes.add(target, lead + addition)
            why = f"set AUTH_USER_MODEL = {label_model!r}"
            earlier = result.reasons.get(target)
            result.reasons[target] = f"{earlier}; {why}" if earlier else why
        result.notes.append(
            f"request.user.{attr} is the tenant of the user ({label_model}.{tenant_fk}); "
            f"AUTH_USER_MODEL = {label_model!r}"
        )
    return result
