from rest_framework import serializers

from crm.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "tenant_id", "name", "email", "created_at"]
        read_only_fields = ["id", "tenant_id", "created_at"]
