# Copy of erp/settings.py taken before the DRF migration (kept "just in case").
# Not used by manage.py; DJANGO_SETTINGS_MODULE points at erp.settings.
import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECRET_KEY = "django-insecure-old-key"

DEBUG = True

ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "custom_auth",
    "crm",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "custom_auth.middleware_package.onboarding_middleware.OnboardingMiddleware",
]

ROOT_URLCONF = "erp.urls_old"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "erp",
        "USER": "postgres",
        "HOST": "localhost",
    }
}

AUTH_USER_MODEL = "custom_auth.User"
