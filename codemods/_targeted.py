"""Base of the audit-fix codemods: edit the nodes an audit rule reported, found by position.

The audit rule (stdlib ``ast``) decides *what* is wrong and where; the codemod receives
those targets as ``{(line, column): payload}`` (1-based line, 0-based character column,
as libcst's ``PositionProvider`` reports them) and rewrites exactly those nodes with libcst,
re-checking each node's shape first. A target whose node is not found or not of the
expected shape is reported with ``self.warn`` and left alone; imports are added only
through ``AddImportsVisitor``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider

Targets = dict[tuple[int, int], Any]


class TargetedCodemod(VisitorBasedCodemodCommand):
    """Subclasses set ``CODE`` (the audit rule they fix) and edit nodes in ``leave_*``."""

    CODE: ClassVar[str]
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, context: CodemodContext, targets: Targets) -> None:
        super().__init__(context)
        self.targets = dict(targets)
        self.done: set[tuple[int, int]] = set()

    def target(self, node: Any) -> Any | None:
        """The payload when ``node`` starts at a target position (consumed once)."""
        pos = self.get_metadata(PositionProvider, node).start
        key = (pos.line, pos.column)
        if key in self.targets and key not in self.done:
            self.done.add(key)
            return self.targets[key]
        return None

    def missed(self) -> list[tuple[int, int]]:
        return sorted(set(self.targets) - self.done)
