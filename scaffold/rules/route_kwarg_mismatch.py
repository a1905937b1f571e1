"""TEN010 route-kwarg-mismatch: a URL route passes a kwarg the view it reaches does not accept.

## What it does
Resolves every `path()` / `re_path()` route of a urls module to the view it reaches (across
files, through imports and aliases) and reports:

- a captured kwarg (`<str:session_id>`, `(?P<session_id>...)`) that a handler method of an
  `APIView` (`get`, `post`, ...) or a function view does not accept (no parameter of that
  name and no `**kwargs`);
- a ViewSet or generic detail route (`retrieve`, `update`, `partial_update`, `destroy`)
  whose kwargs do not include the view's lookup kwarg (`lookup_url_kwarg` or
  `lookup_field`, `pk` by default);
- a ViewSet registered on a DRF router whose own actions do not accept what the router
  passes: an `@action(detail=True)` (or an overridden `retrieve`/`update`/`destroy`)
  declared with `pk` while the viewset's `lookup_field` is `slug`, or the kwargs of a regex
  prefix (`r"projects/(?P<project_id>[^/.]+)/tasks"`).

## Why is this bad?
Django calls the view with the captured kwargs. A handler declared as
`def get(self, request, pk)` behind `<str:session_id>` fails on every request with
`TypeError: get() got an unexpected keyword argument 'session_id'` (the seed's "Django Session
Backend Errors"); DRF's `get_object()` asserts when its lookup kwarg is missing. Neither is
caught before the route is hit.

## Example
```python
urlpatterns = [path("<str:session_id>/", SessionDetailView.as_view())]


class SessionDetailView(APIView):
    def get(self, request, pk): ...
```

## Use instead
```python
urlpatterns = [path("<str:pk>/", SessionDetailView.as_view())]
```

## Fix safety
`scaffold fix --select TEN010` renames the route kwarg to the name the view expects (`pk`),
and renames the view's parameter with it when the handlers all take the old name. When
other code refers to the old name (`reverse(..., kwargs={"session_id": ...})`, templates), it
reports the route for manual review instead.

## References
- [Django: URL dispatcher, path converters](https://docs.djangoproject.com/en/5.2/topics/http/urls/#path-converters)
- [DRF: GenericAPIView lookup_field / lookup_url_kwarg](https://www.django-rest-framework.org/api-guide/generic-views/#attributes)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from scaffold.analysis.routes import PATH_KWARG, REGEX_KWARG, fills_kwargs, lookup_kwarg
from scaffold.analysis.syntax import walk_all
from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import ClassRef, FileContext, call_name, class_ref, mro, resolve_function

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
DETAIL_ACTIONS = {"retrieve", "update", "partial_update", "destroy"}
# Handlers of DRF's generic views that call get_object().
GENERIC_DETAIL = {
    "rest_framework.generics.RetrieveAPIView": {"get"},
    "rest_framework.generics.UpdateAPIView": {"put", "patch"},
    "rest_framework.generics.DestroyAPIView": {"delete"},
    "rest_framework.generics.RetrieveUpdateAPIView": {"get", "put", "patch"},
    "rest_framework.generics.RetrieveDestroyAPIView": {"get", "delete"},
    "rest_framework.generics.RetrieveUpdateDestroyAPIView": {"get", "put", "patch", "delete"},
}
ROUTE_FUNCS = {"django.urls.path", "django.urls.re_path", "django.conf.urls.url", "path", "re_path", "url"}


def route_kind(ctx: FileContext, call: ast.Call) -> str | None:
    """``"path"`` or ``"re_path"`` for Django's route functions (aliases resolved), else None."""
    qual = ctx.qualname(call.func) or ""
    if qual in ("django.urls.path", "path"):
        return "path"
    if qual in ("django.urls.re_path", "django.conf.urls.url", "re_path", "url"):
        return "re_path"
    return None


@dataclass
class Route:
    call: ast.Call
    route: str
    kwargs: list[str]
    view: ast.expr


def routes(ctx: FileContext) -> Iterator[Route]:
    for node in walk_all(ctx.tree):
        if not isinstance(node, ast.Call) or len(node.args) < 2:
            continue
        kind = route_kind(ctx, node)
        if kind is None:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        pattern = PATH_KWARG if kind == "path" else REGEX_KWARG
        names = [m.group("name") for m in pattern.finditer(first.value)]
        yield Route(node, first.value, names, node.args[1])


def accepts(fn: ast.FunctionDef | ast.AsyncFunctionDef, kwarg: str) -> bool:
    args = fn.args
    if args.kwarg is not None:
        return True
    return any(a.arg == kwarg for a in (*args.args, *args.kwonlyargs))


def signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return f"{fn.name}({ast.unparse(fn.args)})"


