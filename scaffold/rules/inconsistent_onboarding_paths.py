"""TEN020 inconsistent-onboarding-paths: an API module is in neither (or both) onboarding path lists.

## What it does
Reads the root urlconf (`urls`, or `ROOT_URLCONF`) and the onboarding middleware
(`middleware`, `module:Class`, autodetected as the one module assigning `EXEMPT_PATHS` /
`PROTECTED_PATHS`) and reports every module mounted under the API prefix (`api_prefix`,
`/api/`) whose path is covered by neither `EXEMPT_PATHS` nor `PROTECTED_PATHS`, or by both.
Coverage follows the middleware's own test, `path.startswith(prefix)`. Modules mounted
through an `include()` at or above the prefix (`path("api/", include("api.urls"))`) are
followed, and reported at that `path()`.

## Why is this bad?
An unlisted module falls through to the middleware's default branch and answers 403 to
every user who has not finished onboarding, while creation from other screens still works:
the seed's "OnboardingMiddleware Blocking Module Endpoints" ("POST works but GET fails",
"zero fetched items"). A module in both lists behaves according to whichever check runs
first, which nobody reading the lists can tell.

## Example
```python
# erp/urls.py
urlpatterns = [path("api/hr/", include("hr.urls"))]

# onboarding_middleware.py
EXEMPT_PATHS = ["/api/auth/", "/api/crm/"]
PROTECTED_PATHS = ["/api/reports/"]
```

## Use instead
```python
EXEMPT_PATHS = ["/api/auth/", "/api/crm/", "/api/hr/"]
```

## Fix safety
`scaffold fix --select TEN020` appends the module's path to `EXEMPT_PATHS` (standard
business modules belong there, per the seed's prevention advice), keeping the list's
layout and quote style. A module listed in both lists is left for manual review: which
list is right is a product decision.

## References
- Backend troubleshooting guide: "Add new business modules to EXEMPT_PATHS by default"
- [Django: Middleware](https://docs.djangoproject.com/en/5.2/topics/http/middleware/)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext

LISTS = ("EXEMPT_PATHS", "PROTECTED_PATHS")


@dataclass
class OnboardingLists:
    exempt: list[str]
    protected: list[str]
    where: str  # "module:Class"


def _strings(value: ast.AST | None) -> list[str] | None:
    if isinstance(value, (ast.List, ast.Tuple)):
        out = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return out if len(out) == len(value.elts) else None
    return None


def _read_body(body: list[ast.stmt]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name) and t.id in LISTS:
                    values = _strings(stmt.value)
                    if values is not None:
                        found[t.id] = values
        elif (
            isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id in LISTS
        ):
            values = _strings(stmt.value)
            if values is not None:
                found.setdefault(stmt.target.id, []).extend(values)
    return found


def onboarding_lists(ctx: FileContext) -> OnboardingLists | None:
    """The middleware's path lists, read statically; None when not configured or not literal."""
    target = ctx.settings.middleware
    if not target:
        return None
    module, _, cls_name = target.partition(":")
    info = ctx.index.module(module)
    if info is None:
        return None
    bodies: list[tuple[str, list[ast.stmt]]] = []
    for node in info.tree.body:
        if isinstance(node, ast.ClassDef) and (not cls_name or node.name == cls_name):
            bodies.append((node.name, node.body))
    if not cls_name:
        bodies.append(("", info.tree.body))
    for name, body in bodies:
        found = _read_body(body)
        if found:
            return OnboardingLists(
                found.get("EXEMPT_PATHS", []),
                found.get("PROTECTED_PATHS", []),
                f"{module}:{name}" if name else module,
            )
    return None


def mounts(
    ctx: FileContext, tree: ast.Module, prefix: str, depth: int = 0, outer: ast.Call | None = None
) -> Iterator[tuple[str, ast.Call | None]]:
    """(mounted path, call to report at) for every route of ``tree``'s urlpatterns.

    An ``include("pkg.urls")`` mounted at or above the API prefix (``path("api/", include(...))``)
    is followed (three levels at most), and its routes are reported at the outer ``path()``.
    """
    from scaffold.rules.route_kwarg_mismatch import route_kind

    api = ctx.settings.api_prefix
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        kind = route_kind(ctx, node) if depth == 0 else _kind_in(node)
        if kind is None:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        route = first.value
        if kind != "path":
            route = re.sub(r"^\^|\$$", "", route)
        mounted = "/" + (prefix + route).lstrip("/")
        target = outer or node
        included = _included_module(node)
        if included and depth < 3 and api.startswith(mounted):
            info = ctx.index.module(included)
            if info is not None:
                yield from mounts(ctx, info.tree, mounted.lstrip("/"), depth + 1, target)
                continue
        yield mounted, target


def _kind_in(node: ast.Call) -> str | None:
    """Route functions in an included module (names only: its imports are not this file's)."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return "path" if name == "path" else "re_path" if name in ("re_path", "url") else None


def _included_module(node: ast.Call) -> str | None:
    if len(node.args) < 2 or not isinstance(node.args[1], ast.Call):
        return None
    inc = node.args[1]
    func = inc.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name != "include" or not inc.args:
        return None
    arg = inc.args[0]
    if isinstance(arg, ast.Tuple) and arg.elts:
        arg = arg.elts[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def check(ctx: FileContext) -> Iterator[Finding]:
    s = ctx.settings
    if not s.urls or ctx.module != s.urls or not s.middleware or not ctx.imports_module("django"):
        return
    lists = onboarding_lists(ctx)
    if lists is None:
        return
    api = s.api_prefix
    reported: set[str] = set()
    for mounted, call in mounts(ctx, ctx.tree, ""):
        if not mounted.startswith(api) or mounted == api or call is None:
            continue
        first = mounted[len(api) :].split("/", 1)[0]
        if not first or "<" in first or "(" in first:
            continue
        module_path = f"{api}{first}/"
        if module_path in reported:
            continue
        exempt = any(module_path.startswith(p) for p in lists.exempt)
        protected = any(module_path.startswith(p) for p in lists.protected)
        cls = lists.where.rpartition(":")[2] or lists.where
        if exempt and protected:
            message = (
                f"API module {module_path} is in both EXEMPT_PATHS and PROTECTED_PATHS of {cls}; "
                f"keep it in exactly one"
            )
        elif not exempt and not protected:
            message = (
                f"API module {module_path} is in neither EXEMPT_PATHS nor PROTECTED_PATHS of {cls}: "
                f"users who have not finished onboarding get 403; add it to EXEMPT_PATHS"
            )
        else:
            continue
        reported.add(module_path)
        yield ctx.finding("TEN020", call, message, module_path)


rule = register(
    Rule(
        code="TEN020",
        name="inconsistent-onboarding-paths",
        summary="An API module mounted under the API prefix that is in neither EXEMPT_PATHS nor PROTECTED_PATHS, or in both",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"urlpatterns",),
    )
)
