"""TEN060 tenant-table-rls-incomplete: a tenant table is not fully under row-level security.

## What it does
With `--database-url`, lists every table that has the tenant column (`tenant_field`) and
reports, per table: row-level security not enabled (`ENABLE ROW LEVEL SECURITY`), not
forced (`FORCE ROW LEVEL SECURITY`), or enabled with no policy; a policy set that is not
provably the tenant predicate for the role audit connects as; and every policy whose
expression defeats the tenant index: the tenant column cast to text
(`tenant_id::text = current_setting(...)`), `OR`, or `CASE`.

The policy set is judged as PostgreSQL applies it, per command (SELECT, INSERT, UPDATE,
DELETE) and side (`USING` for the rows a command sees, `WITH CHECK` for the rows it
writes; `WITH CHECK` defaults to `USING`): permissive policies are ORed, restrictive ones
ANDed, and only policies `TO PUBLIC` or to a role the runtime role has the privileges of
apply. The set passes when, for every command and side, some applicable restrictive policy
is the tenant predicate, or every applicable permissive one is (an UPDATE whose USING or
WITH CHECK admits no row at all cannot leak through the other side). The tenant predicate is
`tenant_field = current_setting('<tenant_setting>', ...)` (with `NULLIF(..., '')`, casts or
a scalar `(SELECT ...)` around the setting), alone, AND-ed with other terms, or ORed only with
other tenant predicates. Each finding names the policy and the reason: `USING (true)` ORed
with the tenant policy, `WITH CHECK (true)`, an `OR` branch such as `tenant_id IS NOT NULL`,
a policy reading another setting, a restrictive tenant policy `TO` another role only (so it
does not restrict the runtime role), no policy applying to the runtime role at all. An
expression the rule cannot prove (`IN (SELECT ...)`, `CASE`, `IS NOT FALSE`, a function
call) is reported as "cannot verify", never passed. It also reports views over tenant
tables that are not `security_invoker` (PostgreSQL 15+) and materialized views over them:
both read the table with their owner's rights, around the caller's policies. Tables listed in
`rls_exempt_tables` (for example the user table) are skipped.

## Why is this bad?
Without ENABLE there is no second line of defence at all. Without FORCE the table's owner,
which is often the role the application connects as, bypasses every policy. ENABLE with no
policy denies every row (empty results, the seed's "user authenticated but sees no data").
A policy that casts the column or branches cannot use the `(tenant_id, ...)` index, so
every query on the table becomes a sequential scan as it grows. One extra permissive
policy opens the table: `CREATE POLICY read_all ... FOR SELECT USING (true)` next to a
correct tenant policy shows every tenant's rows, because permissive policies are ORed, and
`WITH CHECK (true)` lets a tenant write rows into another tenant.

## Example
```sql
ALTER TABLE crm_customer ENABLE ROW LEVEL SECURITY;
CREATE POLICY legacy ON crm_customer
    USING (tenant_id::text = current_setting('app.current_tenant_id', true));
CREATE POLICY reporting ON crm_customer FOR SELECT USING (true);  -- ORed: opens every row
```

## Use instead
```sql
ALTER TABLE crm_customer ENABLE ROW LEVEL SECURITY;
ALTER TABLE crm_customer FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON crm_customer
    USING (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid);
```

## Fix safety
No automatic fix: schema changes belong in a reviewed migration. `scaffold new-module`
generates the migration shape above.

## References
- [PostgreSQL: Row Security Policies](https://www.postgresql.org/docs/current/ddl-rowsecurity.html)
- [PostgreSQL: ALTER TABLE ... FORCE ROW LEVEL SECURITY](https://www.postgresql.org/docs/current/sql-altertable.html)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.rls import judge_policies
from scaffold.rules import Finding, Rule, register
from scaffold.rules._live import DatabaseContext, index_defeating


def check(ctx: DatabaseContext) -> Iterator[Finding]:
    yield from views(ctx)
    for table in ctx.tables:
        if ctx.is_exempt(table):
            continue
        name = table.qualname
        if not table.rls:
            yield ctx.finding(
                "TEN060", name, f"table {name} has {ctx.tenant_field} but row-level security is not enabled"
            )
            continue
        if not table.force:
            yield ctx.finding(
                "TEN060",
                name,
                f"table {name} enables row-level security without FORCE: its owner ({table.owner}) bypasses the policies",
            )
        if not table.policies:
            yield ctx.finding(
                "TEN060",
                name,
                f"table {name} enables row-level security but has no policy: every query returns no rows",
            )
        for problem in judge_policies(table.policies, name, ctx.tenant_field, ctx.tenant_setting, ctx.role):
            yield ctx.finding("TEN060", name, problem.message)
        for policy in table.policies:
            for kind in ("using", "check"):
                why = index_defeating(getattr(policy, kind), ctx.tenant_field)
                if why:
                    yield ctx.finding(
                        "TEN060",
                        name,
                        f"policy {policy.name} on {name} {why} in its {kind.upper()} expression, which defeats the "
                        f"{ctx.tenant_field} index; compare {ctx.tenant_field} = NULLIF(current_setting(...), '')::uuid",
                    )
                    break


rule = register(
    Rule(
        code="TEN060",
        name="tenant-table-rls-incomplete",
        summary="Live DB: a table with the tenant column that lacks RLS ENABLE, FORCE or a policy, whose policy set is not provably the tenant predicate for the runtime role, or whose policy defeats the index",
        check=check,
        doc=__doc__ or "",
        scope="database",
    )
)


def views(ctx: DatabaseContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for v in ctx.views:
        if v["view"] in seen or ctx.is_exempt(v["table"]):
            continue
        if v["kind"] == "m":
            seen.add(v["view"])
            yield ctx.finding(
                "TEN060",
                v["view"],
                f"materialized view {v['view']} copies tenant table {v['table']}: row-level security does not "
                f"apply to its rows; query the table (or a security_invoker view) instead",
            )
        elif not any(
            o.replace(" ", "").lower()
            in ("security_invoker=true", "security_invoker=on", "security_invoker=1")
            for o in v["options"]
        ):
            seen.add(v["view"])
            yield ctx.finding(
                "TEN060",
                v["view"],
                f"view {v['view']} over tenant table {v['table']} is not security_invoker: it reads the table with "
                f"its owner's rights; ALTER VIEW {v['view']} SET (security_invoker = true)",
            )
