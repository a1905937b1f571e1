"""Dashboard helpers from the schema-per-tenant era."""

import uuid

from django.db import connection


def tenant_schema_exists(tenant_id: uuid.UUID, table_name: str) -> bool:
    """True when the tenant still has a legacy schema holding ``table_name``."""
    with connection.cursor() as cursor:
        # SEED: PostgreSQL UUID Type Mismatch Errors: the UUID is bound as-is and compared with
        # information_schema's sql_identifier:
        # "operator does not exist: information_schema.sql_identifier = uuid".
        cursor.execute(
            """
            SELECT COUNT(*) FROM information_schema.tables
            WHERE table_schema = %s AND table_name = %s
            """,
            [tenant_id, table_name],
        )
        return cursor.fetchone()[0] > 0


def use_tenant_schema(cursor, tenant_id):
    """Point the RLS policies at ``tenant_id`` for the queries that follow."""
    # SEED: Database Connection Context Errors: session-level SET (not transaction-local) built with
    # string formatting: it outlives the request on a persistent connection (CONN_MAX_AGE) and
    # leaks this tenant into whoever uses the connection next.
    cursor.execute(f"SET app.current_tenant_id = '{tenant_id}'")
