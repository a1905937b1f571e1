from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from crm.models import Customer
from crm.serializers import CustomerSerializer


class CustomerViewSet(viewsets.ModelViewSet):
    """Customer management: the team's reference ("secure") pattern."""

    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        user = self.request.user

        # Explicit tenant validation
        if not hasattr(user, "tenant_id") or not user.tenant_id:
            raise PermissionDenied("User not associated with tenant")

        # Explicit tenant filtering
        return Customer.objects.filter(tenant_id=user.tenant_id)

    def perform_create(self, serializer):
        user = self.request.user
        if not getattr(user, "tenant_id", None):
            raise PermissionDenied("User not associated with tenant")
        serializer.save(tenant_id=user.tenant_id)
