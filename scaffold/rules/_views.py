"""Shared analysis of DRF views for the ViewSet rules (TEN001-TEN004).

For each DRF view class the analysis answers, across project base classes and mixins:
which model the view serves (and whether it is a tenant model), how every queryset its
``get_queryset`` returns is scoped on every code path, whether it refuses a user without a
tenant, and its effective ``permission_classes``.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from scaffold.index import ProjectIndex
from scaffold.rules._context import ClassRef, FileContext, Settings, class_ref, mro, resolve_function
from scaffold.viewsets import (
    COMBINING_METHODS,
    SCOPING_CALLS,
    ViewPlan,
    analyze_module,
    anded_conditions,
    condition_kind,
    is_user_expr,
    literal_kind,
    mentions_user_tenant,
    permission_kind,
    reads_client_input,
    returns_user_tenant,
    scoping_call_kind,
)
from scaffold.viewsets import Settings as ViewSettings

# ``try`` and, on Python 3.11+, ``try ... except*`` (same fields, so walked alike).
TRY_NODES: tuple[type[ast.Try], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))

DRF_VIEW_PREFIXES = (
    "rest_framework.viewsets.",
    "rest_framework.generics.",
    "rest_framework.mixins.",
    "rest_framework.views.APIView",
)
# Views whose default get_queryset() returns ``self.queryset``.
DRF_GENERIC_PREFIXES = (
    "rest_framework.generics.",
    "rest_framework.viewsets.GenericViewSet",
    "rest_framework.viewsets.ModelViewSet",
    "rest_framework.viewsets.ReadOnlyModelViewSet",
)
SAFE_EXTERNAL_PREFIXES = ("rest_framework.", "django.", "builtins.", "typing.", "abc.")
SAFE_EXTERNAL = {"object", "Generic", "ABC"}
DJANGO_MODEL = {"django.db.models.Model", "django.db.models.base.Model"}
ALLOW_ANY = {"rest_framework.permissions.AllowAny", "AllowAny"}
UNKNOWN_PERMISSION = "<unknown>"  # *BASE, a call: may be empty


def lets_anyone_in(names: list[str]) -> bool:
    """Empty, or AllowAny with nothing else known to check (``[*BASE, AllowAny]``)."""
    return not names or (
        all(n in ALLOW_ANY or n == UNKNOWN_PERMISSION for n in names) and any(n in ALLOW_ANY for n in names)
    )


# Request input: a tenant id taken from here is chosen by the client.
CLIENT_INPUT_ATTRS = {"query_params", "data", "GET", "POST", "headers", "META", "COOKIES", "FILES"}
SCOPING_METHODS = SCOPING_CALLS  # for_tenant(...): one list, shared with migrate-viewsets
# Markers in ``env_user`` (never valid identifiers): locals holding the user's tenant, or
# something the client sent.
TENANT_MARK = "\0tenant:"
CLIENT_MARK = "\0client:"


class Scope(enum.IntEnum):
    """How a returned queryset is scoped, from best to worst."""

    EMPTY = 0  # .none()
    TENANT = 1  # explicit filter on the tenant column
    OWNER = 2  # explicit filter on the requesting user
    UNKNOWN = 3  # dynamic; cannot tell (never reported)
    IMPLICIT = 4  # filter on an implicit (thread-local) tenant
    MANAGER_CLOSED = 5  # relies only on a fail-closed tenant manager
    MANAGER_OPEN = 6  # relies only on a tenant manager that returns every row
    CLIENT = 7  # filtered by a client-supplied tenant id
    UNSCOPED = 8  # every row
    UNVERIFIED = 9  # ``<dynamic model>.objects.all()``: every row of a model nobody can name


GOOD = {Scope.EMPTY, Scope.TENANT, Scope.OWNER, Scope.UNKNOWN}
# condition_kind() / scoping_call_kind() (shared with migrate-viewsets) -> Scope
KIND_SCOPE = {
    "tenant": Scope.TENANT,
    "owner": Scope.OWNER,
    "implicit": Scope.IMPLICIT,
    "client": Scope.CLIENT,
}


@dataclass
class Return:
    node: ast.AST  # the return statement or queryset assignment
    owner: ClassRef  # class whose code holds it
    scope: Scope
    model: ClassRef | None
    manager: str = ""


@dataclass
class ViewAnalysis:
    cls: ClassRef
    mro: list[ClassRef | str]
    model: ClassRef | None = None
    tenant_model: bool = False
    get_queryset: tuple[ClassRef, ast.FunctionDef | ast.AsyncFunctionDef] | None = None
    queryset_attr: tuple[ClassRef, ast.stmt] | None = None
    returns: list[Return] = field(default_factory=list)
    refuses: bool = False
    permissions: tuple[ClassRef | None, ast.AST | None, list[str]] | None = None  # owner, node, names
    unknown_bases: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.cls.name


def is_drf_view(mro: list[ClassRef | str]) -> bool:
    return any(isinstance(m, str) and m.startswith(DRF_VIEW_PREFIXES) for m in mro)


def _is_generic(mro: list[ClassRef | str]) -> bool:
    return any(isinstance(m, str) and m.startswith(DRF_GENERIC_PREFIXES) for m in mro)


class _Analyzer:
    def __init__(self, view: ClassRef, index: ProjectIndex, settings: Settings) -> None:
        self.view = view
        self.index = index
        self.settings = settings
        self.mro = mro(index, view)
        self.projects = [m for m in self.mro if isinstance(m, ClassRef)]
        self.models: list[ClassRef] = []
        self._stack: set[tuple[str, str]] = set()
        # the functions being evaluated, innermost last: a Q / **mapping held in a local of
        # the innermost one is read through (scaffold.viewsets.single_assignment)
        self._fns: list[ast.AST] = []

    # -- lookup along the MRO ---------------------------------------------------------
    def find_method(
        self, name: str, after: ClassRef | None = None
    ) -> tuple[ClassRef, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        classes = self.projects
        if after is not None:
            keys = [c.qualname for c in classes]
            if after.qualname in keys:
                classes = classes[keys.index(after.qualname) + 1 :]
        for cls in classes:
            fn = cls.method(name)
            if fn is not None:
                return cls, fn
        return None

    def find_attr(self, name: str) -> tuple[ClassRef, ast.stmt] | None:
        for cls in self.projects:
            stmt = cls.body_assign_stmt(name)
            if stmt is not None:
                return cls, stmt
        return None

    # -- models and managers -----------------------------------------------------------
    def model_info(self, owner: ClassRef, expr: ast.AST) -> ClassRef | None:
        info = class_ref(self.index, owner.qualify(expr))
        if info is None:
            return None
        if any(isinstance(m, str) and m in DJANGO_MODEL for m in mro(self.index, info)):
            return info
        return None

    def is_tenant_model(self, model: ClassRef) -> bool:
        names = {self.settings.tenant_field, self.settings.tenant_relation}
        for cls in mro(self.index, model):
            if isinstance(cls, ClassRef) and any(cls.body_assign(n) is not None for n in names):
                return True
        return False

    def manager_scope(self, model: ClassRef, attr: str) -> tuple[Scope, str]:
        """How ``Model.<attr>`` is scoped with no explicit filter."""
        if attr in ("_default_manager", "_base_manager"):
            attr = "objects"
        for cls in mro(self.index, model):
            if not isinstance(cls, ClassRef):
                continue
            value = cls.body_assign(attr)
            if value is None:
                continue
            if not isinstance(value, ast.Call):
                return Scope.UNSCOPED, ""
            func = value.func
            if isinstance(func, ast.Attribute) and func.attr in ("as_manager", "from_queryset"):
                func = func.value
            qual = cls.qualify(func) or ""
            short = qual.rsplit(".", 1)[-1]
            manager = class_ref(self.index, qual)
            tenant_aware = "tenant" in short.lower()
            closed = False
            if manager is not None:
                for mcls in mro(self.index, manager):
                    if not isinstance(mcls, ClassRef):
                        continue
                    gq = mcls.method("get_queryset")
                    if gq is None:
                        continue
                    text = ast.unparse(gq)
                    if "tenant" in text.lower() or "current_setting" in text:
                        tenant_aware = True
                    if ".filter(" in text or ".none()" in text:
                        closed = True
                    break
            if tenant_aware:
                return (Scope.MANAGER_CLOSED if closed else Scope.MANAGER_OPEN), short
            return Scope.UNSCOPED, short
        return Scope.UNSCOPED, ""

    # -- expressions -----------------------------------------------------------------
    def is_user_derived(self, expr: ast.AST, env_user: set[str]) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Attribute) and node.attr == "user":
                base = node.value
                if isinstance(base, ast.Name) and base.id == "request":
                    return True
                if isinstance(base, ast.Attribute) and base.attr == "request":
                    return True
            if isinstance(node, ast.Name) and node.id in env_user:
                return True
        return False

    def is_client_input(self, expr: ast.AST, env_user: set[str] | frozenset[str] = frozenset()) -> bool:
        clients = {n[len(CLIENT_MARK) :] for n in env_user if n.startswith(CLIENT_MARK)}
        return reads_client_input(expr, clients)

    def value_kind(self, owner: ClassRef | None, value: ast.AST, env_user: set[str]) -> str:
        """Where a filter value comes from, by the rule shared with migrate-viewsets
        (:func:`scaffold.viewsets.condition_kind`): user / owner / implicit / client / other."""
        if self.is_implicit(value):
            return "implicit"
        if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
            # (tid,): as its elements; a list in a local may grow later (tids.append(...))
            listed = literal_kind(value, lambda e: self.value_kind(owner, e, env_user))
            return listed if listed == "client" or (isinstance(value, ast.Tuple) and listed) else "other"
        if self.is_client_input(value, env_user):
            return "client"
        if isinstance(value, ast.Name):
            if TENANT_MARK + value.id in env_user:
                return "user"
            return "owner" if value.id in env_user and "\0user:" + value.id in env_user else "other"
        users = {n for n in env_user if n.isidentifier()}
        if mentions_user_tenant(value, self.settings.user_tenant_attr, users):
            return "user"
        if is_user_expr(value, {n[len("\0user:") :] for n in env_user if n.startswith("\0user:")}):
            return "owner"
        if isinstance(value, ast.Call) and self.helper_returns_tenant(owner, value.func):
            return "user"
        return "other"

    def helper_returns_tenant(self, owner: ClassRef | None, func: ast.AST) -> bool:
        """``self.get_tenant_id()`` / ``get_tenant_id()``: a project helper returning the user's tenant."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            found = self.find_method(func.attr)
            return found is not None and returns_user_tenant(found[1], self.settings.user_tenant_attr)
        if owner is not None and isinstance(func, (ast.Name, ast.Attribute)):
            target = resolve_function(self.index, owner.qualify(func))
            return target is not None and returns_user_tenant(target, self.settings.user_tenant_attr)
        return False

    def is_implicit(self, expr: ast.AST) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
                if "current_tenant" in name or name in ("get_tenant_context", "get_tenant"):
                    return True
        return False

    def tenant_segment(self, key: str) -> bool:
        parts = key.split("__")
        if parts[-1] in ("isnull",):
            return False
        names = {self.settings.tenant_field, self.settings.tenant_relation}
        return any(p in names for p in parts)

    def filter_scope(self, call: ast.Call, env_user: set[str], owner: ClassRef | None = None) -> Scope | None:
        """The scope a ``.filter()``/``.get()`` call adds, or None when it adds none
        (the rule shared with migrate-viewsets: ANDed equality on the user's tenant)."""
        kind = condition_kind(
            anded_conditions(call, fn=self._fns[-1] if self._fns else None),
            self.settings.tenant_field,
            lambda v: self.value_kind(owner if owner is not None else self.view, v, env_user),
        )
        return KIND_SCOPE.get(kind or "")

    def scoping_call_scope(self, call: ast.Call, env_user: set[str], owner: ClassRef) -> Scope | None:
        """The scope ``.for_tenant(...)`` (a project scoping method) adds: the user's tenant
        only when its argument is (the rule shared with migrate-viewsets)."""
        kind = scoping_call_kind(call, lambda v: self.value_kind(owner, v, env_user))
        return KIND_SCOPE.get(kind)

    def eval(
        self, expr: ast.AST | None, owner: ClassRef, env: dict[str, Scope], env_user: set[str]
    ) -> tuple[Scope, ClassRef | None, str]:
        """(scope, model, manager) of a queryset expression."""
        if expr is None:
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute):
                method = func.attr
                recv = func.value
                if method == "none":
                    _, model, mgr = self.eval(recv, owner, env, env_user)
                    return Scope.EMPTY, model, mgr
                if method in SCOPING_METHODS:
                    added = self.scoping_call_scope(expr, env_user, owner)
                    inner, model, mgr = self.eval(recv, owner, env, env_user)
                    if added is not None and added < inner:
                        return added, model, mgr
                    return inner, model, mgr
                if method in COMBINING_METHODS:
                    parts = [self.eval(recv, owner, env, env_user)] + [
                        self.eval(a, owner, env, env_user) for a in expr.args
                    ]
                    if method == "intersection":
                        return min(parts, key=lambda r: r[0])
                    if method == "difference":
                        return parts[0]
                    return max(parts, key=lambda r: r[0])
                if method in ("filter", "get", "get_object_or_404"):
                    added = self.filter_scope(expr, env_user, owner)
                    inner, model, mgr = self.eval(recv, owner, env, env_user)
                    if added is not None and added < inner:
                        return added, model, mgr
                    return inner, model, mgr
                if method == "get_queryset":
                    if _is_super(recv):
                        return self.eval_get_queryset(after=owner)
                    if isinstance(recv, ast.Name) and recv.id == "self":
                        return self.eval_get_queryset(after=None)
                    return self.eval(recv, owner, env, env_user)
                if isinstance(recv, ast.Name) and recv.id == "self" or _is_super(recv):
                    found = self.find_method(method, after=owner if _is_super(recv) else None)
                    if found is not None:
                        return self.eval_function(*found)
                    return Scope.UNKNOWN, None, ""
                return self.eval(recv, owner, env, env_user)
            if isinstance(func, ast.Name) and func.id in ("list", "sorted", "tuple", "set") and expr.args:
                return self.eval(expr.args[0], owner, env, env_user)
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and expr.generators:
            # [c for c in Customer.objects.all()]: the rows of the iterated queryset
            return self.eval(expr.generators[0].iter, owner, env, env_user)
        if isinstance(expr, ast.Subscript):  # Customer.objects.all()[0:10]
            return self.eval(expr.value, owner, env, env_user)
        if isinstance(expr, ast.BoolOp):  # qs or Customer.objects.all(): either one
            results = [self.eval(v, owner, env, env_user) for v in expr.values]
            return max(results, key=lambda r: r[0])
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id == "self" and expr.attr == "queryset":
                return self.eval_queryset_attr()
            model = self.model_info(owner, expr.value)
            if model is None and isinstance(expr.value, ast.Call):
                model = self.returned_model(owner, expr.value)
            if model is not None:
                self.models.append(model)
                scope, mgr = self.manager_scope(model, expr.attr)
                return scope, model, mgr
            if expr.attr in ("objects", "_default_manager", "_base_manager") and isinstance(
                expr.value, (ast.Call, ast.Subscript)
            ):
                return Scope.UNVERIFIED, None, ""  # self.get_model().objects: a model nobody can name
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.Name):
            if expr.id in env:
                return env[expr.id], self._last_model, ""
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.IfExp):
            a = self.eval(expr.body, owner, env, env_user)
            b = self.eval(expr.orelse, owner, env, env_user)
            return max(a, b, key=lambda r: r[0])
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitAnd):
            a = self.eval(expr.left, owner, env, env_user)
            b = self.eval(expr.right, owner, env, env_user)
            return min(a, b, key=lambda r: r[0])
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            a = self.eval(expr.left, owner, env, env_user)
            b = self.eval(expr.right, owner, env, env_user)
            return max(a, b, key=lambda r: r[0])
        return Scope.UNKNOWN, None, ""

    _last_model: ClassRef | None = None

    def returned_model(self, owner: ClassRef, call: ast.Call) -> ClassRef | None:
        """``self.get_model()`` returning one project model (``return Customer``)."""
        func = call.func
        if not (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"
        ):
            return None
        found = self.find_method(func.attr)
        if found is None:
            return None
        cls, fn = found
        values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return)]
        models = {id(m): m for m in (self.model_info(cls, v) if v is not None else None for v in values)}
        if len(values) == 1 and None not in models:
            return next(iter(models.values()))
        return None

    def eval_queryset_attr(self) -> tuple[Scope, ClassRef | None, str]:
        found = self.find_attr("queryset")
        if found is None:
            return Scope.UNKNOWN, None, ""
        owner, stmt = found
        return self.eval(getattr(stmt, "value", None), owner, {}, set())

    def eval_get_queryset(self, after: ClassRef | None) -> tuple[Scope, ClassRef | None, str]:
        found = self.find_method("get_queryset", after=after)
        if found is None:
            if _is_generic(self.mro):
                return self.eval_queryset_attr()
            return Scope.UNKNOWN, None, ""
        return self.eval_function(*found)

    def eval_function(
        self, owner: ClassRef, fn: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> tuple[Scope, ClassRef | None, str]:
        returns = self.flow_returns(owner, fn)
        if not returns:
            return Scope.UNKNOWN, None, ""
        worst = max(returns, key=lambda r: r.scope)
        return worst.scope, worst.model, worst.manager

    # -- statements ----------------------------------------------------------------------
    def flow_returns(self, owner: ClassRef, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Return]:
        key = (owner.qualname, fn.name)
        if key in self._stack:
            return []
        self._stack.add(key)
        self._fns.append(fn)
        try:
            out: list[Return] = []
            self._run(fn.body, owner, {}, set(), out)
            return out
        finally:
            self._fns.pop()
            self._stack.discard(key)

    def _assign(
        self, target: ast.AST, value: ast.AST, owner: ClassRef, env: dict[str, Scope], env_user: set[str]
    ) -> None:
        if isinstance(target, ast.Name):
            scope, model, _ = self.eval(value, owner, env, env_user)
            env[target.id] = scope
            if model is not None:
                self._last_model = model
            name = target.id
            tenant = self.value_kind(owner, value, env_user) == "user"
            client = self.is_client_input(value, env_user)
            user_obj = (
                isinstance(value, ast.Attribute)
                and (
                    (isinstance(value.value, ast.Name) and value.value.id == "request")
                    or (isinstance(value.value, ast.Attribute) and value.value.attr == "request")
                )
                and value.attr == "user"
            )
            if self.is_user_derived(value, env_user):
                env_user.add(name)
            else:
                env_user.discard(name)
            for mark, on in ((TENANT_MARK, tenant), (CLIENT_MARK, client), ("\0user:", user_obj)):
                if on:
                    env_user.add(mark + name)
                else:
                    env_user.discard(mark + name)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for el in target.elts:
                if isinstance(el, ast.Name):
                    env[el.id] = Scope.UNKNOWN

    def _run(
        self,
        stmts: list[ast.stmt],
        owner: ClassRef,
        env: dict[str, Scope],
        env_user: set[str],
        out: list[Return],
    ) -> dict[str, Scope] | None:
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self._assign(target, stmt.value, owner, env, env_user)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self._assign(stmt.target, stmt.value, owner, env, env_user)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                scope, _, _ = self.eval(stmt.value, owner, env, env_user)
                cur = env.get(name, Scope.UNKNOWN)
                env[name] = min(cur, scope) if isinstance(stmt.op, ast.BitAnd) else max(cur, scope)
            elif isinstance(stmt, ast.Return):
                if stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
                    return None
                scope, model, mgr = self.eval(stmt.value, owner, env, env_user)
                if model is None and isinstance(stmt.value, ast.Name):
                    model = self._last_model
                out.append(Return(stmt, owner, scope, model, mgr))
                return None
            elif isinstance(stmt, ast.Raise):
                return None
            elif isinstance(stmt, ast.If):
                a = self._run(stmt.body, owner, dict(env), set(env_user), out)
                b = self._run(stmt.orelse, owner, dict(env), set(env_user), out)
                merged = _merge(a, b)
                if merged is None:
                    return None
                env = merged
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                a = self._run(stmt.body, owner, dict(env), set(env_user), out)
                env = _merge(env, a) or env
                b = self._run(stmt.orelse, owner, dict(env), set(env_user), out)
                if b is not None:
                    env = b
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                r = self._run(stmt.body, owner, env, env_user, out)
                if r is None:
                    return None
                env = r
            elif isinstance(stmt, TRY_NODES):
                before = dict(env)
                a = self._run(stmt.body, owner, dict(env), set(env_user), out)
                if a is not None and stmt.orelse:
                    a = self._run(stmt.orelse, owner, a, set(env_user), out)
                merged = a
                for handler in stmt.handlers:
                    merged = _merge(merged, self._run(handler.body, owner, dict(before), set(env_user), out))
                if stmt.finalbody:
                    self._run(stmt.finalbody, owner, dict(merged or before), set(env_user), out)
                if merged is None:
                    return None
                env = merged
            elif type(stmt).__name__ == "Match":
                merged = None
                for case in stmt.cases:  # type: ignore[attr-defined]
                    merged = _merge(merged, self._run(case.body, owner, dict(env), set(env_user), out))
                env = _merge(merged, env) or env
        return env

    # -- refusal ---------------------------------------------------------------------
    def refuses(self, owner: ClassRef, fn: ast.FunctionDef | ast.AsyncFunctionDef, depth: int = 0) -> bool:
        if depth > 4:
            return False
        for node in ast.walk(fn):
            if isinstance(node, ast.Raise):
                return True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "none"
            ):
                return True
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and (
                    (isinstance(func.value, ast.Name) and func.value.id == "self") or _is_super(func.value)
                ):
                    found = self.find_method(func.attr, after=owner if _is_super(func.value) else None)
                    if found is not None and self.refuses(found[0], found[1], depth + 1):
                        return True
                elif isinstance(func, (ast.Name, ast.Attribute)):
                    target = resolve_function(self.index, owner.qualify(func))
                    if target is not None and any(isinstance(n, ast.Raise) for n in ast.walk(target)):
                        return True
        return False

    # -- permissions -------------------------------------------------------------------
    def permissions(self) -> tuple[ClassRef | None, ast.AST | None, list[str]] | None:
        """(owner, node, qualified permission names); None when they cannot be known."""
        for cls in self.projects:
            if cls.method("get_permissions") is not None:
                return None
            stmt = cls.body_assign_stmt("permission_classes")
            if stmt is None:
                continue
            value = getattr(stmt, "value", None)
            if isinstance(value, (ast.List, ast.Tuple)):
                # The list ANDs its elements; the rule shared with migrate-viewsets says which
                # let anyone in (AllowAny, AllowAny | X) and which are unknown (*BASE).
                names = []
                for el in value.elts:
                    if isinstance(el, (ast.Name, ast.Attribute)):
                        names.append(cls.qualify(el) or "?")
                        continue
                    kind = permission_kind(el, cls.qualify)
                    names.append(
                        "rest_framework.permissions.AllowAny"
                        if kind == "any"
                        else UNKNOWN_PERMISSION
                        if kind == "unknown"
                        else "<expr>"  # IsAuthenticated | IsAdminUser, ...
                    )
                return cls, stmt, names
            return None
        defaults = self.settings.default_permissions
        if defaults is None:
            return None
        return None, None, list(defaults)


