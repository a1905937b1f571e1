"""TEN002 manager-only-tenant-scoping: a view relies only on a tenant-aware manager or implicit context.

## What it does
Reports a tenant-data view whose queryset is "scoped" only by a tenant-aware manager
(`objects = TenantManager()`) or by an implicit, thread-local tenant
(`filter(tenant_id=get_current_tenant())`), with no explicit filter on the requesting
user's tenant. It fires even when the manager fails closed; when the manager returns every
row, TEN001 fires as well.

## Why is this bad?
The view's security then depends on something far away: the manager's implementation, the
middleware that fills a thread-local, and the database context having been set on this
connection. The seed's "ViewSet Tenant Filtering Inconsistencies" is exactly this: a
`TenantManager` that "lets RLS filter", RLS context that was never set, and a ViewSet that
returned every tenant's suppliers. An explicit filter keeps the view correct on its own.

## Example
```python
class Supplier(models.Model):
    tenant_id = models.UUIDField()
    objects = TenantManager()


class SupplierViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        return Supplier.objects.all()  # Trusts TenantManager
```

## Use instead
```python
class SupplierViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        tenant_id = getattr(self.request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("User is not associated with a tenant.")
        return Supplier.objects.filter(tenant_id=tenant_id)
```

## Fix safety
Fixed by `scaffold fix --select TEN002` / `scaffold migrate-viewsets`, which add the explicit
filter from the shared secure pattern, when the manager returns every row or the tenant is
implicit. The manager is left in place (defence in depth). A manager that fails closed (its
`get_queryset` filters by the tenant) leaks nothing: the finding is advice and the view is
not rewritten.

## References
- Backend troubleshooting guide: "Don't rely solely on TenantManager automatic filtering"
- [Django: Managers](https://docs.djangoproject.com/en/5.2/topics/db/managers/)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.analysis import Scope
from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext
from scaffold.rules._views import location, view_classes


def check(ctx: FileContext) -> Iterator[Finding]:
    tf = ctx.settings.tenant_field
    for an in view_classes(ctx):
        for ret in an.returns:
            if ret.scope not in (Scope.MANAGER_OPEN, Scope.MANAGER_CLOSED, Scope.IMPLICIT):
                continue
            node, inherited = location(an, ret.node, ret.owner)
            model = ret.model.name if ret.model else "the model"
            if ret.scope is Scope.IMPLICIT:
                what = "an implicit (thread-local) tenant"
            else:
                what = f"{model}'s manager {ret.manager}" if ret.manager else f"{model}'s tenant manager"
            where = f"{an.name}.get_queryset" if an.get_queryset is not None else f"{an.name}.queryset"
            yield ctx.finding(
                "TEN002",
                node,
                f"{where} relies only on {what} for tenant scoping; filter by {tf} explicitly{inherited}",
                an.name,
                # a manager that fails closed leaks nothing: advice, not rewritten
                fixable=False if ret.scope is Scope.MANAGER_CLOSED else None,
            )


rule = register(
    Rule(
        code="TEN002",
        name="manager-only-tenant-scoping",
        summary="Scoping that relies only on a tenant-aware manager or implicit context, with no explicit filter",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"queryset",),
    )
)
