"""Value tracking: where a value used in a filter comes from.

The user's tenant (``request.user.tenant_id``, a local or helper holding it), the user
itself (an owner filter), an implicit thread-local tenant, something the client sent, or
anything else. Locals are tracked in ``env`` as the flow analysis walks a function: a set of
names plus markers (never valid identifiers) for what each name holds.
"""

from __future__ import annotations

import ast

from scaffold.analysis.lookup import Lookup
from scaffold.analysis.predicate import (
    USER_EXPRS,
    is_user_identity,
    literal_kind,
    mentions_user_tenant,
)
from scaffold.analysis.scope import ClassRef
from scaffold.analysis.syntax import expr_facts, walk_all, walk_function
from scaffold.index import dotted_name

TENANT_MARK = "\0tenant:"  # the local holds the requesting user's tenant
CLIENT_MARK = "\0client:"  # the local holds something the client sent
USER_MARK = "\0user:"  # the local is the requesting user
ROW_MARK = "\0row:"  # the local is a row the view already scoped (``self.get_object()``)


def scoped_row(value: ast.AST) -> bool:
    """``self.get_object()`` (through the view's scoped queryset) or the instance a serializer
    just saved (``serializer.instance``): a row of the requesting tenant."""
    if isinstance(value, ast.Attribute) and value.attr in ("pk", "id"):
        value = value.value
    if isinstance(value, ast.Call) and dotted_name(value.func) == "self.get_object":
        return True
    return isinstance(value, ast.Attribute) and value.attr == "instance"


def implicit_tenant(expr: ast.AST) -> bool:
    """The value is an implicit, thread-local tenant (``get_current_tenant()``); answered
    once per node (every filter value is asked, for every view reading it)."""
    cached: bool | None = expr.__dict__.get("_scaffold_implicit")
    if cached is None:
        cached = expr.__dict__["_scaffold_implicit"] = _implicit_tenant(expr)
    return cached


def _implicit_tenant(expr: ast.AST) -> bool:
    for node in walk_all(expr):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if "current_tenant" in name or name in ("get_tenant_context", "get_tenant"):
                return True
    return False


