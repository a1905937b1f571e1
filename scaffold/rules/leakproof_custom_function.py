"""TEN064 leakproof-custom-function: a project function is marked LEAKPROOF.

## What it does
With `--database-url`, reports every function outside the system schemas that is marked
`LEAKPROOF` and was not installed by an extension (security checklist T13). The message
names the function, its owner and language, and whether the runtime role may call it.

## Why is this bad?
Row-level security adds the policy's condition to every query, and PostgreSQL normally
evaluates it before any condition the query itself brings, so a user-written function never
sees a row the policy hides. A `LEAKPROOF` function is exempt: the planner may run it first,
on every row of the table, because the marking promises it reveals nothing about its
arguments. A function that raises an error or a notice quoting its argument, or writes it
somewhere, then shows another tenant's values to whoever calls it in a `WHERE` clause. Only
a superuser can set the marking, and nothing checks the promise; built-in functions are
reviewed for it, project functions usually are not.

## Example
```sql
CREATE FUNCTION normalise_sku(text) RETURNS text
LANGUAGE plpgsql LEAKPROOF
AS $$ BEGIN
  IF $1 !~ '^[A-Z0-9-]+$' THEN RAISE EXCEPTION 'bad sku %', $1; END IF;  -- quotes the row
  RETURN upper($1);
END $$;
-- SELECT * FROM inventory_item WHERE normalise_sku(sku) = 'X' raises on tenant B's rows
```

## Use instead
```sql
ALTER FUNCTION normalise_sku(text) NOT LEAKPROOF;  -- the default
```
Keep `LEAKPROOF` only on a function reviewed to never raise, log or store anything that
depends on its arguments (for example a pure comparison operator's support function), and
document the review next to the migration that sets it.

## Fix safety
No automatic fix: the marking belongs in a reviewed migration.

## References
- [PostgreSQL: CREATE FUNCTION (LEAKPROOF)](https://www.postgresql.org/docs/current/sql-createfunction.html)
- [PostgreSQL: Row Security Policies](https://www.postgresql.org/docs/current/ddl-rowsecurity.html)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._live import DatabaseContext


def check(ctx: DatabaseContext) -> Iterator[Finding]:
    for fn in ctx.leakproof:
        who = (
            f"runtime role {ctx.role} may call it"
            if fn.callable
            else f"runtime role {ctx.role} may not call it now, but any role granted EXECUTE may"
        )
        yield ctx.finding(
            "TEN064",
            fn.signature,
            f"function {fn.signature} ({fn.language}, owner {fn.owner}) is marked LEAKPROOF, so the "
            f"planner may run it on rows the tenant policies hide, before filtering them ({who}); "
            f"ALTER FUNCTION {fn.signature} NOT LEAKPROOF unless it was reviewed to reveal nothing "
            "about its arguments",
        )


rule = register(
    Rule(
        code="TEN064",
        name="leakproof-custom-function",
        summary="Live DB: a project function is marked LEAKPROOF, so it may see rows the tenant policies hide",
        check=check,
        doc=__doc__ or "",
        scope="database",
    )
)
