"""TEN060-TEN062 against a real database set up wrong, then right (read-only queries).

Security checklist cases covered here as detections: T1 (superuser / BYPASSRLS / owner of an
unforced table), T2 and T3 (ENABLE, FORCE, a policy), T10 (global UNIQUE), T11 (TRUNCATE
and REFERENCES grants), T12 (views over tenant tables without security_invoker, materialized
views), T22 (index-defeating policies: text cast). The audit itself only
reads the catalog, so the isolation cases (T5-T9, T16-T32) do not apply to it; they are
proven where the code that isolates lives (tenancy core, generated modules).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import sql

from scaffold.audit import audit
from scaffold.errors import UsageError
from tests.helpers.pg import PgDatabase

pytestmark = pytest.mark.db

WRONG = """
CREATE TABLE orders (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, sku text UNIQUE);
CREATE TABLE customers (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, name text);
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY legacy ON customers USING (tenant_id::text = current_setting('app.current_tenant_id', true));
CREATE TABLE notes (id uuid PRIMARY KEY, tenant_id uuid NOT NULL);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE TABLE users (id uuid PRIMARY KEY, tenant_id uuid, email text UNIQUE);
CREATE TABLE countries (id int PRIMARY KEY, code text UNIQUE);
CREATE VIEW customer_names AS SELECT id, tenant_id, name FROM customers;
CREATE MATERIALIZED VIEW order_counts AS SELECT tenant_id, count(*) AS n FROM orders GROUP BY tenant_id;
CREATE VIEW country_codes AS SELECT code FROM countries;
"""
POLICY = "tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid"
RIGHT = f"""
ALTER TABLE orders DROP CONSTRAINT orders_sku_key;
ALTER TABLE orders ADD CONSTRAINT orders_sku_per_tenant UNIQUE (tenant_id, sku);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON orders USING ({POLICY}) WITH CHECK ({POLICY});
DROP POLICY legacy ON customers;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers USING ({POLICY}) WITH CHECK ({POLICY});
CREATE POLICY tenant_isolation ON notes USING ({POLICY});
ALTER VIEW customer_names SET (security_invoker = true);
DROP MATERIALIZED VIEW order_counts;
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("live")
    (root / "manage.py").write_text("")
    (root / "pyproject.toml").write_text('[tool.scaffold]\nrls_exempt_tables = ["users"]\n')
    return root


def live(project: Path, url: str) -> set[tuple[str, str]]:
    report = audit(project, select="TEN06", database_url=url, cache=False, jobs=1)
    assert all(f.path == "database" and f.line == 0 for f in report.findings)
    return {(f.code, f.symbol) for f in report.findings}, report


def test_wrong_then_right(pg_database: PgDatabase, project: Path) -> None:
    db = pg_database
    with db.owner() as conn:
        conn.execute(WRONG)
        conn.execute(sql.SQL("ALTER TABLE notes OWNER TO {}").format(sql.Identifier(db.runtime_role)))
    db.grant_runtime()

    found, report = live(project, db.owner_url)  # a superuser: everything bypasses RLS
    assert any(c == "TEN061" for c, _ in found)
    messages = "\n".join(f.message for f in report.findings)
    assert "superuser" in messages
    assert ("TEN060", "public.orders") in found  # no RLS at all
    assert "public.customers enables row-level security without FORCE" in messages
    assert "casts tenant_id to text" in messages
    assert "public.notes enables row-level security but has no policy" in messages
    assert ("TEN062", "public.orders") in found
    assert not any(sym == "public.users" for _, sym in found)  # rls_exempt_tables
    assert not any(sym == "public.countries" for _, sym in found)  # no tenant column
    assert "view public.customer_names over tenant table public.customers is not security_invoker" in messages
    assert "materialized view public.order_counts copies tenant table public.orders" in messages
    assert not any(sym == "public.country_codes" for _, sym in found)  # T12: only views over tenant tables
    assert report.exit_code == 1

    # The runtime role: not superuser, but it owns an unforced table? notes is FORCEd, so no.
    found, _ = live(project, db.runtime_url)
    assert not any(c == "TEN061" for c, _ in found)
    with db.owner() as conn:
        conn.execute("ALTER TABLE notes NO FORCE ROW LEVEL SECURITY")
    found, report = live(project, db.runtime_url)
    assert any(
        f.code == "TEN061" and "owns" in f.message and "public.notes" in f.message for f in report.findings
    )

    with db.owner() as conn:
        conn.execute(
            sql.SQL("GRANT TRUNCATE, REFERENCES ON orders TO {}").format(sql.Identifier(db.runtime_role))
        )
    _, report = live(project, db.runtime_url)
    messages = "\n".join(f.message for f in report.findings if f.code == "TEN061")
    assert "TRUNCATE on tenant tables" in messages and "REFERENCES on tenant tables" in messages

    with db.owner() as conn:
        conn.execute(
            sql.SQL("REVOKE TRUNCATE, REFERENCES ON orders FROM {}").format(sql.Identifier(db.runtime_role))
        )
        conn.execute("ALTER TABLE notes FORCE ROW LEVEL SECURITY")
        conn.execute(RIGHT)
    found, report = live(project, db.runtime_url)
    assert found == set(), report.to_text()
    assert report.exit_code == 0


def test_read_only_and_bad_url(pg_database: PgDatabase, project: Path) -> None:
    with pytest.raises(UsageError) as err:
        audit(
            project,
            select="TEN060",
            database_url=pg_database.runtime_url.replace(pg_database.name, "nope_db"),
            cache=False,
        )
    assert pg_database.runtime_password not in str(err.value)
    assert "cannot connect" in str(err.value)
    with pytest.raises(UsageError, match="--database-url"):
        audit(project, select="TEN060", cache=False)
