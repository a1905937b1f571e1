"""Write paths: where a view's creates and updates get their tenant, besides the view.

DRF views save through a serializer, and the serializer saves the model: the tenant can be
stamped in any of the three. This module says when it is stamped outside the view (so the
view needs no ``perform_create``): a serializer (or one of its project bases) whose
``create()`` / ``update()`` sets the tenant from the request's user, a serializer field for
the tenant with a server-side default (``HiddenField``), or a model whose ``save()`` sets it.
"""

from __future__ import annotations

import ast

from scaffold.analysis.lookup import Lookup, mro
from scaffold.analysis.scope import ClassRef
from scaffold.analysis.syntax import walk_function
from scaffold.index import dotted_name


def tenant_names(lookup: Lookup) -> set[str]:
    return {lookup.settings.tenant_field, lookup.settings.tenant_relation}


def _from_request(expr: ast.AST, helpers: dict[str, ast.AST] | None = None, depth: int = 0) -> bool:
    """The value comes from the request's user (``self.context["request"].user.organization``,
    ``request.user.tenant``, a helper given the request, a method of the class in ``helpers``
    that reads it: ``self.get_organization``)."""
    for node in ast.walk(expr):
        if (
            helpers
            and depth < 3
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and node.attr in helpers
            and _from_request(helpers[node.attr], helpers, depth + 1)
        ):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("user", "request"):
            return True
        if isinstance(node, ast.Name) and node.id in ("request", "user"):
            return True
        if isinstance(node, ast.Constant) and node.value == "request":
            return True
    return False


def _sets_tenant(
    fn: ast.AST, names: set[str], target: str, helpers: dict[str, ast.AST] | None = None
) -> bool:
    """``fn`` puts the tenant into ``target`` (``validated_data`` / ``self``) from the request."""
    for node in walk_function(fn):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                key = None
                if isinstance(t, ast.Subscript) and dotted_name(t.value) == target:
                    key = t.slice.value if isinstance(t.slice, ast.Constant) else None
                elif isinstance(t, ast.Attribute) and dotted_name(t.value) == target:
                    key = t.attr
                if key in names and (target == "self" or _from_request(node.value, helpers)):
                    return True
        elif isinstance(node, ast.Call):
            callee = dotted_name(node.func) or ""
            if callee in (f"{target}.update", f"{target}.setdefault") or callee.endswith(
                (".create", ".save")
            ):
                if any(k.arg in names and _from_request(k.value, helpers) for k in node.keywords):
                    return True
                if callee == f"{target}.setdefault" and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and first.value in names:
                        return True
    return False


def serializer_stamps(lookup: Lookup, serializer: ClassRef, method: str) -> bool:
    """The serializer (or a project base) stamps the tenant on ``create`` / ``update``."""
    names = tenant_names(lookup)
    classes = [c for c in mro(lookup.index, serializer) if isinstance(c, ClassRef)]
    helpers: dict[str, ast.AST] = {}
    for cls in reversed(classes):
        for stmt in cls.node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                helpers[stmt.name] = stmt
    for cls in classes:
        for name in names:
            value = cls.body_assign(name)
            if isinstance(value, ast.Call) and (dotted_name(value.func) or "").endswith("HiddenField"):
                return True  # tenant = HiddenField(default=CurrentTenantDefault())
        fn = cls.method(method)
        if fn is not None and _sets_tenant(fn, names, "validated_data", helpers):
            return True
        save = cls.method("save")
        if save is not None and _sets_tenant(save, names, "kwargs", helpers):
            return True
    return False


def model_stamps(lookup: Lookup, model: ClassRef) -> set[str] | None:
    """The relations the model's (or a project base's) ``save()`` takes the tenant from
    (``self.tenant_id = self.project.tenant_id``: ``{"project"}``; the current user: empty),
    or None when ``save()`` does not set the tenant."""
    names = tenant_names(lookup)
    names |= {f"{n}_id" for n in names}
    for cls in mro(lookup.index, model):
        if not isinstance(cls, ClassRef):
            continue
        save = cls.method("save")
        if save is None or not _sets_tenant(save, names, "self"):
            continue
        parents: set[str] = set()
        for node in walk_function(save):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and dotted_name(t.value) == "self" and t.attr in names
                for t in node.targets
            ):
                source = dotted_name(node.value) or ""
                if source.startswith("self.") and source.count(".") >= 2:
                    parents.add(source.split(".")[1])
        return parents
    return None
