"""Root URL configuration for the ERP backend."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/sessions/", include("custom_auth.urls")),
    path("api/crm/", include("crm.urls")),
    path("api/purchasing/", include("purchasing.urls")),
    path("api/hr/", include("hr.urls")),
    path("api/dashboard/", include("dashboard.urls")),
]
