"""``scaffold fix``: apply the companion codemods of the audit rules.

Each fixable rule runs as an engine unit: its ``analyze`` is the rule itself (stdlib
``ast``), turned into edit targets; its ``fix`` re-runs the rule on the current text (so
positions are fresh after other units edited the file, and a second run finds nothing) and
hands the targets to the rule's codemod in ``codemods/`` (libcst). TEN001-TEN004 are the
``migrate-viewsets`` unit. TEN020 is reported in the root urlconf but fixed in the
middleware module, so its edit is added to the same all-or-nothing ChangeSet afterwards.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaffold import engine
from scaffold.audit import RuleUnit, code_silenced, file_ignores, opted_out, rule_settings, rule_version
from scaffold.engine import Analysis, ManualReview, Message, counted
from scaffold.errors import UsageError
from scaffold.fsutil import ChangeSet
from scaffold.project import rel_path, unreadable
from scaffold.rules import Finding, get_rule, select_rules
from scaffold.rules._context import FileContext, Settings, call_name, sql_argument, sql_text

if TYPE_CHECKING:  # libcst is imported only when a fix is applied
    from libcst.codemod import VisitorBasedCodemodCommand

VIEWSET_CODES = ("TEN001", "TEN002", "TEN003", "TEN004")
UNIT_CODES = ("TEN004", "TEN010", "TEN030", "TEN040", "TEN050", "TEN051")


@dataclass
class Plan:
    targets: dict[tuple[int, int], Any] = field(default_factory=dict)
    manual: list[tuple[int, int, str]] = field(default_factory=list)
    # Findings fixed in another file (the settings module), after the engine run.
    deferred: list[Finding] = field(default_factory=list)
    symbols: dict[tuple[int, int], str] = field(default_factory=dict)  # finding position -> symbol


# -- planning: from findings to codemod targets ----------------------------------------------


def _node_at(tree: ast.AST, kind: type, line: int, col: int, ctx: FileContext) -> Any:
    for node in ast.walk(tree):
        if isinstance(node, kind) and getattr(node, "lineno", None) == line and ctx.column(node) == col:
            return node
    return None


def _simple(expr: ast.AST) -> bool:
    while isinstance(expr, ast.Attribute):
        expr = expr.value
    return isinstance(expr, ast.Name)


def _core(ctx: FileContext, plan: Plan, f: Finding) -> str | None:
    core = ctx.settings.tenancy_module
    if not core:
        plan.manual.append(
            (f.line, f.column - 1, "no tenancy core found (set tenancy_module or run `scaffold init`)")
        )
        return None
    if ctx.module == core:
        plan.manual.append((f.line, f.column - 1, "this is the tenancy core itself; fix it by hand"))
        return None
    bound = ctx.info.imports.names.get("set_tenant_context") or ctx.info.local.get("set_tenant_context")
    if bound is not None and bound != f"{core}.set_tenant_context":
        plan.manual.append(
            (f.line, f.column - 1, f"`set_tenant_context` is bound to {bound} here; fix it by hand")
        )
        return None
    return core


def plan_ten030(ctx: FileContext, findings: list[Finding], plan: Plan) -> None:
    for f in findings:
        plan.targets[(f.line, f.column - 1)] = True


def plan_ten040(ctx: FileContext, findings: list[Finding], plan: Plan) -> None:
    for f in findings:
        ret = _node_at(ctx.tree, ast.Return, f.line, f.column - 1, ctx)
        value = ret.value if ret is not None else None
        if not (isinstance(value, ast.Tuple) and value.elts and _simple(value.elts[0])):
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    f"{f.symbol}.authenticate() does not return a literal (user, auth) tuple; set the tenant context by hand",
                )
            )
            continue
        if _core(ctx, plan, f) is None:
            continue
        plan.targets[(f.line, f.column - 1)] = {"user": ast.unparse(value.elts[0])}


def plan_ten05x(ctx: FileContext, findings: list[Finding], plan: Plan) -> None:
    import re

    from scaffold.rules.session_level_tenant_context import SET_CONFIG, is_tenant_setting

    set_stmt = re.compile(
        r"\bSET\s+(?:SESSION\s+|LOCAL\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\s*(=|\bTO\b)",
        re.I,
    )

    parents = {id(n.value): n for n in ast.walk(ctx.tree) if isinstance(n, ast.Expr)}
    scopes = [n for n in ast.walk(ctx.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    from scaffold.rules.session_level_tenant_context import LOST_MARKER

    for f in findings:
        if LOST_MARKER in f.message:
            plan.deferred.append(f)  # fixed in settings: ATOMIC_REQUESTS
            continue
        if not f.fixable:  # set in middleware: where to set it instead is a design decision
            plan.manual.append((f.line, f.column - 1, f"{f.message.split(':')[0]}; move it by hand"))
            continue
        call = _node_at(ctx.tree, ast.Call, f.line, f.column - 1, ctx)
        if call is None or call_name(call) not in ("execute", "executemany") or id(call) not in parents:
            plan.manual.append(
                (f.line, f.column - 1, "not a plain cursor.execute(...) statement; fix it by hand")
            )
            continue
        scope = next((s for s in scopes if s.lineno <= call.lineno <= (s.end_lineno or 0)), ctx.tree)
        sql = sql_argument(call)
        text = sql_text(sql, scope, ctx.tree) or ""
        sets = any(is_tenant_setting(ctx, m.group("name")) for m in set_stmt.finditer(text)) or any(
            is_tenant_setting(ctx, m.group("name")) for m in SET_CONFIG.finditer(text)
        )
        if not sets:
            plan.manual.append(
                (f.line, f.column - 1, "tenant id formatted into a query: bind it as a %s parameter by hand")
            )
            continue
        value: ast.AST | None = None
        if isinstance(sql, ast.JoinedStr):
            values = [v.value for v in sql.values if isinstance(v, ast.FormattedValue)]
            value = values[0] if len(values) == 1 else None
        elif (
            len(call.args) >= 2
            and isinstance(call.args[1], (ast.List, ast.Tuple))
            and len(call.args[1].elts) == 1
        ):
            value = call.args[1].elts[0]
        if value is None:
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    "cannot tell which value is the tenant id; use set_tenant_context() by hand",
                )
            )
            continue
        if _core(ctx, plan, f) is None:
            continue
        plan.targets[(f.line, f.column - 1)] = {"value": ast.unparse(value)}


def plan_ten010(ctx: FileContext, findings: list[Finding], plan: Plan) -> None:
    from scaffold.analysis.routes import lookup_kwarg
    from scaffold.rules import route_kwarg_mismatch as rkm
    from scaffold.rules._context import class_ref, mro, resolve_function

    by_pos = {(f.line, f.column - 1): f for f in findings}
    route_positions = {(r.call.lineno, ctx.column(r.call)) for r in rkm.routes(ctx)}
    for key, pending in by_pos.items():
        if key not in route_positions:  # a router registration: the fix is in the viewset
            plan.manual.append(
                (
                    pending.line,
                    pending.column - 1,
                    f"{pending.message.split(': requests')[0]}; rename the parameter by hand",
                )
            )
    for route in rkm.routes(ctx):
        key = (route.call.lineno, ctx.column(route.call))
        f = by_pos.get(key)
        if f is None:
            continue
        view = route.view
        params: set[str] = set()
        rejected = set()
        if (
            isinstance(view, ast.Call)
            and isinstance(view.func, ast.Attribute)
            and view.func.attr == "as_view"
        ):
            ref = class_ref(ctx.index, ctx.qualname(view.func.value))
            cls_mro = mro(ctx.index, ref) if ref is not None else []
            fns = []
            if view.args and isinstance(view.args[0], ast.Dict):
                names = [
                    v.value
                    for v in view.args[0].values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                ]
                found = [rkm._method(cls_mro, n) for n in names]
                fns = [x[1] for x in found if x is not None]
                if not fns:  # DRF's own detail actions: the lookup kwarg
                    params = {lookup_kwarg(cls_mro) or "pk"}
            else:
                fns = [x[1] for m in rkm.HTTP_METHODS if (x := rkm._method(cls_mro, m)) is not None]
                if not fns:
                    params = {lookup_kwarg(cls_mro) or "pk"}
        else:
            fn = (
                resolve_function(ctx.index, ctx.qualname(view))
                if isinstance(view, (ast.Name, ast.Attribute))
                else None
            )
            fns = [fn] if fn is not None else []
        for fn in fns:
            args = [a.arg for a in (*fn.args.args, *fn.args.kwonlyargs)]
            skip = 2 if args[:1] == ["self"] else 1
            params |= {a for a in args[skip:] if a not in route.kwargs}
        rejected = (
            {k for k in route.kwargs if not all(rkm.accepts(fn, k) for fn in fns)}
            if fns
            else {k for k in route.kwargs if k not in params}
        )
        if len(rejected) != 1 or len(params) != 1:
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    "cannot tell which route kwarg maps to which view parameter; rename by hand",
                )
            )
            continue
        old, new = rejected.pop(), params.pop()
        name = next(
            (
                k.value.value
                for k in route.call.keywords
                if k.arg == "name" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
            ),
            None,
        )
        user = _other_callers(ctx, name, old) if name else None
        if user:
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    f"{user} uses the route name {name!r} with kwarg {old!r}; rename both by hand",
                )
            )
            continue
        plan.targets[key] = {"old": old, "new": new}


def _other_callers(ctx: FileContext, route_name: str, old: str) -> str | None:
    """The first project file (other than this one) that mentions both the route name and the kwarg."""
    root = ctx.index.root
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "__pycache__", "venv")
        ]
        for name in filenames:
            if not name.endswith((".py", ".html", ".txt", ".jinja", ".js", ".ts")):
                continue
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel == ctx.rel:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if route_name.encode() in data and old.encode() in data:
                return rel
    return None


def plan_ten004(ctx: FileContext, findings: list[Finding], plan: Plan) -> None:
    """Guard a get_queryset of this file that scopes by tenant but never refuses."""
    allowed = (None, "rest_framework.exceptions.PermissionDenied", "django.core.exceptions.PermissionDenied")
    bound = ctx.info.imports.names.get("PermissionDenied") or ctx.info.local.get("PermissionDenied")
    for f in findings:
        fn = _node_at(ctx.tree, ast.FunctionDef, f.line, f.column - 1, ctx)
        if fn is None or fn.name != "get_queryset":
            continue  # inherited: reported on the class, fixed where get_queryset lives
        if any(isinstance(n, ast.Name) and n.id == "tenant_id" for n in ast.walk(fn)) or any(
            a.arg == "tenant_id" for a in fn.args.args
        ):
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    f"{f.symbol}.get_queryset already uses a local `tenant_id`; add the tenant guard by hand",
                )
            )
            continue
        if bound not in allowed:
            plan.manual.append(
                (
                    f.line,
                    f.column - 1,
                    f"`PermissionDenied` is bound to {bound} here; add the tenant guard by hand",
                )
            )
            continue
        plan.targets[(f.line, f.column - 1)] = True


PLANNERS = {
    "TEN004": plan_ten004,
    "TEN010": plan_ten010,
    "TEN030": plan_ten030,
    "TEN040": plan_ten040,
    "TEN050": plan_ten05x,
    "TEN051": plan_ten05x,
}


def _codemod(name: str) -> Callable[..., VisitorBasedCodemodCommand]:
    """The registered codemod class (each takes the context plus its own arguments)."""
    from scaffold.codemods import CODEMODS

    return CODEMODS[name]


def make_codemod(code: str, context: Any, targets: dict[tuple[int, int], Any], settings: Settings) -> Any:
    if code == "TEN004":
        return _codemod("tenant_guard_in_get_queryset")(context, targets, settings.user_tenant_attr)
    if code == "TEN010":
        return _codemod("route_kwarg_rename")(context, targets)
    if code == "TEN030":
        return _codemod("str_uuid_parameter")(context, targets)
    if code == "TEN040":
        return _codemod("set_context_after_authentication")(
            context, targets, settings.tenancy_module or "", settings.user_tenant_attr
        )
    return _codemod("transaction_local_tenant_context")(context, targets, settings.tenancy_module or "")


def plan_file(code: str, ctx: FileContext, per_file_ignores: dict[str, list[str]] | None = None) -> Plan:
    """Fix targets for the findings of rule ``code`` in ``ctx`` that are not silenced."""
    file_codes = file_ignores(ctx.rel, per_file_ignores or {})
    if code_silenced(code, file_codes or None):
        return Plan()
    rule = get_rule(code)
    findings = [f for f in rule.check(ctx) if not opted_out(code, ctx.line_text(f.line), file_codes)]
    plan = Plan()
    plan.symbols = {(f.line, f.column - 1): f.symbol for f in findings}
    if findings:
        PLANNERS[code](ctx, findings, plan)
    return plan


# -- the engine unit -------------------------------------------------------------------------


def _fix_version() -> str:
    """The fix units' cache key: the rules and the view analysis (``rule_version()``), this
    module's planners and the codemods' source. The cache keeps rewritten bytes, so they must
    never outlive a change to the code that produced them."""
    import hashlib

    from scaffold.migrate import codemods_fingerprint

    own = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
    return f"{rule_version()}-{codemods_fingerprint()}-{own}"


FIX_VERSION = _fix_version()


@dataclass(frozen=True)
class FixUnit:
    """One fixable rule as an engine unit: analysis = the rule, fix = its codemod."""

    code: str
    needles: tuple[bytes, ...]
    version: str = FIX_VERSION

    def analyze(self, ectx: Any) -> Analysis:
        ctx = FileContext.from_engine(ectx)
        try:
            return self._analyze(ectx, ctx)
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - report, never crash the run or half-fix
            return Analysis(
                [Message(1, 0, self.code, f"internal error, file left untouched: {exc!r}", kind="manual")]
            )

    def _analyze(self, ectx: Any, ctx: FileContext) -> Analysis:
        plan = plan_file(self.code, ctx, ectx.settings.get("per_file_ignores"))
        messages = [
            Message(line, col, self.code, reason, kind="manual", symbol=plan.symbols.get((line, col), ""))
            for line, col, reason in plan.manual
        ]
        messages += [
            Message(f.line, f.column - 1, f.code, f.message, symbol=f.symbol, fixable=True)
            for f in plan.deferred
        ]
        return Analysis(messages, fix_due=bool(plan.targets))

    def fix(self, ectx: Any, text: str) -> str:
        import libcst as cst
        from libcst.codemod import CodemodContext, SkipFile

        from scaffold.codemods._imports import tidy_added_imports
        from scaffold.migrate import transform_with_light_imports

        if text == ectx.text:
            ctx = FileContext.from_engine(ectx)
        else:  # an earlier unit edited the file: re-run the rule on the current text
            ctx = FileContext(
                ectx.rel, text, ast.parse(text), ectx.module, ectx.index, Settings.from_mapping(ectx.settings)
            )
            ctx.__dict__["info"] = ctx.index.add_tree(ectx.module, ectx.path, ctx.tree)
        plan = plan_file(self.code, ctx, ectx.settings.get("per_file_ignores"))
        if not plan.targets:
            return text
        try:
            original = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise ManualReview(
                f"libcst cannot parse this file: {exc.message}", exc.raw_line, exc.raw_column
            ) from exc
        context = CodemodContext(filename=str(ectx.path), full_module_name=ectx.module)
        command = make_codemod(self.code, context, plan.targets, ctx.settings)
        try:
            tree = transform_with_light_imports(
                command, original
            )  # libcst's import pass on the top-level statements
        except SkipFile as exc:
            raise ManualReview(f"{self.code}: {exc}; file left untouched") from exc
        missed = command.missed()
        if missed:
            line, col = missed[0]
            raise ManualReview(
                f"{self.code}: could not locate the code to rewrite; file left untouched", line, col
            )
        return tidy_added_imports(original, tree, ectx.index.is_local_package, before_code=text).code


# -- TEN020: edits to the middleware module ------------------------------------------------------


def onboarding_changes(
    cfg: Any, report: engine.RunReport, changes: ChangeSet, planned: list[str] | None = None
) -> list[str]:
    """Add the TEN020 EXEMPT_PATHS edits to ``changes``; return manual-review lines.
    With ``planned`` (``--check``, which trusts the analysis) only the file that would change
    is added there, and libcst is not run."""

    notes: list[str] = []
    missing: list[str] = []
    for res, msg in report.findings:
        if msg.code != "TEN020":
            continue
        if "in both" in msg.message:
            notes.append(f"{res.rel}:{msg.line}: manual review: {msg.code}: {msg.message}")
        else:
            missing.append(msg.symbol)
    if not missing:
        return notes
    target = cfg.get("middleware")
    module, _, class_name = (target or "").partition(":")
    path = cfg.file_for("middleware")
    if planned is not None:
        planned.append(path.relative_to(cfg.root).as_posix())
        return notes
    import libcst as cst
    from libcst.codemod import CodemodContext, SkipFile

    from scaffold.registration import pending_text

    # Through the change set: the engine may already rewrite this file, and the middleware
    # configuration may be the settings module that TEN050 edits too; the edits compose.
    text = pending_text(changes, path, path.relative_to(cfg.root).as_posix(), "fix it by hand")
    command = _codemod("exempt_onboarding_path")(
        CodemodContext(filename=str(path), full_module_name=module), missing, class_name
    )
    try:
        new = command.transform_module(cst.parse_module(text)).code
    except (SkipFile, cst.ParserSyntaxError) as exc:
        notes.append(
            f"{path.relative_to(cfg.root).as_posix()}: manual review: add {', '.join(missing)} to EXEMPT_PATHS ({exc})"
        )
        return notes
    if new != text:
        changes.add(path, new.encode("utf-8"))
    return notes


def middleware_unparsable(cfg: Any, report: engine.RunReport) -> dict[str, str]:
    """A line per candidate onboarding middleware that does not parse when none was found
    (by project-relative path): TEN020 could not be judged (EXEMPT_PATHS may be in them),
    which must not pass as clean. Files the engine already reported are not repeated."""
    if cfg.get("middleware") is not None:
        return {}
    seen = {res.rel for res in report.unanalyzed}
    lines = {}
    for rel, (line, why) in cfg.detect("middleware").unparsable.items():
        if rel in seen:
            continue
        where = f"{rel}:{line}" if line else rel
        lines[rel] = (
            f"{where}: unparsable: cannot parse: {why or 'invalid syntax'}; it mentions EXEMPT_PATHS / PROTECTED_PATHS, so TEN020 was "
            "neither checked nor fixed: fix the file, or set middleware in [tool.scaffold]"
        )
    return lines


def atomic_requests_changes(
    cfg: Any, report: engine.RunReport, changes: ChangeSet, planned: list[str] | None = None
) -> list[str]:
    """Turn on ATOMIC_REQUESTS when a transaction-local tenant context has no transaction
    (with ``planned``, as in :func:`onboarding_changes`: only name the file)."""
    from scaffold.rules.session_level_tenant_context import LOST_MARKER

    if not any(m.code == "TEN050" and LOST_MARKER in m.message for _, m in report.findings):
        return []
    candidates = []
    for p in cfg.settings_files():
        try:
            if b"DATABASES" in p.read_bytes():
                candidates.append(p)
        except OSError as exc:  # chmod 000: a manual-review line, never a traceback
            return [
                f"{rel_path(cfg.root, p)}: manual review: TEN050: {unreadable(exc)}; "
                "set ATOMIC_REQUESTS = True by hand"
            ]
    if not candidates:
        rel = cfg.settings_files()[0].relative_to(cfg.root).as_posix()
        return [
            f"{rel}: manual review: TEN050: no DATABASES assignment here; set ATOMIC_REQUESTS = True by hand"
        ]
    path = candidates[0]
    if planned is not None:
        planned.append(path.relative_to(cfg.root).as_posix())
        return []
    import libcst as cst
    from libcst.codemod import CodemodContext, SkipFile

    from scaffold.registration import pending_text

    text = pending_text(changes, path, path.relative_to(cfg.root).as_posix(), "set ATOMIC_REQUESTS by hand")
    command = _codemod("atomic_requests")(CodemodContext(filename=str(path)))
    try:
        new = command.transform_module(cst.parse_module(text)).code
    except (SkipFile, cst.ParserSyntaxError) as exc:
        return [f"{path.relative_to(cfg.root).as_posix()}: manual review: TEN050: {exc}"]
    if new != text:
        changes.add(path, new.encode("utf-8"))
    return []


# -- the command ------------------------------------------------------------------------------


@dataclass
class FixResult:
    report: engine.RunReport
    changes: ChangeSet
    notes: list[str]
    check: bool
    applied: bool
    noted: set[tuple[str, str, str]] = field(default_factory=set)  # (path, code, symbol) in notes
    remaining: list[Finding] = field(default_factory=list)  # audit findings left after applying
    # Files a fix depends on that do not parse although the engine did not need to parse
    # them (the onboarding middleware TEN020 edits): path -> "path:line: reason" line.
    unparsable: dict[str, str] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)  # --check: settings/middleware files due

    @property
    def unanalyzed(self) -> bool:
        """Some file that could need a fix was not analyzed (TEN090): never a clean pass."""
        return bool(self.report.unanalyzed or self.unparsable)

    @property
    def due(self) -> list[str]:
        """Every file a fix would rewrite (relative paths): the changes, and under ``--check``
        (which trusts the analysis and leaves libcst alone) the files found due."""
        root = self.report.root
        paths = {c.path.relative_to(root).as_posix() for c in self.changes}
        paths |= {res.rel for res in self.report.rewritten}
        return sorted(paths | set(self.planned))

    @property
    def exit_code(self) -> int:
        """``--check``: 1 when fixes are due; ``--diff``: 0; applying: 1 when findings are
        left afterwards (like ``ruff check --fix``), 0 when the audit is clean. With
        ``--check`` or applying, a file that could need a fix but was not analyzed is 1 too."""
        if self.check:
            return 1 if self.due or self.unanalyzed else 0
        return 1 if self.remaining or self.unanalyzed else 0

    def diff_text(self) -> str:
        return self.changes.diff(self.report.root)

    def summary(self) -> str:
        lines = [f"{'fixed' if self.applied else 'would fix'} {rel}" for rel in self.due]
        for res, msg in self.report.manual:
            lines.append(f"{res.rel}:{msg.line}: manual review: {msg.code}: {msg.message}")
        lines.extend(self.notes)
        lines += engine.problem_lines(self.report)
        lines += self.unparsable.values()
        reported = self.noted | {(res.rel, msg.code, msg.symbol) for res, msg in self.report.manual}
        listed = {r.rel for r in self.report.unanalyzed} | set(self.unparsable)
        reported |= {
            (f.path, f.code, f.symbol) for f in self.remaining if f.code == "TEN090" and f.path in listed
        }
        for f in self.remaining:
            where = f"{f.path}:{f.line}" if f.line else f"{f.path}:{f.symbol}"
            if (f.path, f.code, f.symbol) not in reported:  # else already listed, with the reason
                lines.append(f"{where}: not fixed automatically: {f.code} {f.message}")
        manual = len(self.report.manual) + len(self.notes)
        verb = "fixed" if self.applied else "to fix"
        tail = f", {counted(len(self.remaining), 'finding')} left" if self.remaining else ""
        lines.append(
            f"{counted(self.report.scanned, 'file')} scanned, {engine.census_line(self.report)}, "
            f"{len(self.due)} {verb}, "
            f"{manual} need manual review, {engine.problem_counts(self.report, len(self.unparsable))}{tail}"
        )
        return "\n".join(lines)


def fix(
    project: str | os.PathLike[str] | None = None,
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    select: str | Iterable[str] | None = None,
    check: bool = False,
    diff: bool = False,
    jobs: int | None = None,
    cache: bool = True,
    progress: engine.ProgressFn | None = None,
) -> FixResult:
    """Fix what the audit finds (or, with ``check``/``diff``, only report). All or nothing.
    ``progress(done, total)`` is called as files are analysed."""
    from scaffold.api import load_project
    from scaffold.migrate import MigrateViewSets
    from scaffold.project import resolve_paths

    cfg = load_project(project)
    selected = select_rules(select, None, live=True)
    rules = [r for r in selected if r.fixable and r.scope != "database"]
    if not rules:
        fixable = ", ".join(r.code for r in select_rules(None, None) if r.fixable)
        raise UsageError(
            f"--select {select}: none of {', '.join(r.code for r in selected)} has an automatic fix "
            f"(`scaffold audit` reports them); select from {fixable}"
        )
    codes = {r.code for r in rules}
    units: list[Any] = []
    if codes & set(VIEWSET_CODES):
        units.append(MigrateViewSets())
    units += [FixUnit(r.code, r.needles) for r in rules if r.code in UNIT_CODES]
    if "TEN020" in codes:
        units.append(RuleUnit("TEN020", get_rule("TEN020").needles))
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be 1 or more")
    starts = resolve_paths(cfg.root, paths)
    files = cfg.source_files(starts)
    # --check trusts the analysis (the codemods re-run it), like migrate-viewsets --check:
    # libcst runs only where bytes are needed, for --diff and for writing
    report = engine.run(
        units,
        files,
        root=cfg.root,
        settings=rule_settings(cfg, codes, fixing=True),
        jobs=jobs,
        fix=not check or diff,
        need_bytes=not check or diff,
        cache=cache,
        progress=progress,
    )
    changes = engine.changeset(report)
    planned: list[str] | None = [] if check and not diff else None
    notes = onboarding_changes(cfg, report, changes, planned) if "TEN020" in codes else []
    unparsable = middleware_unparsable(cfg, report) if "TEN020" in codes else {}
    if "TEN050" in codes:
        notes += atomic_requests_changes(cfg, report, changes, planned)
    applied = False
    remaining: list[Finding] = []
    if not check and not diff:
        if changes:
            changes.apply()
            applied = True
        from scaffold.audit import audit

        remaining = audit(cfg.root, starts, select=sorted(codes), jobs=jobs, cache=cache).findings
    noted = {
        (res.rel, msg.code, msg.symbol)
        for res, msg in report.findings
        if msg.code == "TEN020" and "in both" in msg.message
    }
    return FixResult(report, changes, notes, check, applied, noted, remaining, unparsable, planned or [])
