"""One matcher table per transformer class, not per instance.

libcst's ``MatcherDecoratableTransformer.__init__`` (the base of every codemod command and
of libcst's own ``AddImportsVisitor`` / ``RemoveImportsVisitor``) looks through ``dir()`` of
each new instance, about a thousand attributes, for methods decorated with matchers
(``@m.visit``, ``@m.call_if_inside``): 27 ms per instance, and a rewrite builds a few per
file (Monta's ``--diff``: 17 instances, a fifth of the rewrite's CPU). Decorators are class
attributes, so the answer is the same for every instance of a class. The first instance of
each class is built by libcst's own code; a class found to have no matcher-decorated method
gets the same empty tables directly from then on. Should libcst's internals change (the
tables not where this expects them), every instance is built by libcst's code as before.
"""

from __future__ import annotations

from typing import Any

from libcst import CSTTransformer
from libcst.matchers import MatcherDecoratableTransformer

_TABLES = ("_extra_visit_funcs", "_extra_leave_funcs", "_MatcherDecoratableTransformer__matchers")
_PLAIN: set[type] = set()  # classes whose first instance had no matcher-decorated method
_libcst_init = MatcherDecoratableTransformer.__init__


def _init(self: Any) -> None:
    cls = type(self)
    if cls in _PLAIN:
        CSTTransformer.__init__(self)
        for name in _TABLES:
            setattr(self, name, {})
        return
    _libcst_init(self)
    if (
        all(hasattr(self, name) for name in _TABLES)
        and not self._extra_visit_funcs
        and not self._extra_leave_funcs
        and not self._matchers  # gathered now, once for the class
    ):
        _PLAIN.add(cls)


def install() -> None:
    """Build matcher tables once per class (idempotent)."""
    if MatcherDecoratableTransformer.__init__ is _libcst_init:
        MatcherDecoratableTransformer.__init__ = _init  # type: ignore[method-assign]
