"""Every Django REST framework endpoint of the root urlconf, enumerated from the resolver.

Router routes of ViewSets (list and detail routes, every ``@action``), generic views and
APIViews are found by walking ``get_resolver().url_patterns`` (includes followed), not
from a hand-kept list. Non-DRF views (the admin, plain Django views) are not endpoints
the probe can judge and are left out; so are the routers' API-root views (they list
routes, never rows) and the ``.<format>`` suffix duplicates of routes already listed.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

STANDARD = {
    "get": ("list", "retrieve"),  # (list route, detail route)
    "post": ("create", "create"),
    "put": ("update", "update"),
    "patch": ("partial_update", "partial_update"),
    "delete": ("destroy", "destroy"),
}


@dataclass
class Endpoint:
    route: str  # "/api/crm/customers/<pk>/"
    template: str  # "/api/crm/customers/%(pk)s/"
    params: list[str]
    callback: Any
    cls: Any
    actions: dict[str, str] | None  # ViewSets: method -> action
    initkwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def view(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"

    @property
    def generic(self) -> bool:
        from rest_framework.generics import GenericAPIView

        return issubclass(self.cls, GenericAPIView)

    @property
    def lookup_kwarg(self) -> str | None:
        if not self.generic:
            return None
        return getattr(self.cls, "lookup_url_kwarg", None) or getattr(self.cls, "lookup_field", None)

    @property
    def detail(self) -> bool:
        return self.lookup_kwarg is not None and self.lookup_kwarg in self.params

    @property
    def unfillable(self) -> list[str]:
        """Route kwargs the probe has no value for (a nested route's parent, a slug...)."""
        return [p for p in self.params if p != (self.lookup_kwarg if self.detail else None)]

    def methods(self) -> list[tuple[str, str]]:
        """(HTTP method, action) pairs this route serves."""
        if self.actions is not None:
            return [(m.upper(), a) for m, a in self.actions.items() if m not in ("options", "head", "trace")]
        found = []
        for method, (on_list, on_detail) in STANDARD.items():
            if hasattr(self.cls, method):
                found.append((method.upper(), on_detail if self.detail else on_list))
        if not self.generic:  # a plain APIView: its handlers are named after the method
            return [(m, m.lower()) for m, _ in found]
        return found

    def url(self, value: Any | None = None) -> str:
        kwargs = {self.lookup_kwarg: value} if self.detail and self.lookup_kwarg else {}
        return self.template % {k: str(v) for k, v in kwargs.items()}

    def model(self, view: Any) -> Any:
        """The model behind the view: its ``queryset``, else its serializer's ``Meta.model``."""
        queryset = getattr(self.cls, "queryset", None)
        if queryset is not None and hasattr(queryset, "model"):
            return queryset.model
        try:
            serializer_class = view.get_serializer_class()
        except Exception:  # noqa: BLE001 - a view whose serializer depends on the request
            return None
        meta = getattr(serializer_class, "Meta", None)
        return getattr(meta, "model", None)


def _piece(pattern: Any) -> tuple[str, list[str]]:
    from django.utils.regex_helper import normalize

    options = normalize(pattern.regex.pattern)
    if not options:
        return "", []
    template, params = options[0]
    return template, list(params)


def enumerate_endpoints(urlconf: str | None = None) -> list[Endpoint]:
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.routers import APIRootView
    from rest_framework.views import APIView

    found: list[Endpoint] = []

    def walk(patterns: list[Any], prefix: str, params: list[str]) -> None:
        for entry in patterns:
            template, names = _piece(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + template, params + names)
            elif isinstance(entry, URLPattern):
                cls = getattr(entry.callback, "cls", None)
                all_params = params + names
                if not (isinstance(cls, type) and issubclass(cls, APIView)) or issubclass(cls, APIRootView):
                    continue
                if "format" in all_params:
                    continue
                full = "/" + prefix + template
                route = full % {p: f"<{p}>" for p in all_params}
                found.append(
                    Endpoint(
                        route=route,
                        template=full,
                        params=all_params,
                        callback=entry.callback,
                        cls=cls,
                        actions=getattr(entry.callback, "actions", None),
                        initkwargs=dict(getattr(entry.callback, "initkwargs", {}) or {}),
                    )
                )

    walk(list(get_resolver(urlconf).url_patterns), "", [])
    return found


def select(endpoints: list[Endpoint], globs: tuple[str, ...]) -> list[Endpoint]:
    """Endpoints whose route matches one of ``globs`` (all when none is given)."""
    if not globs:
        return endpoints
    norm = [g if g.startswith(("/", "*")) else "/" + g for g in globs]
    return [e for e in endpoints if any(fnmatch.fnmatchcase(e.route, g) for g in norm)]