def _is_super(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "super"


def _merge(a: dict[str, Scope] | None, b: dict[str, Scope] | None) -> dict[str, Scope] | None:
    if a is None:
        return b
    if b is None:
        return a
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, v), v)
    return out


def analyze(ctx: FileContext, node: ast.ClassDef) -> ViewAnalysis | None:
    """The analysis of class ``node`` in ``ctx``, or None when it is not a DRF data view.

    Cached per file, so the four ViewSet rules share one analysis.
    """
    cache: dict[int, ViewAnalysis | None] = ctx.__dict__.setdefault("_view_cache", {})
    if id(node) in cache:
        return cache[id(node)]
    result = _analyze(ctx, node)
    cache[id(node)] = result
    return result


def _analyze(ctx: FileContext, node: ast.ClassDef) -> ViewAnalysis | None:
    view = ctx.class_ref(node)
    an = _Analyzer(view, ctx.index, ctx.settings)
    if not is_drf_view(an.mro):
        return None
    result = ViewAnalysis(view, an.mro)
    result.unknown_bases = [
        m
        for m in an.mro[1:]
        if isinstance(m, str) and not m.startswith(SAFE_EXTERNAL_PREFIXES) and m not in SAFE_EXTERNAL
    ]
    result.get_queryset = an.find_method("get_queryset")
    result.queryset_attr = an.find_attr("queryset")
    if result.get_queryset is not None:
        result.returns = an.flow_returns(*result.get_queryset)
        result.refuses = an.refuses(*result.get_queryset)
    elif result.queryset_attr is not None and _is_generic(an.mro):
        owner, stmt = result.queryset_attr
        scope, model, mgr = an.eval(getattr(stmt, "value", None), owner, {}, set())
        result.returns = [Return(stmt, owner, scope, model, mgr)]
    else:
        return None
    scoping = an.find_method("filter_queryset")
    if scoping is not None and an.eval_function(*scoping)[0] in (Scope.TENANT, Scope.OWNER, Scope.EMPTY):
        # A mixin whose filter_queryset() adds the tenant filter: DRF's list and get_object
        # pass every queryset through it.
        for ret in result.returns:
            if ret.scope not in GOOD and ret.scope is not Scope.UNVERIFIED:
                ret.scope = Scope.TENANT
    models = [r.model for r in result.returns if r.model is not None] + an.models
    if not models and result.queryset_attr is not None:
        owner, stmt = result.queryset_attr
        _, model, _ = an.eval(getattr(stmt, "value", None), owner, {}, set())
        if model is not None:
            models.append(model)
    if not models:
        if any(r.scope is Scope.UNVERIFIED for r in result.returns):
            result.tenant_model = True  # cannot be shown not to be tenant data
            result.permissions = an.permissions()
            return result
        return None
    result.model = models[0]
    result.tenant_model = any(an.is_tenant_model(m) for m in models)
    result.permissions = an.permissions()
    if not result.refuses:
        # A custom permission that checks the tenant refuses before get_queryset runs.
        perms = result.permissions[2] if result.permissions else []
        result.refuses = any("tenant" in p.rsplit(".", 1)[-1].lower() for p in perms)
    return result


