"""``scaffold new-module``: generate a secure business module and register it everywhere.

:func:`plan_module` works out every file to create or edit without touching the project:

* the module itself, rendered from the ``templates/module`` copier template into a temp
  dir (models, serializers, the secure ViewSet built from ``_macros/secure.jinja``, router
  urls, tenant-scoped admin, the initial and RLS migrations, isolation tests) plus its
  answers file ``.copier-answers.<name>.yml`` so ``copier update`` can target it later;
* ``INSTALLED_APPS`` (settings module or package), the root urlconf (``path(...,
  include(...))``) and the onboarding middleware's ``EXEMPT_PATHS`` or ``PROTECTED_PATHS``
  (class attributes or module constants), all edited with libcst.

Everything goes into one :class:`scaffold.fsutil.ChangeSet`: ``--dry-run`` prints its diff,
otherwise it is applied all-or-nothing. Bad input is a :class:`UsageError` raised before
anything is rendered; a second identical run finds nothing to change.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import keyword
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from scaffold.config import Config
from scaffold.errors import ConfigError, SourceError, UsageError
from scaffold.fsutil import ChangeSet, read_source
from scaffold.project import (
    DEFAULT_EXCLUDE,
    find_project,
    git_ignored,
    is_excluded,
    module_file,
    read_required,
)
from scaffold.registration import (
    add_expression_to_sequence,
    add_to_sequence,
    parse_error,
    pending_text,
    sequence_values,
    split_bom,
)
from scaffold.templates import template_source, without_src_path

FIELD_TYPES = ("str", "text", "int", "decimal", "bool", "date", "datetime", "uuid", "email", "json", "fk")
MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MODEL_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 30
# Names the generated code itself uses: a model or field called this would shadow them.
RESERVED_MODELS = {
    "AppConfig",
    "DefaultRouter",
    "IsAuthenticated",
    "Model",
    "PermissionDenied",
    "TenantManager",
    "TenantScopedRelatedField",
}
RESERVED_FIELDS = {
    "id",
    "pk",
    "created_at",
    "updated_at",
    "objects",
    "save",
    "delete",
    "clean",
    "check",
    "full_clean",
    "refresh_from_db",
    "validate_unique",
    "serializable_value",
}
# Top-level names a module may never take, besides the stdlib and installed packages.
RESERVED_MODULES = {
    "django",
    "rest_framework",
    "scaffold",
    "tests",
    "test",
    "manage",
    "templates",
}


# -- names ------------------------------------------------------------------------------


# Words whose plural is not the regular one, and words with no plural (the same both ways).
IRREGULAR_PLURALS = {
    "child": "children",
    "person": "people",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "foot": "feet",
    "tooth": "teeth",
    "goose": "geese",
    "quiz": "quizzes",
    "criterion": "criteria",
    "datum": "data",
}
UNCOUNTABLE = frozenset(
    {"news", "series", "species", "equipment", "information", "metadata", "feedback", "staff", "software"}
)
_IRREGULAR_SINGULARS = {v: k for k, v in IRREGULAR_PLURALS.items()}


def singular(word: str) -> str:
    """English singular of a lower-case word (good enough for module names)."""
    if word in UNCOUNTABLE:
        return word
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("yses", "theses")):  # analyses, hypotheses
        return word[:-2] + "is"
    if re.search(r"(ss|x|ch|sh|zz|uses)es$", word) or word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not re.search(r"(ss|us|is)$", word):
        return word[:-1]
    return word


def plural(word: str) -> str:
    """English plural of a lower-case word."""
    if word in UNCOUNTABLE:
        return word
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if word.endswith("is") and len(word) > 3:  # analysis -> analyses
        return word[:-2] + "es"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def default_model_name(module: str) -> str:
    """``inventory`` -> ``Inventory``, ``purchase_orders`` -> ``PurchaseOrder``."""
    words = [w for w in module.split("_") if w]
    if words:
        words[-1] = singular(words[-1])
    return "".join(w[:1].upper() + w[1:] for w in words)


def collection_segment(model: str) -> str:
    """``StockItem`` -> ``stock-items``: the router prefix of the model's collection."""
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", model)]
    words[-1] = plural(words[-1])
    return "-".join(words)


# -- fields -----------------------------------------------------------------------------


@dataclass
class FieldSpec:
    """One ``--field NAME:TYPE[:MODIFIER...]``; ``target`` is the ``fk:`` model reference."""

    name: str
    type: str
    unique: bool = False
    optional: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    target: str | None = None

    def answers(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "unique": self.unique,
            "optional": self.optional,
        }
        if self.type in ("str", "email"):
            data["max_length"] = self.max_length
        if self.type == "decimal":
            data["max_digits"] = self.max_digits
            data["decimal_places"] = self.decimal_places
        return data


