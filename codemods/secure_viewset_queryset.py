"""Add the secure ``get_queryset`` to a DRF view that only declares ``queryset = X.objects.all()``.

A class attribute queryset is evaluated once per process and never filtered by tenant, so
every tenant's rows are listed and retrievable. The codemod adds the pattern's
``get_queryset`` (tenant guard, then an explicit ``.filter(<tenant_field>=tenant_id)``) and
keeps the attribute (routers derive their basename from it).

Reference: ``templates/module/_macros/secure.jinja`` (``get_queryset``), README
"scaffold migrate-viewsets".
"""

from __future__ import annotations

import libcst as cst

from scaffold import pattern
from scaffold.viewsets import Action, ViewPlan

from ._registry import register
from ._viewset import ViewsetCodemod, insert_method


@register
class SecureViewsetQueryset(ViewsetCodemod):
    DESCRIPTION = "Add a tenant-scoped get_queryset to DRF views that only set `queryset = X.objects.all()`."
    KIND = "add_get_queryset"

    def rewrite(self, cls: cst.ClassDef, plan: ViewPlan, action: Action) -> cst.ClassDef:
        self.need_import("PermissionDenied")
        fn = self.method(
            pattern.get_queryset(
                action.queryset_expr, self.settings.tenant_field, self.settings.user_tenant_attr
            )
        )
        return insert_method(cls, fn)
