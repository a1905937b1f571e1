"""Is the project one scaffold's tenant isolation can work in? Static checks, no Django import.

Two things a fresh ``django-admin startproject`` gets wrong for scaffold, found by reading
the settings (and the user model) with :mod:`ast`, the way Django would execute them:
module-level statements in order, following ``from .base import *``.

* :func:`database_engine`: ``DATABASES['default']['ENGINE']`` when it is a literal.
  Anything computed (``dj_database_url.config()``, ``os.environ[...]``, a helper
  function, a conditional override) is *unknown*, and unknown never refuses.
* :func:`user_model_problem`: whether ``request.user`` can carry ``user_tenant_attr``.
  ``AUTH_USER_MODEL`` unset (with ``django.contrib.auth`` installed) means
  ``auth.User``, which has no tenant attribute; a custom user class found in the
  project is checked for a field, attribute or property of that name (a ``tenant``
  foreign key provides ``tenant_id``), through project-local base classes. Anything it
  cannot follow is *unknown* and yields no problem.

A settings file that does not parse is a :class:`SourceError` naming the line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaffold.config import import_from_target, parse_file
from scaffold.errors import ConfigError
from scaffold.project import module_file, read_required, rel_path
from scaffold.registration import check_syntax

if TYPE_CHECKING:
    from scaffold.config import Config

__all__ = [
    "CoreValue",
    "DatabaseEngine",
    "auth_user_model",
    "check_tenancy_core",
    "core_file",
    "core_values",
    "database_engine",
    "is_postgres",
    "require_postgres",
    "user_model_problem",
]

ALLOW_FLAG = "--allow-non-postgres"


class _Unknown:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass
class DatabaseEngine:
    """The statically known ENGINE of ``DATABASES['default']`` (None when not known)."""

    engine: str | None
    file: Path | None  # the settings file that sets it


def _statements(root: Path, path: Path, seen: set[Path] | None = None) -> Iterator[tuple[Path, ast.stmt]]:
    """Module-level statements of a settings file in execution order, star imports inlined."""
    seen = set() if seen is None else seen
    if path in seen:
        return
    seen.add(path)
    tree = check_syntax(read_required(root, path, "read the settings"), rel_path(root, path))
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            target = import_from_target(root, path, stmt)
            if target is not None:
                yield from _statements(root, target, seen)
            continue
        yield path, stmt


def settings_statements(root: Path, settings_module: str) -> list[tuple[Path, ast.stmt]]:
    """The top-level statements of the settings module, star-imported modules inlined."""
    start = module_file(root, settings_module)
    if start is None:
        raise ConfigError(f"settings module {settings_module!r} not found; set settings in [tool.scaffold]")
    return list(_statements(root, start))


def _assigned(stmt: ast.stmt, name: str) -> ast.expr | None:
    """The value of a plain top-level ``name = value`` / ``name: T = value``."""
    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
        return stmt.value
    if (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.target.id == name
        and stmt.value is not None
    ):
        return stmt.value
    return None


def _literal_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dict_get(node: ast.expr, key: str) -> ast.expr | _Unknown | None:
    """``node[key]`` for a literal dict (UNKNOWN when not a literal or it has ``**``)."""
    if not isinstance(node, ast.Dict):
        return UNKNOWN
    found: ast.expr | _Unknown | None = None
    for k, v in zip(node.keys, node.values, strict=True):
        if k is None:  # {**base, ...}
            found = UNKNOWN
        elif _literal_str(k) == key:
            found = v
    return found


def _engine_of_default(default: ast.expr | _Unknown | None) -> str | _Unknown | None:
    if default is None or isinstance(default, _Unknown):
        return UNKNOWN if isinstance(default, _Unknown) else None
    engine = _dict_get(default, "ENGINE")
    if engine is None or isinstance(engine, _Unknown):
        return UNKNOWN
    return _literal_str(engine) or UNKNOWN


def _subscript_path(node: ast.expr, root_name: str) -> list[str | None] | None:
    """``DATABASES["default"]["ENGINE"]`` -> ["default", "ENGINE"] (None for a computed key);
    None when ``node`` is not rooted at ``root_name``."""
    keys: list[str | None] = []
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        if isinstance(node, ast.Subscript):
            keys.append(_literal_str(node.slice))
        else:
            keys.append(None)  # DATABASES["default"].something
        node = node.value
    if isinstance(node, ast.Name) and node.id == root_name:
        return list(reversed(keys))
    return None


def _harmless(keys: list[str | None]) -> bool:
    """A write at this key path cannot change ``DATABASES['default']['ENGINE']``."""
    if not keys:
        return False
    if keys[0] is not None and keys[0] != "default":
        return True
    return len(keys) >= 2 and keys[0] == "default" and keys[1] is not None and keys[1] != "ENGINE"


_READ_METHODS = {"get", "copy", "keys", "items", "values", "__getitem__", "__contains__"}


def _touches(stmt: ast.stmt, name: str) -> bool:
    """Whether ``stmt`` (anywhere inside it) may change ``name``'s default ENGINE: a
    rebinding of ``name`` (also in an ``if``, a loop or ``with``), a store or delete at a
    key path that can reach ``['default']['ENGINE']``, or a mutating method call on it."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            keys = _subscript_path(node, name)
            if keys is not None and not _harmless(keys):
                return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr not in _READ_METHODS
        ):
            keys = _subscript_path(node.func.value, name)
            if keys is not None and not _harmless([*keys, None]):
                return True  # DATABASES.update(...), DATABASES["default"].update(...)
    return False


