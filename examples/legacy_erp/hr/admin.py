from django.contrib import admin

from hr.models import Employee


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "job_title", "tenant_id", "hired_on")
    list_filter = ("tenant_id", "job_title")
    search_fields = ("first_name", "last_name", "email")
