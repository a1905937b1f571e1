"""``[tool.scaffold]`` configuration: reading, validation and autodetection.

Every key may be set in the target project's ``pyproject.toml``. Keys left out are
autodetected lazily: a command asks for the keys it needs with :meth:`Config.require`,
so an ambiguous detection (backup copies of settings, two middlewares) only stops the
commands that need that key.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.errors import ConfigError, SourceError
from scaffold.project import (
    DEFAULT_EXCLUDE,
    SourceFile,
    file_module,
    iter_python_files,
    module_file,
    unreadable,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MIDDLEWARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*)?$")
# A PostgreSQL custom setting: "<prefix>.<name>", lower-case identifiers only. This is the
# allowlist that keeps the setting name safe to use (it is still always bound as a parameter).
TENANT_SETTING = re.compile(r"^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$")
API_PREFIX = re.compile(r"^/([A-Za-z0-9_-]+/)*$")

DEFAULTS: dict[str, Any] = {
    "api_prefix": "/api/",
    "tenant_field": "tenant_id",
    "user_tenant_attr": "tenant_id",
    "tenant_setting": "app.current_tenant_id",
    "exclude": [],
    "per_file_ignores": {},
    "rls_exempt_tables": [],
    "probe_user": {},
    # what the view analysis cannot infer (scaffold.analysis.Settings)
    "scoping_helpers": [],
    "membership_permissions": [],
    "tenant_models": [],
    "global_models": [],
    "published_models": [],
}
ANALYSIS_KEYS = (
    "scoping_helpers",
    "membership_permissions",
    "tenant_models",
    "global_models",
    "published_models",
)
AUTODETECTED = ("settings", "urls", "middleware", "tenancy_module")
KEYS = (*AUTODETECTED, *DEFAULTS)

KEY_DOCS: dict[str, str] = {
    "settings": "dotted module holding INSTALLED_APPS (default: DJANGO_SETTINGS_MODULE from manage.py)",
    "urls": "dotted module of the root urlconf (default: ROOT_URLCONF from settings)",
    "middleware": "module[:Class] holding EXEMPT_PATHS / PROTECTED_PATHS (default: found by search)",
    "api_prefix": "URL prefix every API module is mounted under",
    "tenant_field": "tenant column on every tenant model",
    "user_tenant_attr": "attribute of request.user holding the tenant id",
    "tenant_setting": "PostgreSQL setting carrying the tenant id (RLS policies read it)",
    "tenancy_module": "dotted module of the tenancy core (default: found by search, else `tenancy`)",
    "exclude": "extra globs to skip, added to the defaults",
    "per_file_ignores": "table of glob = [rule codes] that audit ignores in matching files",
    "rls_exempt_tables": "tables that hold the tenant column but are deliberately not under RLS (e.g. users)",
    "probe_user": "extra field values for the users `scaffold probe` creates, e.g. { onboarding_completed = true }",
    "scoping_helpers": "functions or methods (dotted, or a bare method name) trusted to return the "
    "requesting user's tenant or a queryset scoped to it",
    "membership_permissions": "permission classes, view decorators or functions (dotted) that check the user "
    "belongs to the tenant named in the URL: a filter on a URL kwarg then scopes",
    "tenant_models": "models (dotted) that are the tenant itself: views over them are never rewritten",
    "global_models": "models (dotted) shared by every tenant: views over them are not tenant data",
    "published_models": "models (dotted) whose row, looked up by what the URL carries (share link, public "
    "board), publishes the tenant data it names: after a .get() of one, the URL kwargs it was looked up "
    "by scope like a URL kwarg under a membership check",
}


@dataclass
class Detection:
    """The outcome of autodetecting one key."""

    value: Any = None
    candidates: list[str] = field(default_factory=list)
    reason: str = ""
    # Files that might have been a candidate but do not parse: project-relative path ->
    # (line or None, Python's message), read once here so no caller parses them again.
    unparsable: dict[str, tuple[int | None, str]] = field(default_factory=dict)


def _validate(key: str, value: Any) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(
            f"[tool.scaffold] {key} = {value!r} is invalid: expected {expected}; fix it in pyproject.toml"
        )

    if key in ("settings", "urls", "tenancy_module"):
        if not isinstance(value, str) or not DOTTED.match(value):
            raise bad("a dotted module path like 'config.settings'")
    elif key == "middleware":
        if not isinstance(value, str) or not MIDDLEWARE.match(value):
            raise bad("'package.module' or 'package.module:ClassName'")
    elif key == "api_prefix":
        if not isinstance(value, str) or not API_PREFIX.match(value):
            raise bad("a path that starts and ends with '/', like '/api/'")
    elif key in ("tenant_field", "user_tenant_attr"):
        if not isinstance(value, str) or not IDENT.match(value):
            raise bad("a Python identifier like 'tenant_id'")
    elif key == "tenant_setting":
        if not isinstance(value, str) or not TENANT_SETTING.match(value):
            raise bad("a lower-case custom setting name with one dot, like 'app.current_tenant_id'")
    elif key in ANALYSIS_KEYS:
        if not isinstance(value, list) or not all(isinstance(v, str) and DOTTED.match(v) for v in value):
            raise bad("a list of dotted names like 'app.views.get_tenant_id'")
    elif key in ("exclude", "rls_exempt_tables"):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise bad("a list of strings")
    elif key == "probe_user":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and IDENT.match(k) and isinstance(v, (str, int, float, bool))
            for k, v in value.items()
        ):
            raise bad("a table of user field = value, like { onboarding_completed = true }")
    elif key == "per_file_ignores":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(c, str) for c in v)
            for k, v in value.items()
        ):
            raise bad("a table of glob = ['CODE', ...]")
        from scaffold.rules import all_rules

        codes = [r.code for r in all_rules()]
        for glob, listed in value.items():
            for code in listed:
                if not any(c.startswith(code.upper()) for c in codes) or not code.strip():
                    raise ConfigError(
                        f"[tool.scaffold] per_file_ignores {glob!r}: unknown rule code {code!r} "
                        "(a code or prefix such as TEN05; see `scaffold audit --list-rules`); "
                        "fix it in pyproject.toml"
                    )
    return value


def read_pyproject(root: Path) -> dict[str, Any]:
    """The raw ``[tool.scaffold]`` table of ``root/pyproject.toml`` (empty if absent)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the file") from exc
    table = data.get("tool", {}).get("scaffold", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.scaffold] must be a table; fix the file")
    return table


