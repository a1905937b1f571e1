"""TEN030: wrap a UUID bound against a text identifier in ``str()``.

``cursor.execute(sql, [tenant_id, name])`` -> ``cursor.execute(sql, [str(tenant_id), name])``
(and ``{"schema": tenant_id}`` -> ``{"schema": str(tenant_id)}`` for named placeholders).
Targets are the reported list elements; anything already wrapped is left alone.
"""

from __future__ import annotations

import libcst as cst

from ._registry import register
from ._targeted import TargetedCodemod


@register
class StrUuidParameter(TargetedCodemod):
    DESCRIPTION = "Wrap UUIDs bound against text identifiers (information_schema, set_config) in str()."
    CODE = "TEN030"

    def leave_Element(self, original_node: cst.Element, updated_node: cst.Element) -> cst.Element:
        return self._wrap(original_node, updated_node)

    def leave_DictElement(
        self, original_node: cst.DictElement, updated_node: cst.DictElement
    ) -> cst.DictElement:
        return self._wrap(original_node, updated_node)  # {"schema": tenant_id} for %(schema)s

    def _wrap(self, original_node, updated_node):
        if self.target(original_node.value) is None:
            return updated_node
        value = updated_node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "str":
            return updated_node
        return updated_node.with_changes(value=cst.Call(cst.Name("str"), [cst.Arg(value)]))
