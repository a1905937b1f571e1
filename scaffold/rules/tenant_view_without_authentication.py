"""TEN003 tenant-view-without-authentication: a tenant-data view allows unauthenticated access.

## What it does
Reports a ViewSet or generic view serving a tenant model whose effective
`permission_classes` (its own, a base class's, or `REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]`
from settings, which defaults to `AllowAny`) lets anyone in: empty, or `AllowAny` (also as
`AllowAny | IsAdminUser`, and next to `*BASE` elements that may be empty) with no other
permission in the list. The list ANDs its elements, so `[AllowAny, IsAdminUser]` is admins
only and is not reported. Views that override `get_permissions()` are trusted. `APIView`s
whose handlers (`get`, `post`, `@action`s) query a tenant model serve tenant data too.

## Why is this bad?
Without an authentication permission an anonymous request reaches `get_queryset()`:
`request.user` is `AnonymousUser`, which has no tenant, and every guard that reads the
user's tenant now depends on how it treats a missing attribute. Tenant data must require an
authenticated user first.

## Example
```python
class SupplierViewSet(viewsets.ModelViewSet):
    permission_classes = (AllowAny,)
```

## Use instead
```python
class SupplierViewSet(viewsets.ModelViewSet):
    permission_classes = (IsAuthenticated,)
```

## Fix safety
`scaffold fix --select TEN003` / `scaffold migrate-viewsets` adds the pattern's
`permission_classes = (IsAuthenticated,)` (a tuple: no mutable class attribute) where none
is declared, or puts `IsAuthenticated` in place of `AllowAny` in the existing list or tuple,
and adds the import. A view that was deliberately public on tenant data changes behaviour:
anonymous requests now get 401/403.

## References
- [DRF: Permissions](https://www.django-rest-framework.org/api-guide/permissions/)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext
from scaffold.rules._views import handler_data_views, lets_anyone_in, location, view_classes, view_plans


def check(ctx: FileContext) -> Iterator[Finding]:
    views = view_classes(ctx)
    seen = {an.cls.qualname for an in views}
    for view, model, perms in handler_data_views(ctx):
        # An APIView whose handlers query a tenant model serves tenant data too.
        if view.qualname in seen or perms is None:
            continue
        owner, node, names = perms
        if not lets_anyone_in(names):
            continue
        what = "AllowAny" if names else "no permission class"
        at: ast.AST = view.node
        source = "the REST_FRAMEWORK default"
        if owner is not None and node is not None:
            at, source = (node if owner.qualname == view.qualname else view.node), "permission_classes"
        yield ctx.finding(
            "TEN003",
            at,
            f"{view.name} serves tenant data ({model.name}, queried in its handlers) with {what} "
            f"({source}); require IsAuthenticated",
            view.name,
            fixable=False,
        )
    manual = {p.name for p in view_plans(ctx) if p.manual}  # migrate-viewsets leaves these to a human
    for an in views:
        if an.permissions is None:
            continue
        owner, node, names = an.permissions
        if not lets_anyone_in(names):
            continue
        what = "AllowAny" if names else "no permission class"
        where: ast.AST
        if owner is None or node is None:
            where, inherited = an.cls.node, ""
            source = "the REST_FRAMEWORK default"
        else:
            where, inherited = location(an, node, owner)
            source = "permission_classes"
        yield ctx.finding(
            "TEN003",
            where,
            f"{an.name} serves tenant data ({an.model.name if an.model else 'model'}) with {what} "
            f"({source}); require IsAuthenticated{inherited}",
            an.name,
            fixable=False if an.name in manual else None,
        )


rule = register(
    Rule(
        code="TEN003",
        name="tenant-view-without-authentication",
        summary="Tenant-data view with no authentication permission, or AllowAny",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"queryset", b"APIView", b"ViewSet", b"generics", b"(self, request"),
    )
)
