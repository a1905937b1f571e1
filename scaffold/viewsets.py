"""What a DRF view does about tenants, decided with stdlib ``ast`` (shared by codemods and audit).

:func:`analyze_module` returns one :class:`ViewPlan` per DRF generic view / ViewSet class at
module level: whether it is already scoped (and how), the rewrites that bring it to the
secure pattern (:class:`Action`), or why it needs manual review. The four viewset codemods
in ``codemods/`` re-run this analysis on the code they are given and carry out exactly the
actions of their kind, so the engine's cheap ast decision and the libcst rewrite can never
disagree, and a second run finds nothing to do.

Classes are matched by meaning: bases are resolved through imports (aliases, relative
imports) and through project-local base classes and mixins in other files
(:class:`scaffold.index.ProjectIndex`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from scaffold.index import ClassInfo, ModuleInfo, ProjectIndex, _module_level, dotted_name

_V = "rest_framework.viewsets."
_G = "rest_framework.generics."
_M = "rest_framework.mixins."
GENERIC_VIEWS = frozenset(
    [
        _V + "ModelViewSet",
        _V + "ReadOnlyModelViewSet",
        _V + "GenericViewSet",
        _G + "GenericAPIView",
        *(
            _G + n
            for n in (
                "CreateAPIView",
                "ListAPIView",
                "RetrieveAPIView",
                "DestroyAPIView",
                "UpdateAPIView",
                "ListCreateAPIView",
                "RetrieveUpdateAPIView",
                "RetrieveDestroyAPIView",
                "RetrieveUpdateDestroyAPIView",
            )
        ),
    ]
)
CREATING_VIEWS = frozenset(
    [_V + "ModelViewSet", _M + "CreateModelMixin", _G + "CreateAPIView", _G + "ListCreateAPIView"]
)
UPDATING_VIEWS = frozenset(
    [
        _V + "ModelViewSet",
        _M + "UpdateModelMixin",
        _G + "UpdateAPIView",
        _G + "RetrieveUpdateAPIView",
        _G + "RetrieveUpdateDestroyAPIView",
    ]
)
ALLOW_ANY = "rest_framework.permissions.AllowAny"
IS_AUTHENTICATED = "rest_framework.permissions.IsAuthenticated"
PERMISSION_DENIED = ("rest_framework.exceptions.PermissionDenied", "django.core.exceptions.PermissionDenied")
MANAGER_ATTRS = frozenset(["objects", "_default_manager", "_base_manager"])
QS_METHODS = frozenset(
    [
        "all",
        "filter",
        "exclude",
        "select_related",
        "prefetch_related",
        "order_by",
        "annotate",
        "distinct",
        "only",
        "defer",
        "using",
        "alias",
        "reverse",
        "select_for_update",
    ]
)
RAW_CALLS = frozenset(["raw", "extra", "RawSQL", "cursor", "execute"])
# Project queryset methods that scope to a tenant or user (``Note.objects.for_tenant(tid)``):
# they scope only with the requesting user's tenant (see :func:`scoping_call_kind`).
SCOPING_CALLS = frozenset(
    ["for_tenant", "for_user", "for_request", "scoped", "tenant_scoped", "by_tenant", "of_tenant"]
)
TRY_STMTS: tuple[type[ast.Try], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))
GUARD_VAR = "tenant_id"  # the local the pattern's tenant_guard defines and tenant_filter uses

ActionKind = Literal[
    "add_get_queryset", "scope_get_queryset", "set_permissions", "stamp_create", "stamp_update"
]


@dataclass
class Action:
    kind: ActionKind
    line: int
    # add_get_queryset: the queryset expression to filter (source text, ``.all()`` dropped)
    queryset_expr: str = ""
    # scope_get_queryset: per return in source order: keep / replace_all / append
    # stamp_create: per ``serializer.save()`` call in source order: keep / add / replace
    # (no steps: add the pattern's perform_create)
    steps: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # stamp_create: dotted callee of each save()
    method: str = ""  # the method edited (get_queryset, perform_create, create)
    insert_guard: bool = False
    # set_permissions: "add" (no permission_classes) or "replace" (AllowAny elements)
    mode: str = ""


@dataclass
class ViewPlan:
    name: str
    line: int
    col: int
    model: str | None = None
    scoped_by: str = ""  # why it is already scoped ("" when it is not)
    actions: list[Action] = field(default_factory=list)
    manual: list[tuple[int, int, str]] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # pattern names to import (PermissionDenied, ...)
    # for a human, but not blocking the class's rewrites (e.g. actions querying the manager)
    advice: list[tuple[int, int, str]] = field(default_factory=list)

    def of(self, kind: ActionKind) -> Action | None:
        return next((a for a in self.actions if a.kind == kind), None)


@dataclass(frozen=True)
class Settings:
    tenant_field: str = "tenant_id"
    user_tenant_attr: str = "tenant_id"


# -- entry point -----------------------------------------------------------------------


def analyze_module(
    tree: ast.Module, source: str, module: str, path: Path, index: ProjectIndex, settings: Settings
) -> list[ViewPlan]:
    """One plan per module-level DRF generic view / ViewSet class of ``tree`` (parsed from ``source``)."""
    info = index.add_tree(module, path, tree)
    plans: list[ViewPlan] = []
    top = {id(n) for n in tree.body}
    for node in _module_level(tree.body):
        if (
            isinstance(node, ast.ClassDef)
            and info.classes.get(node.name) is not None
            and info.classes[node.name].node is node
        ):
            plan = _View(info, info.classes[node.name], index, settings, source).plan()
            if plan is None:
                continue
            if plan.actions and node.body and node.body[0].lineno == node.lineno:
                # `class V(ModelViewSet): queryset = ...`: the codemods need an indented
                # body to add methods to; a human splits the line first
                plan.actions.clear()
                plan.manual.append(
                    (
                        node.lineno,
                        node.col_offset,
                        f"{node.name} has a one-line class body; put its body on its own lines, then re-run",
                    )
                )
            if id(node) not in top and plan.actions:
                # under `if settings.DEBUG:` / `try:`: audit sees it, the codemods rewrite
                # module-level classes only, so a human applies the pattern
                plan.actions.clear()
                plan.manual.append(
                    (
                        node.lineno,
                        node.col_offset,
                        f"{node.name} is defined under if/try/with and is not scoped to the tenant; "
                        "apply the secure pattern by hand",
                    )
                )
            plans.append(plan)
    return plans


def parse_and_analyze(
    code: str, module: str, path: Path, index: ProjectIndex, settings: Settings
) -> list[ViewPlan]:
    return analyze_module(ast.parse(code), code, module, path, index, settings)


# -- helpers -------------------------------------------------------------------------


def walk_function(node: ast.AST) -> Iterator[ast.AST]:
    """Pre-order, source-order walk of a function body that does not enter nested scopes."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield child
        yield from walk_function(child)


def _chain(expr: ast.expr) -> tuple[ast.expr, list[ast.Call]]:
    """Split ``root.m1(...).m2(...)`` into ``root`` and the method calls, outermost last."""
    calls: list[ast.Call] = []
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and not _is_super_qs(expr):
        calls.append(expr)
        expr = expr.func.value
    calls.reverse()
    return expr, calls


