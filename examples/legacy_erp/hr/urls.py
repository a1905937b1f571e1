from rest_framework.routers import DefaultRouter

from hr.views import EmployeeViewSet

# SEED: OnboardingMiddleware Blocking Module Endpoints: mounted at /api/hr/, which is missing
# from OnboardingMiddleware.EXEMPT_PATHS.
router = DefaultRouter()
router.register("employees", EmployeeViewSet, basename="employee")

urlpatterns = router.urls