def database_engine(root: Path, settings_module: str) -> DatabaseEngine:
    """``DATABASES['default']['ENGINE']`` as the settings module would leave it, if literal."""
    state: str | _Unknown | None = None
    where: Path | None = None
    for path, stmt in settings_statements(root, settings_module):
        value = _assigned(stmt, "DATABASES")
        if value is not None:
            state, where = _engine_of_default(_dict_get(value, "default")), path
            continue
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            keys = _subscript_path(stmt.targets[0], "DATABASES")
            if keys == ["default", "ENGINE"]:
                state, where = _literal_str(stmt.value) or UNKNOWN, path
                continue
            if keys == ["default"]:
                state, where = _engine_of_default(stmt.value), path
                continue
        if _touches(stmt, "DATABASES"):
            state, where = UNKNOWN, path
    if state is None or isinstance(state, _Unknown):
        return DatabaseEngine(None, where)
    return DatabaseEngine(state, where)


def is_postgres(engine: str) -> bool:
    """Django's backend, PostGIS, and wrappers named after them (django_prometheus, ...)."""
    return "postgres" in engine or "postgis" in engine


def require_postgres(root: Path, settings_module: str, *, allow: bool) -> str | None:
    """Refuse (ConfigError, exit 2) a project whose default database is known not to be
    PostgreSQL. With ``allow`` return the warning to show instead; None when fine."""
    db = database_engine(root, settings_module)
    if db.engine is None or is_postgres(db.engine):
        return None
    short = db.engine.rsplit(".", 1)[-1]
    rel = rel_path(root, db.file) if db.file is not None else settings_module
    if allow:
        return (
            f"{rel}: DATABASES['default'] uses {short}; the generated RLS migrations and "
            "tenant isolation need PostgreSQL, so `manage.py migrate` will fail on this database"
        )
    raise ConfigError(
        f"{rel}: DATABASES['default'] uses {short}; scaffold's tenant isolation needs PostgreSQL "
        "row-level security: switch ENGINE to django.db.backends.postgresql "
        f"(or pass {ALLOW_FLAG} to generate code for PostgreSQL anyway)"
    )


# -- the user model ----------------------------------------------------------------------

_FK_CALLS = {"ForeignKey", "OneToOneField"}


