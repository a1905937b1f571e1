"""How a queryset is scoped: the verdict every reader of the analysis shares."""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass

from scaffold.analysis.syntax import class_body
from scaffold.index import ClassInfo, ModuleInfo


@dataclass
class ClassRef:
    """A project class plus the module it lives in (to resolve names used in its body)."""

    info: ClassInfo
    mod: ModuleInfo

    @property
    def qualname(self) -> str:
        return self.info.qualname

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def node(self) -> ast.ClassDef:
        return self.info.node

    def qualify(self, expr: ast.AST | None) -> str | None:
        if not isinstance(expr, ast.expr):
            return None
        return self.mod.imports.qualify(expr, self.mod.local)

    def body_assign_stmt(self, name: str) -> ast.stmt | None:
        """The last statement of the class body assigning ``name`` (``name = ...``)."""
        return _members(self.node)[0].get(name)

    def body_assign(self, name: str) -> ast.expr | None:
        stmt = self.body_assign_stmt(name)
        return getattr(stmt, "value", None) if stmt is not None else None

    def method(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The first method ``name`` the class body defines."""
        return _members(self.node)[1].get(name)


Members = tuple[dict[str, ast.stmt], dict[str, ast.FunctionDef | ast.AsyncFunctionDef]]


def _members(node: ast.ClassDef) -> Members:
    """A class body's assignments (the last one per name) and methods (the first one per
    name), indexed once per class node (:func:`~scaffold.analysis.syntax.class_body`)."""
    attrs, first, _ = class_body(node)
    return attrs, first


class Scope(enum.IntEnum):
    """How a returned queryset is scoped, from best to worst."""

    EMPTY = 0  # .none()
    TENANT = 1  # explicit filter on the tenant column
    OWNER = 2  # explicit filter on the requesting user
    UNKNOWN = 3  # dynamic; cannot tell
    IMPLICIT = 4  # filter on an implicit (thread-local) tenant
    MANAGER_CLOSED = 5  # relies only on a fail-closed tenant manager
    MANAGER_OPEN = 6  # relies only on a tenant manager that returns every row
    CLIENT = 7  # filtered by a client-supplied tenant id
    UNSCOPED = 8  # every row
    UNVERIFIED = 9  # ``<dynamic model>.objects.all()``: every row of a model nobody can name


GOOD = frozenset({Scope.EMPTY, Scope.TENANT, Scope.OWNER, Scope.UNKNOWN})
SCOPED = frozenset({Scope.EMPTY, Scope.TENANT, Scope.OWNER})
# What migrate-viewsets leaves as it is: scoped, or scoped by a manager that fails closed
# (TEN002 still advises an explicit filter, but nothing leaks and nothing is rewritten).
KEPT = SCOPED | {Scope.MANAGER_CLOSED}
# Scopes audit reports as TEN001 and migrate-viewsets rewrites (when it can).
LEAKS = frozenset({Scope.UNSCOPED, Scope.MANAGER_OPEN, Scope.CLIENT, Scope.UNVERIFIED})
# condition_kind() / scoping_call_kind() -> Scope
KIND_SCOPE = {
    "tenant": Scope.TENANT,
    "owner": Scope.OWNER,
    "implicit": Scope.IMPLICIT,
    "client": Scope.CLIENT,
}


@dataclass
class Return:
    """One way a queryset leaves ``get_queryset`` (a return, or the ``queryset`` attribute)."""

    node: ast.AST
    owner: ClassRef  # class whose code holds it
    scope: Scope
    model: ClassRef | None
    manager: str = ""
