"""TEN020: register an API module's path in the onboarding middleware's ``EXEMPT_PATHS``.

Runs on the middleware module (not on the urls module where the audit reports the mount):
it appends each path with :func:`scaffold.registration.add_to_sequence`, which keeps the
list's layout, quotes and comments and does nothing when the path is already there.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand

from scaffold.errors import SourceError
from scaffold.registration import add_to_sequence

from ._registry import register


@register
class ExemptOnboardingPath(VisitorBasedCodemodCommand):
    DESCRIPTION = "Append API module paths to the onboarding middleware's EXEMPT_PATHS."
    CODE = "TEN020"

    def __init__(self, context: CodemodContext, paths: list[str], class_name: str | None = None) -> None:
        super().__init__(context)
        self.paths = list(paths)
        self.class_name = class_name or None

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        source = tree.code
        filename = self.context.filename or "<middleware>"
        try:
            for path in self.paths:
                source = add_to_sequence(
                    source, "EXEMPT_PATHS", path, class_name=self.class_name, filename=filename
                )
        except SourceError as exc:
            raise SkipFile(str(exc)) from exc
        return tree if source == tree.code else cst.parse_module(source)
