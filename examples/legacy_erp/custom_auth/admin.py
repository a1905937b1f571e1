from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from custom_auth.models import User, UserSession


@admin.register(User)
class ERPUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Tenant", {"fields": ("tenant_id", "onboarding_completed")}),)
    list_display = ("username", "email", "tenant_id", "onboarding_completed", "is_staff")
    list_filter = UserAdmin.list_filter + ("onboarding_completed",)
    search_fields = UserAdmin.search_fields + ("tenant_id",)


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "created")
    readonly_fields = ("id", "key", "created")
    search_fields = ("user__username", "user__email")
