"""TEN063 security-definer-reads-tenant-table: a SECURITY DEFINER function reads a tenant table.

## What it does
With `--database-url`, reports every `SECURITY DEFINER` function outside the system
schemas that the runtime role may execute and whose body names a table with the tenant
column (or, for an SQL-standard `BEGIN ATOMIC` body, depends on one). The message says
whether the function's owner bypasses row-level security (superuser or `BYPASSRLS`) and
whether it owns the table without `FORCE ROW LEVEL SECURITY`. Tables listed in
`rls_exempt_tables` are skipped, and so are functions owned by the runtime role itself (its
rights are the caller's) unless it owns the table unforced. The body is matched by name, so a table named only in a
comment or a string is reported too: the rule prefers a false alarm to a miss.

## Why is this bad?
A `SECURITY DEFINER` function runs with its owner's rights, not the caller's. When the
owner is a superuser, has `BYPASSRLS`, or owns the table and the table is not forced, the
function's queries skip every policy: any caller, in any tenant, gets every tenant's rows
through it. Even when the owner is bound by the policies, the function's result no longer
depends only on the caller's grants, so an audit of the runtime role's privileges no longer
describes what it can read.

## Example
```sql
CREATE FUNCTION order_total(order_id uuid) RETURNS numeric
LANGUAGE sql SECURITY DEFINER
AS $$ SELECT sum(amount) FROM orders_line WHERE order_id = $1 $$;  -- owned by postgres
```

## Use instead
```sql
CREATE FUNCTION order_total(order_id uuid) RETURNS numeric
LANGUAGE sql SECURITY INVOKER  -- the default: the caller's policies apply
AS $$ SELECT sum(amount) FROM orders_line WHERE order_id = $1 $$;
```
If the function must be `SECURITY DEFINER`, give it an owner that is `NOSUPERUSER
NOBYPASSRLS`, `FORCE ROW LEVEL SECURITY` on the tables it reads, `SET search_path`, and
`REVOKE EXECUTE ... FROM PUBLIC`.

## Fix safety
No automatic fix: functions belong in a reviewed migration.

## References
- [PostgreSQL: CREATE FUNCTION (SECURITY DEFINER)](https://www.postgresql.org/docs/current/sql-createfunction.html)
- [PostgreSQL: Row Security Policies](https://www.postgresql.org/docs/current/ddl-rowsecurity.html)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._live import DatabaseContext


def check(ctx: DatabaseContext) -> Iterator[Finding]:
    tables = [t for t in ctx.tables if not ctx.is_exempt(t)]
    for fn in ctx.definers:
        read = [t for t in tables if fn.reads(t)]
        if not read:
            continue
        unforced = [t.qualname for t in read if t.owner == fn.owner and not (t.rls and t.force)]
        if fn.owner == ctx.role and not fn.owner_bypasses and not unforced:
            continue  # owned by the runtime role itself: its rights are the caller's
        if fn.owner_bypasses:
            why = f"its owner {fn.owner} is a superuser or BYPASSRLS, so it returns every tenant's rows"
        elif unforced:
            why = (
                f"its owner {fn.owner} owns {', '.join(unforced)} without FORCE ROW LEVEL SECURITY, "
                "so it returns every tenant's rows"
            )
        else:
            why = f"it runs with its owner's ({fn.owner}) rights instead of the caller's"
        yield ctx.finding(
            "TEN063",
            fn.signature,
            f"SECURITY DEFINER function {fn.signature} reads tenant table "
            f"{', '.join(t.qualname for t in read)} and runtime role {ctx.role} may call it: {why}; "
            "make it SECURITY INVOKER or revoke EXECUTE",
        )


rule = register(
    Rule(
        code="TEN063",
        name="security-definer-reads-tenant-table",
        summary="Live DB: a SECURITY DEFINER function the runtime role may call reads a tenant table with its owner's rights",
        check=check,
        doc=__doc__ or "",
        scope="database",
    )
)
