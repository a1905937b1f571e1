"""The PostgreSQL RLS policy SQL, rendered from the module template's ``_macros/rls.jinja``.

The copier template's RLS migration imports the same macros, so generated migrations,
tests and benchmarks all use one policy. Identifiers and the setting name are validated
here (allowlists), because they are written into SQL text.
"""

from __future__ import annotations

import re

from scaffold.config import TENANT_SETTING
from scaffold.errors import UsageError
from scaffold.templates import macros

# A PostgreSQL identifier scaffold will quote: lower-case, no quotes, at most 63 bytes.
SQL_IDENT = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def policy_name_for(table: str) -> str:
    """The default policy name of ``table`` (kept within PostgreSQL's 63-byte limit)."""
    return f"{table[:46]}_tenant_isolation"


def _check(table: str, tenant_field: str, setting: str, policy_name: str) -> None:
    for what, value in (("table", table), ("tenant field", tenant_field), ("policy name", policy_name)):
        if not SQL_IDENT.match(value):
            raise UsageError(f"{what} {value!r} is not a plain lower-case SQL identifier; rename it")
    if not TENANT_SETTING.match(setting):
        raise UsageError(
            f"tenant setting {setting!r} is not allowed: expected a lower-case custom setting "
            "like 'app.current_tenant_id'; fix tenant_setting in [tool.scaffold]"
        )


def enable_rls_sql(
    table: str,
    tenant_field: str = "tenant_id",
    setting: str = "app.current_tenant_id",
    policy_name: str | None = None,
) -> str:
    """ENABLE + FORCE row-level security on ``table`` and create its tenant policy."""
    policy_name = policy_name or policy_name_for(table)
    _check(table, tenant_field, setting, policy_name)
    return str(macros("rls").enable_rls(table, tenant_field, setting, policy_name)) + "\n"


def disable_rls_sql(
    table: str,
    tenant_field: str = "tenant_id",
    setting: str = "app.current_tenant_id",
    policy_name: str | None = None,
) -> str:
    """The reverse of :func:`enable_rls_sql`."""
    policy_name = policy_name or policy_name_for(table)
    _check(table, tenant_field, setting, policy_name)
    return str(macros("rls").disable_rls(table, tenant_field, setting, policy_name)) + "\n"
