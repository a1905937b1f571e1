"""Stamp the requesting user's tenant on objects a DRF view creates.

Without it, ``serializer.save()`` stores whatever tenant the request body carries (or
none), so a user can create rows in another tenant. The codemod adds the pattern's
``perform_create`` where the view creates and none exists, and in an existing
``perform_create`` (or a ``create`` that saves directly) inserts the tenant guard and
passes ``<tenant_field>=tenant_id`` to every ``serializer.save()``, replacing a tenant
taken from the request. Saves with ``**kwargs`` are reported for manual review.

Reference: ``templates/module/_macros/secure.jinja`` (``perform_create``).
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.codemod import SkipFile

from codemods._registry import register
from codemods._viewset import (
    FunctionScopeTransformer,
    ViewsetCodemod,
    _body,
    dotted,
    insert_guard,
    insert_method,
    replace_method,
)
from scaffold import pattern
from scaffold.viewsets import Action, ActionKind, ViewPlan


@register
class StampTenantOnCreate(ViewsetCodemod):
    DESCRIPTION = "Stamp the user's tenant in perform_create/create of DRF views that create tenant rows."
    KIND: ClassVar[ActionKind] = "stamp_create"
    HOOK: ClassVar[str] = "perform_create"

    def render(self) -> str:
        return pattern.perform_create(self.settings.tenant_field, self.settings.user_tenant_attr)

    def rewrite(self, cls: cst.ClassDef, plan: ViewPlan, action: Action) -> cst.ClassDef:
        rendered = self.render()
        if action.method == self.HOOK and not action.steps:
            self.need_import("PermissionDenied")
            methods = {s.name.value for s in _body(cls) if isinstance(s, cst.FunctionDef)}
            after = next(
                (m for m in ("perform_create", "get_queryset") if m in methods and m != self.HOOK), None
            )
            return insert_method(cls, self.method(rendered), after=after)
        stamp = _save_arg(cst.parse_module(rendered))

        def edit(fn: cst.FunctionDef) -> cst.FunctionDef:
            stamper = _Stamp(action.targets, action.steps, stamp, self.settings.tenant_field)
            fn = fn.with_changes(body=fn.body.visit(stamper))
            if stamper.seen != len(action.steps):
                raise SkipFile(f"{action.method}: save() calls differ between analysis and rewrite")
            return insert_guard(fn, self.guard()) if action.insert_guard else fn

        return replace_method(cls, action.method, edit)


def append_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    """``call`` with ``arg`` last, laid out like the arguments already there: one per line
    when they are, after a trailing comma (which stays trailing), closing bracket in place."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[arg])
    last = args[-1]
    # what separates two arguments here: the gap after the one before last, or after "("
    if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
        gap: cst.BaseParenthesizableWhitespace = args[-2].comma.whitespace_after
    else:
        gap = call.whitespace_before_args
    if not isinstance(gap, cst.ParenthesizedWhitespace):
        gap = cst.SimpleWhitespace(" ")
    if isinstance(last.comma, cst.Comma):  # trailing comma: the new argument takes it over
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=gap))
        added = arg.with_changes(comma=last.comma)
    else:  # save(a=1) / save(\n    a=1\n): whatever closed the last argument closes the new one
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=gap), whitespace_after_arg=cst.SimpleWhitespace("")
        )
        added = arg.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    return call.with_changes(args=[*args, added])


def _save_arg(module: cst.Module) -> cst.Arg:
    """The ``<tenant_field>=tenant_id`` argument of the pattern's ``serializer.save(...)``."""
    found: list[cst.Arg] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "save":
                found.extend(a for a in node.args if a.keyword is not None)

    module.visit(Finder())
    return found[0]


class _Stamp(FunctionScopeTransformer):
    def __init__(self, targets: list[str], steps: list[str], stamp: cst.Arg, tenant_field: str) -> None:
        super().__init__()
        self.targets = set(targets)
        self.steps = steps
        self.stamp = stamp
        self.tenant_field = tenant_field
        self.seen = 0

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if self.depth or dotted(updated_node.func) not in self.targets:
            return updated_node
        if self.seen >= len(self.steps):
            raise SkipFile("save() calls differ between analysis and rewrite")
        step = self.steps[self.seen]
        self.seen += 1
        if step == "add":
            return append_arg(updated_node, self.stamp)
        if step == "replace":
            args = [
                a.with_changes(value=self.stamp.value)
                if a.keyword is not None and a.keyword.value == self.tenant_field
                else a
                for a in updated_node.args
            ]
            return updated_node.with_changes(args=args)
        return updated_node
