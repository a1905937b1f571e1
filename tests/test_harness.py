"""The PostgreSQL test harness itself: the runtime role really is subject to row-level security.

Every isolation claim elsewhere in the suite rests on this module:

- **T1.** Superusers and BYPASSRLS roles always bypass RLS, and a table's owner bypasses it
  unless the table is FORCE'd. So the role the tests run application code as must be
  NOSUPERUSER, NOBYPASSRLS and own nothing; the first test checks all three in the catalogs
  (``pg_roles``, ``pg_tables``) instead of trusting the harness's CREATE ROLE.
- **T3.** RLS enabled without a policy is default deny: 0 rows for the runtime role, while the
  owner (a superuser in the test database) still sees every row.
- **T4.** Isolation is only ever asserted through ``db.runtime()`` connections. The owner
  connection appears here solely to set up rows and to show what a role that bypasses RLS
  would see, which is exactly why no other test may assert isolation as ``postgres``.

The policy used below is the shape scaffold generates,
``tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid``, with the
context set the way generated code sets it: ``SELECT set_config(%s, %s, true)`` inside a
transaction, so it disappears at COMMIT/ROLLBACK.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql

from tests import conftest
from tests.helpers.pg import PgDatabase

SETTING = "app.current_tenant_id"
TENANT_A = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
TENANT_B = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")


@pytest.fixture(scope="module")
def db(pg_database: PgDatabase) -> PgDatabase:
    """Three tables, created by the owner, then granted to the runtime role like migrate() does."""
    with pg_database.owner() as conn:
        conn.execute("CREATE TABLE plain_notes (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO plain_notes (body) VALUES ('one'), ('two')")

        conn.execute("CREATE TABLE no_policy (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO no_policy (body) VALUES ('hidden 1'), ('hidden 2'), ('hidden 3')")
        conn.execute("ALTER TABLE no_policy ENABLE ROW LEVEL SECURITY")
        conn.execute("ALTER TABLE no_policy FORCE ROW LEVEL SECURITY")

        conn.execute(
            "CREATE TABLE tenant_items (id serial PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tenant_items (tenant_id, name) VALUES (%s, 'a1'), (%s, 'a2'), (%s, 'b1')",
            [TENANT_A, TENANT_A, TENANT_B],
        )
        conn.execute("ALTER TABLE tenant_items ENABLE ROW LEVEL SECURITY")
        conn.execute("ALTER TABLE tenant_items FORCE ROW LEVEL SECURITY")
        conn.execute(
            "CREATE POLICY tenant_isolation ON tenant_items USING "
            "(tenant_id = NULLIF(current_setting('app.current_tenant_id', true), '')::uuid)"
        )
    pg_database.grant_runtime()
    return pg_database


def _names(conn: psycopg.Connection, tenant: uuid.UUID | None) -> list[str]:
    """tenant_items as the runtime role sees them in one transaction with ``tenant`` as context."""
    with conn.transaction():
        if tenant is not None:
            conn.execute("SELECT set_config(%s, %s, true)", [SETTING, str(tenant)])
        return [r[0] for r in conn.execute("SELECT name FROM tenant_items ORDER BY name")]


# -- T1: who the runtime role is --------------------------------------------------------------


def test_runtime_role_cannot_bypass_rls(db: PgDatabase) -> None:
    with db.owner() as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = %s",
            [db.runtime_role],
        ).fetchone()
        assert row == (False, False, False, False)
        owned = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s",
            [db.runtime_role],
        ).fetchall()
        assert owned == []
        owners = {r[0] for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners and db.runtime_role not in owners
        runner = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = %s",
            [db.runner_role],
        ).fetchone()
        assert runner == (False, False, True)  # manage.py test: may create (and own) its DB only

    with db.runtime(autocommit=True) as conn:
        who = conn.execute("SELECT current_user, current_setting('is_superuser')").fetchone()
        assert who == (db.runtime_role, "off")


def test_runtime_role_cannot_switch_rls_off(db: PgDatabase) -> None:
    with db.runtime(autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE tenant_items DISABLE ROW LEVEL SECURITY")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE tenant_items NO FORCE ROW LEVEL SECURITY")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET ROLE postgres")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET row_security = off; SELECT 1 FROM no_policy")


def test_grant_runtime_gives_dml_only(db: PgDatabase) -> None:
    with db.owner() as conn:
        for privilege, expected in (
            ("SELECT", True),
            ("INSERT", True),
            ("UPDATE", True),
            ("DELETE", True),
            ("TRUNCATE", False),
            ("REFERENCES", False),
        ):
            granted = conn.execute(
                "SELECT has_table_privilege(%s, 'tenant_items', %s)", [db.runtime_role, privilege]
            ).fetchone()[0]
            assert granted is expected, privilege


def test_runtime_role_reads_tables_without_rls(db: PgDatabase) -> None:
    """Control: the grants work, so a 0 below is RLS and not a missing privilege."""
    with db.runtime(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM plain_notes").fetchone()[0] == 2


# -- T3: RLS without a policy is default deny --------------------------------------------------


def test_rls_without_policy_returns_no_rows_to_runtime_role(db: PgDatabase) -> None:
    with db.owner() as conn:  # superuser: bypasses RLS, which is why T4 forbids asserting as it
        assert conn.execute("SELECT count(*) FROM no_policy").fetchone()[0] == 3
    with db.runtime(autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM no_policy").fetchone()[0] == 0
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO no_policy (body) VALUES ('sneaky')")
        assert conn.execute("UPDATE no_policy SET body = 'x'").rowcount == 0
        assert conn.execute("DELETE FROM no_policy").rowcount == 0
    with db.owner() as conn:
        assert conn.execute("SELECT count(*) FROM no_policy WHERE body LIKE 'hidden%'").fetchone()[0] == 3


# -- T1 + policy: two tenants, one runtime role ------------------------------------------------


def test_policy_isolates_tenants_for_runtime_role(db: PgDatabase) -> None:
    with db.owner() as conn:
        assert conn.execute("SELECT count(*) FROM tenant_items").fetchone()[0] == 3
    with db.runtime() as conn:
        assert _names(conn, TENANT_A) == ["a1", "a2"]
        assert _names(conn, TENANT_B) == ["b1"]
        assert _names(conn, None) == []  # no context: fail closed
        assert _names(conn, uuid.uuid4()) == []  # unknown tenant
        with conn.transaction():
            conn.execute("SELECT set_config(%s, %s, true)", [SETTING, ""])
            assert conn.execute("SELECT count(*) FROM tenant_items").fetchone()[0] == 0


def test_context_is_transaction_local(db: PgDatabase) -> None:
    """set_config(..., true) ends with the transaction: a reused connection starts clean."""
    with db.runtime() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config(%s, %s, true)", [SETTING, str(TENANT_A)])
            assert conn.execute("SELECT count(*) FROM tenant_items").fetchone()[0] == 2
        with conn.transaction():
            assert conn.execute("SELECT current_setting(%s, true)", [SETTING]).fetchone()[0] in (None, "")
            assert conn.execute("SELECT count(*) FROM tenant_items").fetchone()[0] == 0


def test_policy_blocks_cross_tenant_writes(db: PgDatabase) -> None:
    with db.runtime() as conn:
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            with conn.transaction():
                conn.execute("SELECT set_config(%s, %s, true)", [SETTING, str(TENANT_A)])
                conn.execute("INSERT INTO tenant_items (tenant_id, name) VALUES (%s, 'forged')", [TENANT_B])
        with conn.transaction():
            conn.execute("SELECT set_config(%s, %s, true)", [SETTING, str(TENANT_A)])
            # B's row is invisible, so A can neither change nor delete it.
            assert conn.execute("UPDATE tenant_items SET name = 'taken' WHERE name = 'b1'").rowcount == 0
            assert conn.execute("DELETE FROM tenant_items WHERE name = 'b1'").rowcount == 0
            with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                with conn.transaction():  # savepoint
                    conn.execute("UPDATE tenant_items SET tenant_id = %s WHERE name = 'a1'", [TENANT_B])
    with db.owner() as conn:
        rows = conn.execute("SELECT name, tenant_id FROM tenant_items ORDER BY name").fetchall()
        assert rows == [("a1", TENANT_A), ("a2", TENANT_A), ("b1", TENANT_B)]


# -- require_postgres(): skip loudly locally, fail under CI=true --------------------------------


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the harness at a port nothing listens on, with a fresh reachability cache."""
    url = "postgresql://postgres@127.0.0.1:1/postgres"
    monkeypatch.setenv("SCAFFOLD_TEST_DATABASE_URL", url)
    monkeypatch.setattr(conftest, "_PROBLEM", [])  # restored afterwards by monkeypatch
    return url


