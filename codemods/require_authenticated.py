"""Give tenant-data DRF views ``permission_classes = (IsAuthenticated,)``.

A view with no ``permission_classes`` falls back to ``DEFAULT_PERMISSION_CLASSES``, which is
``AllowAny`` unless configured; ``AllowAny`` on tenant data lets anonymous requests in. The
codemod adds the pattern's ``permission_classes`` where none is declared (by the class or a
project base class) and replaces ``AllowAny`` (matched by qualified name, so aliases count)
with ``IsAuthenticated``. Custom permission classes and ``get_permissions`` are left alone.

Reference: ``templates/module/_macros/secure.jinja`` (``permission_classes``).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.helpers import ensure_type
from libcst.metadata import QualifiedNameProvider

from codemods._registry import register
from codemods._viewset import ViewsetCodemod, _body, _with_body, insert_statement
from scaffold import pattern
from scaffold.analysis.predicate import ALLOW_ANY
from scaffold.viewsets import Action, ViewPlan


@register
class RequireAuthenticated(ViewsetCodemod):
    DESCRIPTION = "Add IsAuthenticated to tenant-data DRF views without permission_classes or with AllowAny."
    KIND = "set_permissions"
    METADATA_DEPENDENCIES = (QualifiedNameProvider,)  # AllowAny is matched by meaning

    def rewrite(self, cls: cst.ClassDef, plan: ViewPlan, action: Action) -> cst.ClassDef:
        self.need_import("IsAuthenticated")
        rendered = cst.parse_module(pattern.permission_classes()).body[0]
        if action.mode == "add":
            return insert_statement(cls, rendered)
        replacement = _elements(rendered)[0].value
        body = []
        for stmt in _body(cls):
            if isinstance(stmt, cst.SimpleStatementLine) and _assigns(stmt, "permission_classes"):
                if action.mode == "fill":  # an empty list or tuple: give it the pattern's element
                    stmt = ensure_type(stmt.visit(_Fill(_elements(rendered))), cst.SimpleStatementLine)
                else:
                    stmt = ensure_type(
                        stmt.visit(_ReplaceAllowAny(self, replacement)), cst.SimpleStatementLine
                    )
            body.append(stmt)
        module, obj = ALLOW_ANY.rsplit(".", 1)
        for local, qualified in self.module_imports.items():
            if qualified == ALLOW_ANY:  # removed only if nothing else uses it
                RemoveImportsVisitor.remove_unused_import(
                    self.context, module, obj, None if local == obj else local
                )
        return _with_body(cls, body)

    def is_allow_any(self, node: cst.BaseExpression) -> bool:
        names = self.get_metadata(QualifiedNameProvider, node, set())
        return any(q.name == ALLOW_ANY for q in names)


def _elements(stmt: cst.BaseStatement) -> list[cst.Element]:
    assert isinstance(stmt, cst.SimpleStatementLine)
    assign = stmt.body[0]
    assert isinstance(assign, cst.Assign) and isinstance(assign.value, (cst.List, cst.Tuple))
    return [el for el in assign.value.elements if isinstance(el, cst.Element)]


def _assigns(stmt: cst.SimpleStatementLine, name: str) -> bool:
    return any(
        isinstance(s, cst.Assign)
        and any(isinstance(t.target, cst.Name) and t.target.value == name for t in s.targets)
        for s in stmt.body
    )


class _ReplaceAllowAny(cst.CSTTransformer):
    def __init__(self, codemod: RequireAuthenticated, replacement: cst.BaseExpression) -> None:
        self.codemod = codemod
        self.replacement = replacement

    def leave_Element(self, original_node: cst.Element, updated_node: cst.Element) -> cst.Element:
        if self.codemod.is_allow_any(original_node.value):
            return updated_node.with_changes(value=self.replacement)
        return updated_node


class _Fill(cst.CSTTransformer):
    def __init__(self, elements: list[cst.Element]) -> None:
        self.elements = elements

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.List:
        if updated_node.elements:
            return updated_node
        # The pattern is a tuple `(IsAuthenticated,)`: a list needs no trailing comma.
        return updated_node.with_changes(
            elements=[e.with_changes(comma=cst.MaybeSentinel.DEFAULT) for e in self.elements]
        )

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.Tuple:
        if updated_node.elements:
            return updated_node
        return updated_node.with_changes(elements=[e.with_changes(comma=cst.Comma()) for e in self.elements])
