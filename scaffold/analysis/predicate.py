"""The scoping rule: when a queryset is scoped to the requesting tenant.

Written once; the flow analysis (:mod:`scaffold.analysis.flow`) applies it to every code path,
and audit's rules and migrate-viewsets' plans read the result.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from scaffold.analysis.syntax import USER_EXPRS, assignments, expr_facts, walk_function
from scaffold.index import dotted_name

ALLOW_ANY = "rest_framework.permissions.AllowAny"
# Django's queryset methods that return a queryset of the same rows (a chain stays rewritable).
CHAIN_METHODS = frozenset(
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
# All of Django's own queryset methods (a project method outside these may scope: for_tenant(...)).
QS_METHODS = CHAIN_METHODS | frozenset(
    [
        "values",
        "values_list",
        "count",
        "exists",
        "first",
        "last",
        "get",
        "none",
        "aggregate",
        "iterator",
        "in_bulk",
        "latest",
        "earliest",
        "update",
        "delete",
    ]
)
MANAGER_ATTRS = frozenset(["objects", "_default_manager", "_base_manager"])
# Project queryset methods that scope to a tenant or user (``Note.objects.for_tenant(tid)``):
# they scope only with the requesting user's tenant (see :func:`scoping_call_kind`).
SCOPING_CALLS = frozenset(
    ["for_tenant", "for_user", "for_request", "scoped", "tenant_scoped", "by_tenant", "of_tenant"]
)

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
# the user model attributes a user signs in with (USERNAME_FIELD of Django's user: username;
# of most custom users: email): unique per user, so a row addressed to one is addressed to the user
USER_LOGIN_ATTRS = frozenset(["email", "username"])


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


def is_q(node: ast.AST) -> bool:
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
        elif is_q(expr):
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
    bound = assignments(fn).get(name, [])
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
                is_q(sub) or callee.rpartition(".")[2] in (*SCOPING_FILTERS, "exclude")
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
    facts = expr_facts(expr)  # kept on the node: asked for each view and local reaching it
    reads_user = facts.reads_requester or not users.isdisjoint(facts.names)
    return reads_user and not attrs.isdisjoint(facts.spelled)


def is_user_expr(expr: ast.AST, users: AbstractSet[str] = frozenset()) -> bool:
    """``expr`` is the requesting user or its id (an owner filter's value)."""
    if isinstance(expr, ast.Attribute) and expr.attr in ("id", "pk"):
        expr = expr.value
    if isinstance(expr, ast.Name):
        return expr.id in users
    return isinstance(expr, ast.Attribute) and dotted_name(expr) in USER_EXPRS


def is_user_identity(expr: ast.AST, users: AbstractSet[str] = frozenset()) -> bool:
    """``expr`` names the requesting user: the user, its id, or the login name it signs in
    with (``request.user.email`` / ``.username`` / ``.get_username()``). Rows addressed to
    that name (``Invitation.objects.filter(email=request.user.email)``) are the user's own,
    as ``member=request.user`` rows are; any other attribute (``first_name``) is not an
    identity."""
    if isinstance(expr, ast.Call) and not expr.args and not expr.keywords:
        if isinstance(expr.func, ast.Attribute) and expr.func.attr == "get_username":
            return is_user_expr(expr.func.value, users)
        return False
    if isinstance(expr, ast.Attribute) and expr.attr in USER_LOGIN_ATTRS:
        return is_user_expr(expr.value, users)
    return is_user_expr(expr, users)


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


def snake(name: str) -> str:
    """``CycleIssue`` -> ``cycle_issue``."""
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def url_scopes(key: str, kwarg: str, tenant_field: str, model: str = "", view_model: str = "") -> bool:
    """Under a membership check of the URL's tenant, a ``key=<URL kwarg>`` condition scopes
    when it names the tenant (``workspace__slug``, ``workspace_id``) or the relation the
    kwarg is named after (``project_id=project_id``, ``project=project_id``)."""
    stem = tenant_field[:-3] if tenant_field.endswith("_id") else tenant_field
    head = key.split("__")[0]
    if tenant_lookup(key, tenant_field) or head in (stem, tenant_field):
        return True
    name = kwarg[:-3] if kwarg.endswith("_id") else kwarg
    if kwarg in ("pk", "id"):  # the view's own row: CycleIssue.objects.filter(cycle_id=pk) in a Cycle view
        return head in ("pk", "id") or (bool(view_model) and head.removesuffix("_id") == snake(view_model))
    if head in ("pk", "id"):  # the row the URL names: Project.objects.get(pk=project_id)
        return bool(model) and snake(model) == name
    return head.removesuffix("_id") == name


def condition_kind(
    pairs: list[tuple[str | None, ast.expr]],
    tenant_field: str,
    kind_of: Callable[[ast.expr], str],
    model: str = "",
    view_model: str = "",
) -> str | None:
    """The best scoping the ANDed ``pairs`` give: ``tenant`` (the user's tenant), ``owner``
    (the user), ``implicit`` (a thread-local tenant), ``client`` (a tenant the client chose)
    or None. ``kind_of(value)`` says where a value comes from: user / owner / implicit /
    client / other (the analyzer's view of locals and helpers)."""
    rank = {"tenant": 0, "owner": 1, "implicit": 2, "client": 3}
    best: str | None = None
    for key, value in pairs:
        kind = literal_kind(value, kind_of) or kind_of(value)
        if kind.startswith("row:"):
            # the id of a row a scoped .get() fetched: scopes the relation to that model
            # (Issue.objects.filter(state=state_id) after State.objects.get(pk=state_id, ...))
            head, *rest = (key or "").split("__")
            row = kind[4:]
            same = head.removesuffix("_id") == snake(row) or (head in ("pk", "id") and model == row)
            got = "tenant" if key and rest in ([], ["id"], ["pk"]) and same else None
        elif kind.startswith("url:"):
            # a URL kwarg under a membership check: it scopes the relation the URL names
            # (workspace__slug=slug, project_id=project_id), never a row id (pk=asset_id)
            scopes = key is not None and url_scopes(key, kind[4:], tenant_field, model, view_model)
            got = "tenant" if scopes else None
        elif key == "" or (key is not None and tenant_lookup(key, tenant_field)):
            got = {"user": "tenant", "scoped": "tenant", "implicit": "implicit", "client": "client"}.get(kind)
        elif key is not None and kind == "owner":
            got = "owner"
        elif key is not None and kind == "scoped":
            got = "tenant"  # project__in=<a queryset scoped to the tenant>: only its rows
        else:
            got = None
        if got is not None and (best is None or rank[got] < rank[best]):
            best = got
    return best