def _is_super_qs(node: ast.AST) -> bool:
    """``super().get_queryset()`` (a chain root, like ``Model.objects``)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_queryset"
        and isinstance(node.func.value, ast.Call)
        and dotted_name(node.func.value.func) == "super"
    )


def _mentions_attr(node: ast.AST, attr: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == attr:
            return True
        if isinstance(sub, ast.Constant) and sub.value == attr:
            return True
    return False


def _is_user_expr(node: ast.AST) -> bool:
    name = dotted_name(node) if isinstance(node, ast.expr) else None
    return name in ("self.request.user", "request.user", "user")


def _assigned_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for sub in walk_function(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        names.update(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))
    return names


def _assignments(fn: ast.AST) -> dict[str, list[ast.expr | None]]:
    """Local name -> every value assigned to it in ``fn`` (None: bound some other way)."""
    out: dict[str, list[ast.expr | None]] = {}
    for sub in walk_function(fn):
        if isinstance(sub, ast.Assign):
            for t in sub.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(sub.value)
                else:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            out.setdefault(n.id, []).append(None)
        elif isinstance(sub, (ast.AnnAssign, ast.AugAssign)) and isinstance(sub.target, ast.Name):
            out.setdefault(sub.target.id, []).append(sub.value if isinstance(sub, ast.AnnAssign) else None)
        elif isinstance(sub, ast.NamedExpr):
            out.setdefault(sub.target.id, []).append(sub.value)
        elif isinstance(sub, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            for n in _targets(sub):
                out.setdefault(n.id, []).append(None)
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs):
            out.setdefault(a.arg, []).append(None)
    return out


def _targets(stmt: ast.AST) -> list[ast.Name]:
    """Names bound by a ``for`` target or ``with ... as``."""
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        roots: list[ast.AST] = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        roots = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    else:
        return []
    return [n for r in roots for n in ast.walk(r) if isinstance(n, ast.Name)]


def _strings(stmt: ast.stmt | None) -> set[str]:
    value = _value(stmt) if stmt is not None else None
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _class_members(node: ast.ClassDef) -> tuple[dict[str, ast.stmt], dict[str, ast.FunctionDef]]:
    attrs: dict[str, ast.stmt] = {}
    methods: dict[str, ast.FunctionDef] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    attrs[target.id] = stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            attrs[stmt.target.id] = stmt
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[stmt.name] = stmt  # type: ignore[assignment]
    return attrs, methods


def _value(stmt: ast.stmt) -> ast.expr | None:
    return stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None


# -- the scoping predicate, shared with audit (scaffold/rules/_views.py) -----------------
#
# One written rule for "this queryset is scoped to the requesting tenant", used by both
# analyzers so `audit` (TEN001) and `migrate-viewsets` can never disagree:
#
# * only ``.filter()`` / ``.get()`` (and ``get_object_or_404``) conditions scope, never
#   ``.exclude()``;
# * a condition scopes when it is ANDed into the query: a keyword argument, a key of a
#   ``**{...}`` literal, a plain ``Q(...)`` or a ``Q`` combined with ``&``; never a ``Q``
#   under ``|`` or ``~``;
# * the lookup is an equality on the tenant column: ``tenant_id``, ``tenant_id__exact``,
#   ``tenant``, ``tenant__id`` / ``tenant__pk``, ``rel__tenant_id`` (``__in`` too); never
#   ``__isnull``, ``__gt``, ...;
# * its value is the requesting user's tenant: ``request.user.<user_tenant_attr>`` (or the
#   relation), a local assigned only from it, or a project helper that returns it; a value
#   taken from the request (query string, body, headers, URL kwargs) is the client's choice;
# * a filter on the requesting user itself (``owner=self.request.user``) scopes to the owner;
# * an ``__in`` list or tuple literal scopes when every element does (``[tid]``, ``(tid,)``);
# * a ``Q`` or ``**mapping`` held in a local counts when the local is assigned once, at the
#   top of the function, and never changed or handed to a helper (:func:`single_assignment`);
# * a project scoping method (``for_tenant(...)``, :data:`SCOPING_CALLS`) scopes only with no
#   argument, the request or the user, or the user's tenant (:func:`scoping_call_kind`);
# * ``union()`` / ``|`` / ``or`` with an unscoped queryset, and a reassignment to an
#   unscoped queryset on any path, make the result unscoped.

SCOPING_FILTERS = frozenset(["filter", "get", "get_object_or_404"])
COMBINING_METHODS = frozenset(["union", "intersection", "difference"])
USER_EXPRS = frozenset(["self.request.user", "request.user"])
CLIENT_SOURCES = frozenset(["query_params", "data", "GET", "POST", "headers", "META", "COOKIES", "FILES"])


def tenant_lookup(key: str, tenant_field: str) -> bool:
    """``key`` is an equality lookup on the tenant column (possibly across relations)."""
    stem = tenant_field[:-3] if tenant_field.endswith("_id") else tenant_field
    parts = key.split("__")
    for i, part in enumerate(parts):
        if part in (tenant_field, stem):
            rest = parts[i + 1 :]
            if part == stem and rest[:1] in (["id"], ["pk"]):
                rest = rest[1:]
            return rest in ([], ["exact"], ["in"])
    return False


def _is_q(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = dotted_name(node.func) or ""
    return name == "Q" or name.endswith(".Q")


def anded_conditions(
    call: ast.Call,
    tenant_attrs: tuple[str, ...] = ("tenant_field", "tenant_lookup"),
    fn: ast.AST | None = None,
) -> list[tuple[str | None, ast.expr]]:
    """The ``(lookup, value)`` pairs a ``.filter()`` / ``.get()`` call ANDs into its query.

    A lookup of None is a ``**mapping`` that cannot be read. ``**{self.tenant_field: v}``
    (the tenancy core mixin) yields the key ``"<tenant_field>"``, marked by an empty string
    (callers treat ``""`` as the configured tenant field). With ``fn`` (the function holding
    the call), a ``Q`` or ``**mapping`` held in a local is read through
    :func:`single_assignment` (``cond = Q(tenant_id=tid) & Q(...)``; ``filter(cond)``).
    """
    out: list[tuple[str | None, ast.expr]] = []
    seen: set[str] = set()

    def local(expr: ast.AST) -> ast.expr | None:
        if fn is None or not isinstance(expr, ast.Name) or expr.id in seen:
            return None
        value = single_assignment(fn, expr.id)
        if value is not None:
            seen.add(expr.id)
        return value

    def keywords(keywords: list[ast.keyword]) -> None:
        for kw in keywords:
            mapping = kw.value if kw.arg is None else None
            if mapping is not None and not isinstance(mapping, ast.Dict):
                mapping = local(mapping) or mapping  # filters = {"tenant_id": tid}; **filters
            if kw.arg is not None:
                if not kw.arg.startswith("_"):  # Q(_connector=..., _negated=...) handled below
                    out.append((kw.arg, kw.value))
            elif isinstance(mapping, ast.Dict):
                for k, v in zip(mapping.keys, mapping.values, strict=False):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        out.append((k.value, v))
                    elif isinstance(k, ast.Attribute) and k.attr in tenant_attrs:
                        out.append(("", v))
                    else:
                        out.append((None, v))
            else:
                out.append((None, kw.value))

    def q(expr: ast.AST) -> None:
        held = local(expr)
        if held is not None:
            q(held)
        elif _is_q(expr):
            assert isinstance(expr, ast.Call)
            if any(
                kw.arg in ("_connector", "_negated") for kw in expr.keywords
            ):  # Q(a, b, _connector=Q.OR) / _negated=True: not an AND
                return
            keywords(expr.keywords)
            for arg in expr.args:
                q(arg)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitAnd):
            q(expr.left)
            q(expr.right)
        # Q(...) | Q(...), ~Q(...), anything else: no condition is certain

    keywords(call.keywords)
    args = call.args[1:] if (dotted_name(call.func) or "").endswith("get_object_or_404") else call.args
    for arg in args:
        q(arg)
    return out


def single_assignment(fn: ast.AST, name: str) -> ast.expr | None:
    """The value of local ``name`` when ``fn`` binds it exactly once, in a plain assignment at
    the top level of its body, and never changes it afterwards (no item assignment or
    deletion, no method call on it such as ``dict.update`` / ``Q.add``, never passed to
    another call than a queryset filter or ``Q``); otherwise None (conservative)."""
    body = getattr(fn, "body", None)
    bound = _assignments(fn).get(name, [])
    if not isinstance(body, list) or len(bound) != 1 or bound[0] is None:
        return None
    value = next(
        (
            st.value
            for st in body
            if isinstance(st, ast.Assign)
            and len(st.targets) == 1
            and isinstance(st.targets[0], ast.Name)
            and st.targets[0].id == name
        ),
        None,
    )
    if value is None:
        return None
    for sub in walk_function(fn):
        if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(sub.value, ast.Name):
            if sub.value.id == name:
                return None  # filters["tenant_id"] = ..., filters.update(...), cond.add(...)
        elif isinstance(sub, ast.Delete) and any(
            isinstance(t, ast.Name) and t.id == name for t in sub.targets
        ):
            return None
        elif isinstance(sub, ast.Call):
            callee = dotted_name(sub.func) or ""
            passed = [*sub.args, *(k.value for k in sub.keywords)]
            if any(isinstance(a, ast.Name) and a.id == name for a in passed) and not (
                _is_q(sub) or callee.rpartition(".")[2] in (*SCOPING_FILTERS, "exclude")
            ):
                return None  # a helper may change it
    return value


def literal_kind(value: ast.AST, kind_of: Callable[[ast.expr], str]) -> str | None:
    """``[tid]`` / ``(tid,)`` (an ``__in`` value): the kind every element has in common
    (client wins: one client-chosen tenant leaks), None when ``value`` is not such a literal."""
    if not isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return None
    if not value.elts or any(isinstance(e, ast.Starred) for e in value.elts):
        return "other"
    kinds = {kind_of(e) for e in value.elts}
    if "client" in kinds:
        return "client"
    return kinds.pop() if len(kinds) == 1 else "other"


def scoping_call_kind(call: ast.Call, kind_of: Callable[[ast.expr], str]) -> str:
    """How a project scoping call (``for_tenant(...)``, :data:`SCOPING_CALLS`) scopes, by the
    rule of :func:`condition_kind`: ``tenant`` when it takes no argument, the request or the
    user (``for_request(request)``, ``for_user(self.request.user)``), or a tenant argument
    that is the requesting user's tenant; otherwise the kind of that argument (``client``:
    ``for_tenant(self.request.query_params["tenant"])``, ``implicit``, ``other``)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return "other"
    if call.args:
        arg: ast.expr = call.args[0]
    elif call.keywords:
        named = [
            k
            for k in call.keywords
            if any(w in k.arg for w in ("tenant", "user", "request", "business"))  # type: ignore[operator]
        ]
        if len(named) != 1:
            return "other"
        arg = named[0].value
    else:
        return "tenant"  # for_tenant(): the manager's own notion of the requesting tenant
    if dotted_name(arg) in ("request", "self.request", *USER_EXPRS):
        return "tenant"
    kind = kind_of(arg)
    return "tenant" if kind in ("user", "owner") else kind


