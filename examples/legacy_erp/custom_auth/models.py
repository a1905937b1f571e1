import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


def generate_session_key():
    return secrets.token_hex(32)


class User(AbstractUser):
    """A user belongs to at most one tenant; onboarding must finish before premium modules open."""

    tenant_id = models.UUIDField(null=True, blank=True, db_index=True)
    onboarding_completed = models.BooleanField(default=False)

    def __str__(self):
        return self.email or self.username


class UserSession(models.Model):
    """An API session handed to the frontend; sent back as ``Authorization: Session <key>``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_sessions")
    key = models.CharField(max_length=64, unique=True, default=generate_session_key)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.user} @ {self.created:%Y-%m-%d %H:%M}"