def last_literal(statements: list[tuple[Path, ast.stmt]], name: str) -> tuple[object, Path | None]:
    """The last top-level value of ``name``: a str / list of str, UNKNOWN, or None if unset."""
    value: object = None
    where: Path | None = None
    for path, stmt in statements:
        node = _assigned(stmt, name)
        if node is not None:
            where = path
            if isinstance(node, (ast.List, ast.Tuple)):
                items = [_literal_str(e) for e in node.elts]
                value = [i for i in items if i is not None] if all(items) else UNKNOWN
            else:
                value = _literal_str(node) or UNKNOWN
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            if isinstance(value, list) and isinstance(stmt.value, (ast.List, ast.Tuple)):
                value = value + [s for s in (_literal_str(e) for e in stmt.value.elts) if s]
            else:
                value = UNKNOWN
        elif _touches(stmt, name):
            value, where = UNKNOWN, path
    return value, where


def _app_module(root: Path, entry: str, label: str) -> str | None:
    """The project package of INSTALLED_APPS ``entry`` when its app label is ``label``."""
    if ".apps." in entry:
        package = entry.split(".apps.")[0]
        apps_file = module_file(root, f"{package}.apps")
        declared = None
        if apps_file is not None:
            try:
                tree = ast.parse(apps_file.read_bytes())
            except (SyntaxError, ValueError):
                return None
            for node in ast.walk(tree):
                value = _assigned(node, "label") if isinstance(node, ast.stmt) else None
                if value is not None:
                    declared = _literal_str(value)
        if (declared or package.rsplit(".", 1)[-1]) == label:
            return package
        return None
    return entry if entry.rsplit(".", 1)[-1] == label else None


def _model_files(root: Path, package: str) -> list[Path]:
    path = module_file(root, f"{package}.models")
    if path is None:
        return []
    if path.name == "__init__.py":
        return [path, *sorted(p for p in path.parent.glob("*.py") if p != path)]
    return [path]


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _call_name(node: ast.expr | None) -> str | None:
    return _base_name(node.func) if isinstance(node, ast.Call) else None


def _has_attr(
    root: Path, path: Path, tree: ast.Module, cls: ast.ClassDef, attr: str, depth: int = 0
) -> bool | None:
    """True / False when known, None when a base class cannot be followed."""
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
            return True
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = list(stmt.targets), stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if isinstance(target, ast.Name):
                if target.id == attr:
                    return True
                if attr.endswith("_id") and target.id == attr[:-3] and _call_name(value) in _FK_CALLS:
                    return True  # `tenant = ForeignKey(...)` gives `tenant_id`
    if depth > 5:
        return None
    for base in cls.bases:
        name = _base_name(base)
        if name is None:
            return None
        local = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if local is not None:
            found = _has_attr(root, path, tree, local, attr, depth + 1)
        elif name == "object" or _from_django(tree, base):
            found = False  # AbstractUser, AbstractBaseUser, PermissionsMixin, models.Model: no tenant
        else:
            found = _imported_has_attr(root, path, tree, name, attr, depth + 1)
        if found is None or found:
            return found
    return False


def _from_django(tree: ast.Module, base: ast.expr) -> bool:
    """``base`` (``AbstractUser``, ``models.Model``) is imported from Django itself."""
    node = base
    while isinstance(node, ast.Attribute):
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.ImportFrom)
            and (stmt.module or "").split(".")[0] == "django"
            and not stmt.level
        ):
            if any((a.asname or a.name) == node.id for a in stmt.names):
                return True
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound == node.id and alias.name.split(".")[0] == "django":
                    return True
    return False


def _imported_has_attr(
    root: Path, path: Path, tree: ast.Module, name: str, attr: str, depth: int
) -> bool | None:
    """Follow ``from pkg.mod import Base`` to a project file; None when it is not one."""
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not any((a.asname or a.name) == name for a in node.names):
            continue
        original = next(a.name for a in node.names if (a.asname or a.name) == name)
        target = import_from_target(root, path, node) if node.level else module_file(root, node.module or "")
        if target is None:
            return None
        other = parse_file(target)
        cls = next(
            (n for n in (other.body if other else []) if isinstance(n, ast.ClassDef) and n.name == original),
            None,
        )
        if other is None or cls is None:
            return None
        return _has_attr(root, target, other, cls, attr, depth)
    return None


