from rest_framework import serializers

from custom_auth.models import UserSession


class UserSessionSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = UserSession
        fields = ["id", "username", "created"]
        read_only_fields = fields