class Values:
    """Judges values seen from one view, with its helper lookup."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.settings = lookup.settings

    def is_user_derived(self, expr: ast.AST, env: set[str]) -> bool:
        facts = expr_facts(expr)
        return facts.reads_user or not facts.names.isdisjoint(env)

    def is_client_input(self, expr: ast.AST, env: set[str] | frozenset[str] = frozenset()) -> bool:
        facts = expr_facts(expr)
        return facts.reads_client or any(CLIENT_MARK + name in env for name in facts.names)

    def kind(self, owner: ClassRef | None, value: ast.AST, env: set[str], fn: ast.AST | None = None) -> str:
        """Where a filter value comes from: user / owner / implicit / client / other."""
        if implicit_tenant(value):
            return "implicit"
        if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
            # (tid,): as its elements; a list in a local may grow later (tids.append(...))
            listed = literal_kind(value, lambda e: self.kind(owner, e, env, fn))
            return listed if listed == "client" or (isinstance(value, ast.Tuple) and listed) else "other"
        if scoped_row(value):
            return "scoped"  # checked first: serializer.instance of a body-fed serializer is saved
        root = value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and ROW_MARK + root.id in env and root is not value:
            return "scoped"  # board.workspace_id: an attribute of a row the user may see
        if self.is_client_input(value, env):
            return "client"
        if isinstance(value, ast.Name):
            if ROW_MARK + value.id in env:
                return "scoped"  # location = self.get_object(); Stop.objects.filter(location=location)
            if TENANT_MARK + value.id in env:
                return "user"
            return "owner" if value.id in env and USER_MARK + value.id in env else "other"
        users = {n for n in env if n.isidentifier()}
        if mentions_user_tenant(value, self.settings.user_tenant_attr, users):
            return "user"
        if is_user_identity(value, {n[len(USER_MARK) :] for n in env if n.startswith(USER_MARK)}):
            return "owner"
        if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
            kinds = {self.kind(owner, v, env, fn) for v in value.values}
            if kinds == {"user"}:
                return "user"  # tenant_id or other_attr: both the user's
        if isinstance(value, ast.Call) and self.helper_returns_tenant(owner, value.func, fn):
            return "user"
        if (
            isinstance(value, ast.Attribute)
            and value.attr in ("id", "pk")
            and isinstance(value.value, ast.Call)
        ):
            if self.helper_returns_tenant(owner, value.value.func, fn):
                return "user"  # self.get_tenant().id
        return "other"

    def helper_returns_tenant(
        self, owner: ClassRef | None, func: ast.AST, fn: ast.AST | None = None, depth: int = 0
    ) -> bool:
        """``self.get_tenant_id()`` / ``get_tenant_id()``: a project helper (on the view, its
        bases and mixins, or in a module) returning the requesting user's tenant, or one
        declared in ``[tool.scaffold] scoping_helpers``."""
        if self.lookup.trusted_helper(owner, func, fn):
            return True
        if depth > 3:
            return False
        target = self.lookup.helper(owner, func, fn)
        return target is not None and self.returns_tenant(owner, target, depth + 1)

    def returns_tenant(self, owner: ClassRef | None, fn: ast.AST, depth: int = 0) -> bool:
        """Every return of helper ``fn`` is the requesting user's tenant (``getattr`` fallbacks,
        ``or`` chains of the user's attributes, another such helper); paths that raise or
        return nothing are guards (a caller filtering by None matches no row)."""
        attr = self.settings.user_tenant_attr
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
            n for n, vs in assigned.items() if vs and all(dotted_name(v) in (*USER_EXPRS, "user") for v in vs)
        }
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            users |= {a.arg for a in fn.args.args if a.arg == "user"}

        def from_user(value: ast.expr) -> bool:
            return any(
                (isinstance(n, ast.Name) and n.id in users) or dotted_name(n) in USER_EXPRS
                for n in walk_all(value)
                if isinstance(n, ast.expr)
            )

        def ok(value: ast.expr | None, seen: frozenset[str] = frozenset()) -> bool:
            if value is None or (isinstance(value, ast.Constant) and value.value is None):
                return True  # a guard: no tenant, no rows
            if isinstance(value, ast.Name) and value.id in assigned and value.id not in users:
                if value.id in seen:
                    return False
                return all(ok(v, seen | {value.id}) for v in assigned[value.id])
            if isinstance(value, ast.BoolOp):
                # getattr(user, "tenant_id", None) or getattr(user, "company_id", None): the
                # user's tenant, with fallbacks that are other attributes of the same user
                return any(ok(v, seen) for v in value.values) and all(
                    ok(v, seen) or from_user(v) for v in value.values
                )
            if isinstance(value, ast.IfExp):
                return ok(value.body, seen) and ok(value.orelse, seen)
            if mentions_user_tenant(value, attr, users):
                return True
            if isinstance(value, ast.Attribute) and value.attr in ("id", "pk"):
                value = value.value
            if isinstance(value, ast.Call):
                return self.helper_returns_tenant(owner, value.func, fn, depth + 1)
            return False

        real = [v for v in returns if not (v is None or (isinstance(v, ast.Constant) and v.value is None))]
        return bool(real) and all(ok(v) for v in returns)

    def assign(self, owner: ClassRef, name: str, value: ast.AST, env: set[str], fn: ast.AST | None) -> None:
        """Record what ``name = value`` makes the local hold."""
        tenant = self.kind(owner, value, env, fn) == "user"
        client = self.is_client_input(value, env)
        user_obj = (
            isinstance(value, ast.Attribute)
            and (
                (isinstance(value.value, ast.Name) and value.value.id == "request")
                or (isinstance(value.value, ast.Attribute) and value.value.attr == "request")
            )
            and value.attr == "user"
        )
        if self.is_user_derived(value, env):
            env.add(name)
        else:
            env.discard(name)
        # project_id = board.entity_identifier: an attribute of a row the user may see is a
        # value of that row (filtering by it stays within what the row points to)
        of_row = (
            isinstance(value, ast.Attribute) and not client and self.kind(owner, value, env, fn) == "scoped"
        )
        row = scoped_row(value) or of_row
        for mark, on in (
            (TENANT_MARK, tenant),
            (CLIENT_MARK, client),
            (USER_MARK, user_obj),
            (ROW_MARK, row),
        ):
            if on:
                env.add(mark + name)
            else:
                env.discard(mark + name)