class Config:
    """The effective configuration of one project: explicit keys, defaults, autodetection."""

    def __init__(self, root: Path, explicit: dict[str, Any] | None = None) -> None:
        self.root = root
        raw = read_pyproject(root) if explicit is None else explicit
        raw = {k.replace("-", "_"): v for k, v in raw.items()}
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            raise ConfigError(
                f"unknown key [tool.scaffold] {unknown[0]} in pyproject.toml; valid keys: {', '.join(KEYS)}"
            )
        self.explicit: dict[str, Any] = {k: _validate(k, v) for k, v in raw.items()}
        self._detected: dict[str, Detection] = {}
        # Files autodetection could not read (project-relative path -> reason): never a
        # traceback; commands list them, one line each (see :meth:`unreadable_lines`).
        self.unreadable: dict[str, str] = {}

    @classmethod
    def load(cls, root: Path) -> Config:
        return cls(root)

    # -- plain keys -----------------------------------------------------------------
    def __getattr__(self, key: str) -> Any:
        if key in DEFAULTS:
            return self.explicit.get(key, DEFAULTS[key])
        raise AttributeError(key)

    @property
    def exclude_globs(self) -> tuple[str, ...]:
        return (*DEFAULT_EXCLUDE, *self.explicit.get("exclude", []))

    # -- autodetected keys ----------------------------------------------------------
    def detect(self, key: str) -> Detection:
        """Autodetect ``key`` (cached), ignoring any explicit value."""
        if key not in self._detected:
            self._detected[key] = _DETECTORS[key](self)
        return self._detected[key]

    def get(self, key: str) -> Any:
        """The explicit or detected value of ``key``, or None when undetectable."""
        if key in self.explicit:
            return self.explicit[key]
        if key in AUTODETECTED:
            return self.detect(key).value
        return DEFAULTS[key]

    def require(self, key: str) -> Any:
        """Like :meth:`get`, but a missing or ambiguous value is a ConfigError naming the fix."""
        value = self.get(key)
        if value is not None:
            return value
        det = self.detect(key)
        example = {
            "settings": '"mysite.settings"',
            "urls": '"mysite.urls"',
            "middleware": '"accounts.middleware:OnboardingMiddleware"',
            "tenancy_module": '"tenancy"',
        }[key]
        if det.candidates:
            found = f"{len(det.candidates)} candidates ({', '.join(det.candidates)})"
        else:
            found = det.reason or "no candidate"
        raise ConfigError(
            f"cannot detect `{key}`: {found}; set {key} = {example} under [tool.scaffold] in pyproject.toml"
        )

    def file_for(self, key: str) -> Path:
        """The source file of a module-valued key (settings, urls, middleware, tenancy_module)."""
        value = self.require(key).split(":")[0]
        path = module_file(self.root, value)
        if path is None:
            raise ConfigError(
                f"[tool.scaffold] {key} = {value!r}: no such module under {self.root}; "
                f"fix {key} in pyproject.toml"
            )
        return path

    def settings_files(self) -> list[Path]:
        """The settings module file(s); for a package, every module in it."""
        path = self.file_for("settings")
        if path.name == "__init__.py":
            return [path, *sorted(p for p in path.parent.glob("*.py") if p.name != "__init__.py")]
        return [path]

    def python_files(self) -> list[SourceFile]:
        """The project's Python files (excludes applied, walk order), walked once per
        ``Config``: autodetection and the command's own run read the same list. A ``Config``
        lives for one command, which writes nothing before it has read the list."""
        files: list[SourceFile] | None = self.__dict__.get("_python_files")
        if files is None:
            files = self.__dict__["_python_files"] = list(iter_python_files(self.root, self.exclude_globs))
        return files

    def source_files(self, starts: Sequence[Path] = (), exclude: Iterable[str] = ()) -> Iterable[SourceFile]:
        """The files a command runs over: below ``starts`` (files or folders; default the
        whole project), the project's excludes plus ``exclude`` applied. The whole project
        with its own excludes is :meth:`python_files`, the walk autodetection shares."""
        extra = tuple(exclude)
        if not starts and not extra:
            return self.python_files()
        return iter_python_files(self.root, (*self.exclude_globs, *extra), starts or None)

    def files_mentioning(self, *needles: bytes) -> list[SourceFile]:
        """The project files (walk order) whose bytes contain one of ``needles`` (words of
        :data:`SCANNED`): the autodetectors that look for a word share one walk of the
        project, each file read once, however many keys are detected."""
        hits: list[tuple[SourceFile, frozenset[bytes]]] | None = self.__dict__.get("_mentions")
        if hits is None:
            hits = []
            for src in self.python_files():
                data = self.read(src)
                found = frozenset(n for n in SCANNED if data is not None and n in data)
                if found:
                    hits.append((src, found))
            self.__dict__["_mentions"] = hits
        wanted = frozenset(needles)
        return [src for src, found in hits if found & wanted]

    def read(self, src: SourceFile) -> bytes | None:
        """The bytes of a project file autodetection scans; None (and the file recorded in
        :attr:`unreadable`) when it cannot be read."""
        try:
            return src.path.read_bytes()
        except OSError as exc:
            self.unreadable[src.rel] = unreadable(exc)
            return None

    def refuse_unreadable(self, key: str, example: str) -> None:
        """Raise when detecting ``key`` found nothing but skipped unreadable files: one of
        them may be what it looks for, and acting as if there were none would be wrong."""
        if self.unreadable:
            rel, why = sorted(self.unreadable.items())[0]
            more = f" (and {len(self.unreadable) - 1} more)" if len(self.unreadable) > 1 else ""
            raise SourceError(
                f"cannot detect `{key}`: {rel}{more}: {why}, and it may be the one; fix its permissions, "
                f"or set {key} = {example} under [tool.scaffold] in pyproject.toml"
            )

    def unreadable_lines(self) -> list[str]:
        """One line per file autodetection skipped because it cannot be read."""
        return [
            f"{rel}: {why}; not searched for settings, middleware or the tenancy core "
            "(fix its permissions, or exclude it)"
            for rel, why in sorted(self.unreadable.items())
        ]

    def as_dict(self) -> dict[str, Any]:
        """Every key with its effective value (None where detection failed)."""
        return {key: self.get(key) for key in KEYS}


