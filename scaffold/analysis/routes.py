"""Routes: which actions of a view the project's urlconfs expose.

``path("reports/", ReportViewSet.as_view({"get": "list"}))`` exposes no write: such a view
needs no ``perform_create``. A view registered with a router (``router.register(...)``), or
not found in any ``urls.py``, is taken to expose every action it has.
"""

from __future__ import annotations

import ast

from scaffold.index import ProjectIndex

WRITES = {"create": ("create", "post"), "update": ("update", "partial_update", "put", "patch")}
HTTP_METHODS = frozenset(["get", "post", "put", "patch", "delete", "head", "options", "trace"])
SKIP_DIRS = frozenset([".venv", "venv", "node_modules", "site-packages", ".git", "migrations", "__pycache__"])


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
        for node in ast.walk(info.tree):
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
