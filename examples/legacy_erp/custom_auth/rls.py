"""Row-level security helpers: the tenant context PostgreSQL policies read.

Policies compare each row's tenant against ``current_setting('app.current_tenant_id', true)``.
"""

import logging

from django.db import connection, models

logger = logging.getLogger(__name__)


def set_tenant_context(tenant_id):
    """Make ``tenant_id`` the tenant the RLS policies see."""
    # SEED: Database Connection Context Errors: set_config(..., true) is transaction-local, and
    # nothing checks that we are inside transaction.atomic(); with autocommit (no ATOMIC_REQUESTS)
    # the setting dies with this one statement and the next query runs without a tenant.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant_id', %s, true)", [str(tenant_id)])
    logger.debug("Set RLS context for tenant %s", tenant_id)


def clear_tenant_context():
    """Forget the tenant context (for the rest of the current transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant_id', '', true)")


class TenantManager(models.Manager):
    """Manager for tenant-owned models.

    Returns every row: row-level security in PostgreSQL filters by tenant.
    """

    def get_queryset(self):
        # SEED: ViewSet Tenant Filtering Inconsistencies: "RLS will filter", but nothing sets the
        # tenant context and most tables have no policy, so this returns every tenant's rows.
        return super().get_queryset()
