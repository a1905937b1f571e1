from django.shortcuts import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from custom_auth.models import UserSession
from custom_auth.serializers import UserSessionSerializer


class SessionDetailView(APIView):
    """The current user's API session, by id."""

    permission_classes = [IsAuthenticated]

    # SEED: Django Session Backend Errors: the URL captures <str:session_id> but this
    # handler takes ``pk``: TypeError "got an unexpected keyword argument 'session_id'".
    def get(self, request, pk):
        session = get_object_or_404(UserSession, pk=pk, user=request.user)
        return Response(UserSessionSerializer(session).data)

    def delete(self, request, pk):
        session = get_object_or_404(UserSession, pk=pk, user=request.user)
        session.delete()
        return Response(status=204)
