"""TEN062 global-unique-on-tenant-table: a UNIQUE constraint on a tenant table ignores the tenant.

## What it does
With `--database-url`, reports every unique index or constraint (other than the primary key)
on a table with the tenant column that does not include the tenant column.

## Why is this bad?
Uniqueness is checked across all tenants, below row-level security. Tenant B creating a
supplier with the same e-mail or SKU as tenant A gets a unique-violation error, which tells
B that the value exists in another tenant (an existence leak), and blocks a legitimate
write. Uniqueness should be per tenant: `UNIQUE (tenant_id, sku)`.

## Example
```python
class Product(models.Model):
    tenant_id = models.UUIDField()
    sku = models.CharField(max_length=32, unique=True)
```

## Use instead
```python
class Product(models.Model):
    tenant_id = models.UUIDField()
    sku = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "sku"], name="product_sku_per_tenant")]
```

## Fix safety
No automatic fix: changing a constraint needs a migration and a decision about existing
duplicates.

## References
- [PostgreSQL: Unique constraints](https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-UNIQUE-CONSTRAINTS)
- [Django: UniqueConstraint](https://docs.djangoproject.com/en/5.2/ref/models/constraints/#uniqueconstraint)
"""

from __future__ import annotations

from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._live import DatabaseContext


def check(ctx: DatabaseContext) -> Iterator[Finding]:
    for u in ctx.uniques:
        name = f"{u['schema']}.{u['table']}"
        if u["has_tenant"] or ctx.is_exempt(name):
            continue
        what = f"constraint {u['constraint']}" if u["constraint"] else f"unique index {u['index']}"
        yield ctx.finding(
            "TEN062",
            name,
            f"{what} on {name} is global, not per tenant ({u['definition']}): a duplicate in another tenant "
            f"is revealed by the error; include {ctx.tenant_field}",
        )


rule = register(
    Rule(
        code="TEN062",
        name="global-unique-on-tenant-table",
        summary="Live DB: a global UNIQUE on a tenant table without the tenant column (existence leak)",
        check=check,
        doc=__doc__ or "",
        scope="database",
    )
)
