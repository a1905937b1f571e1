"""``scaffold init``: record the project's configuration and give it a tenancy core.

:func:`plan_init` works out every edit without touching a file:

* ``pyproject.toml``: the ``[tool.scaffold]`` keys that were autodetected or defaulted
  and that the user has not set (created, or added to the existing table, keeping the
  rest of the file byte for byte);
* the tenancy core: when the project has none, the ``templates/tenancy`` copier template
  is rendered into a temp dir and its files added; when it has one (``custom_auth.rls``
  in the example project), its module is recorded as ``tenancy_module`` instead;
* ``INSTALLED_APPS``: the rendered core is added with libcst (layout and comments kept;
  list or tuple; star-imported ``settings/base.py`` followed), so its system checks run.

:func:`init_project` applies the plan as one :class:`scaffold.fsutil.ChangeSet` (all or
nothing) unless ``dry_run``. A second run finds nothing to do.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.config import DEFAULTS, IDENT, Config
from scaffold.errors import ConfigError, OperationFailed, UsageError
from scaffold.fsutil import ChangeSet
from scaffold.project import find_project, module_file, rel_path
from scaffold.projectchecks import (
    CORE_CONSTANTS,
    CoreValue,
    auth_user_model,
    core_values,
    mismatch_message,
    require_postgres,
    user_model_problem,
)
from scaffold.registration import add_installed_app
from scaffold.templates import template_path, without_src_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Keys init writes, in this order: what it detected, then the defaults the core and the
# generated modules depend on (so a reviewer sees them).
WRITTEN_KEYS = (
    "settings",
    "urls",
    "middleware",
    "tenancy_module",
    "api_prefix",
    "tenant_field",
    "user_tenant_attr",
    "tenant_setting",
)
CORE_NAMES = ("set_tenant_context", "TenantManager")


@dataclass
class InitResult:
    """What init did (or, for a dry run, would do)."""

    root: Path
    changes: ChangeSet
    reasons: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tenancy_module: str = ""
    rendered_core: bool = False
    models_app: str = ""  # where --tenant-model rendered models.py ("" when it did not)
    user_model_offer: bool = False  # AUTH_USER_MODEL is unset: --user-model can still help
    applied: bool = False
    dry_run: bool = False

    def apply(self) -> None:
        if self.changes and not self.applied:
            self.changes.apply()
            self.applied = True

    def next_steps(self) -> list[str]:
        """What to run after init, for the state it leaves (the README's newcomer path)."""
        steps = []
        if self.user_model_offer and not self.models_app:
            steps.append(
                "scaffold init --tenant-model Tenant --user-model   # before migrate: a tenant for request.user"
            )
        if self.models_app:
            steps.append(f"python manage.py makemigrations {self.models_app}")
        steps.append("python manage.py migrate   # as the role that owns the tables (README: Security model)")
        steps.append(
            "create the runtime role (NOSUPERUSER NOBYPASSRLS; SELECT, INSERT, UPDATE, DELETE on "
            "the tables) and run the application as it (README: Security model)"
        )
        steps.append("scaffold new-module NAME --field name:str   # your first tenant-isolated module")
        return steps

    def to_text(self, *, full: bool = False) -> str:
        """The plan (or what was done): new files by name and line count, the diffs of
        edited files; ``full`` shows the diff of every file."""
        from scaffold.preview import preview

        lines: list[str] = []
        warnings = [f"warning: {w}" for w in self.warnings]
        if not self.changes:
            lines.append(f"nothing to do: {self.root} is already initialised")
            lines.append(f"tenancy core: {self.tenancy_module}")
            lines.extend(self.notes)
            lines.extend(warnings)
            return "\n".join(lines)
        lines.append(preview(self.changes, self.root, full=full, reasons=self.reasons).rstrip("\n"))
        lines.append(f"tenancy core: {self.tenancy_module}")
        lines.extend(self.notes)
        lines.extend(warnings)
        if not self.dry_run:
            lines.extend(f"next: {step}" for step in self.next_steps())
        if self.dry_run:
            lines.append(f"dry run: {len(self.changes.changes)} file(s) would change; nothing was written")
        elif self.applied:
            lines.append(f"wrote {len(self.changes.changes)} file(s)")
        return "\n".join(lines)


# -- tenancy core --------------------------------------------------------------------


def _exports(path: Path) -> set[str]:
    """Names a module defines or imports at top level (a cheap, parse-only view)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _core_module(root: Path, detected: str) -> str:
    """The module generated code should import from: a detected ``pkg.context`` whose
    package re-exports the core names is recorded as ``pkg``."""
    if "." in detected:
        parent = detected.rpartition(".")[0]
        init = module_file(root, parent)
        if init is not None and init.name == "__init__.py" and set(CORE_NAMES) <= _exports(init):
            return parent
    return detected


def core_answers(
    package: str, tenant_setting: str, tenant_field: str, user_tenant_attr: str
) -> dict[str, str]:
    """The tenancy template's answers. The view mixin's request hooks and permission classes
    are rendered from the module template's secure pattern (``_macros/secure.jinja``), so the
    core and the generated ViewSets run the same code."""
    from scaffold import pattern

    return {
        "package": package,
        "tenant_setting": tenant_setting,
        "tenant_field": tenant_field,
        "user_tenant_attr": user_tenant_attr,
        "view_hooks": pattern.mixin_hooks(),
        "permission_classes": pattern.permission_classes(),
        "safety_hooks": pattern.mixin_safety_hooks(),
        "view_helpers": pattern.parser_guard(),
    }


def _render_core_files(package: str, answers: dict[str, str]) -> dict[str, bytes]:
    """The tenancy template rendered with ``answers``: ``{posix relpath: content}``."""
    import copier  # slow import: only when a core is rendered

    data = core_answers(
        package, answers["tenant_setting"], answers["tenant_field"], answers["user_tenant_attr"]
    )
    with tempfile.TemporaryDirectory(prefix="scaffold-init-") as tmp:
        try:
            copier.run_copy(
                str(template_path("tenancy")),
                tmp,
                data=data,
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=False,
                answers_file=f"{package}/.copier-answers.yml",
            )
        except Exception as exc:  # noqa: BLE001 - copier raises many kinds; nothing was written yet
            raise OperationFailed(f"rendering the tenancy core failed ({exc}); nothing was written") from exc
        files = {
            p.relative_to(tmp).as_posix(): p.read_bytes()
            for p in sorted(Path(tmp).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }
    # the core is re-rendered by init, never by `copier update`
    answers_rel = f"{package}/.copier-answers.yml"
    if answers_rel in files:
        files[answers_rel] = without_src_path(files[answers_rel])
    return files


def _answers(cfg: Config) -> dict[str, str]:
    return {key: str(getattr(cfg, key)) for key in CORE_CONSTANTS}


def _render_core(root: Path, package: str, cfg: Config, changes: ChangeSet) -> list[Path]:
    """Render the tenancy template and add its files to ``changes``."""
    files = _render_core_files(package, _answers(cfg))
    paths = []
    for rel, data in files.items():
        changes.add(root / rel, data)
        paths.append(root / rel)
    return paths


def _rerender_core(
    root: Path,
    core: str,
    cfg: Config,
    stale: list[CoreValue],
    found: dict[str, CoreValue],
    changes: ChangeSet,
) -> list[Path]:
    """Re-render scaffold's own core whose constants disagree with [tool.scaffold] (``stale``).

    Only files that are exactly what the template renders for the core's current values
    are replaced; a file the user edited that the new values would change is a refusal
    naming the fix (nothing is written)."""
    start = module_file(root, core)
    assert start is not None
    folder = start.parent
    package = folder.relative_to(root).as_posix()
    configured = _answers(cfg)
    old_answers = {**configured, **{k: v.value for k, v in found.items()}}
    old = _render_core_files(package, old_answers)
    new = _render_core_files(package, configured)
    answers_rel = f"{package}/.copier-answers.yml"
    first = stale[0]
    for rel, data in new.items():
        if rel == answers_rel or old.get(rel) == data:
            continue
        path = root / rel
        disk = path.read_bytes() if path.is_file() else None
        if disk is not None and disk != old.get(rel):
            raise ConfigError(
                f"{mismatch_message(root, core, first, configured[first.key])}, and {rel} was edited "
                "(it is not what this scaffold renders for the old values), so init will not "
                "re-render it: set "
                + ", ".join(
                    f"{v.constant} = {configured[v.key]!r} in {rel_path(root, v.file)}" for v in stale
                )
                + f" by hand (and check {rel}), or set "
                + ", ".join(f"{v.key} = {v.value!r}" for v in stale)
                + " back under [tool.scaffold]"
            )
    paths = []
    for rel, data in new.items():
        if old.get(rel) != data or not (root / rel).is_file():
            changes.add(root / rel, data)
            paths.append(root / rel)
    return paths


# -- pyproject.toml ----------------------------------------------------------------------

_HEADER = re.compile(r"^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*scaffold[ \t]*\][ \t]*(#[^\r\n]*)?\r?$", re.MULTILINE)
_ANY_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)
_TOOL_HEADER = re.compile(r"^[ \t]*\[[ \t]*tool[ \t]*\][ \t]*(#[^\r\n]*)?\r?$", re.MULTILINE)
# `scaffold = { ... }` under [tool] (an inline table is one line in TOML 1.0).
_INLINE = re.compile(r"^([ \t]*scaffold[ \t]*=[ \t]*\{)(.*)\}([ \t]*(?:#[^\r\n]*)?)\r?$", re.MULTILINE)


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _with_keys(text: str, values: dict[str, Any], nl: str) -> str:
    """``text`` with ``values`` added to its ``[tool.scaffold]`` table, wherever that is."""
    body = [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    match = _HEADER.search(text)
    if match:
        nxt = _ANY_HEADER.search(text, match.end())
        end = nxt.start() if nxt else len(text)
        section = text[match.end() : end].rstrip()
        tail = text[end:]
        return text[: match.end()] + section + nl + nl.join(body) + nl + (nl + tail if tail else "")
    tool = _TOOL_HEADER.search(text)
    if tool:
        nxt = _ANY_HEADER.search(text, tool.end())
        end = nxt.start() if nxt else len(text)
        inline = _INLINE.search(text, tool.end(), end)
        if inline:
            inner = inline[2].rstrip()
            sep = ", " if inner.strip() else " "
            added = inner + sep + ", ".join(body) + " "
            return text[: inline.start(2)] + added + text[inline.end(2) :]
    lead = text.rstrip()
    block = nl.join(["[tool.scaffold]", "# Written by `scaffold init`: review and edit.", *body]) + nl
    return (lead + nl + nl if lead else "") + block


def _pyproject_text(root: Path, values: dict[str, Any]) -> tuple[bytes, bytes | None]:
    """New and old bytes of ``pyproject.toml`` with ``values`` added to ``[tool.scaffold]``."""
    path = root / "pyproject.toml"
    old = path.read_bytes() if path.exists() else None
    text = old.decode("utf-8") if old is not None else ""
    nl = "\r\n" if "\r\n" in text else "\n"
    new_text = _with_keys(text, values, nl)
    by_hand = "; ".join(f"{key} = {_toml_value(value)}" for key, value in values.items())
    # Refuse anything that does not parse back to exactly the old table plus the new keys.
    try:
        before = tomllib.loads(text).get("tool", {}).get("scaffold", {}) if text else {}
        after = tomllib.loads(new_text).get("tool", {}).get("scaffold", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: cannot add keys to [tool.scaffold] safely ({exc}); add them to it by hand: {by_hand}"
        ) from exc
    if after != {**before, **values}:
        raise ConfigError(
            f"{path}: cannot add keys to [tool.scaffold] safely; add them to it by hand: {by_hand}"
        )
    return new_text.encode("utf-8"), old


# -- the plan ----------------------------------------------------------------------------


def plan_init(
    project: str | os.PathLike[str] | None = None,
    *,
    package: str | None = None,
    allow_non_postgres: bool = False,
    tenant_model: str | None = None,
    user_model: bool = False,
    models_app: str | None = None,
) -> InitResult:
    """Work out every edit ``scaffold init`` makes; touches nothing.

    A default database known (statically) not to be PostgreSQL is refused unless
    ``allow_non_postgres``; a user model without ``user_tenant_attr`` is a warning: init
    is setup, and the custom user model may well be the next thing the team writes."""
    root = find_project(project)
    cfg = Config.load(root)
    changes = ChangeSet()
    result = InitResult(root, changes)
    settings_module = cfg.require("settings")
    warning = require_postgres(root, settings_module, allow=allow_non_postgres)
    if warning:
        result.warnings.append(warning)
    if user_model and tenant_model is None:
        tenant_model = "Tenant"
    if models_app is not None and tenant_model is None:
        raise UsageError("--models-app APP only says where --tenant-model NAME goes; pass --tenant-model too")
    if tenant_model is not None:
        from scaffold.tenant_models import check_model_name

        check_model_name(tenant_model)  # bad input first, before anything is planned

    # 1. The tenancy core: record the existing one, or render ours.
    if package is not None:  # checked even when an existing core makes it unused
        _check_package(package, root, "pass --package NAME")
    render_package: str | None = None
    if "tenancy_module" in cfg.explicit:
        core = cfg.explicit["tenancy_module"]
        if module_file(root, core) is None:
            render_package = core
    else:
        det = cfg.detect("tenancy_module")
        if det.value:
            core = _core_module(root, det.value)
            result.notes.append(f"found an existing tenancy core in {core}: recorded, no second core written")
        elif det.candidates:
            cfg.require("tenancy_module")  # raises, naming the candidates
            raise AssertionError("unreachable")
        else:
            cfg.refuse_unreadable("tenancy_module", '"tenancy"')  # never a second core beside one
            core = render_package = package or "tenancy"
    if render_package is not None:
        _check_package(
            render_package,
            root,
            "fix tenancy_module" if "tenancy_module" in cfg.explicit else "pass --package NAME",
        )
        if (root / render_package).exists():
            raise ConfigError(
                f"{root / render_package} exists but is not a tenancy core (it defines no "
                "set_tenant_context); pass --package NAME to render the core elsewhere"
            )
        created = _render_core(root, render_package, cfg, changes)
        for path in created:
            result.reasons[path] = "the tenancy core (context, manager, view mixin, system checks)"
        edited = add_installed_app(root, settings_module, render_package, changes)
        for path in edited:
            result.reasons.setdefault(
                path,
                f"add {render_package!r} to INSTALLED_APPS so its system checks "
                "(superuser/BYPASSRLS role, session-level settings, context outside a transaction) run",
            )
        result.rendered_core = True
        core = render_package
    result.tenancy_module = core
    if tenant_model is not None:
        _plan_tenant_models(
            root, cfg, settings_module, core, render_package, tenant_model, user_model, models_app, result
        )
    problem = user_model_problem(root, settings_module, cfg.user_tenant_attr)
    current_user_model, known = auth_user_model(root, settings_module)
    result.user_model_offer = bool(problem) and known and current_user_model is None
    if problem and not user_model:
        result.warnings.append(problem)
        if result.user_model_offer:
            result.warnings.append(
                "give the project its tenant now: scaffold init --tenant-model Tenant --user-model "
                "(renders a Tenant model and a custom user with a tenant, sets AUTH_USER_MODEL; "
                "only before the first migrate)"
            )
    found = {} if render_package is not None else core_values(root, core)
    _check_core_values(root, core, cfg, found, changes, result)
    result.notes.append(
        "isolation needs no other settings change: generated views and TenantScopedViewMixin "
        "open their own transaction per request, so CONN_MAX_AGE and connection pools are safe"
    )

    # 2. [tool.scaffold]: only what the user has not set.
    values: dict[str, Any] = {}
    for key in WRITTEN_KEYS:
        if key in cfg.explicit:
            continue
        if key == "tenancy_module":
            values[key] = core
        elif key in found:
            values[key] = found[key].value  # what the existing core was written with
        elif key in DEFAULTS:
            values[key] = DEFAULTS[key]
        else:
            det = cfg.detect(key)
            if det.value is not None:
                values[key] = det.value
            elif det.candidates:
                result.notes.append(
                    f"`{key}` is ambiguous ({', '.join(det.candidates)}); set it in [tool.scaffold]"
                )
    if values:
        new, _old = _pyproject_text(root, values)
        changes.add(root / "pyproject.toml", new)
        result.reasons[root / "pyproject.toml"] = (
            "record the detected [tool.scaffold] configuration for review"
        )
    result.warnings += cfg.unreadable_lines()
    return result


def _plan_tenant_models(
    root: Path,
    cfg: Config,
    settings_module: str,
    core: str,
    render_package: str | None,
    tenant_model: str,
    user_model: bool,
    models_app: str | None,
    result: InitResult,
) -> None:
    """``--tenant-model`` / ``--user-model``: see :mod:`scaffold.tenant_models`. The models go
    into ``models_app``, else into the tenancy core when it is scaffold's own package."""
    from scaffold.tenant_models import plan_tenant_models

    app = models_app or render_package
    if app is None:
        start = module_file(root, core)
        ours = start is not None and start.name == "__init__.py" and start.parent.parent == root
        if not ours:
            raise UsageError(
                f"the tenancy core {core} is not a top-level package scaffold rendered; pass "
                "--models-app NAME for the app that should hold the tenant model"
            )
        app = core
    planned = plan_tenant_models(
        root,
        cfg,
        settings_module,
        result.changes,
        tenant_model=tenant_model,
        user_model=user_model,
        app=app,
        app_is_core=app == render_package or app == core,
    )
    for path, why in planned.reasons.items():
        earlier = result.reasons.get(path)
        result.reasons[path] = f"{earlier}; {why}" if earlier and why not in earlier else why
    result.notes.extend(planned.notes)
    result.models_app = planned.app_label


def _check_core_values(
    root: Path,
    core: str,
    cfg: Config,
    found: dict[str, CoreValue],
    changes: ChangeSet,
    result: InitResult,
) -> None:
    """An existing core written for other tenant_field / tenant_setting / user_tenant_attr
    values than [tool.scaffold] sets: scaffold's own core is re-rendered (unless edited);
    any other core is a refusal naming the key, both values and the fix. Keys the user has
    not set are recorded with the core's values instead (see plan_init)."""
    stale = [v for key, v in found.items() if key in cfg.explicit and cfg.explicit[key] != v.value]
    if not stale:
        return
    start = module_file(root, core)
    top_level = start is not None and start.parent.parent == root and (start.parent / "__init__.py").is_file()
    ours = top_level and all(v.constant is not None for v in stale) and len(found) == len(CORE_CONSTANTS)
    if not ours:
        value = stale[0]
        raise ConfigError(
            f"{mismatch_message(root, core, value, cfg.explicit[value.key])}: set {value.key} = "
            f"{value.value!r} under [tool.scaffold], or change the core to use {cfg.explicit[value.key]!r}"
        )
    paths = _rerender_core(root, core, cfg, stale, found, changes)
    why = ", ".join(f"{v.key} {v.value!r} -> {cfg.explicit[v.key]!r}" for v in stale)
    for path in paths:
        result.reasons[path] = f"re-render the tenancy core for the changed [tool.scaffold] values ({why})"
    result.notes.append(
        f"re-rendered the tenancy core {core} for {why}; existing tables and RLS policies keep the "
        "old values: migrate them (or their policies) before deploying"
    )


def _check_package(name: str, root: Path, how: str) -> None:
    """A name the tenancy core can be rendered into: a fresh lower-case top-level package."""
    if not IDENT.match(name) or name != name.lower():
        raise ConfigError(
            f"cannot render the tenancy core into {name!r}: expected a lower-case "
            f"top-level package name like 'tenancy'; {how}"
        )
    from scaffold.newmodule import check_module_name

    try:
        check_module_name(name, root, (), ours=False)
    except UsageError as exc:
        raise UsageError(f"cannot render the tenancy core into {name!r}: {exc} ({how})") from exc


def tenant_offer(project: str | os.PathLike[str] | None = None) -> str | None:
    """The question an interactive ``init`` asks when the project has no tenant-carrying
    user (``AUTH_USER_MODEL`` unset, so ``auth.User``), else None."""
    root = find_project(project)
    cfg = Config.load(root)
    settings_module = cfg.require("settings")
    current, known = auth_user_model(root, settings_module)
    if not known or current is not None:
        return None
    if user_model_problem(root, settings_module, cfg.user_tenant_attr) is None:
        return None
    return (
        "request.user is django.contrib.auth's User, which has no tenant. Render a Tenant model "
        "and a custom user model with a tenant (AUTH_USER_MODEL; only before the first migrate)?"
    )


def init_project(
    project: str | os.PathLike[str] | None = None,
    *,
    dry_run: bool = False,
    package: str | None = None,
    confirm: Callable[[InitResult], bool] | None = None,
    allow_non_postgres: bool = False,
    tenant_model: str | None = None,
    user_model: bool = False,
    models_app: str | None = None,
) -> InitResult:
    """Plan and apply ``scaffold init``. ``confirm`` (interactive use) sees the plan first
    and may decline; ``dry_run`` writes nothing."""
    result = plan_init(
        project,
        package=package,
        allow_non_postgres=allow_non_postgres,
        tenant_model=tenant_model,
        user_model=user_model,
        models_app=models_app,
    )
    result.dry_run = dry_run
    if dry_run or not result.changes:
        return result
    if confirm is not None and not confirm(result):
        result.dry_run = True
        result.notes.append("declined: nothing was written")
        return result
    result.apply()
    return result
