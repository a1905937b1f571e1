"""TEN030 uuid-bound-to-text-identifier: a UUID is bound where PostgreSQL expects text.

## What it does
Checks `cursor.execute(sql, params)` (and `executemany`, `raw`, `RawSQL`) whose SQL reads
the catalog's text identifiers (`information_schema`, `pg_catalog`, `pg_namespace`, ...) or
calls `set_config(...)`, and reports a bound parameter that is a UUID: a variable annotated
`uuid.UUID`, assigned from `uuid.uuid4()`/`UUID(...)`, or the tenant id itself
(`tenant_id`, `user.tenant_id`: the configured `tenant_field` / `user_tenant_attr`), when
neither `str(...)` wraps it nor a `::text` cast follows its placeholder.

## Why is this bad?
psycopg binds a Python `uuid.UUID` as PostgreSQL `uuid`. Catalog columns are
`sql_identifier`/`name`, and `set_config()` takes `text`, so the query fails at run time with
`operator does not exist: information_schema.sql_identifier = uuid` (the seed's
"PostgreSQL UUID Type Mismatch Errors"), usually only in production, where tenant ids are
real UUIDs.

## Example
```python
def tenant_schema_exists(tenant_id: uuid.UUID, table_name: str) -> bool:
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        [tenant_id, table_name],
    )
```

## Use instead
```python
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        [str(tenant_id), table_name],
    )
```

## Fix safety
`scaffold fix --select TEN030` wraps the bound value in `str()`. Safe: the SQL compares text
with text afterwards, which is what the query meant.

## References
- [PostgreSQL: The Information Schema, data types](https://www.postgresql.org/docs/current/infoschema-datatypes.html)
- [psycopg: Adapting basic Python types (UUID)](https://www.psycopg.org/psycopg3/docs/basic/adapt.html#uuid-adaptation)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import (
    FileContext,
    iter_scopes,
    last_assignment,
    params_argument,
    sql_argument,
    sql_text,
    walk_scope,
)

TEXT_CONTEXT = re.compile(
    r"information_schema|pg_catalog|pg_namespace|pg_tables|pg_class|pg_roles|pg_database|set_config\s*\(",
    re.IGNORECASE,
)
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]+)\))?s")
TEXT_CAST = re.compile(
    r"^\s*(::\s*(text|varchar|name|character\s+varying|regnamespace)\b|\)\s*::\s*text)", re.IGNORECASE
)
UUID_CALLS = {"uuid.uuid1", "uuid.uuid3", "uuid.uuid4", "uuid.uuid5", "uuid.UUID"}


def _annotation_is_uuid(ctx: FileContext, ann: ast.AST | None) -> bool:
    if ann is None:
        return False
    for node in ast.walk(ann):
        if isinstance(node, (ast.Name, ast.Attribute)) and ctx.qualname(node) == "uuid.UUID":
            return True
    return False


def uuid_reason(ctx: FileContext, scope: ast.AST, expr: ast.AST, line: int) -> str | None:
    """Why ``expr`` is a UUID, or None when it is not (known to be)."""
    tenant_names = {ctx.settings.tenant_field, ctx.settings.user_tenant_attr}
    if isinstance(expr, ast.Name):
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = scope.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                if arg.arg == expr.id:
                    if _annotation_is_uuid(ctx, arg.annotation):
                        return f"{expr.id} is annotated uuid.UUID"
                    if arg.annotation is not None:
                        return None  # annotated as something else (str, ...)
        value = last_assignment(scope, expr.id, line)
        if value is not None:
            if isinstance(value, ast.Call) and ctx.qualname(value.func) in UUID_CALLS:
                return f"{expr.id} is a uuid.UUID"
            if isinstance(value, ast.Call) and ctx.qualname(value.func) == "str":
                return None
            if isinstance(value, ast.Attribute) and value.attr in tenant_names:
                return f"{expr.id} holds .{value.attr}, a UUID"
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "getattr"
            ):
                if (
                    len(value.args) >= 2
                    and isinstance(value.args[1], ast.Constant)
                    and value.args[1].value in tenant_names
                ):
                    return f"{expr.id} holds .{value.args[1].value}, a UUID"
            if not isinstance(value, ast.Name):
                return None
        if expr.id in tenant_names:
            return f"{expr.id} is the tenant id, a UUID"
        return None
    if isinstance(expr, ast.Attribute) and expr.attr in tenant_names:
        return f".{expr.attr} is the tenant id, a UUID"
    if isinstance(expr, ast.Call) and ctx.qualname(expr.func) in UUID_CALLS:
        return "a uuid.UUID"
    return None


def check(ctx: FileContext) -> Iterator[Finding]:
    for symbol, scope in iter_scopes(ctx.tree):
        for node in walk_scope(scope):
            if not isinstance(node, ast.Call):
                continue
            text = sql_text(sql_argument(node), scope, ctx.tree)
            if text is None or not TEXT_CONTEXT.search(text):
                continue
            params = params_argument(node)
            holders = list(PLACEHOLDER.finditer(text))
            bound: list[tuple[ast.expr, bool]] = []  # (value, its placeholder is cast to text)
            if isinstance(params, (ast.List, ast.Tuple)):
                for i, el in enumerate(params.elts):
                    bound.append((el, i < len(holders) and bool(TEXT_CAST.match(text[holders[i].end() :]))))
            elif isinstance(params, ast.Dict):  # %(name)s placeholders
                for key, el in zip(params.keys, params.values, strict=False):
                    if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                        continue
                    named = [h for h in holders if h.group("name") == key.value]
                    cast = bool(named) and all(TEXT_CAST.match(text[h.end() :]) for h in named)
                    bound.append((el, cast))
            for el, cast in bound:
                if cast:
                    continue
                reason = uuid_reason(ctx, scope, el, node.lineno)
                if reason is None:
                    continue
                shown = ast.unparse(el)
                yield ctx.finding(
                    "TEN030",
                    el,
                    f"`{shown}` is bound as uuid where PostgreSQL compares text identifiers "
                    f"({reason}); wrap it in str() or cast the placeholder ::text"
                    + (f" in {symbol}()" if symbol else ""),
                    symbol,
                )


rule = register(
    Rule(
        code="TEN030",
        name="uuid-bound-to-text-identifier",
        summary="A UUID-typed value bound where information_schema (or another text identifier) is compared without str() or ::text",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(
            b"information_schema",
            b"pg_catalog",
            b"pg_namespace",
            b"pg_tables",
            b"pg_class",
            b"set_config",
        ),
    )
)