# The one fix named for a user model without the tenant attribute: by this warning, by the
# tenancy core's system check tenancy.W005 (templates/tenancy/.../checks.py.jinja) and by the
# README. The key is [tool.scaffold] user_tenant_attr; `scaffold init` renders it into the
# core's USER_TENANT_ATTR (tests/test_one_fix_named.py holds the three to this text).
USER_TENANT_ATTR_FIX = (
    "set [tool.scaffold] user_tenant_attr to the user attribute that holds the tenant id and "
    "re-run `scaffold init` (the tenancy core's USER_TENANT_ATTR follows it)"
)


def auth_user_model(root: Path, settings_module: str) -> tuple[str | None, bool]:
    """``(AUTH_USER_MODEL, known)``: the literal the settings assign (None when unset, so
    ``auth.User``); ``known`` is False when it is computed and cannot be told statically."""
    value, _where = last_literal(settings_statements(root, settings_module), "AUTH_USER_MODEL")
    if value is None:
        return None, True
    return (value, True) if isinstance(value, str) else (None, False)


def user_model_problem(root: Path, settings_module: str, attr: str) -> str | None:
    """Why ``request.user.<attr>`` cannot exist, naming the fix; None when it can or when
    that cannot be told statically."""
    statements = settings_statements(root, settings_module)
    user_model, _where = last_literal(statements, "AUTH_USER_MODEL")
    apps, apps_where = last_literal(statements, "INSTALLED_APPS")
    fix_key = f"or {USER_TENANT_ATTR_FIX}"
    if user_model is None:
        if not isinstance(apps, list) or "django.contrib.auth" not in apps:
            return None
        rel = rel_path(root, apps_where) if apps_where else settings_module
        return (
            f"{rel}: AUTH_USER_MODEL is not set, so request.user is django.contrib.auth's User, "
            f"which has no {attr}: generated views refuse every request; set AUTH_USER_MODEL to a "
            f"custom user model with a {attr} field (before the first migrate), {fix_key}"
        )
    if not isinstance(user_model, str) or user_model.count(".") != 1 or not isinstance(apps, list):
        return None
    label, model = user_model.split(".")
    for entry in apps:
        package = _app_module(root, entry, label)
        if package is None:
            continue
        for path in _model_files(root, package):
            tree = parse_file(path)
            cls = next(
                (n for n in (tree.body if tree else []) if isinstance(n, ast.ClassDef) and n.name == model),
                None,
            )
            if tree is None or cls is None:
                continue
            if _has_attr(root, path, tree, cls, attr) is False:
                return (
                    f"{rel_path(root, path)}: the user model {model} (AUTH_USER_MODEL) has no field or "
                    f"attribute {attr}: generated views refuse every request; add a {attr} field "
                    f"to {model}, {fix_key}"
                )
            return None
    return None


# -- the tenancy core --------------------------------------------------------------------