def _method(
    cls_mro: list[ClassRef | str], name: str
) -> tuple[ClassRef, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    for cls in cls_mro:
        if isinstance(cls, ClassRef):
            fn = cls.method(name)
            if fn is not None:
                return cls, fn
    return None


def problems(ctx: FileContext, route: Route) -> Iterator[tuple[str, str]]:
    """(symbol, message) for each mismatch of ``route``."""
    if not route.kwargs:
        return
    view = route.view
    if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute) and view.func.attr == "as_view":
        ref = class_ref(ctx.index, ctx.qualname(view.func.value))
        if ref is None:
            return
        cls_mro = mro(ctx.index, ref)
        actions: dict[str, str] | None = None
        if view.args and isinstance(view.args[0], ast.Dict):
            actions = {}
            for k, v in zip(view.args[0].keys, view.args[0].values, strict=False):
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant):
                    actions[str(k.value)] = str(v.value)
        externals = {m for m in cls_mro if isinstance(m, str)}
        generic_detail: set[str] = set()
        for base, methods in GENERIC_DETAIL.items():
            if base in externals:
                generic_detail |= methods
        handlers = (
            sorted(set(actions.values()))
            if actions is not None
            else [m for m in HTTP_METHODS if _method(cls_mro, m) is not None or m in generic_detail]
        )
        lookup = lookup_kwarg(cls_mro)
        rejecting: dict[str, list[str]] = {}
        for handler in handlers:
            found = _method(cls_mro, handler)
            if found is not None:
                for kwarg in route.kwargs:
                    if not accepts(found[1], kwarg):
                        rejecting.setdefault(kwarg, []).append(signature(found[1]))
                continue
            detail = handler in DETAIL_ACTIONS or (actions is None and handler in generic_detail)
            if (
                detail
                and _method(cls_mro, "get_object") is None
                and lookup is not None
                and lookup not in route.kwargs
                and not fills_kwargs(cls_mro)
            ):
                yield (
                    ref.name,
                    (
                        f"route kwargs {', '.join(repr(k) for k in route.kwargs)} do not include {ref.name}'s "
                        f"lookup kwarg '{lookup}' ({handler} calls get_object()); name it <...:{lookup}>"
                    ),
                )
                return
        for kwarg, sigs in rejecting.items():
            yield (
                ref.name,
                (
                    f"route kwarg '{kwarg}' is not accepted by {ref.name}.{', '.join(sigs)}: "
                    f"requests fail with TypeError; rename the route kwarg to match"
                ),
            )
        return
    if isinstance(view, (ast.Name, ast.Attribute)):
        fn = resolve_function(ctx.index, ctx.qualname(view))
        if fn is None:
            return
        for kwarg in route.kwargs:
            if not accepts(fn, kwarg):
                yield (
                    fn.name,
                    (
                        f"route kwarg '{kwarg}' is not accepted by view {signature(fn)}: requests fail with "
                        f"TypeError; rename the route kwarg to match"
                    ),
                )


def _is_action(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool | None:
    """True for ``@action(detail=True)``, False for ``detail=False``, None when not an action."""
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and call_name(dec) == "action":
            for kw in dec.keywords:
                if kw.arg == "detail" and isinstance(kw.value, ast.Constant):
                    return bool(kw.value.value)
            return False
    return None


def router_problems(ctx: FileContext) -> Iterator[tuple[ast.Call, str, str]]:
    """``router.register(prefix, ViewSet)``: the lookup kwarg the router captures (and any
    kwargs of a regex prefix) must be accepted by the viewset's own actions."""
    if not ctx.imports_module("rest_framework"):
        return
    for node in walk_all(ctx.tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            continue
        ref = class_ref(ctx.index, ctx.qualname(node.args[1]))
        if ref is None:
            continue
        cls_mro = mro(ctx.index, ref)
        if not any(isinstance(m, str) and m.startswith("rest_framework.viewsets.") for m in cls_mro):
            continue
        lookup = lookup_kwarg(cls_mro)
        prefix_kwargs = [m.group("name") for m in REGEX_KWARG.finditer(node.args[0].value)]
        seen: set[str] = set()
        for cls in cls_mro:
            if not isinstance(cls, ClassRef):
                continue
            for fn in cls.node.body:
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name in seen:
                    continue
                seen.add(fn.name)
                detail = _is_action(fn)
                if detail is None:
                    detail = (
                        True
                        if fn.name in DETAIL_ACTIONS
                        else False
                        if fn.name in ("list", "create")
                        else None
                    )
                if detail is None:
                    continue
                wanted = [*prefix_kwargs, *([lookup] if detail and lookup else [])]
                missing = [k for k in wanted if not accepts(fn, k)]
                if missing:
                    yield (
                        node,
                        ref.name,
                        (
                            f"router passes kwarg '{missing[0]}' to {ref.name}.{signature(fn)}"
                            f"{' (@action detail=True)' if _is_action(fn) else ''}, which does not accept it: "
                            f"requests fail with TypeError; name the parameter {missing[0]} (or take **kwargs)"
                        ),
                    )


def check(ctx: FileContext) -> Iterator[Finding]:
    if not ctx.imports_module("django", "rest_framework"):
        return
    for call, symbol, message in router_problems(ctx):
        yield ctx.finding("TEN010", call, message, symbol)
    if not ctx.imports_module("django"):
        return
    for route in routes(ctx):
        seen: set[str] = set()
        for symbol, message in problems(ctx, route):
            if message in seen:
                continue
            seen.add(message)
            yield ctx.finding("TEN010", route.call, message, symbol)


rule = register(
    Rule(
        code="TEN010",
        name="route-kwarg-mismatch",
        summary="URL route kwarg not accepted by the view method it reaches, or a non-pk detail kwarg on a ViewSet route",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"urlpatterns", b".register("),
    )
)
