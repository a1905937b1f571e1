"""TEN061 runtime-role-bypasses-rls: the application's database role is not bound by row-level security.

## What it does
With `--database-url` (pass the URL the application itself connects with), reports when
that role is a superuser, has `BYPASSRLS`, owns (directly or through role membership)
tenant tables whose row-level security is not forced, or holds `TRUNCATE` or `REFERENCES`
on tenant tables.

## Why is this bad?
Superusers and `BYPASSRLS` roles skip every policy; table owners skip policies unless the
table is `FORCE ROW LEVEL SECURITY`. `TRUNCATE` empties every tenant's rows and
`REFERENCES` lets a foreign key probe other tenants' keys: row-level security applies to
neither. Isolation tests that connect as such a role pass while
proving nothing, and in production a bug in one query exposes every tenant.

## Example
```sql
CREATE ROLE app LOGIN SUPERUSER;  -- or: the role that ran the migrations
```

## Use instead
```sql
CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app;
-- run migrations as a separate owner role, and FORCE row-level security on tenant tables
```

## Fix safety
No automatic fix: roles and grants are infrastructure.

## References
- [PostgreSQL: Role attributes (BYPASSRLS)](https://www.postgresql.org/docs/current/role-attributes.html)
- [PostgreSQL: Row Security Policies (owners and FORCE)](https://www.postgresql.org/docs/current/ddl-rowsecurity.html)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._live import DatabaseContext


def check(ctx: DatabaseContext) -> Iterator[Finding]:
    if ctx.superuser:
        yield ctx.finding(
            "TEN061",
            ctx.role,
            f"runtime role {ctx.role} is a superuser: row-level security never applies to it",
        )
    if ctx.bypassrls and not ctx.superuser:
        yield ctx.finding(
            "TEN061",
            ctx.role,
            f"runtime role {ctx.role} has BYPASSRLS: row-level security never applies to it",
        )
    if ctx.superuser:
        return
    for privilege, attr in (("TRUNCATE", "can_truncate"), ("REFERENCES", "can_reference")):
        granted = [
            t.qualname for t in ctx.tables if getattr(t, attr) and not t.runtime_owns and not ctx.is_exempt(t)
        ]
        if granted:
            yield ctx.finding(
                "TEN061",
                ctx.role,
                f"runtime role {ctx.role} has {privilege} on tenant tables, which row-level security does not "
                f"cover: {', '.join(granted)}; revoke it",
            )
    owned = [
        t.qualname for t in ctx.tables if t.runtime_owns and t.rls and not t.force and not ctx.is_exempt(t)
    ]
    if owned:
        yield ctx.finding(
            "TEN061",
            ctx.role,
            f"runtime role {ctx.role} owns tenant tables without FORCE ROW LEVEL SECURITY, so their policies "
            f"do not apply to it: {', '.join(owned)}",
        )


rule = register(
    Rule(
        code="TEN061",
        name="runtime-role-bypasses-rls",
        summary="Live DB: the runtime role is superuser or BYPASSRLS, or owns unforced tenant tables (or holds TRUNCATE/REFERENCES on them)",
        check=check,
        doc=__doc__ or "",
        scope="database",
    )
)
