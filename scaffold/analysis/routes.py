"""Routes: which actions of a view the project's urlconfs expose.

``path("reports/", ReportViewSet.as_view({"get": "list"}))`` exposes no write: such a view
needs no ``perform_create``. A view registered with a router (``router.register(...)``), or
not found in any ``urls.py``, is taken to expose every action it has.

DRF's own detail actions (``retrieve``, ``update``, ``partial_update``, ``destroy``) read the
row through ``get_object()``, which asserts that the URL captured the view's lookup kwarg
(``lookup_url_kwarg`` or ``lookup_field``, ``pk`` by default): routed only on paths without
it, they fail on every request (TEN010 route-kwarg-mismatch) and serve no rows
(:func:`lookup_kwarg`, :func:`route_kwargs`, :func:`include_kwargs`).
"""

from __future__ import annotations

import ast
import re

from scaffold.analysis.scope import ClassRef
from scaffold.analysis.syntax import walk_all, walk_function
from scaffold.index import ProjectIndex, dotted_name

WRITES = {"create": ("create", "post"), "update": ("update", "partial_update", "put", "patch")}
HTTP_METHODS = frozenset(["get", "post", "put", "patch", "delete", "head", "options", "trace"])
SKIP_DIRS = frozenset([".venv", "venv", "node_modules", "site-packages", ".git", "migrations", "__pycache__"])
# the kwargs a route captures: path("<str:slug>/<uuid:pk>/") / re_path(r"(?P<pk>[0-9]+)")
PATH_KWARG = re.compile(r"<(?:(?P<conv>[A-Za-z_][A-Za-z0-9_]*):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
REGEX_KWARG = re.compile(r"\(\?P<(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
ROUTE_PATTERNS = {
    "django.urls.path": PATH_KWARG,
    "django.urls.re_path": REGEX_KWARG,
    "django.conf.urls.url": REGEX_KWARG,
}
RouteKwargs = tuple[frozenset[str], frozenset[str] | None]  # actions mapped, kwargs (None: unknown)


def _urls_modules(index: ProjectIndex) -> list[str]:
    cached: list[str] | None = index.__dict__.get("_urls_modules")
    if cached is None:
        cached = []
        # urls.py modules, and the modules of urls/ packages (plane/app/urls/issue.py)
        paths = [*index.root.rglob("urls.py"), *index.root.rglob("urls/*.py")]
        for path in sorted(set(paths)):
            rel = path.relative_to(index.root)
            if not SKIP_DIRS & set(rel.parts) and not any(p.startswith(".") for p in rel.parts):
                cached.append(index.module_name(path))
        index.__dict__["_urls_modules"] = cached
    return cached


def routes(index: ProjectIndex) -> dict[str, set[str] | None]:
    """View qualname -> the actions and HTTP methods its ``as_view({...})`` mappings expose
    (None: registered with a router, every action). Views not listed are unknown. Read once
    per run (and worker); every file whose verdict used it depends on the urlconfs read."""
    return index.remembered("routes", lambda: _routes(index))


def _routes(index: ProjectIndex) -> dict[str, set[str] | None]:
    out: dict[str, set[str] | None] = {}
    for module in _urls_modules(index):
        info = index.module(module)  # also records the urlconf as a dependency of the verdict
        if info is None:
            continue
        for node in walk_all(info.tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr == "as_view" and node.args and isinstance(node.args[0], ast.Dict):
                qual = (
                    info.imports.qualify(node.func.value, info.local)
                    if isinstance(node.func.value, (ast.Name, ast.Attribute))
                    else None
                )
                if qual is None:
                    continue
                mapping = node.args[0]
                names = {
                    s.value
                    for s in [*mapping.keys, *mapping.values]
                    if isinstance(s, ast.Constant) and isinstance(s.value, str)
                }
                if qual in out and out[qual] is None:
                    continue
                out[qual] = (out.get(qual) or set()) | names
            elif node.func.attr == "register" and len(node.args) >= 2:
                view = node.args[1]
                if isinstance(view, (ast.Name, ast.Attribute)):
                    qual = info.imports.qualify(view, info.local)
                    if qual is not None:
                        out[qual] = None
    # keyed by where the class is defined (urls import it through re-exports)
    canonical: dict[str, set[str] | None] = {}
    for qual, actions in out.items():
        cls = index.class_info(qual)
        key = cls.qualname if cls is not None else qual
        if actions is None or (key in canonical and canonical[key] is None):
            canonical[key] = None  # a router: every action
        else:
            canonical[key] = (canonical.get(key) or set()) | actions
    return canonical


def exposes(index: ProjectIndex, qualname: str, write: str) -> bool | None:
    """Whether the view's routes expose ``write`` (create / update); None when unknown."""
    found = routes(index)
    if qualname not in found:
        return None
    actions = found[qualname]
    if actions is None:
        return True
    # as_view({"post": "mark_read"}) maps the HTTP method to the action: the action is what
    # runs, so a routed "post" is a create only when it maps to create
    named = {a for a in actions if a not in HTTP_METHODS} or actions
    return bool(named & set(WRITES[write]))


def pattern_kwargs(route_func: str, pattern: ast.AST) -> frozenset[str] | None:
    """The kwargs a ``path()`` / ``re_path()`` / ``url()`` pattern captures (``route_func`` its
    qualified name), or None when the pattern is not a string literal or not a route."""
    regex = ROUTE_PATTERNS.get(route_func)
    if regex is None or not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
        return None
    return frozenset(m.group("name") for m in regex.finditer(pattern.value))


def _route_calls(index: ProjectIndex) -> list[tuple[ast.Call, frozenset[str] | None, str]]:
    """Every ``path()`` / ``re_path()`` / ``url()`` of the urlconfs: (call, kwargs, module)."""
    out: list[tuple[ast.Call, frozenset[str] | None, str]] = []
    for module in _urls_modules(index):
        info = index.module(module)
        if info is None:
            continue
        for node in walk_all(info.tree):
            if (
                isinstance(node, ast.Call)
                and len(node.args) >= 2
                and isinstance(node.func, (ast.Name, ast.Attribute))
            ):
                qual = info.imports.qualify(node.func, info.local) or ""
                if qual in ROUTE_PATTERNS:
                    out.append((node, pattern_kwargs(qual, node.args[0]), module))
    return out


def route_kwargs(index: ProjectIndex) -> dict[str, list[RouteKwargs]]:
    """View qualname -> for each ``as_view({...})`` mapping of it, the actions mapped and the
    kwargs its route captures (None when the mapping is not the view of a literal route)."""
    return index.remembered("route_kwargs", lambda: _route_kwargs(index))


def _route_kwargs(index: ProjectIndex) -> dict[str, list[RouteKwargs]]:
    captured = {id(call.args[1]): kwargs for call, kwargs, _ in _route_calls(index)}
    out: dict[str, list[RouteKwargs]] = {}
    for module in _urls_modules(index):
        info = index.module(module)
        if info is None:
            continue
        for node in walk_all(info.tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "as_view"
                and node.args
                and isinstance(node.args[0], ast.Dict)
                and isinstance(node.func.value, (ast.Name, ast.Attribute))
            ):
                continue
            qual = info.imports.qualify(node.func.value, info.local)
            cls = index.class_info(qual) if qual else None
            if qual is None:
                continue
            actions = frozenset(
                v.value
                for v in node.args[0].values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            key = cls.qualname if cls is not None else qual
            out.setdefault(key, []).append((actions, captured.get(id(node))))
    return out


def include_kwargs(index: ProjectIndex) -> frozenset[str] | None:
    """The kwargs an ``include()`` prefix may add to the routes below it (every prefix of the
    urlconfs), or None when one of those prefixes cannot be read."""
    return index.remembered("include_kwargs", lambda: _include_kwargs(index))


def _include_kwargs(index: ProjectIndex) -> frozenset[str] | None:
    found: set[str] = set()
    for call, kwargs, _ in _route_calls(index):
        view = call.args[1]
        if isinstance(view, ast.Call) and (dotted_name(view.func) or "").rpartition(".")[2] == "as_view":
            continue
        if isinstance(view, (ast.Name, ast.Attribute)):
            continue  # a function view: no routes below it
        if kwargs is None:
            return None  # include(...) (or a list of routes) under a pattern scaffold cannot read
        found |= kwargs
    return frozenset(found)


def _sets_lookup_on_self(cls: ClassRef) -> bool:
    """Whether a class body assigns ``self.lookup_field`` / ``self.lookup_url_kwarg``
    anywhere (asked for every route and view along each MRO: answered once per class, and
    without walking the class when its module's source never spells ``lookup_``)."""
    node = cls.node
    cached: bool | None = node.__dict__.get("_scaffold_self_lookup")
    if cached is None and not cls.mod.may_mention(b"lookup_"):
        cached = node.__dict__["_scaffold_self_lookup"] = False
    if cached is None:
        cached = any(
            isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign))
            and any(
                dotted_name(t) in ("self.lookup_field", "self.lookup_url_kwarg")
                for t in (sub.targets if isinstance(sub, ast.Assign) else [sub.target])
            )
            for sub in walk_all(node)
        )
        node.__dict__["_scaffold_self_lookup"] = cached
    return cached


def lookup_kwarg(classes: list[ClassRef | str]) -> str | None:
    """The URL kwarg DRF's ``get_object()`` reads for a view (its classes, nearest first):
    ``lookup_url_kwarg``, else ``lookup_field``, else ``pk``; None when a class sets either
    to something other than a string literal, in its body or on ``self``."""
    projects = [c for c in classes if isinstance(c, ClassRef)]
    if any(_sets_lookup_on_self(cls) for cls in projects):
        return None
    for name in ("lookup_url_kwarg", "lookup_field"):
        for cls in projects:
            stmt = cls.body_assign_stmt(name)
            if stmt is None:
                continue
            value = getattr(stmt, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                return value.value
            if isinstance(value, ast.Constant) and value.value is None and name == "lookup_url_kwarg":
                break  # DRF's own default: the lookup_field names the kwarg
            return None
    return "pk"


# view methods that see the URL kwargs before get_object() does
KWARGS_HOOKS = ("dispatch", "setup", "initial", "initialize_request", "as_view")


def _may_fill_kwargs(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``fn`` (a hook given the URL kwargs) may change them on the way to ``get_object()``:
    it rebinds or writes its ``**kwargs`` (``kwargs["pk"] = ...``, ``kwargs.update(...)``), or
    passes a keyword of its own on (``super().dispatch(request, pk=..., **kwargs)``)."""
    name = fn.args.kwarg.arg if fn.args.kwarg is not None else None
    for node in walk_function(fn):
        if isinstance(node, ast.Call) and any(k.arg is not None for k in node.keywords):
            if any(k.arg is None for k in node.keywords):
                return True  # f(pk=..., **kwargs)
        if name is None:
            continue
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                base = t.value if isinstance(t, ast.Subscript) else t
                if isinstance(base, ast.Name) and base.id == name:
                    return True
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
            if node.attr not in ("get", "keys", "values", "items", "copy"):
                return True  # kwargs.update(...), kwargs.setdefault(...), kwargs.pop(...)
    return False


def fills_kwargs(classes: list[ClassRef | str]) -> bool:
    """A project class of the view overrides a hook that sees the URL kwargs before
    ``get_object()`` (``dispatch``, ``initial``, ...) and may change them."""
    return any(
        isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        and fn.name in KWARGS_HOOKS
        and _may_fill_kwargs(fn)
        for cls in classes
        if isinstance(cls, ClassRef)
        for fn in cls.node.body
    )


def writes_self_kwargs(classes: list[ClassRef | str]) -> bool:
    """A project class of the view assigns ``self.kwargs`` (or a key of it) or calls
    ``self.kwargs.update`` / ``setdefault`` / ``__setitem__`` anywhere: the URL kwarg may be
    filled in before ``get_object()``."""
    return any(_writes_self_kwargs(cls.node) for cls in classes if isinstance(cls, ClassRef))


def _writes_self_kwargs(node: ast.ClassDef) -> bool:
    """:func:`writes_self_kwargs` for one class, answered once per class (views share their
    bases), like :func:`_sets_lookup_on_self`."""
    cached: bool | None = node.__dict__.get("_scaffold_writes_kwargs")
    if cached is None:
        cached = node.__dict__["_scaffold_writes_kwargs"] = any(
            (
                isinstance(sub, ast.Attribute)
                and sub.attr in ("update", "setdefault", "__setitem__")
                and dotted_name(sub.value) == "self.kwargs"
            )
            or (
                isinstance(sub, (ast.Assign, ast.AugAssign))
                and any(
                    dotted_name(t) == "self.kwargs"
                    or (isinstance(t, ast.Subscript) and dotted_name(t.value) == "self.kwargs")
                    for t in (sub.targets if isinstance(sub, ast.Assign) else [sub.target])
                )
            )
            for sub in walk_all(node)
        )
    return cached