def mentions_user_tenant(expr: ast.AST, user_tenant_attr: str, users: AbstractSet[str] = frozenset()) -> bool:
    """``expr`` reads the requesting user's tenant: ``request.user.<user_tenant_attr>`` (or the
    relation: ``request.user.tenant``), ``getattr(self.request.user, "tenant_id", None)``,
    ``getattr(user, self.user_tenant_attr)``; ``users`` are locals bound to the user."""
    stem = user_tenant_attr[:-3] if user_tenant_attr.endswith("_id") else user_tenant_attr
    attrs = {user_tenant_attr, stem, "user_tenant_attr"}
    user = False
    attr = False
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Attribute):
            if dotted_name(sub) in USER_EXPRS:
                user = True
            if sub.attr in attrs:
                attr = True
        elif isinstance(sub, ast.Name) and sub.id in users:
            user = True
        elif isinstance(sub, ast.Constant) and sub.value in attrs:
            attr = True
    return user and attr


def is_user_expr(expr: ast.AST, users: AbstractSet[str] = frozenset()) -> bool:
    """``expr`` is the requesting user or its id (an owner filter's value)."""
    if isinstance(expr, ast.Attribute) and expr.attr in ("id", "pk"):
        expr = expr.value
    if isinstance(expr, ast.Name):
        return expr.id in users
    return isinstance(expr, ast.Attribute) and dotted_name(expr) in USER_EXPRS


def reads_client_input(expr: ast.AST, names: AbstractSet[str] = frozenset()) -> bool:
    """``expr`` reads what the client sent: query string, body, headers, URL kwargs."""
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Attribute):
            if sub.attr in CLIENT_SOURCES and dotted_name(sub.value) in ("request", "self.request"):
                return True
            if sub.attr == "kwargs" and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                return True
        elif isinstance(sub, ast.Name) and (sub.id == "kwargs" or sub.id in names):
            return True
    return False


def permission_kind(expr: ast.expr, qualify: Callable[[ast.expr], str | None]) -> str:
    """One ``permission_classes`` element: ``any`` (lets anyone in: ``AllowAny``, or
    ``AllowAny | X``), ``unknown`` (``*BASE``, a call) or ``closed`` (a permission to pass).
    The list itself ANDs its elements: ``[AllowAny, IsAdminUser]`` is admins only."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.BitOr, ast.BitAnd)):
        kinds = {permission_kind(expr.left, qualify), permission_kind(expr.right, qualify)}
        if isinstance(expr.op, ast.BitOr):
            return "any" if "any" in kinds else "unknown" if "unknown" in kinds else "closed"
        return "closed" if "closed" in kinds else "unknown" if "unknown" in kinds else "any"
    if isinstance(expr, (ast.Name, ast.Attribute)):
        qual = qualify(expr) or ""
        return "any" if qual == ALLOW_ANY or qual.endswith(".AllowAny") or qual == "AllowAny" else "closed"
    return "unknown"


def permissions_open(elts: list[ast.expr], qualify: Callable[[ast.expr], str | None]) -> bool:
    """The list lets anyone in: empty, or only ``any`` / ``unknown`` elements with at least
    one ``any`` (``[*BASE, AllowAny]``: BASE may be empty)."""
    kinds = [permission_kind(e, qualify) for e in elts]
    return not kinds or ("closed" not in kinds and "any" in kinds)


def implicit_tenant(expr: ast.AST) -> bool:
    """The value is an implicit, thread-local tenant (``get_current_tenant()``)."""
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Call):
            name = (dotted_name(sub.func) or "").rpartition(".")[2]
            if "current_tenant" in name or name in ("get_tenant_context", "get_tenant"):
                return True
    return False


def returns_user_tenant(fn: ast.AST, user_tenant_attr: str) -> bool:
    """A helper (``get_tenant_id()``) whose every return is the requesting user's tenant."""
    assigned: dict[str, list[ast.expr]] = {}
    returns: list[ast.expr | None] = []
    for sub in walk_function(fn):
        if isinstance(sub, ast.Assign):
            for t in sub.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append(sub.value)
        elif isinstance(sub, ast.Return):
            returns.append(sub.value)
    users = {
        n
        for n, vs in assigned.items()
        if all(dotted_name(v) in USER_EXPRS for v in vs if isinstance(v, ast.expr))
    }

    def ok(value: ast.expr | None) -> bool:
        if value is None:
            return False
        if isinstance(value, ast.Name) and value.id in assigned and value.id not in users:
            return all(mentions_user_tenant(v, user_tenant_attr, users) for v in assigned[value.id])
        return mentions_user_tenant(value, user_tenant_attr, users)

    return bool(returns) and all(ok(v) for v in returns)


