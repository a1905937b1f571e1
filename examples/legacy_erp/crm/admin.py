from django.contrib import admin

from crm.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "tenant_id", "created_at")
    list_filter = ("tenant_id",)
    search_fields = ("name", "email")
