"""The secure tenant pattern, rendered from the module template's ``_macros/secure.jinja``.

This is the codemods' view of the one source of the pattern; the copier template imports
the same macros, so a generated ViewSet and a rewritten one have the same shape.
"""

from __future__ import annotations

from scaffold.templates import macros

IMPORTS: dict[str, tuple[str, str]] = {
    "PermissionDenied": ("rest_framework.exceptions", "PermissionDenied"),
    "IsAuthenticated": ("rest_framework.permissions", "IsAuthenticated"),
}


def tenant_guard(user_tenant_attr: str = "tenant_id") -> str:
    return str(macros("secure").tenant_guard(user_tenant_attr)) + "\n"


def tenant_filter(queryset_expr: str, tenant_field: str = "tenant_id") -> str:
    return str(macros("secure").tenant_filter(queryset_expr, tenant_field))


def get_queryset(
    queryset_expr: str, tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id"
) -> str:
    return str(macros("secure").get_queryset(queryset_expr, tenant_field, user_tenant_attr)) + "\n"


def perform_create(tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id") -> str:
    return str(macros("secure").perform_create(tenant_field, user_tenant_attr)) + "\n"


def perform_update(tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id") -> str:
    return str(macros("secure").perform_update(tenant_field, user_tenant_attr)) + "\n"


def permission_classes() -> str:
    return str(macros("secure").permission_classes()) + "\n"


def context_hooks(user_tenant_attr: str = "tenant_id") -> str:
    return str(macros("secure").context_hooks(user_tenant_attr)) + "\n"


def mixin_hooks() -> str:
    """``dispatch``/``initial`` of the tenancy core's ``TenantScopedViewMixin``: the same
    macro as :func:`context_hooks`, reading the mixin's ``user_tenant_attr`` and
    ``tenant_database`` attributes (``scaffold init`` renders it into the core)."""
    return str(macros("secure").transaction_hooks("self.user_tenant_attr", "self.tenant_database")) + "\n"


def mixin_safety_hooks() -> str:
    """``check_permissions``/``get_parsers``/``perform_destroy`` of the mixin: the macro the
    generated ViewSets use (403 without a tenant, 400 for a too deeply nested body, 409 for a
    protected delete), reading the mixin's ``user_tenant_attr``."""
    return str(macros("secure").safety_hooks("self.user_tenant_attr")) + "\n"


def parser_guard() -> str:
    """The module-level ``NestingSafeParser`` class :func:`mixin_safety_hooks` uses."""
    return str(macros("secure").parser_guard()) + "\n"
