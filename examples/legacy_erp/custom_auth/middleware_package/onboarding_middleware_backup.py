"""OLD onboarding middleware (before the module split). Kept for reference, not in MIDDLEWARE."""

from django.shortcuts import redirect


class OnboardingMiddleware:
    EXEMPT_PATHS = [
        "/api/auth/",
        "/api/onboarding/",
    ]

    PROTECTED_PATHS = [
        "/api/crm/",
        "/api/inventory/",
        "/api/hr/",
        "/api/dashboard/",
    ]

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.onboarding_completed:
            for prefix in self.PROTECTED_PATHS:
                if request.path.startswith(prefix):
                    return redirect("/onboarding/")
        return self.get_response(request)
