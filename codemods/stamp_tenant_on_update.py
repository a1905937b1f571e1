"""Keep rows in the requesting user's tenant when a DRF view updates them.

A legacy serializer often leaves the tenant field writable (``fields = "__all__"``), so a
PUT or PATCH with another ``tenant_id`` in the body moves the row into another tenant. The
codemod adds the pattern's ``perform_update`` (tenant guard, ``serializer.save(<tenant_field>=
tenant_id)``) where the view updates and none exists, and in an existing ``perform_update``
(or an ``update`` that saves directly) passes the user's tenant to every ``serializer.save()``.

Reference: ``templates/module/_macros/secure.jinja`` (``perform_update``); checklist T23.
"""

from __future__ import annotations

from typing import ClassVar

from scaffold import pattern
from scaffold.viewsets import ActionKind

from ._registry import register
from .stamp_tenant_on_create import StampTenantOnCreate


@register
class StampTenantOnUpdate(StampTenantOnCreate):
    DESCRIPTION = "Keep updated rows in the user's tenant in perform_update/update of DRF views."
    KIND: ClassVar[ActionKind] = "stamp_update"
    HOOK: ClassVar[str] = "perform_update"

    def render(self) -> str:
        return pattern.perform_update(self.settings.tenant_field, self.settings.user_tenant_attr)
