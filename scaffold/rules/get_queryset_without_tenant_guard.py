"""TEN004 get-queryset-without-tenant-guard: `get_queryset` does not refuse a user without a tenant.

## What it does
Reports a `get_queryset` (on the view or inherited from a project base class) of a
tenant-data view that never refuses a user who has no tenant: no `raise` (for example
`PermissionDenied`), no `.none()` fallback, and no helper or tenant permission class that
does either. Views scoped only by an owner filter (`user=self.request.user`) are exempt.

## Why is this bad?
`Model.objects.filter(tenant_id=None)` is `WHERE tenant_id IS NULL`: a user without a tenant
(a fresh sign-up, a staff account, `AnonymousUser`) sees every row whose tenant is unset,
and `perform_create` stamps `None` on the rows they create. Refusing explicitly turns a
silent leak into a 403.

## Example
```python
def get_queryset(self):
    return Supplier.objects.filter(tenant_id=self.request.user.tenant_id)
```

## Use instead
```python
def get_queryset(self):
    tenant_id = getattr(self.request.user, "tenant_id", None)
    if not tenant_id:
        raise PermissionDenied("User is not associated with a tenant.")
    return Supplier.objects.filter(tenant_id=tenant_id)
```

## Fix safety
`scaffold fix --select TEN004` / `scaffold migrate-viewsets` inserts the guard from the shared
secure pattern at the top of `get_queryset`. Users without a tenant get 403 afterwards.

## References
- [Django: filtering on None](https://docs.djangoproject.com/en/5.2/ref/models/querysets/#isnull)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.analysis import Scope
from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext
from scaffold.rules._views import location, view_classes


def check(ctx: FileContext) -> Iterator[Finding]:
    for an in view_classes(ctx):
        if an.get_queryset is None or an.refuses:
            continue
        scopes = {r.scope for r in an.returns} - {Scope.EMPTY, Scope.UNKNOWN}
        if not scopes or scopes == {Scope.OWNER}:
            continue
        owner, fn = an.get_queryset
        node, inherited = location(an, fn, owner)
        yield ctx.finding(
            "TEN004",
            node,
            f"{an.name}.get_queryset does not refuse a user without a tenant "
            f"(raise PermissionDenied when request.user.{ctx.settings.user_tenant_attr} is empty){inherited}",
            an.name,
        )


rule = register(
    Rule(
        code="TEN004",
        name="get-queryset-without-tenant-guard",
        summary="get_queryset that does not refuse a user without a tenant",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"queryset",),
    )
)
