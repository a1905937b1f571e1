"""TEN004: refuse a user without a tenant at the top of ``get_queryset``.

For a ``get_queryset`` that already filters by tenant but never refuses (``filter(tenant_id=None)``
would match rows whose tenant is unset), it inserts the secure pattern's tenant guard,
rendered from ``templates/module/_macros/secure.jinja`` through :mod:`scaffold.pattern`::

    tenant_id = getattr(self.request.user, "tenant_id", None)
    if not tenant_id:
        raise PermissionDenied("User is not associated with a tenant.")

after the docstring, importing ``PermissionDenied`` from ``rest_framework.exceptions``.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from scaffold import pattern

from ._registry import register
from ._targeted import TargetedCodemod, Targets


@register
class TenantGuardInGetQueryset(TargetedCodemod):
    DESCRIPTION = "Insert the secure pattern's tenant guard at the top of get_queryset()."
    CODE = "TEN004"

    def __init__(
        self, context: CodemodContext, targets: Targets, user_tenant_attr: str = "tenant_id"
    ) -> None:
        super().__init__(context, targets)
        self.attr = user_tenant_attr

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        if self.target(original_node) is None or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        guard = list(cst.parse_module(pattern.tenant_guard(self.attr)).body)
        body = list(updated_node.body.body)
        first = body[0] if body else None
        docstring = (
            isinstance(first, cst.SimpleStatementLine)
            and len(first.body) == 1
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        )
        at = 1 if docstring else 0
        AddImportsVisitor.add_needed_import(self.context, "rest_framework.exceptions", "PermissionDenied")
        return updated_node.with_changes(
            body=updated_node.body.with_changes(body=[*body[:at], *guard, *body[at:]])
        )