FIELD_HELP = (
    "expected NAME:TYPE[:MODIFIER...] with TYPE one of "
    + ", ".join(t if t != "fk" else "fk:Model" for t in FIELD_TYPES)
    + " and modifiers unique, optional, a length (name:str:100) or digits (price:decimal:10,2)"
)


# The modifiers each type takes: LENGTH (name:str:100), DIGITS,PLACES (price:decimal:10,2).
FIELD_MODIFIERS: dict[str, tuple[str, ...]] = {
    "str": ("LENGTH", "unique", "optional"),
    "text": ("optional",),
    "int": ("unique", "optional"),
    "decimal": ("DIGITS,PLACES", "unique", "optional"),
    "bool": (),
    "date": ("unique", "optional"),
    "datetime": ("unique", "optional"),
    "uuid": ("unique", "optional"),
    "email": ("LENGTH", "unique", "optional"),
    "json": (),
    "fk": ("unique", "optional"),
}


def _modifier_kind(mod: str) -> str | None:
    """What a (lower-cased) modifier sets, or None when it is no modifier at all."""
    if mod == "unique":
        return "unique"
    if mod in ("optional", "null", "blank"):
        return "optional"
    if mod.isdigit():
        return "LENGTH"
    if re.match(r"^\d+,\d+$", mod):
        return "DIGITS,PLACES"
    return None


def parse_field(spec: str) -> FieldSpec:
    """Parse ``price:decimal:10,2`` / ``sku:str:unique`` / ``supplier:fk:Supplier:optional``."""
    parts = spec.strip().split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UsageError(f"--field {spec!r}: {FIELD_HELP}")
    name, kind, mods = parts[0], parts[1].lower(), parts[2:]
    check_field_name(name, spec)
    if kind not in FIELD_TYPES:
        raise UsageError(f"--field {spec!r}: unknown type {kind!r}; use one of {', '.join(FIELD_TYPES)}")
    f = FieldSpec(name=name, type=kind)
    if kind == "fk":
        if not mods or not re.match(r"^([a-z_][a-z0-9_.]*\.)?[A-Z][A-Za-z0-9]*$", mods[0]):
            raise UsageError(f"--field {spec!r}: a foreign key names its model, e.g. {name}:fk:Supplier")
        f.target, mods = mods[0], mods[1:]
    given: dict[str, str] = {}
    for mod in mods:
        low = mod.lower()
        what = _modifier_kind(low)
        if what is None:
            raise UsageError(f"--field {spec!r}: unknown modifier {mod!r}; {FIELD_HELP}")
        allowed = FIELD_MODIFIERS[kind]
        if what not in allowed:
            takes = f"takes only {', '.join(allowed)}" if allowed else "takes no modifiers"
            verb = "cannot be unique" if what == "unique" else f"cannot take {mod!r}"
            article = "an" if kind[0] in "aeiou" else "a"
            raise UsageError(f"--field {spec!r}: {article} {kind} field {verb} (it {takes}); drop ':{mod}'")
        if what in given:
            same = "is given twice" if given[what].lower() == low else f"conflicts with {given[what]!r}"
            raise UsageError(f"--field {spec!r}: modifier {mod!r} {same}; keep one")
        given[what] = mod
        if what == "unique":
            f.unique = True
        elif what == "optional":
            f.optional = True
        elif what == "LENGTH":
            f.max_length = int(low)
            if not 1 <= f.max_length <= 10485760:
                raise UsageError(f"--field {spec!r}: length must be between 1 and 10485760")
        else:
            digits, places = (int(x) for x in low.split(","))
            if not (1 <= digits <= 1000 and 0 <= places <= digits):
                raise UsageError(f"--field {spec!r}: use DIGITS,PLACES with 0 <= PLACES <= DIGITS <= 1000")
            f.max_digits, f.decimal_places = digits, places
    if kind == "str" and f.max_length is None:
        f.max_length = 255
    if kind == "email" and f.max_length is None:
        f.max_length = 254
    if kind == "decimal" and f.max_digits is None:
        f.max_digits, f.decimal_places = 10, 2
    if f.unique and f.optional:
        raise UsageError(f"--field {spec!r}: a unique field cannot be optional; drop one modifier")
    return f


