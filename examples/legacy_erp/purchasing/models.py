import uuid

from django.db import models

from custom_auth.rls import TenantManager


class Supplier(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
