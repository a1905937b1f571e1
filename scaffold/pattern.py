"""The secure tenant pattern, rendered from the module template's ``_macros/secure.jinja``.

This is the codemods' view of the one source of the pattern; the copier template imports
the same macros, so a generated ViewSet and a rewritten one have the same shape.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from scaffold.templates import template_path

IMPORTS: dict[str, tuple[str, str]] = {
    "PermissionDenied": ("rest_framework.exceptions", "PermissionDenied"),
    "IsAuthenticated": ("rest_framework.permissions", "IsAuthenticated"),
}


@functools.lru_cache(maxsize=1)
def _macros() -> Any:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path("module"))),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("_macros/secure.jinja").module


def tenant_guard(user_tenant_attr: str = "tenant_id") -> str:
    return str(_macros().tenant_guard(user_tenant_attr)) + "\n"


def tenant_filter(queryset_expr: str, tenant_field: str = "tenant_id") -> str:
    return str(_macros().tenant_filter(queryset_expr, tenant_field))


def get_queryset(
    queryset_expr: str, tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id"
) -> str:
    return str(_macros().get_queryset(queryset_expr, tenant_field, user_tenant_attr)) + "\n"


def perform_create(tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id") -> str:
    return str(_macros().perform_create(tenant_field, user_tenant_attr)) + "\n"


def perform_update(tenant_field: str = "tenant_id", user_tenant_attr: str = "tenant_id") -> str:
    return str(_macros().perform_update(tenant_field, user_tenant_attr)) + "\n"


def permission_classes() -> str:
    return str(_macros().permission_classes()) + "\n"


def context_hooks(user_tenant_attr: str = "tenant_id") -> str:
    return str(_macros().context_hooks(user_tenant_attr)) + "\n"