def view_classes(ctx: FileContext) -> list[ViewAnalysis]:
    """Analyses of every tenant-data DRF view defined in ``ctx`` with only known bases."""
    cached = ctx.__dict__.get("_view_classes")
    if cached is not None:
        return cached
    out = []
    for node in ctx.classes():
        an = analyze(ctx, node)
        if an is not None and an.tenant_model and not an.unknown_bases:
            out.append(an)
    ctx.__dict__["_view_classes"] = out
    return out


def location(an: ViewAnalysis, node: ast.AST, owner: ClassRef) -> tuple[ast.AST, str]:
    """Where to report: the node itself when the view's own code holds it, otherwise the
    view's class line (the problem is inherited), with a note naming the base."""
    if owner.qualname == an.cls.qualname:
        return node, ""
    return an.cls.node, f" (inherited from {owner.name})"


# -- queries inside handlers --------------------------------------------------------------

HANDLERS = frozenset(
    [
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "list",
        "retrieve",
        "create",
        "update",
        "partial_update",
        "destroy",
        # DRF hooks whose queries serve the response: an overridden get_object() answers
        # retrieve / update / destroy (Note.objects.get(pk=...) there bypasses get_queryset)
        "get_object",
        "get_serializer_context",
    ]
)
WRITE_METHODS = frozenset(["create", "get_or_create", "update_or_create", "bulk_create"])
ADMIN_PERMISSIONS = ("IsAdminUser", "DjangoModelPermissions", "DjangoObjectPermissions")


