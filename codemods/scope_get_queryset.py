"""Scope every queryset a DRF view's ``get_queryset`` returns to the requesting tenant.

A ``get_queryset`` that returns ``Model.objects.all()`` (or relies on a tenant-aware manager
or on nothing) leaks rows across tenants; a fallback branch returning all rows counts. The
codemod inserts the pattern's tenant guard at the top of the method (refusing a user with
no tenant) and filters each unfiltered return: ``X.objects.all()`` becomes
``X.objects.filter(<tenant_field>=tenant_id)``, other querysets get ``.filter(...)``
appended. ``.none()`` and already-scoped returns are left alone; dynamic querysets, lists
and raw SQL are reported for manual review.

Reference: ``templates/module/_macros/secure.jinja`` (``tenant_guard``, ``tenant_filter``).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import SkipFile

from scaffold.viewsets import Action, ViewPlan

from ._registry import register
from ._viewset import FunctionScopeTransformer, ViewsetCodemod, insert_guard, replace_method


class _ScopeReturns(FunctionScopeTransformer):
    def __init__(self, codemod: ScopeGetQueryset, steps: list[str]) -> None:
        super().__init__()
        self.codemod = codemod
        self.steps = steps
        self.seen = 0

    def leave_Return(self, original_node: cst.Return, updated_node: cst.Return) -> cst.Return:
        if self.depth:
            return updated_node
        if self.seen >= len(self.steps):
            raise SkipFile("get_queryset returns differ between analysis and rewrite")
        step = self.steps[self.seen]
        self.seen += 1
        value = updated_node.value
        if step == "keep" or value is None:
            return updated_node
        if step == "replace_all":
            if not (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "all"
            ):
                raise SkipFile("expected `.all()` in get_queryset return")
            base = value.func.value
            new = self.codemod.tenant_filter(base)
            # keep any parentheses around the original expression
            return updated_node.with_changes(value=new.with_changes(lpar=value.lpar, rpar=value.rpar))
        return updated_node.with_changes(value=self.codemod.tenant_filter(value))


@register
class ScopeGetQueryset(ViewsetCodemod):
    DESCRIPTION = "Guard and tenant-filter every queryset returned by a DRF view's get_queryset."
    KIND = "scope_get_queryset"

    def rewrite(self, cls: cst.ClassDef, plan: ViewPlan, action: Action) -> cst.ClassDef:
        def edit(fn: cst.FunctionDef) -> cst.FunctionDef:
            scoper = _ScopeReturns(self, action.steps)
            body = fn.body.visit(scoper)
            if scoper.seen != len(action.steps):
                raise SkipFile("get_queryset returns differ between analysis and rewrite")
            fn = fn.with_changes(body=body)
            return insert_guard(fn, self.guard()) if action.insert_guard else fn

        return replace_method(cls, "get_queryset", edit)
