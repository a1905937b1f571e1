"""TEN050 session-level-tenant-context: the tenant context is set for the whole database session.

## What it does
Reports SQL run through `cursor.execute(...)` that sets the tenant setting (the configured
`tenant_setting`, or any custom setting whose name mentions `tenant`) at session level:
`SET app.current_tenant_id = ...`, `SET SESSION ...`, or `set_config(..., false)`.
`SET LOCAL` and `set_config(..., true)` are transaction-local and are not reported as
session-level; but when such a transaction-local setting is made where no transaction is
guaranteed (the function neither runs in nor checks for `transaction.atomic()`, and the
settings leave `ATOMIC_REQUESTS` off), it is reported too: under autocommit the context
ends with the statement that set it. Likewise a middleware (a class with `get_response`)
that calls `set_tenant_context(...)` without opening `transaction.atomic()` itself:
`ATOMIC_REQUESTS` wraps only the view, so the context is gone before the view's queries.

## Why is this bad?
A session-level setting outlives the request. With persistent connections
(`CONN_MAX_AGE`), PgBouncer or any pool, the next request served by the same connection
(maybe another tenant's, maybe an anonymous one) runs with this tenant's context: the seed's
"Database Connection Context Errors". A transaction-local setting dies with the
transaction, so it can never leak; but outside a transaction it dies at once, and the
request runs with no tenant (empty results under RLS).

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
(`transaction.atomic()` or the generated views' per-request transaction). For a
transaction-local setting with no transaction, the fix turns on `ATOMIC_REQUESTS` for the
default database (one statement appended after `DATABASES` in settings), so every request
runs in one transaction and the context lasts exactly as long as the request.

## References
- [PostgreSQL: SET (SESSION vs LOCAL)](https://www.postgresql.org/docs/current/sql-set.html)
- [PostgreSQL: set_config(setting_name, new_value, is_local)](https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SET)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext, call_name, iter_scopes, sql_argument, sql_text, walk_scope

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


LOCAL_SET = re.compile(
    r"\bSET\s+LOCAL\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\s*(=|\bTO\b)", re.IGNORECASE
)
LOST_MARKER = "no transaction is guaranteed"


def transaction_local(ctx: FileContext, text: str) -> bool:
    """True when ``text`` sets the tenant (to a value, not '') for the current transaction."""
    if any(is_tenant_setting(ctx, m.group("name")) for m in LOCAL_SET.finditer(text)):
        return True
    return any(
        m.group("local").lower() == "true"
        and is_tenant_setting(ctx, m.group("name"))
        and m.group("value").strip() not in ("''", '""')
        for m in SET_CONFIG.finditer(text)
    )


def transaction_guaranteed(ctx: FileContext, scope: ast.AST) -> bool:
    """The function runs in, opens, or checks for a transaction (``atomic``, ``in_atomic_block``)."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    words = {"atomic", "in_atomic_block", "get_autocommit", "set_autocommit"}
    for node in ast.walk(scope):
        if isinstance(node, ast.Attribute) and node.attr in words:
            return True
        if isinstance(node, ast.Name) and node.id in words:
            return True
    return False


MIDDLEWARE_HOOKS = ("__call__", "process_request", "process_view", "__acall__")


def in_middleware(ctx: FileContext) -> Iterator[Finding]:
    """``set_tenant_context()`` called by a middleware that opens no transaction itself."""
    for cls in ctx.classes():
        methods = {f.name: f for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
        init = methods.get("__init__")
        if init is None or "get_response" not in {a.arg for a in init.args.args}:
            continue
        if any(transaction_guaranteed(ctx, fn) for fn in methods.values()):
            continue  # it opens (or checks for) a transaction around the request
        for name in MIDDLEWARE_HOOKS:
            fn = methods.get(name)
            if fn is None:
                continue
            for node in walk_scope(fn):
                if isinstance(node, ast.Call) and call_name(node) == "set_tenant_context":
                    yield ctx.finding(
                        "TEN050",
                        node,
                        f"{cls.name}.{name}() sets the tenant context in middleware, outside the view's "
                        f"transaction (ATOMIC_REQUESTS wraps only the view): the transaction-local context is "
                        f"gone before the view runs; set it after authentication, inside the request transaction",
                        cls.name,
                        fixable=False,
                    )


def check(ctx: FileContext) -> Iterator[Finding]:
    yield from in_middleware(ctx)
    for symbol, scope in iter_scopes(ctx.tree):
        for node in walk_scope(scope):
            if not isinstance(node, ast.Call):
                continue
            text = sql_text(sql_argument(node), scope, ctx.tree)
            if not text:
                continue
            what = session_level(ctx, text)
            if (
                what is None
                and ctx.settings.atomic_requests is False
                and transaction_local(ctx, text)
                and not transaction_guaranteed(ctx, scope)
            ):
                yield ctx.finding(
                    "TEN050",
                    node,
                    f"{symbol or 'this code'}() sets the tenant context transaction-locally but {LOST_MARKER} "
                    f"(ATOMIC_REQUESTS is off and it neither opens nor checks for transaction.atomic()): under "
                    f"autocommit the context is lost when this statement ends; set ATOMIC_REQUESTS = True",
                    symbol,
                )
                continue
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
        summary="Tenant context set at session level (SET app..., set_config(..., false)), which leaks on pooled or reused connections; or transaction-local where no transaction is guaranteed, which loses it",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"execute(", b"set_tenant_context("),
    )
)
