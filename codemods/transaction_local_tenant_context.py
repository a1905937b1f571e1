"""TEN050 / TEN051: replace a session-level or string-formatted tenant ``SET`` with the core.

``cursor.execute(f"SET app.current_tenant_id = '{tenant_id}'")`` becomes
``set_tenant_context(tenant_id)``: transaction-local (``set_config(..., true)``) and
parameter-bound, imported from the configured tenancy core. Only whole expression
statements are replaced; the tenant value is read off the statement by the audit rule.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from ._registry import register
from ._targeted import TargetedCodemod, Targets

SQL_CALLS = {"execute", "executemany"}


@register
class TransactionLocalTenantContext(TargetedCodemod):
    DESCRIPTION = "Replace session-level / formatted tenant SETs with the core's set_tenant_context()."
    CODE = "TEN050"

    def __init__(self, context: CodemodContext, targets: Targets, tenancy_module: str) -> None:
        super().__init__(context, targets)
        self.tenancy_module = tenancy_module

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        if len(original_node.body) != 1 or not isinstance(original_node.body[0], cst.Expr):
            return updated_node
        call = original_node.body[0].value
        if not isinstance(call, cst.Call):
            return updated_node
        payload = self.target(call)
        if payload is None:
            return updated_node
        func = call.func
        name = (
            func.attr.value
            if isinstance(func, cst.Attribute)
            else func.value
            if isinstance(func, cst.Name)
            else ""
        )
        if name not in SQL_CALLS:
            return updated_node  # already rewritten (idempotent)
        AddImportsVisitor.add_needed_import(self.context, self.tenancy_module, "set_tenant_context")
        new_call = cst.parse_expression(f"set_tenant_context({payload['value']})")
        return updated_node.with_changes(body=[cst.Expr(new_call)])