@dataclass
class HandlerQuery:
    node: ast.expr
    view: str
    method: str
    model: ClassRef
    scope: Scope


def _is_handler(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if fn.name in HANDLERS:
        return True
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "action":
            return True
    return False


def _handler_views(
    ctx: FileContext,
) -> Iterator[tuple[ClassRef, _Analyzer, list[ast.FunctionDef | ast.AsyncFunctionDef]]]:
    """(view, analyzer, request handlers) of the file's DRF views whose bases scaffold can
    read entirely (a third-party base other than DRF's may scope them)."""
    for node in ctx.classes():
        fns = [
            f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_handler(f)
        ]
        if not fns:
            continue
        view = ctx.class_ref(node)
        an = _Analyzer(view, ctx.index, ctx.settings)
        if not is_drf_view(an.mro) or any(
            isinstance(m, str) and not m.startswith(SAFE_EXTERNAL_PREFIXES) and m not in SAFE_EXTERNAL
            for m in an.mro[1:]
        ):
            continue
        yield view, an, fns


def handler_queries(ctx: FileContext) -> list[HandlerQuery]:
    """Querysets built inside the request handlers of DRF views (``get``, ``list``, ``@action``
    methods, ...) straight from a tenant model's manager, with how each is scoped.

    ``Supplier.objects.get(pk=pk)`` in an ``APIView.get`` is the same leak as an unscoped
    ``get_queryset``; ``get_object_or_404(Supplier, pk=pk)`` counts as ``.get(pk=pk)``.
    Views restricted to admins (``IsAdminUser``, model permissions) are skipped.
    """
    cached = ctx.__dict__.get("_handler_queries")
    if cached is not None:
        return cached
    out: list[HandlerQuery] = []
    for view, an, fns in _handler_views(ctx):
        perms = an.permissions()
        if perms is not None and any(p.rsplit(".", 1)[-1] in ADMIN_PERMISSIONS for p in perms[2]):
            continue
        for fn in fns:
            out.extend(_queries_in(an, view, fn))
    ctx.__dict__["_handler_queries"] = out
    return out


def _queries_in(
    an: _Analyzer, view: ClassRef, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[HandlerQuery]:

    an._fns.append(fn)
    try:
        return _queries_in_fn(an, view, fn)
    finally:
        an._fns.pop()


def _queries_in_fn(
    an: _Analyzer, view: ClassRef, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[HandlerQuery]:
    from scaffold.rules._context import walk_scope

    env_user: set[str] = set()
    for sub in walk_scope(fn):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                an._assign(target, sub.value, view, {}, env_user)
    inner: set[int] = set()
    calls = [n for n in walk_scope(fn) if isinstance(n, ast.Call)]
    for call in calls:
        if isinstance(call.func, ast.Attribute):
            inner.add(id(call.func.value))
    found: list[HandlerQuery] = []
    for call in calls:
        if id(call) in inner:
            continue  # part of a longer chain: judged at its outermost call
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name in WRITE_METHODS:
            continue
        if name == "get_object_or_404" and call.args:
            model = an.model_info(view, call.args[0])
            if model is None or not an.is_tenant_model(model):
                continue
            if isinstance(call.args[0], ast.Call):
                continue
            added = an.filter_scope(call, env_user, view)
            scope = added if added is not None else Scope.UNSCOPED
            if scope not in GOOD:
                found.append(HandlerQuery(call, view.name, fn.name, model, scope))
            continue
        if not isinstance(call.func, ast.Attribute) or not _rooted_at_class_attr(call):
            continue
        scope, model, _ = an.eval(call, view, {}, env_user)
        if model is None or scope in GOOD or not an.is_tenant_model(model):
            continue
        found.append(HandlerQuery(call, view.name, fn.name, model, scope))
    return found


def _rooted_at_class_attr(call: ast.Call) -> bool:
    """The chain starts at a class's attribute (``Order.objects...``, ``models.Order.objects...``):
    a capitalised name somewhere before the last attribute. Cheap filter before ``eval``."""
    parts: list[str] = []
    expr: ast.AST = call
    while True:
        if isinstance(expr, ast.Call):
            expr = expr.func
        elif isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        else:
            break
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    return any(p[:1].isupper() for p in parts[2:])


def handler_data_views(
    ctx: FileContext,
) -> list[tuple[ClassRef, ClassRef, tuple[ClassRef | None, ast.AST | None, list[str]] | None]]:
    """DRF views (``APIView`` too) whose request handlers query a tenant model's manager
    directly: (view, model, permissions). They serve tenant data like a ViewSet does."""
    cached = ctx.__dict__.get("_handler_data_views")
    if cached is not None:
        return cached
    from scaffold.rules._context import walk_scope

    out = []
    for view, an, fns in _handler_views(ctx):
        model = None
        for fn in fns:
            for call in walk_scope(fn):
                if not isinstance(call, ast.Call):
                    continue
                if isinstance(call.func, ast.Name) and call.func.id == "get_object_or_404" and call.args:
                    found = an.model_info(view, call.args[0])
                elif isinstance(call.func, ast.Attribute) and _rooted_at_class_attr(call):
                    found = an.eval(call, view, {}, set())[1]
                else:
                    continue
                if found is not None and an.is_tenant_model(found):
                    model = found
                    break
            if model is not None:
                break
        if model is not None:
            out.append((view, model, an.permissions()))
    ctx.__dict__["_handler_data_views"] = out
    return out


def view_plans(ctx: FileContext) -> list[ViewPlan]:
    """migrate-viewsets' plans for the file (cached on the context)."""
    cached: list[ViewPlan] | None = ctx.__dict__.get("_view_plans")
    if cached is not None:
        return cached
    s = ctx.settings
    try:
        found = analyze_module(
            ctx.tree,
            ctx.text,
            ctx.module,
            ctx.index.root / ctx.rel,
            ctx.index,
            ViewSettings(s.tenant_field, s.user_tenant_attr),
        )
    except (RecursionError, ValueError, AttributeError, TypeError):  # never let the audit crash
        found = []
    finally:
        ctx.__dict__.pop("info", None)  # analyze_module re-registered the module
    ctx.__dict__["_view_plans"] = found
    return found