def condition_kind(
    pairs: list[tuple[str | None, ast.expr]], tenant_field: str, kind_of: Callable[[ast.expr], str]
) -> str | None:
    """The best scoping the ANDed ``pairs`` give: ``tenant`` (the user's tenant), ``owner``
    (the user), ``implicit`` (a thread-local tenant), ``client`` (a tenant the client chose)
    or None. ``kind_of(value)`` says where a value comes from: user / owner / implicit /
    client / other (the analyzer's view of locals and helpers)."""
    rank = {"tenant": 0, "owner": 1, "implicit": 2, "client": 3}
    best: str | None = None
    for key, value in pairs:
        kind = literal_kind(value, kind_of) or kind_of(value)
        if key == "" or (key is not None and tenant_lookup(key, tenant_field)):
            got = {"user": "tenant", "implicit": "implicit", "client": "client"}.get(kind)
        elif key is not None and kind == "owner":
            got = "owner"
        else:
            got = None
        if got is not None and (best is None or rank[got] < rank[best]):
            best = got
    return best


class _View:
    """The analysis of one class; ``plan()`` returns None for classes that are not DRF views."""

    def __init__(
        self, module: ModuleInfo, cls: ClassInfo, index: ProjectIndex, settings: Settings, source: str
    ) -> None:
        self.source = source
        self.module = module
        self.cls = cls
        self.node = cls.node
        self.index = index
        self.s = settings
        self.ancestors = list(index.ancestors(cls))
        self.attrs, self.methods = _class_members(self.node)

    # -- the plan --------------------------------------------------------------------
    def plan(self) -> ViewPlan | None:
        quals = {q for q, _ in self.ancestors}
        if not quals & GENERIC_VIEWS:
            return None
        plan = ViewPlan(self.node.name, self.node.lineno, self.node.col_offset)
        inherited = self._inherited()
        own_filter = self.methods.get("filter_queryset")
        scoping_filter = own_filter or (inherited.get("filter_queryset") or (None, None))[1]
        if isinstance(scoping_filter, ast.FunctionDef) and self._returns_scoped(scoping_filter):
            # filter_queryset() adds the tenant filter (a project mixin): DRF's list and
            # get_object pass every queryset through it, like a scoping get_queryset.
            where = "" if own_filter is not None else f" inherited from {inherited['filter_queryset'][0]}"
            plan.scoped_by = f"filter_queryset{where} filters by tenant"
            if "queryset" not in self.attrs and "get_queryset" not in self.methods:
                if "permission_classes" in self.attrs:
                    self._permissions(plan, inherited)
                return plan
            plan.model = self._attr_model()
        elif "get_queryset" in self.methods:
            self._get_queryset(plan, self.methods["get_queryset"])
        elif "get_queryset" in inherited:
            owner, fn = inherited["get_queryset"]
            if self._returns_scoped(fn):
                plan.scoped_by = f"get_queryset inherited from {owner}"
            else:
                plan.manual.append(
                    (
                        self.node.lineno,
                        self.node.col_offset,
                        f"{self.node.name} inherits get_queryset from {owner}, which is not scoped to the tenant; fix {owner}",
                    )
                )
            if plan.scoped_by and "queryset" not in self.attrs:
                if "permission_classes" in self.attrs:  # its own AllowAny / () is still wrong
                    self._permissions(plan, inherited)
                return plan  # an intermediate class: its concrete subclasses are checked
            # a concrete view over a scoping mixin: still needs permissions and tenant stamping
            plan.model = self._attr_model()
        elif "queryset" in self.attrs:
            self._queryset_attr(plan, self.attrs["queryset"])
        else:
            return None  # no data of its own (its base, if any, carries the fix)
        if plan.manual and plan.model is None:
            # a view whose declared model has no tenant field is not tenant data at all
            model = self._attr_model()
            if model is not None and self._tenant_data(model) is False:
                plan.manual.clear()
                plan.model = model
                plan.scoped_by = f"{model} has no {self.s.tenant_field} field"
                return plan
        if plan.manual or (plan.model is None and not plan.actions and not plan.scoped_by):
            plan.actions.clear()
            return plan
        if plan.model is not None and self._tenant_data(plan.model) is False:
            plan.actions.clear()
            plan.scoped_by = plan.scoped_by or f"{plan.model} has no {self.s.tenant_field} field"
            return plan
        self._permissions(plan, inherited)
        if quals & CREATING_VIEWS:
            self._stamping(plan, inherited, "perform_create", "create", "stamp_create")
        if quals & UPDATING_VIEWS and self._serializer_writes_tenant(inherited):
            self._stamping(plan, inherited, "perform_update", "update", "stamp_update")
        self._opaque_bases(plan)
        if plan.manual:
            plan.actions.clear()
        self._direct_queries(plan)
        return plan

    def _opaque_bases(self, plan: ViewPlan) -> None:
        """A base outside the project and outside DRF (a third-party mixin such as
        drf-extensions' NestedViewSetMixin) may define the very method or attribute an action
        would add; adding ours would silently override it. Such additions need a human."""
        opaque = [
            q
            for q, info in self.ancestors
            if info is None and not q.startswith("rest_framework.") and q != "object"
        ]
        if not opaque:
            return
        adds = {
            "add_get_queryset": "get_queryset",
            "stamp_create": "perform_create",
            "stamp_update": "perform_update",
            "set_permissions": "permission_classes",
        }
        for action in plan.actions:
            added = (
                action.kind == "add_get_queryset"
                or (action.kind in ("stamp_create", "stamp_update") and not action.steps)
                or (action.kind == "set_permissions" and action.mode == "add")
            )
            if added:
                plan.manual.append(
                    (
                        self.node.lineno,
                        self.node.col_offset,
                        f"{self.node.name} would get {adds[action.kind]}, but it inherits from {opaque[0]}, "
                        f"which scaffold cannot read and may define it; add the secure {adds[action.kind]} by hand",
                    )
                )
                return

    def _direct_queries(self, plan: ViewPlan) -> None:
        """Extra actions and handlers that query a tenant model's manager without a tenant
        filter bypass get_queryset (lists, counts, aggregates of every tenant): advise."""
        for name, fn in self.methods.items():
            if name in ("get_queryset", "perform_create", "perform_update", "create", "update"):
                continue
            chains: dict[int, tuple[ast.expr, list[ast.Call]]] = {}
            for node in walk_function(fn):
                if isinstance(node, ast.Call):
                    root, calls = _chain(node)
                    if len(calls) > len(chains.get(id(root), (root, []))[1]):
                        chains[id(root)] = (root, calls)
            for root, calls in chains.values():
                model = self._model_of(root)
                if model is None or self._chain_scoped(calls, fn) or self._tenant_data(model) is not True:
                    continue
                plan.advice.append(
                    (
                        root.lineno,
                        root.col_offset,
                        f"{self.node.name}.{name} queries {dotted_name(root)} directly, bypassing "
                        f"get_queryset (every tenant's rows); use self.get_queryset() or filter by tenant",
                    )
                )
            self._get_object_or_404_advice(plan, name, fn)

    def _get_object_or_404_advice(self, plan: ViewPlan, name: str, fn: ast.FunctionDef) -> None:
        """``get_object_or_404(Supplier, pk=pk)`` is ``Supplier.objects.get(pk=pk)``: advise too."""
        for node in walk_function(fn):
            if not (
                isinstance(node, ast.Call)
                and (dotted_name(node.func) or "").rpartition(".")[2] == "get_object_or_404"
                and node.args
                and isinstance(node.args[0], (ast.Name, ast.Attribute))
            ):
                continue
            model = self.module.imports.qualify(node.args[0], self.module.local)
            kind = condition_kind(
                anded_conditions(node, fn=fn), self.s.tenant_field, lambda v: self._value_kind(fn, v)
            )
            if model is None or self._tenant_data(model) is not True or kind in ("tenant", "owner"):
                continue
            plan.advice.append(
                (
                    node.lineno,
                    node.col_offset,
                    f"{self.node.name}.{name} queries {dotted_name(node.args[0])} directly "
                    "(get_object_or_404), bypassing get_queryset (every tenant's rows); "
                    "pass self.get_queryset() or filter by tenant",
                )
            )

    def _inherited(self) -> dict[str, tuple[str, ast.AST]]:
        """Members defined by project-local ancestors (first one wins, MRO-ish order)."""
        out: dict[str, tuple[str, ast.AST]] = {}
        for qual, info in self.ancestors:
            if info is None:
                continue
            attrs, methods = _class_members(info.node)
            for name, stmt in (*attrs.items(), *methods.items()):
                out.setdefault(name, (info.name if qual.rsplit(".", 1)[-1] == info.name else qual, stmt))
        return out

    # -- model and tenant data ------------------------------------------------------------
    def _model_of(self, root: ast.expr) -> str | None:
        """``Supplier.objects`` -> qualified ``purchasing.models.Supplier``."""
        if isinstance(root, ast.Attribute) and root.attr in MANAGER_ATTRS:
            return self.module.imports.qualify(root.value, self.module.local)
        return None

    def _tenant_data(self, model: str) -> bool | None:
        """True/False when the model (or a project base) does/doesn't declare the tenant field."""
        info = self.index.class_info(model)
        if info is None:
            return None
        field_name = self.s.tenant_field
        for candidate in (info, *(i for _, i in self.index.ancestors(info))):
            if candidate is None:
                continue
            attrs, _ = _class_members(candidate.node)
            if field_name in attrs:
                return True
            if field_name.endswith("_id") and field_name[:-3] in attrs:
                return True
        unresolved = [q for q, i in self.index.ancestors(info) if i is None and not q.startswith("django.")]
        return None if unresolved else False

    def _need_model(self, plan: ViewPlan, node: ast.AST) -> None:
        if plan.model is None:
            return
        if self._tenant_data(plan.model) is None:
            plan.manual.append(
                (
                    getattr(node, "lineno", self.node.lineno),
                    getattr(node, "col_offset", 0),
                    f"cannot tell whether {plan.model} has a {self.s.tenant_field} field (model not found in the project)",
                )
            )

    # -- rule 1: queryset attribute ---------------------------------------------------
    def _queryset_attr(self, plan: ViewPlan, stmt: ast.stmt) -> None:
        value = _value(stmt)
        root, calls = _chain(value) if value is not None else (None, [])
        model = self._model_of(root) if root is not None else None
        if value is None or model is None or any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
            plan.manual.append(
                (
                    stmt.lineno,
                    stmt.col_offset,
                    f"{self.node.name}.queryset is built dynamically; scope it to the tenant by hand",
                )
            )
            return
        plan.model = model
        if self._chain_scoped(calls):
            plan.scoped_by = "queryset attribute filters by tenant"
            return
        self._need_model(plan, stmt)
        if calls and calls[-1].func.attr == "all" and not calls[-1].args and not calls[-1].keywords:  # type: ignore[attr-defined]
            base = calls[-1].func.value  # type: ignore[attr-defined]
        else:
            base = value
        expr = ast.get_source_segment(self.source, base) or ast.unparse(base)
        plan.actions.append(
            Action("add_get_queryset", stmt.lineno, queryset_expr=expr, method="get_queryset")
        )
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)

    # -- scoping evidence ----------------------------------------------------------------
    def _value_kind(self, fn: ast.AST | None, value: ast.expr, depth: int = 0) -> str:
        """Where a filter value comes from (see :func:`condition_kind`): ``user`` (the
        requesting user's tenant), ``owner`` (the user), ``implicit``, ``client`` or ``other``."""
        if implicit_tenant(value):
            return "implicit"
        if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
            # (tid,): as its elements; a list in a local may grow later (tids.append(...))
            listed = literal_kind(value, lambda e: self._value_kind(fn, e, depth + 1))
            return listed if listed == "client" or (isinstance(value, ast.Tuple) and listed) else "other"
        assigned = _assignments(fn) if fn is not None else {}
        if isinstance(value, ast.Name):
            sources = assigned.get(value.id)
            if not sources or depth > 3:
                return "other"  # a parameter, a loop variable, ...: not known to be the user's
            kinds = {self._value_kind(fn, v, depth + 1) if v is not None else "other" for v in sources}
            for kind in ("client", "implicit", "other"):
                if kind in kinds:
                    return kind
            return "user" if kinds == {"user"} else "owner" if kinds == {"owner"} else "other"
        if reads_client_input(value):
            return "client"
        users = {
            n for n, vs in assigned.items() if all(v is not None and dotted_name(v) in USER_EXPRS for v in vs)
        }
        if mentions_user_tenant(value, self.s.user_tenant_attr, users):
            return "user"
        if is_user_expr(value, users):
            return "owner"
        if isinstance(value, ast.Call) and depth <= 3:
            helper = self._helper(value.func)
            if helper is not None and returns_user_tenant(helper, self.s.user_tenant_attr):
                return "user"
        return "other"

    def _helper(self, func: ast.expr) -> ast.AST | None:
        """The project function or method behind a call's callee (``self.get_tenant_id``)."""
        name = dotted_name(func) or ""
        if name.startswith("self.") and name.count(".") == 1:
            attr = name[5:]
            if attr in self.methods:
                return self.methods[attr]
            found = self._inherited().get(attr)
            return found[1] if found is not None and isinstance(found[1], ast.FunctionDef) else None
        qual = self.module.imports.qualify(func, self.module.local) if name else None
        if not qual or "." not in qual:
            return None
        mod_name, _, fname = qual.rpartition(".")
        mod = self.index.module(mod_name)
        if mod is None:
            return None
        return next(
            (
                n
                for n in mod.tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == fname
            ),
            None,
        )

    def _chain_scoped(self, calls: list[ast.Call], fn: ast.AST | None = None) -> bool:
        """The chain filters by the requesting user's tenant (or the user): the shared rule."""
        if any(c.func.attr in COMBINING_METHODS for c in calls):  # type: ignore[attr-defined]
            return False  # .union(Customer.objects.all()): every row again
        for call in calls:
            attr = call.func.attr  # type: ignore[attr-defined]
            if attr in SCOPING_CALLS:
                if scoping_call_kind(call, lambda v: self._value_kind(fn, v)) == "tenant":
                    return True
                continue
            if attr in SCOPING_FILTERS:
                kind = condition_kind(
                    anded_conditions(call, fn=fn),
                    self.s.tenant_field,
                    lambda v: self._value_kind(fn, v),
                )
                if kind in ("tenant", "owner"):
                    return True
        return False

    def _expr_scoped(self, expr: ast.expr, fn: ast.AST | None = None) -> bool:
        _, calls = _chain(expr)
        return self._chain_scoped(calls, fn)

    def _returns_scoped(self, fn: ast.AST) -> bool:
        """A (base-class) get_queryset counts as scoped when every return is scoped or empty."""
        returns = [n for n in walk_function(fn) if isinstance(n, ast.Return)]
        if not returns:
            return False
        for ret in returns:
            if ret.value is None:
                return False
            _, calls = _chain(ret.value)
            if calls and calls[-1].func.attr == "none":  # type: ignore[attr-defined]
                continue
            if self._expr_scoped(ret.value, fn):
                continue
            if isinstance(ret.value, ast.Name) and self._name_scoped(fn, ret.value.id, ret):
                continue
            return False
        return True

    def _name_scoped(self, fn: ast.AST, name: str, ret: ast.Return | None = None) -> bool:
        """``name`` holds a scoped queryset at ``ret`` on every path that reaches it: a
        reassignment to an unscoped queryset on any path (``if user.is_staff: qs =
        X.objects.all()``) leaks; a path that raises does not reach the return. Without
        ``ret`` (or when the flow cannot place it): every binding of ``name`` must be scoped
        or refine ``name`` itself."""
        if ret is not None:
            at = self._flow(fn).get(id(ret))
            if at is not None:
                return at.get(name, False)
        scoped = False
        for sub in walk_function(fn):
            if isinstance(sub, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in sub.targets
            ):
                root, calls = _chain(sub.value)
                if self._chain_scoped(calls, fn):
                    scoped = True
                elif not (
                    isinstance(root, ast.Name)
                    and root.id == name
                    and not any(c.func.attr in COMBINING_METHODS for c in calls)  # type: ignore[attr-defined]
                ):
                    return False
            elif isinstance(sub, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
                if isinstance(sub.target, ast.Name) and sub.target.id == name:
                    return False
            elif any(n.id == name for n in _targets(sub)):
                return False
        return scoped

    def _flow(self, fn: ast.AST) -> dict[int, dict[str, bool]]:
        """For each ``return`` of ``fn`` (by id): which locals hold a scoped queryset there,
        on every path that reaches it (the same path rules as audit's flow analysis)."""
        cache: dict[int, dict[int, dict[str, bool]]] = self.__dict__.setdefault("_flows", {})
        if id(fn) in cache:
            return cache[id(fn)]
        out: dict[int, dict[str, bool]] = {}

        def assign(env: dict[str, bool], target: ast.AST, value: ast.expr | None) -> None:
            if not isinstance(target, ast.Name) or value is None:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        env[n.id] = False
                return
            root, calls = _chain(value)
            combining = any(c.func.attr in COMBINING_METHODS for c in calls)  # type: ignore[attr-defined]
            if not combining and self._chain_scoped(calls, fn):
                env[target.id] = True
            elif not combining and isinstance(root, ast.Name) and root.id in env:
                env[target.id] = env[root.id]  # qs = qs.order_by(...): as scoped as qs was
            else:
                env[target.id] = False

        def merge(a: dict[str, bool] | None, b: dict[str, bool] | None) -> dict[str, bool] | None:
            if a is None:
                return b
            if b is None:
                return a
            return {k: a.get(k, False) and b.get(k, False) for k in a.keys() | b.keys()}

        def run(stmts: list[ast.stmt], env: dict[str, bool]) -> dict[str, bool] | None:
            for st in stmts:
                for sub in ast.walk(st):
                    if isinstance(sub, ast.NamedExpr):
                        env[sub.target.id] = False
                if isinstance(st, ast.Assign):
                    for t in st.targets:
                        assign(env, t, st.value)
                elif isinstance(st, ast.AnnAssign):
                    assign(env, st.target, st.value)
                elif isinstance(st, ast.AugAssign):
                    assign(env, st.target, None)  # qs |= ...: not known to stay scoped
                elif isinstance(st, ast.Return):
                    out[id(st)] = dict(env)
                    return None
                elif isinstance(st, ast.Raise):
                    return None
                elif isinstance(st, ast.If):
                    merged = merge(run(st.body, dict(env)), run(st.orelse, dict(env)))
                    if merged is None:
                        return None
                    env = merged
                elif isinstance(st, (ast.For, ast.AsyncFor, ast.While)):
                    if not isinstance(st, ast.While):
                        assign(env, st.target, None)
                    env = merge(env, run(st.body, dict(env))) or env
                    if st.orelse:
                        after = run(st.orelse, dict(env))
                        if after is None:
                            return None
                        env = after
                elif isinstance(st, (ast.With, ast.AsyncWith)):
                    for item in st.items:
                        if item.optional_vars is not None:
                            assign(env, item.optional_vars, None)
                    after = run(st.body, env)
                    if after is None:
                        return None
                    env = after
                elif isinstance(st, TRY_STMTS):
                    before = dict(env)
                    body = run(st.body, dict(env))
                    if body is not None and st.orelse:
                        body = run(st.orelse, body)
                    merged = body
                    for handler in st.handlers:
                        # the body may have run partly: a handler starts from either state
                        start = merge(before, body) or before
                        merged = merge(merged, run(handler.body, dict(start)))
                    if st.finalbody:
                        run(st.finalbody, dict(merged or before))
                    if merged is None:
                        return None
                    env = merged
                elif type(st).__name__ == "Match":
                    merged = dict(env)
                    for case in st.cases:  # type: ignore[attr-defined]
                        merged = merge(merged, run(case.body, dict(env))) or merged
                    env = merged
            return env

        body = getattr(fn, "body", [])
        run(body if isinstance(body, list) else [], {})
        cache[id(fn)] = out
        return out

    # -- rule 2: get_queryset ---------------------------------------------------------
    def _get_queryset(self, plan: ViewPlan, fn: ast.FunctionDef) -> None:
        name = self.node.name
        for sub in walk_function(fn):
            if isinstance(sub, ast.Call):
                callee = sub.func.attr if isinstance(sub.func, ast.Attribute) else dotted_name(sub.func) or ""
                if callee.rsplit(".", 1)[-1] in RAW_CALLS:
                    plan.manual.append(
                        (
                            sub.lineno,
                            sub.col_offset,
                            f"{name}.get_queryset uses raw SQL; scope it to the tenant by hand",
                        )
                    )
                    return
            if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                plan.manual.append((sub.lineno, sub.col_offset, f"{name}.get_queryset is a generator"))
                return
        returns = [n for n in walk_function(fn) if isinstance(n, ast.Return)]
        if not returns:
            plan.manual.append((fn.lineno, fn.col_offset, f"{name}.get_queryset has no return statement"))
            return
        steps: list[str] = []
        for ret in returns:
            step = self._return_step(plan, fn, ret)
            if step is None:
                return
            steps.append(step)
        if plan.model is None:
            plan.model = self._attr_model()
        if all(s == "keep" for s in steps):
            plan.scoped_by = "get_queryset filters by tenant"
            return
        self._need_model(plan, fn)
        if plan.model is None:
            plan.manual.append(
                (fn.lineno, fn.col_offset, f"{name}.get_queryset: cannot tell which model it returns")
            )
            return
        insert_guard = self._guard_needed(plan, fn)
        if plan.manual:
            return
        plan.actions.append(
            Action(
                "scope_get_queryset", fn.lineno, steps=steps, method="get_queryset", insert_guard=insert_guard
            )
        )

    def _attr_model(self) -> str | None:
        stmt = self.attrs.get("queryset")
        if stmt is None:
            for _qual, info in self.ancestors:
                if info is not None:
                    attrs, _ = _class_members(info.node)
                    if "queryset" in attrs:
                        stmt = attrs["queryset"]
                        break
        value = _value(stmt) if stmt is not None else None
        if value is None:
            return None
        root, _ = _chain(value)
        return self._model_of(root)

    def _return_step(self, plan: ViewPlan, fn: ast.FunctionDef, ret: ast.Return) -> str | None:
        name = self.node.name
        value = ret.value
        where = (ret.lineno, ret.col_offset)
        if value is None:
            plan.manual.append((*where, f"{name}.get_queryset returns None"))
            return None
        if isinstance(
            value, (ast.List, ast.ListComp, ast.Tuple, ast.Set, ast.SetComp, ast.Dict, ast.GeneratorExp)
        ):
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a list, not a queryset; filter it by tenant by hand")
            )
            return None
        root, calls = _chain(value)
        if calls and calls[-1].func.attr == "none":  # type: ignore[attr-defined]
            return "keep"
        if self._chain_scoped(calls, fn):
            return "keep"
        scoping = next((c for c in calls if c.func.attr in SCOPING_CALLS), None)  # type: ignore[attr-defined]
        if scoping is not None:
            plan.manual.append(
                (
                    *where,
                    f"{name}.get_queryset calls {scoping.func.attr}() with something other than the "  # type: ignore[attr-defined]
                    "requesting user's tenant (e.g. a value the client sent); scope it by hand",
                )
            )
            return None
        if any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a queryset built dynamically; scope it by hand")
            )
            return None
        model = self._model_of(root)
        root_name = dotted_name(root) if isinstance(root, ast.expr) else None
        is_super = _is_super_qs(root)
        if model is not None:
            if plan.model is not None and plan.model != model:
                plan.manual.append((*where, f"{name}.get_queryset returns querysets of several models"))
                return None
            plan.model = model
        elif root_name == "self.queryset" or is_super:
            pass
        elif isinstance(root, ast.Name):
            if self._name_scoped(fn, root.id, ret):
                return "keep"
            if not self._name_is_queryset(fn, root.id, plan):
                plan.manual.append(
                    (*where, f"{name}.get_queryset returns `{root.id}`, built dynamically; scope it by hand")
                )
                return None
        else:
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a queryset built dynamically; scope it by hand")
            )
            return None
        if calls and calls[-1].func.attr == "all" and not calls[-1].args and not calls[-1].keywords:  # type: ignore[attr-defined]
            return "replace_all"
        return "append"

    def _name_is_queryset(self, fn: ast.AST, name: str, plan: ViewPlan) -> bool:
        """Every assignment to ``name`` is a queryset chain (of one model, or of ``name`` itself)."""
        found = False
        for sub in walk_function(fn):
            targets: list[ast.expr] = []
            if isinstance(sub, ast.Assign):
                targets = sub.targets
            elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
                targets = [sub.target]
            elif isinstance(sub, (ast.For, ast.With, ast.NamedExpr)):
                tgt = getattr(sub, "target", None)
                if isinstance(sub, ast.With):
                    if any(
                        i.optional_vars is not None
                        and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(i.optional_vars))
                        for i in sub.items
                    ):
                        return False
                    continue
                if tgt is not None and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tgt)):
                    return False
                continue
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                    return False  # tuple unpacking
                continue
            value = getattr(sub, "value", None)
            if not isinstance(sub, ast.Assign) or value is None:
                return False
            root, calls = _chain(value)
            if any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
                return False
            model = self._model_of(root)
            if model is not None:
                if plan.model is not None and plan.model != model:
                    return False
                plan.model = model
            elif (
                not _is_super_qs(root)
                and not (isinstance(root, ast.Name) and root.id == name)
                and dotted_name(root) != "self.queryset"
            ):
                return False
            found = True
        return found

    def _guard_needed(self, plan: ViewPlan, fn: ast.FunctionDef) -> bool:
        """False when the method already assigns the pattern's ``tenant_id`` from the user."""
        for stmt in fn.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == GUARD_VAR for t in stmt.targets)
                and _mentions_attr(stmt.value, self.s.user_tenant_attr)
                and any(
                    _is_user_expr(n) or dotted_name(n) in ("self.request.user", "request.user")
                    for n in ast.walk(stmt.value)
                    if isinstance(n, ast.expr)
                )
            ):
                return False
        if GUARD_VAR in _assigned_names(fn) or any(
            isinstance(n, ast.Name) and n.id == GUARD_VAR for n in walk_function(fn)
        ):
            plan.manual.append(
                (
                    fn.lineno,
                    fn.col_offset,
                    f"{self.node.name}.{fn.name} already uses a local `{GUARD_VAR}`; scope it by hand",
                )
            )
            return False
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)
        return True

    def _check_import(self, plan: ViewPlan, name: str, allowed: tuple[str, ...]) -> None:
        bound = self.module.imports.names.get(name) or self.module.local.get(name)
        if bound is not None and bound not in allowed:
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"`{name}` is bound to {bound} in this module; cannot add {allowed[0]}",
                )
            )

    # -- rule 3: permissions ---------------------------------------------------------------
    def _permissions(self, plan: ViewPlan, inherited: dict[str, tuple[str, ast.AST]]) -> None:
        if "get_permissions" in self.methods:
            return
        stmt = self.attrs.get("permission_classes")
        if stmt is None:
            if "permission_classes" in inherited or "get_permissions" in inherited:
                return
            plan.actions.append(Action("set_permissions", self.node.lineno, mode="add"))
            plan.imports.add("IsAuthenticated")
            self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))
            return
        value = _value(stmt)
        if isinstance(value, (ast.List, ast.Tuple)):
            if not value.elts:  # `permission_classes = []` checks nothing: like AllowAny
                plan.actions.append(Action("set_permissions", stmt.lineno, mode="fill"))
                plan.imports.add("IsAuthenticated")
                self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))
            elif permissions_open(value.elts, lambda e: self.module.imports.qualify(e, self.module.local)):
                if any(isinstance(e, ast.BinOp) for e in value.elts):
                    plan.manual.append(
                        (
                            stmt.lineno,
                            stmt.col_offset,
                            f"{self.node.name}.permission_classes lets anyone in (AllowAny | ...); "
                            "require IsAuthenticated by hand",
                        )
                    )
                    return
                plan.actions.append(Action("set_permissions", stmt.lineno, mode="replace"))
                plan.imports.add("IsAuthenticated")
                self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))

    # -- rule 4: stamping the tenant on create ---------------------------------------------
    def _serializer_writes_tenant(self, inherited: dict[str, tuple[str, ast.AST]]) -> bool:
        """True when the view's serializer (found in the project) accepts the tenant field.

        Then an update could move a row to another tenant, so ``perform_update`` must stamp it.
        Generated serializers make it read-only; unresolvable serializers are left alone.
        """
        stmt = self.attrs.get("serializer_class")
        module = self.module
        if stmt is None and "serializer_class" in inherited:
            owner = next(
                (
                    i
                    for _, i in self.ancestors
                    if i is not None and "serializer_class" in _class_members(i.node)[0]
                ),
                None,
            )
            if owner is None:
                return False
            stmt = _class_members(owner.node)[0]["serializer_class"]
            module = self.index.module(owner.module) or module
        value = _value(stmt) if stmt is not None else None
        qual = module.imports.qualify(value, module.local) if value is not None else None
        info = self.index.class_info(qual) if qual else None
        if info is None:
            return False
        tf = self.s.tenant_field
        names = {tf, tf[:-3]} if tf.endswith("_id") else {tf}
        included = False
        for cls in (info, *(i for _, i in self.index.ancestors(info) if i is not None)):
            attrs, _ = _class_members(cls.node)
            for name in names & attrs.keys():
                field_value = _value(attrs[name])
                if isinstance(field_value, ast.Call):
                    callee = dotted_name(field_value.func) or ""
                    read_only = any(
                        k.arg == "read_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                        for k in field_value.keywords
                    )
                    return not read_only and not callee.endswith(
                        ("ReadOnlyField", "HiddenField", "SerializerMethodField")
                    )
            meta = next((n for n in cls.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
            if meta is None:
                continue
            meta_attrs, _ = _class_members(meta)
            if names & _strings(meta_attrs.get("read_only_fields")) or names & _strings(
                meta_attrs.get("exclude")
            ):
                return False
            extra = _value(meta_attrs["extra_kwargs"]) if "extra_kwargs" in meta_attrs else None
            if isinstance(extra, ast.Dict):
                for key, options in zip(extra.keys, extra.values, strict=False):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value in names
                        and isinstance(options, ast.Dict)
                        and any(
                            isinstance(k, ast.Constant)
                            and k.value == "read_only"
                            and isinstance(v, ast.Constant)
                            and v.value is True
                            for k, v in zip(options.keys, options.values, strict=False)
                        )
                    ):
                        return False  # extra_kwargs = {"tenant_id": {"read_only": True}}
            fields = _value(meta_attrs["fields"]) if "fields" in meta_attrs else None
            if isinstance(fields, ast.Constant) and fields.value == "__all__":
                included = True
            elif "fields" not in meta_attrs and "exclude" in meta_attrs:
                included = True  # every model field but the excluded ones: the tenant too
            elif names & _strings(meta_attrs.get("fields")):
                included = True
            if "fields" in meta_attrs or "exclude" in meta_attrs:
                break  # the nearest Meta decides
        return included

    def _stamping(
        self,
        plan: ViewPlan,
        inherited: dict[str, tuple[str, ast.AST]],
        hook: str,
        direct: str,
        kind: ActionKind,
    ) -> None:
        """perform_create / perform_update (``hook``) or a ``create`` / ``update`` (``direct``)
        that saves without calling the hook: every save() gets the user's tenant."""
        fn = self.methods.get(hook)
        if fn is not None:
            param = fn.args.args[1].arg if len(fn.args.args) > 1 else None
            self._stamp(
                plan, fn, lambda call: param is not None and dotted_name(call.func) == f"{param}.save", kind
            )
            return
        own = self.methods.get(direct)
        if own is not None and not any(
            isinstance(n, ast.Call) and dotted_name(n.func) == f"self.{hook}" for n in walk_function(own)
        ):
            names = {
                t.id
                for n in walk_function(own)
                if isinstance(n, ast.Assign)
                and isinstance(n.value, ast.Call)
                and (dotted_name(n.value.func) or "").endswith(
                    ("get_serializer", "Serializer", "serializer_class")
                )
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            self._stamp(
                plan,
                own,
                lambda call: (
                    (dotted_name(call.func) or "").rpartition(".")[::2] in {(n, "save") for n in names}
                ),
                kind,
            )
            return
        if hook in inherited or (direct in inherited and own is None):
            return
        plan.actions.append(Action(kind, self.node.lineno, method=hook))
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)

    def _user_tenant_value(self, fn: ast.FunctionDef, value: ast.expr) -> bool:
        """``value`` is the requesting user's tenant: ``user.tenant_id``, or a local assigned
        only from it (``business_id = getattr(self.request.user, "business_id", None)``)."""

        def from_user(expr: ast.expr) -> bool:
            return _mentions_attr(expr, self.s.user_tenant_attr) and any(
                dotted_name(n) in ("self.request.user", "request.user", "user")
                for n in ast.walk(expr)
                if isinstance(n, ast.expr)
            )

        if isinstance(value, ast.Name):
            sources = [
                sub.value
                for sub in walk_function(fn)
                if isinstance(sub, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == value.id for t in sub.targets)
            ]
            if sources:
                return all(from_user(v) for v in sources) or self._value_kind(fn, value) == "user"
            return value.id == GUARD_VAR
        return from_user(value) or self._value_kind(fn, value) == "user"

    def _stamp(self, plan: ViewPlan, fn: ast.FunctionDef, is_save, kind: ActionKind) -> None:
        name = f"{self.node.name}.{fn.name}"
        saves = [n for n in walk_function(fn) if isinstance(n, ast.Call) and is_save(n)]
        if not saves:
            plan.manual.append(
                (
                    fn.lineno,
                    fn.col_offset,
                    f"{name} does not call serializer.save(); stamp the tenant by hand",
                )
            )
            return
        tf = self.s.tenant_field
        steps: list[str] = []
        for call in saves:
            if any(k.arg is None for k in call.keywords) or any(
                isinstance(a, ast.Starred) for a in call.args
            ):
                plan.manual.append(
                    (
                        call.lineno,
                        call.col_offset,
                        f"{name} passes **kwargs to save(); stamp the tenant by hand",
                    )
                )
                return
            kw = next((k for k in call.keywords if k.arg == tf), None)
            stem = tf[:-3] if tf.endswith("_id") else None
            rel = next((k for k in call.keywords if stem is not None and k.arg == stem), None)
            if kw is None and rel is not None:
                # save(tenant=request.user.tenant): the FK behind tenant_id, stamped from the user
                if self._user_tenant_value(fn, rel.value):
                    steps.append("keep")
                else:
                    plan.manual.append(
                        (
                            call.lineno,
                            call.col_offset,
                            f"{name} saves {stem}= from something other than the user's tenant; "
                            "stamp the tenant by hand",
                        )
                    )
                    return
            elif kw is None:
                steps.append("add")
            elif self._user_tenant_value(fn, kw.value):
                steps.append("keep")
            else:
                steps.append("replace")  # from the request body, URL, ...: never trust it
        if all(s == "keep" for s in steps):
            return
        insert_guard = self._guard_needed(plan, fn)
        plan.actions.append(
            Action(
                kind,
                fn.lineno,
                steps=steps,
                targets=[dotted_name(c.func) or "" for c in saves],
                method=fn.name,
                insert_guard=insert_guard,
            )
        )
