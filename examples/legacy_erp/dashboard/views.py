from django.db import connection
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard.services import tenant_schema_exists, use_tenant_schema
from hr.models import Employee
from purchasing.models import Supplier


class DashboardSummaryView(APIView):
    """Counts for the landing page."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        tenant_id = getattr(request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("User not associated with tenant")

        with connection.cursor() as cursor:
            use_tenant_schema(cursor, tenant_id)
            cursor.execute("SELECT COUNT(*) FROM crm_customer")  # RLS policy filters by tenant
            customers = cursor.fetchone()[0]

        return Response(
            {
                "tenant_id": str(tenant_id),
                "customers": customers,
                "suppliers": Supplier.objects.filter(tenant_id=tenant_id).count(),
                "employees": Employee.objects.filter(tenant_id=tenant_id).count(),
                "legacy_schema": tenant_schema_exists(tenant_id, "crm_customer"),
            }
        )
