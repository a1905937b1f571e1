"""``Authorization: Session <key>`` authentication for the single-page frontend."""

import logging

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from custom_auth.models import UserSession

logger = logging.getLogger(__name__)


class SessionTokenAuthentication(BaseAuthentication):
    keyword = "Session"

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if len(auth) != 2:
            raise AuthenticationFailed("Invalid session header. Expected 'Session <key>'.")
        try:
            key = auth[1].decode()
        except UnicodeError as exc:
            raise AuthenticationFailed("Invalid session key.") from exc

        try:
            session = UserSession.objects.select_related("user").get(key=key)
        except UserSession.DoesNotExist as exc:
            raise AuthenticationFailed("Invalid or expired session.") from exc
        if not session.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")

        # SEED: RLS Context Not Set During Authentication: the user is authenticated but the
        # tenant context (set_tenant_context / request.tenant_id) is never set, so tables with
        # RLS policies return no rows for this request.
        return (session.user, session)

    def authenticate_header(self, request):
        return self.keyword
