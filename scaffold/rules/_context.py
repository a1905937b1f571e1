"""What a rule sees: one parsed file, with names resolved by meaning.

This is a thin layer over the engine's per-file context (:class:`scaffold.engine.FileContext`)
and the project index (:class:`scaffold.index.ProjectIndex`): ``from rest_framework import
viewsets as v`` makes ``v.ModelViewSet`` resolve to ``rest_framework.viewsets.ModelViewSet``,
and project classes, base classes and mixins are resolved across files lazily.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

from scaffold.analysis.lookup import class_ref, mro, resolve_function
from scaffold.analysis.scope import ClassRef
from scaffold.analysis.settings import Settings as AnalysisSettings
from scaffold.index import ClassInfo, ModuleInfo, ProjectIndex, dotted_name
from scaffold.rules import RULES, Finding


@dataclass(frozen=True)
class Settings(AnalysisSettings):
    """The configuration the rules read (a plain slice of ``Config``; see ``audit.rule_settings``):
    the view analysis' settings plus what the other rules need."""

    tenant_setting: str = "app.current_tenant_id"
    api_prefix: str = "/api/"
    tenancy_module: str | None = None
    urls: str | None = None
    middleware: str | None = None
    # Whether settings turn on ATOMIC_REQUESTS; None when the settings cannot be read.
    atomic_requests: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("default_permissions", *TUPLE_KEYS):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


TUPLE_KEYS = (
    "scoping_helpers",
    "membership_permissions",
    "tenant_models",
    "global_models",
    "published_models",
)


class FileContext:
    """One parsed source file, as a rule sees it."""

    def __init__(
        self, rel: str, text: str, tree: ast.Module, module: str, index: ProjectIndex, settings: Settings
    ) -> None:
        self.rel = rel
        self.text = text
        self.tree = tree
        self.module = module
        self.index = index
        self.settings = settings

    @classmethod
    def from_engine(cls, ectx: Any) -> FileContext:
        """Wrap the engine's context (cached on it, so every rule shares one wrapper)."""
        cached = ectx.__dict__.get("_rule_ctx")
        if cached is None:
            cached = cls(
                ectx.rel, ectx.text, ectx.tree, ectx.module, ectx.index, Settings.from_mapping(ectx.settings)
            )
            ectx.__dict__["_rule_ctx"] = cached
        return cached

    @cached_property
    def info(self) -> ModuleInfo:
        info = self.index.module(self.module) if self.module else None
        if info is None or info.tree is not self.tree:
            info = self.index.add_tree(self.module, self.index.root / self.rel, self.tree)
        return info

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def column(self, node: ast.AST) -> int:
        """0-based character column (ast offsets count UTF-8 bytes)."""
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        text = self.line_text(line)
        if text.isascii():
            return offset
        return len(text.encode("utf-8")[:offset].decode("utf-8", errors="replace"))

    def finding(
        self, code: str, node: ast.AST, message: str, symbol: str = "", fixable: bool | None = None
    ) -> Finding:
        return Finding(
            path=self.rel,
            line=getattr(node, "lineno", 1),
            column=self.column(node) + 1,
            code=code,
            message=message,
            symbol=symbol,
            fixable=RULES[code].fixable if fixable is None else fixable,
        )

    # -- names ---------------------------------------------------------------------
    def qualname(self, expr: ast.AST | None) -> str | None:
        if not isinstance(expr, ast.expr):
            return None
        return self.info.imports.qualify(expr, self.info.local)

    def imports_module(self, *prefixes: str) -> bool:
        """True when the file imports anything from one of the packages ``prefixes``."""
        return any(
            q == p or q.startswith(p + ".") for q in self.info.imports.names.values() for p in prefixes
        )

    @cached_property
    def class_nodes(self) -> list[ast.ClassDef]:
        """Classes at module level, nested in classes, or under module-level if/try blocks
        (statements only: expressions and function bodies are not walked)."""
        found: list[ast.ClassDef] = []
        stack: list[ast.stmt] = list(reversed(self.tree.body))
        while stack:
            stmt = stack.pop()
            if isinstance(stmt, ast.ClassDef):
                found.append(stmt)
                stack.extend(reversed(stmt.body))
            elif isinstance(stmt, (ast.If, ast.Try, ast.With)) or type(stmt).__name__ == "TryStar":
                for block in ("body", "orelse", "finalbody"):
                    stack.extend(reversed(getattr(stmt, block, []) or []))
                for handler in getattr(stmt, "handlers", []) or []:
                    stack.extend(reversed(handler.body))
        return found

    def classes(self) -> Iterator[ast.ClassDef]:
        yield from self.class_nodes

    def class_ref(self, node: ast.ClassDef) -> ClassRef:
        info = self.info.classes.get(node.name)
        if info is None or info.node is not node:  # nested class: resolve its bases here
            bases = [self.qualname(b) or "?" for b in node.bases]
            info = ClassInfo(
                f"{self.module}.{node.name}", self.module, self.index.root / self.rel, node, bases
            )
        return ClassRef(info, self.info)


