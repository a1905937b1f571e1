"""TEN051 tenant-id-in-sql-string: a tenant id is put into SQL by string formatting.

## What it does
Reports SQL passed to `cursor.execute(...)`, `executemany`, `Model.objects.raw(...)`,
`RawSQL(...)` or `.extra(...)` that is built with an f-string, `%` formatting, `.format()`
or `+` concatenation from a value that is (or holds) a tenant id: a name or attribute that
mentions `tenant`, or the configured `tenant_field` / `user_tenant_attr`.

## Why is this bad?
The tenant id decides which rows a user may see. Formatting it into SQL opens an injection
path at exactly that decision (a crafted value such as `x' ; SET app.current_tenant_id = 'victim`
switches tenants), defeats statement caching, and invites quoting bugs. Bound parameters
(`%s`) never have those problems.

## Example
```python
cursor.execute(f"SET app.current_tenant_id = '{tenant_id}'")
cursor.execute("SELECT * FROM crm_customer WHERE tenant_id = '%s'" % tenant_id)
```

## Use instead
```python
set_tenant_context(tenant_id)
cursor.execute("SELECT * FROM crm_customer WHERE tenant_id = %s", [tenant_id])
```

## Fix safety
`scaffold fix --select TEN051` rewrites a formatted statement that sets the tenant context
into the tenancy core's parameter-bound `set_tenant_context(...)`. Other formatted queries are
reported for manual review: turning them into bound parameters changes the SQL text.

## References
- [psycopg: Passing parameters to SQL queries](https://www.psycopg.org/psycopg3/docs/basic/params.html)
- [OWASP: SQL Injection Prevention](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext, iter_scopes, sql_argument, sql_expression, walk_scope


def formatted_values(expr: ast.AST | None) -> tuple[str, list[ast.AST]] | None:
    """(how, interpolated expressions) when ``expr`` builds a string by formatting."""
    if isinstance(expr, ast.JoinedStr):
        return "an f-string", [v.value for v in expr.values if isinstance(v, ast.FormattedValue)]
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod) and _stringish(expr.left):
        right = expr.right
        return "% formatting", list(right.elts) if isinstance(right, ast.Tuple) else [right]
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "format"
        and _stringish(expr.func.value)
    ):
        return ".format()", [*expr.args, *(k.value for k in expr.keywords)]
    if (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, ast.Add)
        and (_stringish(expr.left) or _stringish(expr.right))
    ):
        values: list[ast.AST] = []
        stack: list[ast.AST] = [expr]
        while stack:
            cur = stack.pop()
            if isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Add):
                stack += [cur.left, cur.right]
            elif not (isinstance(cur, ast.Constant) and isinstance(cur.value, str)):
                values.append(cur)
        return "string concatenation", values
    return None


def _stringish(expr: ast.AST) -> bool:
    return (
        (isinstance(expr, ast.Constant) and isinstance(expr.value, str))
        or isinstance(expr, ast.JoinedStr)
        or (
            isinstance(expr, ast.BinOp)
            and isinstance(expr.op, ast.Add)
            and (_stringish(expr.left) or _stringish(expr.right))
        )
    )


def mentions_tenant(ctx: FileContext, expr: ast.AST) -> str | None:
    names = {ctx.settings.tenant_field, ctx.settings.user_tenant_attr}
    for node in ast.walk(expr):
        label = (
            node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        )
        if label and ("tenant" in label.lower() or label in names):
            return ast.unparse(expr)
    return None


def check(ctx: FileContext) -> Iterator[Finding]:
    for symbol, scope in iter_scopes(ctx.tree):
        for node in walk_scope(scope):
            if not isinstance(node, ast.Call):
                continue
            sql = sql_argument(node)
            if sql is None:
                continue
            found = formatted_values(sql_expression(sql, scope))
            if found is None:
                continue
            how, values = found
            hit = next((m for v in values if (m := mentions_tenant(ctx, v))), None)
            if hit is None:
                continue
            where = f" in {symbol}()" if symbol else ""
            yield ctx.finding(
                "TEN051",
                node,
                f"tenant id `{hit}` is put into SQL with {how}{where}: SQL injection at the tenant "
                f"boundary; bind it as a parameter (or use set_tenant_context())",
                symbol,
            )


rule = register(
    Rule(
        code="TEN051",
        name="tenant-id-in-sql-string",
        summary="Tenant id put into SQL by string formatting or f-string (injection)",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"execute(", b".raw(", b"RawSQL(", b".extra("),
    )
)