# -- detectors -----------------------------------------------------------------------


def parse_file(path: Path) -> ast.Module | None:
    """The file's ast, or None when it cannot be read or parsed."""
    tree, _ = parse_file_or_problem(path)
    return tree


def parse_file_or_problem(path: Path) -> tuple[ast.Module | None, tuple[int | None, str]]:
    """The file's ast, or None and ``(line or None, why)`` when it cannot be read or parsed."""
    try:
        return ast.parse(path.read_bytes()), (None, "")
    except SyntaxError as exc:
        return None, (exc.lineno, exc.msg)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        return None, (None, str(exc))


def _string_assignments(tree: ast.AST, name: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.append(node.value.value)
        elif isinstance(node, ast.Call) and node.args and len(node.args) >= 2:
            first, second = node.args[0], node.args[1]
            if (
                isinstance(first, ast.Constant)
                and first.value == name
                and isinstance(second, ast.Constant)
                and isinstance(second.value, str)
            ):
                found.append(second.value)
    return found


def _detect_settings(cfg: Config) -> Detection:
    manage = cfg.root / "manage.py"
    tree = parse_file(manage)
    if tree is not None:
        for value in _string_assignments(tree, "DJANGO_SETTINGS_MODULE"):
            if module_file(cfg.root, value):
                return Detection(value)
    candidates = []
    for src in cfg.python_files():
        if "settings" not in src.rel:
            continue
        data = cfg.read(src)
        if data is not None and b"INSTALLED_APPS" in data:
            candidates.append(file_module(cfg.root, src.path))
    if len(candidates) == 1:
        return Detection(candidates[0])
    return Detection(None, candidates, "no DJANGO_SETTINGS_MODULE in manage.py")


def import_from_target(root: Path, current: Path, node: ast.ImportFrom) -> Path | None:
    """The project file a ``from X import ...`` in ``current`` imports (relative imports
    resolved against ``current``'s package), or None when it is not a project module."""
    init = current if current.name == "__init__.py" else current.parent / "__init__.py"
    package = file_module(root, init)
    if node.level:
        parts = package.split(".") if package else []
        parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
        target = ".".join([*parts, node.module] if node.module else parts)
    else:
        target = node.module or ""
    return module_file(root, target) if target else None


def star_imported_files(root: Path, path: Path) -> list[Path]:
    """Project files ``path`` star-imports, transitively (``from .base import *``)."""
    found: list[Path] = []
    queue = [path]
    while queue:
        current = queue.pop(0)
        tree = parse_file(current)
        if tree is None:
            continue
        for node in tree.body:
            if not (isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)):
                continue
            file = import_from_target(root, current, node)
            if file is not None and file != path and file not in found:
                found.append(file)
                queue.append(file)
    return found


