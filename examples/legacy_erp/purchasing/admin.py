from django.contrib import admin

from purchasing.models import Supplier


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_email", "tenant_id")
    list_filter = ("tenant_id",)
    search_fields = ("name", "contact_email")
