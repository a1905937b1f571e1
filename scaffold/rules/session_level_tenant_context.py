"""TEN050 session-level-tenant-context: the tenant context is set for the whole database session.

## What it does
Reports SQL run through `cursor.execute(...)` that sets the tenant setting (the configured
`tenant_setting`, or any custom setting whose name mentions `tenant`) at session level:
`SET app.current_tenant_id = ...`, `SET SESSION ...`, or `set_config(..., false)`.
`SET LOCAL` and `set_config(..., true)` are transaction-local and are not reported.

## Why is this bad?
A session-level setting outlives the request. With persistent connections
(`CONN_MAX_AGE`), PgBouncer or any pool, the next request served by the same connection
(maybe another tenant's, maybe an anonymous one) runs with this tenant's context: the seed's
"Database Connection Context Errors". A transaction-local setting dies with the
transaction, so it can never leak.

## Example
```python
def use_tenant_schema(cursor, tenant_id):
    cursor.execute(f"SET app.current_tenant_id = '{tenant_id}'")
```

## Use instead
```python
from tenancy import set_tenant_context


def use_tenant_schema(cursor, tenant_id):
    set_tenant_context(tenant_id)  # set_config(..., true), parameter-bound, inside the request transaction
```

## Fix safety
`scaffold fix --select TEN050` replaces the statement with a call to the tenancy core's
`set_tenant_context(...)` (imported from the configured `tenancy_module`) when the tenant
value can be read off the statement. The context then lasts for the current transaction
only: code that relied on it surviving a commit must run in one transaction
(`transaction.atomic()` or the generated views' per-request transaction).

## References
- [PostgreSQL: SET (SESSION vs LOCAL)](https://www.postgresql.org/docs/current/sql-set.html)
- [PostgreSQL: set_config(setting_name, new_value, is_local)](https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SET)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext, iter_scopes, sql_argument, sql_text, walk_scope

SET_STMT = re.compile(
    r"\bSET\s+(?P<session>SESSION\s+)?(?!LOCAL\b)(?P<name>[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\s*(=|\bTO\b)",
    re.IGNORECASE,
)
SET_CONFIG = re.compile(
    r"set_config\s*\(\s*(?P<name>'[^']*'|%s|%\([^)]*\)s|\{\})\s*,\s*(?P<value>[^,]+?)\s*,\s*(?P<local>false|true|%s|\{\})\s*\)",
    re.IGNORECASE,
)


def is_tenant_setting(ctx: FileContext, name: str) -> bool:
    name = name.strip("'\"").lower()
    return (
        name == ctx.settings.tenant_setting
        or "tenant" in name
        or name in ("%s", "{}")
        or name.startswith("%(")
    )


def session_level(ctx: FileContext, text: str) -> str | None:
    """A description of the session-level tenant setting in ``text``, or None."""
    for m in SET_STMT.finditer(text):
        if is_tenant_setting(ctx, m.group("name")):
            return f"`SET {m.group('name')}` (session level)"
    for m in SET_CONFIG.finditer(text):
        if m.group("local").lower() == "false" and is_tenant_setting(ctx, m.group("name")):
            return "`set_config(..., false)` (session level)"
    return None


def check(ctx: FileContext) -> Iterator[Finding]:
    for symbol, scope in iter_scopes(ctx.tree):
        for node in walk_scope(scope):
            if not isinstance(node, ast.Call):
                continue
            text = sql_text(sql_argument(node), scope, ctx.tree)
            if not text:
                continue
            what = session_level(ctx, text)
            if what is None:
                continue
            where = f"{symbol}() sets" if symbol else "sets"
            yield ctx.finding(
                "TEN050",
                node,
                f"{where} the tenant context with {what}: it outlives the transaction and leaks to the "
                f"next request on a pooled connection; use set_tenant_context() (set_config(..., true))",
                symbol,
            )


rule = register(
    Rule(
        code="TEN050",
        name="session-level-tenant-context",
        summary="Tenant context set at session level (SET app..., set_config(..., false)), which leaks on pooled or reused connections",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"execute(",),
    )
)