def _detect_urls(cfg: Config) -> Detection:
    try:
        files = cfg.settings_files()
    except ConfigError as exc:
        return Detection(None, [], f"settings unknown ({exc})")
    values: list[str] = []
    for path in files:
        tree = parse_file(path)
        if tree is not None:
            values.extend(_string_assignments(tree, "ROOT_URLCONF"))
    if not values:  # settings/dev.py doing `from .base import *`
        for path in star_imported_files(cfg.root, files[0]):
            tree = parse_file(path)
            if tree is not None:
                values.extend(_string_assignments(tree, "ROOT_URLCONF"))
    values = list(dict.fromkeys(values))
    if len(values) == 1 and module_file(cfg.root, values[0]):
        return Detection(values[0])
    return Detection(None, values, "no ROOT_URLCONF in settings")


def _assigns_name(tree: ast.AST, names: tuple[str, ...]) -> list[str | None]:
    """Where ``names`` are assigned: the owning class name, or None for module level."""
    owners: list[str | None] = []
    body_owner: list[tuple[list[ast.stmt], str | None]] = [(getattr(tree, "body", []), None)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            body_owner.append((node.body, node.name))
    for body, owner in body_owner:
        for stmt in body:
            targets: list[ast.expr] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AnnAssign):
                targets = [stmt.target]
            if any(isinstance(t, ast.Name) and t.id in names for t in targets):
                owners.append(owner)
    return owners


def _detect_middleware(cfg: Config) -> Detection:
    candidates: list[str] = []
    unparsable: dict[str, tuple[int | None, str]] = {}
    for src in cfg.files_mentioning(b"EXEMPT_PATHS", b"PROTECTED_PATHS"):
        tree, problem = parse_file_or_problem(src.path)
        if tree is None:
            unparsable[src.rel] = problem
            continue
        owners = _assigns_name(tree, ("EXEMPT_PATHS", "PROTECTED_PATHS"))
        if not owners:
            continue
        module = file_module(cfg.root, src.path)
        owner = next((o for o in owners if o), None)
        candidates.append(f"{module}:{owner}" if owner else module)
    if len(candidates) == 1:
        return Detection(candidates[0], unparsable=unparsable)
    if unparsable and not candidates:
        reason = f"{next(iter(unparsable))} mentions EXEMPT_PATHS / PROTECTED_PATHS but does not parse"
        return Detection(None, [], reason, unparsable)
    return Detection(None, candidates, "no module assigns EXEMPT_PATHS or PROTECTED_PATHS", unparsable)


def _detect_tenancy(cfg: Config) -> Detection:
    candidates: list[str] = []
    for src in cfg.files_mentioning(b"def set_tenant_context"):
        tree = parse_file(src.path)
        if tree is None:
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == "set_tenant_context" for n in tree.body):
            candidates.append(file_module(cfg.root, src.path))
    if len(candidates) == 1:
        return Detection(candidates[0])
    return Detection(None, candidates, "no module defines set_tenant_context()")


# the words autodetection looks for in every project file (Config.files_mentioning)
SCANNED = (b"EXEMPT_PATHS", b"PROTECTED_PATHS", b"def set_tenant_context")

_DETECTORS: dict[str, Callable[[Config], Detection]] = {
    "settings": _detect_settings,
    "urls": _detect_urls,
    "middleware": _detect_middleware,
    "tenancy_module": _detect_tenancy,
}
