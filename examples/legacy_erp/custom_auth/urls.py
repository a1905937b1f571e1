from django.urls import path

from custom_auth.views import SessionDetailView

urlpatterns = [
    # SEED: Django Session Backend Errors: kwarg is session_id, SessionDetailView.get() expects pk.
    path("<str:session_id>/", SessionDetailView.as_view(), name="session-detail"),
]