def check_field_name(name: str, spec: str | None = None, tenant_field: str = "tenant_id") -> None:
    where = f"--field {spec!r}" if spec else f"field {name!r}"
    if not FIELD_NAME.match(name) or "__" in name or name.endswith("_") or len(name) > MAX_NAME:
        raise UsageError(
            f"{where}: field name {name!r} must be a lower-case identifier like unit_price "
            f"(no '__', no trailing '_', at most {MAX_NAME} characters)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"{where}: {name!r} is a Python keyword; choose another field name")
    if name in RESERVED_FIELDS:
        raise UsageError(
            f"{where}: {name!r} is generated or reserved on every model; choose another field name"
        )
    if tenant_field in (name, f"{name}_id"):
        # `tenant` would be a foreign key's column `tenant_id` (or shadow the tenant field).
        raise UsageError(
            f"{where}: {name!r} clashes with the tenant column {tenant_field!r} every model has "
            "(reserved); choose another field name"
        )


# -- project inspection -----------------------------------------------------------------


@dataclass
class ModelRef:
    """A model an ``fk:`` field can point at."""

    module: str  # dotted app module, e.g. "purchasing"
    model: str
    app_label: str
    table: str
    pk: str
    has_tenant_field: bool
    has_tenant_key: bool
    leaf_migration: str


def _installed_apps(cfg: Config) -> list[str]:
    from scaffold.registration import installed_apps_files

    apps: list[str] = []
    for path in installed_apps_files(cfg.root, cfg.require("settings")):
        try:
            text, _ = read_source(path)
            apps.extend(sequence_values(text, "INSTALLED_APPS", filename=str(path)))
        except (SourceError, UnicodeDecodeError):
            continue
    return list(dict.fromkeys(apps))


def _app_module(root: Path, entry: str) -> str | None:
    """The project-local package of an INSTALLED_APPS entry (``x.apps.XConfig`` -> ``x``)."""
    candidates = [entry]
    if ".apps." in entry:
        candidates.insert(0, entry.split(".apps.")[0])
    for dotted in candidates:
        path = module_file(root, dotted)
        if path is not None and path.name == "__init__.py":
            return dotted
    return None


def _leaf_migration(root: Path, module: str) -> str:
    folder = root.joinpath(*module.split("."), "migrations")
    names = sorted(p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py")) if folder.is_dir() else []
    return names[-1] if names else "__first__"


def _model_ref(root: Path, module: str, cls: ast.ClassDef, tenant_field: str) -> ModelRef:
    app_label = module.rsplit(".", 1)[-1]
    table = f"{app_label}_{cls.name.lower()}"
    pk = "id"
    has_tenant = False
    for stmt in cls.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
            for inner in stmt.body:
                if (
                    isinstance(inner, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "db_table" for t in inner.targets)
                    and isinstance(inner.value, ast.Constant)
                    and isinstance(inner.value.value, str)
                ):
                    table = inner.value.value
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if tenant_field in names:
                has_tenant = True
            value = stmt.value
            if (
                isinstance(value, ast.Call)
                and any(
                    k.arg == "primary_key" and isinstance(k.value, ast.Constant) and k.value.value
                    for k in value.keywords
                )
                and names
            ):
                pk = names[0]
    key = False
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and any(k.arg == "fields" for k in node.keywords):
            fields_arg = next(k.value for k in node.keywords if k.arg == "fields")
            if isinstance(fields_arg, (ast.List, ast.Tuple)):
                values = [e.value for e in fields_arg.elts if isinstance(e, ast.Constant)]
                if values == [tenant_field, pk] and getattr(node.func, "attr", "") == "UniqueConstraint":
                    key = True
    return ModelRef(module, cls.name, app_label, table, pk, has_tenant, key, _leaf_migration(root, module))


def find_model(cfg: Config, target: str, apps: list[str], spec: str) -> ModelRef:
    """Resolve ``Supplier`` or ``purchasing.Supplier`` among the project's installed apps."""
    want_app, _, model = target.rpartition(".")
    found: list[ModelRef] = []
    for entry in apps:
        module = _app_module(cfg.root, entry)
        if module is None or (want_app and module != want_app and module.rsplit(".", 1)[-1] != want_app):
            continue
        path = module_file(cfg.root, f"{module}.models")
        if path is None:
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == model:
                found.append(_model_ref(cfg.root, module, node, cfg.tenant_field))
    if not found:
        if want_app and any(_app_label(entry) == want_app for entry in apps):
            # An installed app that is not the project's own (django.contrib.auth, say).
            raise UsageError(
                f"--field {spec!r}: {target} is not a tenant model (the app {want_app} is not one "
                f"of the project's own and its models have no {cfg.tenant_field} column); fk must "
                "point at a tenant model of the project, e.g. one generated by new-module"
            )
        raise UsageError(
            f"--field {spec!r}: no model {target} in the project's installed apps; "
            "generate it first or name it as app.Model"
        )
    if len(found) > 1:
        options = ", ".join(f"{r.module}.{r.model}" for r in found)
        raise UsageError(f"--field {spec!r}: {model} is ambiguous ({options}); write it as app.Model")
    ref = found[0]
    if not ref.has_tenant_field:
        raise UsageError(
            f"--field {spec!r}: {ref.module}.{ref.model} has no {cfg.tenant_field} column; "
            "a module may only reference tenant models"
        )
    return ref


def _app_label(entry: str) -> str:
    """The default label of an INSTALLED_APPS entry: ``django.contrib.auth`` -> ``auth``."""
    return entry.split(".apps.")[0].rsplit(".", 1)[-1]


def _user_model(cfg: Config) -> str | None:
    """``AUTH_USER_MODEL`` when the settings set it to a literal ``app.Model``."""
    from scaffold.projectchecks import last_literal, settings_statements

    try:
        value, _where = last_literal(
            settings_statements(cfg.root, cfg.require("settings")), "AUTH_USER_MODEL"
        )
    except (SourceError, ConfigError, OSError):
        return None
    return value if isinstance(value, str) else None


def _importable_elsewhere(name: str, root: Path) -> bool:
    """True when ``name`` is a top-level module or package installed in the environment."""
    skip = {str(root), os.getcwd(), ""}
    paths = [p for p in sys.path if p not in skip and Path(p or ".").resolve() != root]
    try:
        return importlib.machinery.PathFinder.find_spec(name, paths) is not None
    except (ImportError, ValueError):
        return False


def check_module_name(
    name: str,
    root: Path,
    apps: Iterable[str],
    ours: bool,
    exclude: Iterable[str] = DEFAULT_EXCLUDE,
    *,
    ask_git: bool = True,
) -> None:
    """Refuse a NAME that is not a fresh, lower-case, importable package name, or whose
    folder audit would skip (an ``exclude`` glob) or git would ignore (``ask_git=False``:
    :func:`precheck` already asked git in this run)."""
    if name != name.strip():
        raise UsageError(
            f"module name {name!r} has leading or trailing whitespace; pass {name.strip()!r} exactly"
        )
    if not MODULE_NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise UsageError(
            f"module name {name!r} must be a lower-case Python identifier like inventory "
            f"(letters, digits, '_'; at most {MAX_NAME} characters)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"module name {name!r} is a Python keyword; choose another name")
    if name in sys.stdlib_module_names:
        raise UsageError(
            f"module name {name!r} clashes with the standard library module {name}; choose another name"
        )
    if name in RESERVED_MODULES:
        raise UsageError(f"module name {name!r} is reserved; choose another name")
    globs = tuple(exclude)
    glob = next((g for g in globs if is_excluded(name, (g,))), None)
    if glob is not None:
        where = "a default exclude" if glob in DEFAULT_EXCLUDE else "[tool.scaffold] exclude"
        raise UsageError(
            f"module name {name!r} matches the glob {glob!r} ({where}), so audit and migrate-viewsets "
            "would never look at it; choose another name"
        )
    ignored = git_ignored(root, name) if ask_git else None
    if ignored:
        raise UsageError(
            f"module name {name!r}: {name}/ is ignored by git ({ignored}), so the module would never be "
            "committed; choose another name"
        )
    if not ours:
        for entry in apps:
            if entry == name or entry.split(".")[0] == name or entry.rsplit(".", 1)[-1] == name:
                raise UsageError(
                    f"module name {name!r} clashes with the installed app {entry!r}; choose another name"
                )
    if _importable_elsewhere(name, root):
        raise UsageError(
            f"module name {name!r} clashes with an installed top-level package; choose another name"
        )


# -- plan -------------------------------------------------------------------------------


@dataclass
class ModulePlan:
    """Every change ``new-module`` makes, not yet applied."""

    root: Path
    name: str
    model: str
    url: str
    changes: ChangeSet
    created: list[Path] = field(default_factory=list)
    edited: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.changes

    def diff(self) -> str:
        return self.changes.diff(self.root)

    def preview(self, *, full: bool = False) -> str:
        """New files by name and line count, diffs of edited files (``full``: every diff)."""
        from scaffold.preview import preview

        return preview(self.changes, self.root, full=full)

    def apply(self) -> None:
        self.changes.apply()

    def summary(self) -> str:
        rel = lambda p: p.relative_to(self.root).as_posix()  # noqa: E731
        lines = [f"module {self.name}: {self.model} at {self.url}"]
        lines += [f"  created {rel(p)}" for p in self.created]
        lines += [f"  edited  {rel(p)}" for p in self.edited]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def constraint_name(name: str) -> str:
    """``name`` if it fits PostgreSQL's 63 bytes, else a prefix plus a stable hash."""
    if len(name) <= 63:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[:54].rstrip('_')}_{digest}"


def answers_file_name(name: str) -> str:
    return f".copier-answers.{name}.yml"


def module_template_source(*, unversioned: bool = False) -> tuple[str, str | None]:
    """``template_source("module")``, the missing git a :class:`UsageError` naming both fixes."""
    from scaffold.template_store import TemplateStoreError

    try:
        return template_source("module", allow_unversioned=unversioned)
    except TemplateStoreError as exc:
        raise UsageError(f"{exc}, or pass --unversioned to accept a module that cannot be updated") from exc


def render_module(
    data: dict[str, Any],
    dest: Path,
    *,
    unversioned: bool = False,
    template: tuple[str, str | None] | None = None,
) -> bool:
    """Render the module template into ``dest`` (pure copier; no tasks, no prompts).

    Returns whether the rendering is versioned (its answers file records ``_commit``). A
    template that cannot be versioned (no git) is a :class:`UsageError` naming the fix,
    unless ``unversioned``: then the answers file records no ``_src_path`` either (it would
    be the template folder inside this virtualenv, meaningless anywhere else)."""
    import copier

    src, ref = template or module_template_source(unversioned=unversioned)
    answers = dest / answers_file_name(data["module_name"])
    copier.run_copy(
        src,
        dst_path=dest,
        data=data,
        answers_file=answers.name,
        vcs_ref=ref,
        defaults=True,
        quiet=True,
        unsafe=False,
        overwrite=True,
    )
    if ref is None and answers.is_file():
        answers.write_bytes(without_src_path(answers.read_bytes()))
    return ref is not None


def _strings_in(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            value = n.evaluated_value
            if isinstance(value, str):
                found.add(value)

    node.visit(_Collect())
    return found


def _alias_key(alias: cst.ImportAlias) -> str:
    return alias.name.value if isinstance(alias.name, cst.Name) else ""


def _ensure_imports(source: str, module: str, names: Iterable[str], filename: str) -> str:
    """Add ``from module import name`` for each missing name; a UTF-8 BOM is kept (libcst
    drops it from the code it prints)."""
    bom, text = split_bom(source)
    return bom + _add_imports(text, module, names, filename)


def _add_imports(source: str, module: str, names: Iterable[str], filename: str) -> str:
    """Add ``from module import name`` for each missing name, keeping the file's layout.

    Missing names join an existing ``from module import ...`` (kept sorted); without one,
    a new import line goes after the last top-level import. (A direct libcst edit rather
    than ``AddImportsVisitor``: importing ``libcst.codemod`` alone costs ~0.5 s.)
    """
    tree = cst.parse_module(source)
    target: cst.ImportFrom | None = None
    present: set[str] = set()
    last_import = -1
    for index, stmt in enumerate(tree.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                last_import = index
            if (
                isinstance(small, cst.ImportFrom)
                and not small.relative
                and small.module is not None
                and tree.code_for_node(small.module) == module
                and not isinstance(small.names, cst.ImportStar)
            ):
                present |= {
                    a.name.value for a in small.names if isinstance(a.name, cst.Name) and a.asname is None
                }
                target = target or small
    missing = sorted(set(names) - present)
    if not missing:
        return source
    if target is not None:
        assert not isinstance(target.names, cst.ImportStar)
        current = list(target.names)
        if target.lpar is None:  # one line: merge and keep it sorted
            aliases = sorted(
                [*current, *(cst.ImportAlias(name=cst.Name(n)) for n in missing)], key=_alias_key
            )
            new_names = [
                a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                if i < len(aliases) - 1
                else a.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                for i, a in enumerate(aliases)
            ]
        else:  # parenthesised: append in the same layout
            last = current[-1]
            first_comma = current[0].comma if len(current) > 1 else None
            sep = (
                first_comma.whitespace_after
                if isinstance(first_comma, cst.Comma)
                else target.lpar.whitespace_after
            )
            trailing = last.comma if isinstance(last.comma, cst.Comma) else None
            new_names = [*current[:-1], last.with_changes(comma=cst.Comma(whitespace_after=sep))]
            for i, n in enumerate(missing):
                if i < len(missing) - 1:
                    comma: cst.Comma | cst.MaybeSentinel = cst.Comma(whitespace_after=sep)
                else:
                    comma = trailing if trailing is not None else cst.MaybeSentinel.DEFAULT
                new_names.append(cst.ImportAlias(name=cst.Name(n), comma=comma))
        return tree.deep_replace(target, target.with_changes(names=new_names)).code  # type: ignore[union-attr]
    line = cst.parse_statement(f"from {module} import {', '.join(missing)}\n")
    body = list(tree.body)
    body.insert(last_import + 1, line)
    return tree.with_changes(body=body).code


def _register_urls(cfg: Config, name: str, route: str, changes: ChangeSet) -> Path:
    try:
        path = cfg.file_for("urls")
    except ConfigError as exc:
        raise ConfigError(f"cannot find the root urlconf to include {name}.urls: {exc}") from exc
    rel = path.relative_to(cfg.root).as_posix()
    text = pending_text(changes, path, rel, f"include {name}.urls by hand")
    target = f"{name}.urls"
    expression = f'path("{route}", include("{target}"))'
    try:
        new = add_expression_to_sequence(
            text,
            "urlpatterns",
            expression,
            present=lambda item: target in _strings_in(item) or route in _strings_in(item),
            filename=rel,
        )
    except SourceError as exc:
        if "cannot parse" in str(exc):
            raise
        raise ConfigError(f'{exc}; or set urls = "<module>" under [tool.scaffold]') from exc
    if new != text:
        new = _ensure_imports(new, "django.urls", ("include", "path"), rel)
    changes.add(path, new.encode("utf-8"))
    return path


def _register_middleware(
    cfg: Config, prefix: str, protected: bool, changes: ChangeSet, notes: list[str]
) -> Path | None:
    value = cfg.get("middleware")
    if value is None:
        det = cfg.detect("middleware")
        if det.candidates:
            cfg.require("middleware")  # raises: ambiguous, naming the candidates and the key
        if det.unparsable:  # the onboarding middleware itself may be what is broken
            rel, (line, why) = next(iter(det.unparsable.items()))
            raise parse_error(rel, line or "?", why)
        cfg.refuse_unreadable("middleware", '"accounts.middleware:OnboardingMiddleware"')
        if protected:
            raise UsageError(
                "--protected needs an onboarding middleware with PROTECTED_PATHS, and none was found; "
                'set middleware = "package.module:Class" under [tool.scaffold]'
            )
        notes.append(
            "no onboarding middleware (EXEMPT_PATHS / PROTECTED_PATHS) found; nothing to register there"
        )
        return None
    module, _, class_name = value.partition(":")
    path = cfg.file_for("middleware")
    rel = path.relative_to(cfg.root).as_posix()
    text = pending_text(changes, path, rel, f"add {prefix!r} to its path lists by hand")
    wanted, other = ("PROTECTED_PATHS", "EXEMPT_PATHS") if protected else ("EXEMPT_PATHS", "PROTECTED_PATHS")
    kwargs: dict[str, Any] = {"class_name": class_name or None, "filename": rel}
    try:
        others = sequence_values(text, other, **kwargs)
    except SourceError as exc:
        if "cannot parse" in str(exc):
            raise
        others = []
    if prefix in others:
        raise UsageError(
            f"{prefix!r} is already in {other} of {rel}; a module is never in both lists: "
            f"remove it from {other} first" + ("" if protected else " or pass --protected")
        )
    try:
        new = add_to_sequence(text, wanted, prefix, **kwargs)
    except SourceError as exc:
        if "cannot parse" in str(exc):
            raise
        raise ConfigError(
            f'{exc}; or point middleware = "module:Class" under [tool.scaffold] at the class holding {wanted}'
        ) from exc
    changes.add(path, new.encode("utf-8"))
    return path


def _keep_existing_migrations(changes: ChangeSet, folder: Path) -> list[str]:
    """Drop every planned migration change when an existing migration would be rewritten;
    return the names of the existing ones that differ.

    A migration that exists may already be applied, and ``migrate`` never runs it again:
    rewriting it would leave the database on the old schema. New migrations are left out
    too (they would build on a state the kept ones do not describe); the owner runs
    ``makemigrations`` for the model's change instead."""
    planned = [c for c in changes if c.path.parent == folder and c.path.name != "__init__.py"]
    kept = sorted(c.path.name for c in planned if c.old is not None)
    if kept:
        for change in planned:
            changes.changes.remove(change)
    return kept


def plan_module(
    project: str | os.PathLike[str] | None,
    name: str,
    *,
    model: str | None = None,
    fields: Iterable[str | FieldSpec] = (),
    protected: bool = False,
    force: bool = False,
    allow_non_postgres: bool = False,
    unversioned: bool = False,
    prechecked: Prechecked | None = None,
) -> ModulePlan:
    """Validate the request, render the module and plan every registration edit.

    A default database known not to be PostgreSQL is refused (the RLS migration would
    crash ``migrate``) unless ``allow_non_postgres``; a user model known to lack
    ``user_tenant_attr`` is a warning (the generated views fail closed, and middleware may
    set the attribute at runtime, which no static check can see). Without git the module
    cannot record its template version: refused unless ``unversioned``."""
    root = find_project(project)
    cfg = Config.load(root)
    warnings = project_warnings(cfg, allow_non_postgres=allow_non_postgres)
    if prechecked is not None and (prechecked.root, prechecked.name, prechecked.unversioned) != (
        root,
        name,
        unversioned,
    ):
        prechecked = None  # established for another request: check everything again
    if not MODULE_NAME.fullmatch(name) or len(name) > MAX_NAME:
        check_module_name(name, root, (), ours=False)
    answers_path = root / answers_file_name(name)
    ours = answers_path.is_file()
    apps = _installed_apps(cfg)
    check_module_name(name, root, apps, ours, cfg.exclude_globs, ask_git=prechecked is None)
    module_dir = root / name
    exists = module_dir.exists()
    if (root / f"{name}.py").exists():
        raise UsageError(f"{name}.py already exists in {root}; choose another module name")
    if exists and not ours:
        # Never overwrite code scaffold did not generate (the settings package, say), even with --force.
        raise UsageError(
            f"{name}/ already exists and was not generated by scaffold "
            f"(no {answers_file_name(name)}); choose another module name"
        )

    model = model.strip() if model else default_model_name(name)
    if not MODEL_NAME.match(model) or len(model) > MAX_NAME:
        raise UsageError(
            f"--model {model!r}: must be a PascalCase class name like StockItem (at most {MAX_NAME} characters)"
        )
    if model in RESERVED_MODELS:
        raise UsageError(f"--model {model!r}: the generated code uses that name; choose another model name")

    specs = [f if isinstance(f, FieldSpec) else parse_field(f) for f in fields]
    user_model = _user_model(cfg) if any(s.type == "fk" for s in specs) else None
    seen: set[str] = set()
    field_answers: list[dict[str, Any]] = []
    for spec in specs:
        check_field_name(spec.name, tenant_field=cfg.tenant_field)
        if spec.name in seen:
            raise UsageError(f"--field {spec.name!r} is given twice; keep one")
        seen.add(spec.name)
        data = spec.answers()
        if spec.type == "fk":
            assert spec.target is not None
            where = f"--field {spec.name + ':fk:' + spec.target!r}"
            if spec.target in (model, f"{name}.{model}"):
                raise UsageError(
                    f"{where}: a foreign key from {model} to itself is not supported; generate the "
                    "module without it, then add the field and its composite key by hand"
                )
            ref = find_model(cfg, spec.target, apps, f"{spec.name}:fk:{spec.target}")
            if ref.module == name:
                raise UsageError(
                    f"--field {spec.name!r}: a module cannot reference its own model; use another module"
                )
            if user_model is not None and user_model == f"{ref.app_label}.{ref.model}":
                raise UsageError(
                    f"{where}: {ref.model} is the user model (AUTH_USER_MODEL), not a tenant model "
                    "new-module can key on; add a plain ForeignKey(settings.AUTH_USER_MODEL) by hand"
                )
            data.update(
                to_module=ref.module,
                to_model=ref.model,
                to_app_label=ref.app_label,
                to_table=ref.table,
                to_pk=ref.pk,
                to_migration=ref.leaf_migration,
                to_has_tenant_key=ref.has_tenant_key,
            )
        field_answers.append(data)
    for spec in specs:
        if spec.type == "fk" and f"{spec.name}_id" in seen:
            raise UsageError(
                f"--field {spec.name}_id clashes with the column of the foreign key {spec.name}; rename one"
            )
    table = f"{name}_{model.lower()}"
    # Explicit reverse names: the default `<model>_set` clashes as soon as two modules have
    # a model of the same name pointing at one parent, or one model has two such keys.
    reverse = f"{name}_{collection_segment(model).replace('-', '_')}"
    targets = [a.get("to_module", "") + "." + a.get("to_model", "") for a in field_answers]
    for answers, target in zip(field_answers, targets, strict=True):
        if answers["type"] == "fk":
            answers["related_name"] = (
                reverse if targets.count(target) == 1 else f"{reverse}_by_{answers['name']}"
            )
    for spec, answers in zip(specs, field_answers, strict=True):
        if spec.unique:
            answers["constraint"] = constraint_name(f"{table}_tenant_{spec.name}_uniq")

    if cfg.get("tenancy_module") is None and not cfg.detect("tenancy_module").candidates:
        cfg.refuse_unreadable("tenancy_module", '"tenancy"')
        raise ConfigError(
            "the project has no tenancy core (no module defines set_tenant_context); run "
            '`scaffold init` first, or set tenancy_module = "..." under [tool.scaffold]'
        )
    tenancy = cfg.require("tenancy_module")
    core = cfg.file_for("tenancy_module")
    core_text = read_required(cfg.root, core, "check the tenancy core").decode("utf-8", errors="replace")
    missing = [n for n in ("set_tenant_context", "TenantManager") if n not in core_text]
    if missing:
        raise ConfigError(
            f"tenancy module {tenancy} ({core.relative_to(root)}) does not provide {', '.join(missing)}; "
            "run `scaffold init` or set tenancy_module under [tool.scaffold]"
        )

    prefix = cfg.api_prefix
    route = f"{prefix.lstrip('/')}{name}/"
    url_prefix = f"{prefix}{name}/"
    plural_segment = collection_segment(model)
    data = {
        "module_name": name,
        "model_name": model,
        "model_plural": plural_segment,
        "tenant_key_name": constraint_name(f"{table}_tenant_pk"),
        "fields": field_answers,
        "protected": protected,
        "api_prefix": prefix,
        "tenancy_module": tenancy,
        "tenant_field": cfg.tenant_field,
        "user_tenant_attr": cfg.user_tenant_attr,
        "tenant_setting": cfg.tenant_setting,
    }

    changes = ChangeSet()
    plan = ModulePlan(root, name, model, f"{url_prefix}{plural_segment}/", changes)
    plan.warnings = warnings
    if not specs:
        plan.warnings.append(
            f"{model} has no business fields (only its id, {cfg.tenant_field} and timestamps); "
            "pass --field NAME:TYPE (repeatable) to give it some"
        )
    with tempfile.TemporaryDirectory(prefix="scaffold-module-") as tmp:
        versioned = render_module(
            data, Path(tmp), unversioned=unversioned, template=prechecked.template if prechecked else None
        )
        rendered = changes.add_tree(Path(tmp), root)
    if not versioned:
        plan.notes.append(
            f"--unversioned: {answers_file_name(name)} records no template version, so "
            f"`scaffold update` can never bring {name} forward"
        )
    kept = _keep_existing_migrations(changes, module_dir / "migrations") if exists else []
    if exists and changes and not force:
        raise UsageError(
            f"{name}/ already exists and differs from what would be generated; "
            "pass --force to overwrite its generated files, or choose another name"
        )
    if kept and changes:
        plan.notes.append(
            f"the model changed but {name}'s migrations exist and may be applied: kept "
            f"{', '.join(kept)} as they are (row-level security stays); run "
            f"`python manage.py makemigrations {name}`, then migrate"
        )

    from scaffold.registration import add_installed_app

    settings_files = add_installed_app(root, cfg.require("settings"), name, changes)
    urls_file = _register_urls(cfg, name, route, changes)
    middleware_file = _register_middleware(cfg, url_prefix, protected, changes, plan.notes)

    changed = {c.path for c in changes}
    plan.created = [p for p in rendered if p in changed and not p.exists()]
    plan.edited = [p for p in rendered if p in changed and p.exists()]
    for path in [*settings_files, urls_file, middleware_file]:
        if path is not None and path in changed and path not in plan.edited:
            plan.edited.append(path)
    plan.warnings += cfg.unreadable_lines()
    return plan


# -- interactive ------------------------------------------------------------------------


def _field_problem(spec: str) -> str | bool:
    if not spec.strip():
        return True
    try:
        parse_field(spec)
    except UsageError as exc:
        return str(exc)
    return True


def ask(
    name: str,
    *,
    model: str | None = None,
    fields: Iterable[str] = (),
    protected: bool | None = None,
) -> tuple[str, list[str], bool]:
    """Prompt (questionary) for whatever the command line left out.

    Returns ``(model, fields, protected)``. Fields are asked one per line until an empty
    answer; each is validated as it is typed.
    """
    import questionary

    fields = list(fields)
    if model is None:
        model = (
            questionary.text(
                "Model name:",
                default=default_model_name(name),
                validate=lambda v: (
                    bool(MODEL_NAME.match(v.strip())) or "a PascalCase class name like StockItem"
                ),
            )
            .unsafe_ask()
            .strip()
        )
    if not fields:
        questionary.print(
            "Fields as name:type[:modifiers], e.g. title:str, price:decimal:10,2, sku:str:unique, "
            "supplier:fk:Supplier. Empty line when done.",
        )
        while True:
            spec = questionary.text("Field:", validate=_field_problem).unsafe_ask().strip()
            if not spec:
                break
            fields.append(spec)
    if protected is None:
        protected = questionary.select(
            "Onboarding:",
            choices=[
                questionary.Choice(
                    "exempt: usable while onboarding is in progress (EXEMPT_PATHS)", value=False
                ),
                questionary.Choice("protected: needs a completed onboarding (PROTECTED_PATHS)", value=True),
            ],
        ).unsafe_ask()
    return model, fields, bool(protected)


def interactive_possible() -> bool:
    """Prompts need a terminal; without one the command behaves as with ``--no-input``."""
    return sys.stdin.isatty()


def project_warnings(cfg: Config, *, allow_non_postgres: bool = False) -> list[str]:
    """Refuse a project whose database is known not to be PostgreSQL (unless allowed);
    return the warnings to show (that database when allowed, a user model without the
    tenant attribute)."""
    from scaffold.projectchecks import check_tenancy_core, require_postgres, user_model_problem

    settings = cfg.require("settings")
    warnings = [require_postgres(cfg.root, settings, allow=allow_non_postgres)]
    check_tenancy_core(cfg)
    warnings.append(user_model_problem(cfg.root, settings, cfg.user_tenant_attr))
    return [w for w in warnings if w]


@dataclass(frozen=True)
class Prechecked:
    """What :func:`precheck` established before the questions, so that :func:`plan_module`
    does not do it again: the synced template source, and that git does not ignore the
    module's folder."""

    root: Path
    name: str
    unversioned: bool
    template: tuple[str, str | None]


def precheck(
    project: str | os.PathLike[str] | None,
    name: str,
    *,
    allow_non_postgres: bool = False,
    unversioned: bool = False,
) -> Prechecked:
    """Refuse a bad NAME (or a project scaffold cannot work in) before asking anything."""
    root = find_project(project)
    cfg = Config.load(root)
    project_warnings(cfg, allow_non_postgres=allow_non_postgres)
    template = module_template_source(unversioned=unversioned)
    ours = (root / answers_file_name(name)).is_file()
    check_module_name(name, root, _installed_apps(cfg), ours, cfg.exclude_globs)
    if (root / name).exists() and not ours:
        raise UsageError(
            f"{name}/ already exists and was not generated by scaffold "
            f"(no {answers_file_name(name)}); choose another module name"
        )
    return Prechecked(root, name, unversioned, template)
