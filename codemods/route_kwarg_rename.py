"""TEN010: rename a route kwarg to the name the view accepts (``<str:session_id>`` -> ``<str:pk>``).

Only the route string of the reported ``path()`` / ``re_path()`` changes; quotes, prefix and
everything around are kept.
"""

from __future__ import annotations

import re

import libcst as cst

from ._registry import register
from ._targeted import TargetedCodemod


def rename_in_route(route_literal: str, old: str, new: str) -> str:
    """Rename the kwarg in a route string literal's source (``"<str:session_id>/"``)."""
    out = re.sub(rf"<((?:[A-Za-z_][A-Za-z0-9_]*:)?){re.escape(old)}>", rf"<\g<1>{new}>", route_literal)
    return re.sub(rf"\(\?P<{re.escape(old)}>", f"(?P<{new}>", out)


@register
class RouteKwargRename(TargetedCodemod):
    DESCRIPTION = "Rename URL route kwargs to the name the view accepts."
    CODE = "TEN010"

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        payload = self.target(original_node)
        if payload is None or not updated_node.args:
            return updated_node
        first = updated_node.args[0].value
        if not isinstance(first, cst.SimpleString):
            return updated_node
        new_value = rename_in_route(first.value, payload["old"], payload["new"])
        args = list(updated_node.args)
        args[0] = args[0].with_changes(value=first.with_changes(value=new_value))
        return updated_node.with_changes(args=args)
