"""What the view analysis needs to know about the project (a slice of ``[tool.scaffold]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Project facts the analysis reads; the rules' and migrate-viewsets' settings are this."""

    tenant_field: str = "tenant_id"
    user_tenant_attr: str = "tenant_id"
    # REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] as qualified names; None when unknown.
    default_permissions: tuple[str, ...] | None = None
    # [tool.scaffold] scoping_helpers: functions / methods (qualified, or a bare method name)
    # trusted to return the requesting user's tenant or a queryset scoped to it.
    scoping_helpers: tuple[str, ...] = ()
    # [tool.scaffold] membership_permissions: permission classes or view decorators that check
    # the user belongs to the tenant named in the URL (URL-scoped tenancy).
    membership_permissions: tuple[str, ...] = ()
    # [tool.scaffold] tenant_models / global_models: models that are the tenant itself, or
    # shared by every tenant; views over them are never scoped or rewritten.
    tenant_models: tuple[str, ...] = ()
    global_models: tuple[str, ...] = ()
    # [tool.scaffold] published_models: models whose row, looked up by what the URL carries
    # (an anchor, a share token, the slug and project it publishes), is its tenant's consent
    # to show the data it names: public by design. Their own rows are entry points (like
    # global ones); after a .get() of one, the URL kwargs it was looked up by scope.
    published_models: tuple[str, ...] = ()

    @property
    def tenant_relation(self) -> str:
        """``tenant_id`` -> ``tenant`` (the ForeignKey name behind an ``*_id`` column)."""
        f = self.tenant_field
        return f[:-3] if f.endswith("_id") else f


def matches(qualname: str, names: tuple[str, ...]) -> bool:
    """``qualname`` is one of ``names``: equal, or equal to a bare name's last part."""
    short = qualname.rpartition(".")[2]
    return any(n == qualname or ("." not in n and n == short) for n in names)