# Where scaffold's rendered core (templates/tenancy) keeps the value of each key it was
# rendered with: [tool.scaffold] key -> (file next to the core's __init__.py, constant).
CORE_CONSTANTS: dict[str, tuple[str, str]] = {
    "tenant_field": ("managers.py", "TENANT_FIELD"),
    "tenant_setting": ("context.py", "TENANT_SETTING"),
    "user_tenant_attr": ("views.py", "USER_TENANT_ATTR"),
}
# A custom setting named in SQL a third-party core runs: set_config('app.x', ...),
# current_setting('app.x' ...), SET [LOCAL] app.x = / TO.
_SETTING_IN_SQL = re.compile(
    r"""(?:set_config|current_setting)\(\s*['"]([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)['"]"""
    r"""|\bSET\s+(?:LOCAL\s+|SESSION\s+)?([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\s*(?:=|\bTO\b)""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CoreValue:
    """A value the tenancy core was written with, and where it is."""

    key: str  # the [tool.scaffold] key
    value: str
    file: Path
    constant: str | None  # TENANT_FIELD, ...; None when read from the core's SQL


def core_file(root: Path, tenancy_module: str) -> Path | None:
    return module_file(root, tenancy_module)


def _constant(path: Path, name: str) -> str | None:
    tree = parse_file(path)
    value: str | None = None
    for stmt in tree.body if tree else []:
        node = _assigned(stmt, name)
        if node is not None:
            value = _literal_str(node)
    return value


def core_values(root: Path, tenancy_module: str) -> dict[str, CoreValue]:
    """The tenant_field / tenant_setting / user_tenant_attr the core uses, as far as they can
    be read statically: scaffold's rendered core from its constants (``TENANT_FIELD`` in
    managers.py, ``TENANT_SETTING`` in context.py, ``USER_TENANT_ATTR`` in views.py); any
    other core only its setting, when its SQL names exactly one."""
    start = core_file(root, tenancy_module)
    if start is None:
        return {}
    found: dict[str, CoreValue] = {}
    folder = start.parent
    for key, (filename, constant) in CORE_CONSTANTS.items():
        path = folder / filename
        if path.is_file():
            value = _constant(path, constant)
            if value is not None:
                found[key] = CoreValue(key, value, path, constant)
    if "tenant_setting" not in found:
        try:
            text = start.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        named = {a or b for a, b in _SETTING_IN_SQL.findall(text)}
        if len(named) == 1:
            found["tenant_setting"] = CoreValue("tenant_setting", named.pop(), start, None)
    return found


def core_mismatches(root: Path, tenancy_module: str, configured: dict[str, str]) -> list[CoreValue]:
    """The core's values that differ from ``configured`` (key -> effective value)."""
    values = core_values(root, tenancy_module)
    return [v for key, v in values.items() if key in configured and configured[key] != v.value]


def mismatch_message(root: Path, tenancy_module: str, value: CoreValue, configured: str) -> str:
    where = rel_path(root, value.file)
    uses = f"{value.constant} = {value.value!r}" if value.constant else f"the setting {value.value!r}"
    return (
        f"[tool.scaffold] {value.key} = {configured!r} but the tenancy core {tenancy_module} "
        f"({where}) uses {uses}; generated modules would not match it"
    )


def check_tenancy_core(cfg: Config) -> None:
    """Refuse (ConfigError) generating against a tenancy core that cannot serve the module:
    one rendered or written for another tenant_field / tenant_setting / user_tenant_attr
    (FieldError on every request, or RLS refusing every write), or one without the
    ``TenantManager`` generated models use. Nothing to check when no core is found."""
    module = cfg.get("tenancy_module")
    if module is None:
        return
    path = core_file(cfg.root, module)
    if path is None:
        return
    configured = {key: str(getattr(cfg, key)) for key in CORE_CONSTANTS}
    for value in core_mismatches(cfg.root, module, configured):
        if value.key not in cfg.explicit:
            raise ConfigError(
                f"[tool.scaffold] sets no {value.key} (default {configured[value.key]!r}) but the tenancy "
                f"core {module} ({rel_path(cfg.root, value.file)}) uses {value.value!r}; generated modules "
                f"would not match it: set {value.key} = {value.value!r} under [tool.scaffold] "
                "(`scaffold init` records it)"
            )
        if value.constant is not None:
            fix = (
                f"run `scaffold init` to re-render the core with {configured[value.key]!r}, "
                f"or set {value.key} = {value.value!r} under [tool.scaffold]"
            )
        else:
            fix = (
                f"set {value.key} = {value.value!r} under [tool.scaffold], or change the core "
                f"to use {configured[value.key]!r}"
            )
        raise ConfigError(f"{mismatch_message(cfg.root, module, value, configured[value.key])}: {fix}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    missing = [n for n in ("set_tenant_context", "TenantManager") if n not in text]
    if missing:
        rel = rel_path(cfg.root, path)
        raise ConfigError(
            f"tenancy module {module} ({rel}) does not provide {' or '.join(missing)}, which generated "
            f"modules import from it: define or import {', '.join(missing)} in {rel} (a manager "
            'whose queryset is filtered by the tenant context), or set tenancy_module = "tenancy" '
            "under [tool.scaffold] and run `scaffold init` to render scaffold's core there"
        )
