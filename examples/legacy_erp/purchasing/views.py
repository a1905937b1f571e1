from rest_framework import viewsets

from purchasing.models import Supplier
from purchasing.serializers import SupplierSerializer


class SupplierViewSet(viewsets.ModelViewSet):
    # SEED: ViewSet Tenant Filtering Inconsistencies: no permission_classes (DRF default AllowAny)
    # and no explicit tenant filter: every caller, even anonymous, sees every tenant's suppliers.
    serializer_class = SupplierSerializer

    def get_queryset(self):
        return Supplier.objects.all()  # Trusts TenantManager
