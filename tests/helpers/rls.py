"""T2 from the catalog: a tenant table has row-level security ENABLE'd and FORCE'd and one
policy, USING and WITH CHECK alike, that is a plain equality of the tenant column with the
``NULLIF(current_setting(...), '')::uuid`` context (no text cast, no OR "admin" branch)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.helpers.pg import PgDatabase

_QUERY = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.policyname),
       min(p.qual), min(p.with_check)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname
WHERE n.nspname = 'public' AND c.relname = ANY(%s)
GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
"""


@dataclass(frozen=True)
class TableRls:
    enabled: bool
    forced: bool
    policies: int
    qual: str | None  # of the policy (the first by text when there are several)
    with_check: str | None


def table_rls(db: PgDatabase, tables: list[str]) -> dict[str, TableRls]:
    """The RLS state of each of ``tables`` that exists, read as the owner."""
    with db.owner() as conn:
        rows = conn.execute(_QUERY, [list(tables)]).fetchall()
    return {name: TableRls(*state) for name, *state in rows}


def assert_tenant_rls(
    db: PgDatabase,
    tables: list[str],
    tenant_field: str = "tenant_id",
    setting: str = "app.current_tenant_id",
) -> None:
    found = table_rls(db, tables)
    assert sorted(found) == sorted(tables), f"missing tables: {sorted(set(tables) - set(found))}"
    for table, state in found.items():
        assert state.enabled and state.forced and state.policies == 1, (table, state)
        for expr in (state.qual, state.with_check):
            assert expr is not None, (table, state)
            # a plain equality on the column (no text cast of the tenant column, no OR branch)
            prefix = f"({tenant_field} = (NULLIF(current_setting('{setting}'"
            assert expr.startswith(prefix), (table, expr)
            assert f"({tenant_field})::text" not in expr and " OR " not in expr, (table, expr)
