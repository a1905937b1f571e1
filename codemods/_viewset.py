"""The base of the four viewset codemods: shared analysis, pattern rendering, safe edits.

Each codemod re-runs :func:`scaffold.viewsets.analyze_module` on the module it is given
(so it is correct after other codemods ran, and idempotent) and carries out the actions of
its one kind. Code it inserts is rendered from :mod:`scaffold.pattern` (the same macros the
module template uses) and parsed with libcst; imports go through ``AddImportsVisitor``.
Classes that need manual review are left untouched and reported with ``self.warn``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor

from scaffold import pattern
from scaffold.index import ProjectIndex
from scaffold.viewsets import Action, ActionKind, Settings, ViewPlan, parse_and_analyze

PLACEHOLDER = "__scaffold_queryset__"


class ViewsetCodemod(VisitorBasedCodemodCommand):
    """Subclasses set ``KIND`` (the action they carry out) and implement ``rewrite``."""

    KIND: ClassVar[ActionKind]

    def __init__(
        self,
        context: CodemodContext,
        tenant_field: str = "tenant_id",
        user_tenant_attr: str = "tenant_id",
        index: ProjectIndex | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(context)
        # the project's whole analysis settings (DEFAULT_PERMISSION_CLASSES, declared helpers,
        # ...) when run by migrate-viewsets / fix, so the codemod plans what the engine planned
        self.settings = settings or Settings(tenant_field, user_tenant_attr)
        self.index = index or ProjectIndex(Path.cwd())
        self.plans: dict[str, ViewPlan] = {}
        self.module_imports: dict[str, str] = {}
        # (source, its plans) when the caller already planned this very source (the engine's
        # analysis): a module given with exactly that code is not parsed and planned again
        self.known_plans: tuple[str, list[ViewPlan]] | None = None
        # the module parsed from that very source, when the caller has it: given this very
        # object, the plans hold without rendering the module back to text to compare
        self.known_tree: cst.Module | None = None

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--tenant-field", dest="tenant_field", default="tenant_id")
        arg_parser.add_argument("--user-tenant-attr", dest="user_tenant_attr", default="tenant_id")

    # -- driving ---------------------------------------------------------------------
    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        filename = self.context.filename or "<module>"
        module = self.context.full_module_name or Path(filename).stem
        if self.known_plans is not None and tree is self.known_tree:
            plans = self.known_plans[1]
        else:
            code = tree.code
            if self.known_plans is not None and self.known_plans[0] == code:
                plans = self.known_plans[1]
            else:
                plans = parse_and_analyze(code, module, Path(filename).resolve(), self.index, self.settings)
        info = self.index.module(module)
        self.module_imports = dict(info.imports.names) if info else {}
        if info:
            self.module_imports.update(info.local)
        self.plans = {p.name: p for p in plans if not p.manual and p.of(self.KIND)}
        for plan in plans:
            for line, _col, reason in plan.manual:
                self.warn(f"{filename}:{line}: manual review: {reason}")
        if not self.plans:
            return tree  # nothing of this kind: the module is returned unchanged
        return super().transform_module_impl(tree)

    def on_visit(self, node: cst.CSTNode) -> bool:
        # All edits happen in leave_Module on whole classes: don't walk every node below.
        super().on_visit(node)
        return isinstance(node, cst.Module)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        # Nothing else in these codemods edits the tree before this point, so the original
        # statements are used: their metadata (qualified names) is resolved.
        body = []
        for stmt in original_node.body:
            plan = self.plans.get(stmt.name.value) if isinstance(stmt, cst.ClassDef) else None
            if plan is not None and isinstance(stmt, cst.ClassDef):
                action = plan.of(self.KIND)
                assert action is not None
                if not isinstance(stmt.body, cst.IndentedBlock):
                    self.warn(f"{plan.name}: one-line class body; rewrite it by hand")
                else:
                    stmt = self.rewrite(stmt, plan, action)
            body.append(stmt)
        return updated_node.with_changes(body=body)

    def rewrite(self, cls: cst.ClassDef, plan: ViewPlan, action: Action) -> cst.ClassDef:
        raise NotImplementedError

    # -- pattern pieces ----------------------------------------------------------------
    def need_import(self, name: str) -> None:
        """Import a pattern name unless the module already binds it (to an allowed object)."""
        if name in self.module_imports:
            return
        module, obj = pattern.IMPORTS[name]
        AddImportsVisitor.add_needed_import(self.context, module, obj)

    def guard(self) -> list[cst.BaseStatement]:
        self.need_import("PermissionDenied")
        return list(cst.parse_module(pattern.tenant_guard(self.settings.user_tenant_attr)).body)

    def tenant_filter(self, queryset: cst.BaseExpression) -> cst.BaseExpression:
        template = cst.parse_expression(pattern.tenant_filter(PLACEHOLDER, self.settings.tenant_field))
        return template.visit(_Substitute(PLACEHOLDER, queryset))  # type: ignore[return-value]

    def method(self, source: str) -> cst.FunctionDef:
        fn = cst.parse_module(source).body[0]
        assert isinstance(fn, cst.FunctionDef)
        return fn.with_changes(leading_lines=[cst.EmptyLine(indent=False)])


# -- class-body editing helpers ----------------------------------------------------------


def _body(cls: cst.ClassDef) -> list[cst.BaseStatement]:
    assert isinstance(cls.body, cst.IndentedBlock)
    return list(cls.body.body)


def _with_body(cls: cst.ClassDef, body: Sequence[cst.BaseStatement]) -> cst.ClassDef:
    return cls.with_changes(body=cls.body.with_changes(body=body))


def first_method_index(body: Sequence[cst.BaseStatement]) -> int:
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.FunctionDef):
            return i
    return len(body)


def insert_method(cls: cst.ClassDef, fn: cst.FunctionDef, after: str | None = None) -> cst.ClassDef:
    """Insert ``fn`` after method ``after`` if present, else before the first method."""
    body = _body(cls)
    index = first_method_index(body)
    if after is not None:
        for i, stmt in enumerate(body):
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == after:
                index = i + 1
    if _is_pass_only(body):
        return _with_body(cls, [fn.with_changes(leading_lines=[])])
    return _with_body(cls, [*body[:index], fn, *body[index:]])


def insert_statement(cls: cst.ClassDef, stmt: cst.BaseStatement) -> cst.ClassDef:
    """Insert a class attribute after the existing attributes (before the first method)."""
    body = _body(cls)
    index = first_method_index(body)
    return _with_body(cls, [*body[:index], stmt, *body[index:]])


def _is_pass_only(body: Sequence[cst.BaseStatement]) -> bool:
    return (
        len(body) == 1
        and isinstance(body[0], cst.SimpleStatementLine)
        and all(isinstance(s, cst.Pass) for s in body[0].body)
    )


def replace_method(
    cls: cst.ClassDef, name: str, fn: Callable[[cst.FunctionDef], cst.FunctionDef]
) -> cst.ClassDef:
    body = [
        fn(stmt) if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name else stmt
        for stmt in _body(cls)
    ]
    return _with_body(cls, body)


def insert_guard(fn: cst.FunctionDef, guard: list[cst.BaseStatement]) -> cst.FunctionDef:
    """Put the tenant guard first in ``fn`` (after its docstring, if any)."""
    if not isinstance(fn.body, cst.IndentedBlock):
        raise SkipFile(f"{fn.name.value} has a one-line body")
    body = list(fn.body.body)
    index = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        first = body[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(
            first.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            index = 1
    return fn.with_changes(body=fn.body.with_changes(body=[*body[:index], *guard, *body[index:]]))


class _Substitute(cst.CSTTransformer):
    def __init__(self, name: str, node: cst.BaseExpression) -> None:
        self.name = name
        self.node = node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.node if updated_node.value == self.name else updated_node


class FunctionScopeTransformer(cst.CSTTransformer):
    """Visits a function body without entering nested functions, lambdas or classes."""

    def __init__(self) -> None:
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return True

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.depth -= 1
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.depth += 1
        return True

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self.depth -= 1
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.depth += 1
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self.depth -= 1
        return updated_node


def dotted(node: cst.BaseExpression) -> str | None:
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None
