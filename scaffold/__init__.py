"""scaffold: generate, migrate and audit multi-tenant Django REST Framework modules."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