def test_require_postgres_fails_under_ci(unreachable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as info:
        conftest.require_postgres()
    message = str(info.value)
    assert "CI=true" in message
    assert "127.0.0.1:1" in message
    assert "unreachable" in message


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_require_postgres_skips_loudly_otherwise(
    unreachable: str, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.warns(UserWarning, match="SKIPPING DATABASE TESTS"):
        with pytest.raises(pytest.skip.Exception) as info:
            conftest.require_postgres()
    message = str(info.value)
    assert "SKIPPING DATABASE TESTS" in message
    assert "127.0.0.1:1" in message
    assert "SCAFFOLD_TEST_DATABASE_URL" in message


def test_require_postgres_passes_when_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    conftest.require_postgres()  # skips (or fails under CI) itself if the real server is down
    monkeypatch.setattr(conftest, "_PROBLEM", [])
    monkeypatch.setenv("CI", "true")
    assert conftest.require_postgres() is None  # re-checked from scratch: still reachable


def test_pg_problem_names_the_unreachable_server(unreachable: str) -> None:
    assert conftest.pg_problem() is not None
    assert unreachable in conftest.pg_problem()


def test_fixture_database_is_distinct(db: PgDatabase) -> None:
    """Each module gets its own database and roles; the names say which."""
    assert db.name.startswith("scaffold_test_")
    assert db.runtime_role != db.runner_role
    with psycopg.connect(db.owner_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == db.name
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM pg_database WHERE datname = {}").format(sql.Literal(db.name))
        ).fetchone()[0]
        assert count == 1
