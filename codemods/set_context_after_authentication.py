"""TEN040: set the tenant context after successful authentication.

Before each reported ``return (user, auth)`` of a DRF authentication class's
``authenticate()`` it inserts::

    if getattr(user, "tenant_id", None):
        set_tenant_context(user.tenant_id)

with ``set_tenant_context`` imported from the configured tenancy core. Returns of another
shape are left for manual review.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from ._registry import register
from ._targeted import TargetedCodemod, Targets


@register
class SetContextAfterAuthentication(TargetedCodemod):
    DESCRIPTION = (
        "Call the tenancy core's set_tenant_context() before an authentication class returns a user."
    )
    CODE = "TEN040"

    def __init__(
        self,
        context: CodemodContext,
        targets: Targets,
        tenancy_module: str,
        user_tenant_attr: str = "tenant_id",
    ) -> None:
        super().__init__(context, targets)
        self.tenancy_module = tenancy_module
        self.attr = user_tenant_attr

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        if len(original_node.body) != 1 or not isinstance(original_node.body[0], cst.Return):
            return updated_node
        payload = self.target(original_node.body[0])
        if payload is None:
            return updated_node
        user = payload["user"]
        guard = cst.parse_statement(
            f'if getattr({user}, "{self.attr}", None):\n    set_tenant_context({user}.{self.attr})\n'
        )
        AddImportsVisitor.add_needed_import(self.context, self.tenancy_module, "set_tenant_context")
        # The comment lines above the return stay above it; the guard goes first.
        guard = guard.with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([guard, updated_node.with_changes(leading_lines=())])