def call_name(call: ast.Call) -> str:
    """The last name of a call's callee: ``cursor.execute(...)`` -> ``execute``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


__all__ = [
    "ClassRef",
    "FileContext",
    "Settings",
    "call_name",
    "class_ref",
    "dotted_name",
    "mro",
    "resolve_function",
]


# -- walking code ----------------------------------------------------------------------

CodeScope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Module


def iter_scopes(tree: ast.Module) -> Iterator[tuple[str, CodeScope]]:
    """``(symbol, node)`` for the module and every function (``Class.method`` for methods)."""
    yield "", tree

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, CodeScope]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child
                yield from visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, "")


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Every node of a function (or module) body, not entering nested functions or classes."""
    stack = deque(ast.iter_child_nodes(node))
    while stack:
        child = stack.popleft()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield child
        stack.extend(ast.iter_child_nodes(child))


def last_assignment(scope: ast.AST, name: str, before: int) -> ast.expr | None:
    """The value of the last ``name = value`` in ``scope`` on a line before ``before``."""
    found: ast.expr | None = None
    for node in walk_scope(scope):
        if isinstance(node, ast.Assign) and node.lineno < before:
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                if found is None or node.lineno >= getattr(found, "lineno", 0):
                    found = node.value
    return found


SQL_CALLS = frozenset(["execute", "executemany", "raw", "RawSQL", "extra"])


def sql_argument(call: ast.Call) -> ast.expr | None:
    """The SQL argument of ``cursor.execute(sql, ...)``, ``Model.objects.raw(sql)``, ``RawSQL(sql)``."""
    if call_name(call) not in SQL_CALLS:
        return None
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg in ("sql", "query", "raw_query"):
            return kw.value
    return None


def params_argument(call: ast.Call) -> ast.expr | None:
    if len(call.args) >= 2:
        return call.args[1]
    for kw in call.keywords:
        if kw.arg in ("params", "vars", "args"):
            return kw.value
    return None


def sql_text(
    expr: ast.AST | None, scope: ast.AST | None = None, module: ast.Module | None = None
) -> str | None:
    """The SQL text of a constant, implicit concatenation, ``+`` of constants, or a local
    variable holding one; f-string and %-format parts become ``{}``. None when dynamic."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in expr.values)  # type: ignore[misc]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = sql_text(expr.left, scope, module), sql_text(expr.right, scope, module)
        if left is None and right is None:
            return None
        return (left or "{}") + (right or "{}")
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        return sql_text(expr.left, scope, module)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
        return sql_text(expr.func.value, scope, module)
    if isinstance(expr, ast.Name) and scope is not None:
        value = last_assignment(scope, expr.id, getattr(expr, "lineno", 10**9))
        if value is None and module is not None and module is not scope:
            value = last_assignment(module, expr.id, 10**9)
        if value is not None and not isinstance(value, ast.Name):
            return sql_text(value, scope, module)
    return None


def sql_expression(expr: ast.AST | None, scope: ast.AST | None) -> ast.AST | None:
    """``expr`` itself, or the value of the local variable it names."""
    if isinstance(expr, ast.Name) and scope is not None:
        value = last_assignment(scope, expr.id, getattr(expr, "lineno", 10**9))
        if value is not None:
            return value
    return expr
