from rest_framework import serializers

from hr.models import Employee


class EmployeeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employee
        fields = [
            "id",
            "tenant_id",
            "first_name",
            "last_name",
            "email",
            "job_title",
            "hired_on",
            "created_at",
        ]
        read_only_fields = ["id", "tenant_id", "created_at"]
