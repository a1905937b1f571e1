"""One matcher table per visitor class, not per instance.

libcst's ``MatcherDecoratableTransformer.__init__`` (the base of every codemod command and of
libcst's own ``AddImportsVisitor`` / ``RemoveImportsVisitor``) and
``MatcherDecoratableVisitor.__init__`` (the base of the ``GatherImportsVisitor`` each import
pass builds) look through ``dir()`` of each new instance, about a thousand attributes, for
methods decorated with matchers (``@m.visit``, ``@m.call_if_inside``): 25 ms per instance,
and a rewrite builds a few per file (Monta's ``--diff``: 24 instances, a fifth of the
rewrite's CPU). Decorators are class attributes, so the answer is the same for every
instance of a class. The first instance of each class is built by libcst's own code; a class
found to have no matcher-decorated method gets the same empty tables directly from then on.
Should libcst's internals change (the tables not where this expects them), every instance is
built by libcst's code as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from libcst import CSTTransformer, CSTVisitor
from libcst.matchers import MatcherDecoratableTransformer, MatcherDecoratableVisitor

_PLAIN: set[type] = set()  # classes whose first instance had no matcher-decorated method


def _tables(matcher_class: type) -> tuple[str, ...]:
    return ("_extra_visit_funcs", "_extra_leave_funcs", f"_{matcher_class.__name__}__matchers")


def _once_per_class(matcher_class: type, plain_init: Callable[[Any], None]) -> Callable[[Any], None]:
    libcst_init: Callable[[Any], None] = matcher_class.__dict__["__init__"]
    tables = _tables(matcher_class)

    def init(self: Any) -> None:
        cls = type(self)
        if cls in _PLAIN:
            plain_init(self)
            for name in tables:
                setattr(self, name, {})
            return
        libcst_init(self)
        if (
            all(hasattr(self, name) for name in tables)
            and not self._extra_visit_funcs
            and not self._extra_leave_funcs
            and not self._matchers  # gathered now, once for the class
        ):
            _PLAIN.add(cls)

    init.__wrapped__ = libcst_init  # type: ignore[attr-defined]
    return init


def install() -> None:
    """Build matcher tables once per class (idempotent)."""
    pairs: tuple[tuple[type, Callable[[Any], None]], ...] = (
        (MatcherDecoratableTransformer, CSTTransformer.__init__),
        (MatcherDecoratableVisitor, CSTVisitor.__init__),
    )
    for matcher_class, plain_init in pairs:
        if not hasattr(matcher_class.__dict__["__init__"], "__wrapped__"):
            setattr(matcher_class, "__init__", _once_per_class(matcher_class, plain_init))  # noqa: B010 - mypy refuses the assignment
