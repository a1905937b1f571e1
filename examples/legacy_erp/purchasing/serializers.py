from rest_framework import serializers

from purchasing.models import Supplier


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        # SEED: ViewSet Tenant Filtering Inconsistencies: tenant_id is writable, the client picks the tenant.
        fields = "__all__"
