"""Write paths: where a view's creates and updates get their tenant, besides the view.

DRF views save through a serializer, and the serializer saves the model: the tenant can be
stamped in any of the three. This module says when it is stamped outside the view (so the
view needs no ``perform_create``): a serializer (or one of its project bases) whose
``create()`` / ``update()`` sets the tenant from the request's user, a serializer field for
the tenant with a server-side default (``HiddenField``), or a model whose ``save()`` sets it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scaffold.analysis.lookup import Lookup, class_ref, mro, nearest_assign
from scaffold.analysis.scope import ClassRef, Scope
from scaffold.analysis.syntax import walk_all, walk_function
from scaffold.index import dotted_name

if TYPE_CHECKING:
    from scaffold.analysis.view import Analyzer, Visitor


def tenant_names(lookup: Lookup) -> set[str]:
    return {lookup.settings.tenant_field, lookup.settings.tenant_relation}


def _from_request(expr: ast.AST, helpers: dict[str, ast.AST] | None = None, depth: int = 0) -> bool:
    """The value comes from the request's user (``self.context["request"].user.organization``,
    ``request.user.tenant``, a helper given the request, a method of the class in ``helpers``
    that reads it: ``self.get_organization``)."""
    for node in walk_all(expr):
        if (
            helpers
            and depth < 3
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and node.attr in helpers
            and _from_request(helpers[node.attr], helpers, depth + 1)
        ):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("user", "request"):
            return True
        if isinstance(node, ast.Name) and node.id in ("request", "user"):
            return True
        if isinstance(node, ast.Constant) and node.value == "request":
            return True
    return False


def _sets_tenant(
    fn: ast.AST, names: set[str], target: str, helpers: dict[str, ast.AST] | None = None
) -> bool:
    """``fn`` puts the tenant into ``target`` (``validated_data`` / ``self``) from the request."""
    for node in walk_function(fn):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                key = None
                if isinstance(t, ast.Subscript) and dotted_name(t.value) == target:
                    key = t.slice.value if isinstance(t.slice, ast.Constant) else None
                elif isinstance(t, ast.Attribute) and dotted_name(t.value) == target:
                    key = t.attr
                if key in names and (target == "self" or _from_request(node.value, helpers)):
                    return True
        elif isinstance(node, ast.Call):
            callee = dotted_name(node.func) or ""
            if callee in (f"{target}.update", f"{target}.setdefault") or callee.endswith(
                (".create", ".save")
            ):
                if any(k.arg in names and _from_request(k.value, helpers) for k in node.keywords):
                    return True
                if callee == f"{target}.setdefault" and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and first.value in names:
                        return True
    return False


def serializer_stamps(lookup: Lookup, serializer: ClassRef, method: str) -> bool:
    """The serializer (or a project base) stamps the tenant on ``create`` / ``update``."""
    names = tenant_names(lookup)
    classes = [c for c in mro(lookup.index, serializer) if isinstance(c, ClassRef)]
    helpers: dict[str, ast.AST] = {}
    for cls in reversed(classes):
        for stmt in cls.node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                helpers[stmt.name] = stmt
    for cls in classes:
        for name in names:
            value = cls.body_assign(name)
            if isinstance(value, ast.Call) and (dotted_name(value.func) or "").endswith("HiddenField"):
                return True  # tenant = HiddenField(default=CurrentTenantDefault())
        fn = cls.method(method)
        if fn is not None and _sets_tenant(fn, names, "validated_data", helpers):
            return True
        save = cls.method("save")
        if save is not None and _sets_tenant(save, names, "kwargs", helpers):
            return True
    return False


def model_stamps(lookup: Lookup, model: ClassRef) -> set[str] | None:
    """The relations the model's (or a project base's) ``save()`` takes the tenant from
    (``self.tenant_id = self.project.tenant_id``: ``{"project"}``; the current user: empty),
    or None when ``save()`` does not set the tenant."""
    names = tenant_names(lookup)
    names |= {f"{n}_id" for n in names}
    for cls in mro(lookup.index, model):
        if not isinstance(cls, ClassRef):
            continue
        save = cls.method("save")
        if save is None or not _sets_tenant(save, names, "self"):
            continue
        parents: set[str] = set()
        for node in walk_function(save):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and dotted_name(t.value) == "self" and t.attr in names
                for t in node.targets
            ):
                source = dotted_name(node.value) or ""
                if source.startswith("self.") and source.count(".") >= 2:
                    parents.add(source.split(".")[1])
        return parents
    return None


# -- references the client picks -----------------------------------------------------------
#
# A write can put a row into another tenant without touching the tenant column: the row's
# tenant follows a parent it points to (``save()`` sets ``workspace = project.workspace``), or
# it points at another tenant's row (an issue id from the request body). The view writes such
# a relation from what the client chose: a URL kwarg no membership check covers on that
# handler, or an id from the request body no tenant-scoped lookup checked first.

RELATIONS = frozenset(["ForeignKey", "OneToOneField", "ParentalKey", "TreeForeignKey"])
CREATES = frozenset(["create", "get_or_create", "update_or_create"])
WRITE_HOOKS = {"perform_create": ("create",), "perform_update": ("update", "partial_update")}
TRUSTED_KINDS = frozenset(["scoped", "user", "owner", "implicit"])
BODY_SOURCES = frozenset(["data", "query_params", "GET", "POST", "FILES"])


@dataclass
class WriteRef:
    """One relation a handler writes into a new row from what the client chose."""

    node: ast.expr  # the value written
    view: str
    method: str
    model: ClassRef  # the row written
    field: str  # the keyword (``issue_id``, ``project_id``)
    target: str  # the related model's name
    source: str  # "body" (request body / query string) or "url" (a URL kwarg, no membership check)
    # True: the relation decides the row's tenant (the tenant, or the parent save() takes it
    # from): the row lands in a tenant the client chose. False: the row points into another
    # tenant, and the handler answers with a serializer that reads through the relation.
    decides: bool = False


def describe(ref: WriteRef, tenant_field: str) -> str:
    """The one sentence audit (TEN001) and migrate-viewsets (manual review) say about it."""
    where = f"{ref.view}.{ref.method}() saves {ref.model.name} rows with {ref.field}="
    if ref.decides:
        if ref.field.removesuffix("_id") == tenant_field.removesuffix("_id"):
            chosen = f"the client chooses the tenant ({tenant_field}) of the rows"
        else:
            chosen = (
                f"the client chooses the {ref.target} that decides the rows' tenant "
                f"({ref.model.name}.save() takes {tenant_field} from it)"
            )
        if ref.source == "url":
            handler = " / ".join(WRITE_HOOKS.get(ref.method, (ref.method,)))
            return f"{where} taken from the URL, which no membership check covers on {handler}: {chosen}"
        return f"{where} from the request body, unchecked: {chosen}"
    return (
        f"{where} from the request body, unchecked against the tenant, and answers with the "
        f"{ref.target} it points to: the client reads another tenant's {ref.target}"
    )


def relation_target(lookup: Lookup, model: ClassRef, field: str) -> tuple[str, str] | None:
    """``(kind, name)`` of the model the relation ``field`` (``issue`` / ``issue_id``) of
    ``model`` points to, None when ``field`` is not a relation the project declares. Kinds:
    ``tenant`` (the tenant model), ``data`` (tenant data), ``global``, ``other`` (no tenant
    field: users, ...), ``unknown`` (not found in the project)."""
    name = field[:-3] if field.endswith("_id") else field
    found = nearest_assign(lookup.index, model, name)
    if found is None:
        return None
    cls, value = found
    if not isinstance(value, ast.Call):
        return None
    if (dotted_name(value.func) or "").rpartition(".")[2] not in RELATIONS:
        return None
    to = value.args[0] if value.args else next((k.value for k in value.keywords if k.arg == "to"), None)
    if to is None:
        return None
    if isinstance(to, ast.Constant) and to.value == "self":
        target: ClassRef | None = model
    elif "AUTH_USER_MODEL" in ast.unparse(to):
        return "other", "User"
    elif isinstance(to, ast.Constant) and isinstance(to.value, str):
        target = _model_named(lookup, cls, to.value.rpartition(".")[2])
    else:
        target = class_ref(lookup.index, cls.qualify(to))
    shown = target.name if target is not None else ast.unparse(to).strip("'\"").rpartition(".")[2]
    if target is None:
        return "unknown", shown
    if lookup.is_global(target):
        return "global", shown
    if lookup.is_the_tenant(target) and not lookup.declares_tenant(target):
        return "tenant", shown
    data = lookup.tenant_data(target)
    return ("data" if data else "unknown" if data is None else "other"), shown


def _model_named(lookup: Lookup, cls: ClassRef, name: str) -> ClassRef | None:
    """``"db.Issue"`` seen from ``cls``'s module: a class of that name there, imported there,
    or re-exported by one of the packages above it (``plane.db.models``)."""
    module = cls.mod.module
    candidates = [f"{module}.{name}"]
    imported = cls.mod.imports.names.get(name)
    if imported:
        candidates.append(imported)
    parts = module.split(".")
    candidates += [".".join(parts[:i] + [name]) for i in range(len(parts) - 1, 0, -1)]
    for qual in candidates:
        found = class_ref(lookup.index, qual)
        if found is not None and lookup.is_model(found):
            return found
    return None


def _reads_body(expr: ast.AST) -> bool:
    """``request.data[...]``, ``self.request.query_params.get(...)``: what the client sent."""
    return any(
        isinstance(sub, ast.Attribute)
        and sub.attr in BODY_SOURCES
        and dotted_name(sub.value) in ("request", "self.request")
        for sub in walk_all(expr)
    )


def _saved_row(value: ast.expr, bindings: Bindings) -> bool:
    """``serializer.data["id"]``, ``serializer.instance.workspace``: the row a serializer of
    the handler saved (the view wrote it, so its relations are the ones the view checked),
    not the request body the serializer was given."""
    node: ast.expr = value
    attrs: list[str] = []
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            node = node.func
    if not isinstance(node, ast.Name) or not attrs or attrs[-1] not in ("data", "instance"):
        return False
    bound = bindings.all(node.id)
    return bool(bound) and all(
        isinstance(b, ast.Call)
        and (dotted_name(b.func) or "").endswith(("Serializer", "get_serializer", "serializer_class"))
        for b in bound
    )


def _created_row(an: Analyzer, value: ast.expr) -> bool:
    """``Issue.objects.create(...)``, ``Issue(...)``, ``serializer.save()``: a row the handler
    itself creates (what it writes into it is judged where it is created)."""
    while isinstance(value, ast.Attribute) and value.attr in ("id", "pk"):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr in (*CREATES, "save"):
        return True
    return (
        isinstance(func, ast.Name)
        and func.id[:1].isupper()
        and an.lookup.model_info(an.view, func) is not None
    )


class Bindings:
    """What binds each local of a function: assigned values, and the iterables of the
    ``for`` loops and comprehensions whose target names it (``for issue in issues``)."""

    def __init__(self, fn: ast.AST) -> None:
        # name -> (value, position, bound by a statement of the function's own body, loop)
        self.found: dict[str, list[tuple[ast.expr, tuple[int, int], bool, bool]]] = {}
        top = {id(stmt) for stmt in getattr(fn, "body", [])}
        for sub in walk_function(fn):
            if isinstance(sub, ast.Assign):
                for t in sub.targets:
                    self._bind(t, sub.value, sub, id(sub) in top, False)
            elif isinstance(sub, (ast.AnnAssign, ast.AugAssign)) and sub.value is not None:
                self._bind(sub.target, sub.value, sub, id(sub) in top, False)
            elif isinstance(sub, ast.NamedExpr):
                self._bind(sub.target, sub.value, sub, False, False)
            elif isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind(sub.target, sub.iter, sub.iter, False, True)

    def _bind(self, target: ast.AST, value: ast.expr, at: ast.AST, top: bool, loop: bool) -> None:
        """Names ``target`` binds (``a``, ``a, b``, ``*rest``); ``row.field = ...`` and
        ``data["k"] = ...`` bind none (the row stays what it was)."""
        pos = (getattr(at, "lineno", 0), getattr(at, "col_offset", 0))
        todo = [target]
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Name):
                self.found.setdefault(node.id, []).append((value, pos, top, loop))
            elif isinstance(node, (ast.Tuple, ast.List)):
                todo.extend(node.elts)
            elif isinstance(node, ast.Starred):
                todo.append(node.value)

    def all(self, name: str) -> list[ast.expr]:
        return [b[0] for b in self.found.get(name, [])]

    def reaching(self, use: ast.Name) -> list[ast.expr]:
        """The bindings that may reach ``use``: loop bindings, and the assignments before it
        from the last one made by a statement of the function's own body on (``estimate =
        request.data["estimate"]`` is gone once ``estimate = Estimate.objects.create(...)``)."""
        at = (use.lineno, use.col_offset)
        loops = [b[0] for b in self.found.get(use.id, []) if b[3]]
        before = [b for b in self.found.get(use.id, []) if not b[3] and b[1] < at]
        last_top = max((i for i, b in enumerate(before) if b[2]), default=0)
        return loops + [b[0] for b in before[last_top:]]


def client_writes(an: Analyzer, node: ast.ClassDef) -> list[WriteRef]:
    """The relations the request handlers of a readable DRF view write into new rows of
    tenant data from what the client chose: an id from the request body that no tenant-scoped
    lookup checked (``IssueRelation(issue_id=<body id>)``: a reference into another tenant),
    or the tenant, or the parent the model's ``save()`` derives it from, taken from a URL
    kwarg on a handler no membership check guards (``serializer.save(project_id=
    self.kwargs["project_id"])`` under ``IsAuthenticated``). Computed once per view."""
    memo: list[WriteRef] | None = an.__dict__.get("_client_writes")
    if memo is None:
        memo = _client_writes(an, node)
        an.__dict__["_client_writes"] = memo
    return list(memo)


def _client_writes(an: Analyzer, node: ast.ClassDef) -> list[WriteRef]:
    from scaffold.analysis.view import is_handler, readable

    if not readable(an):
        return []
    an.analyze()  # the view's own verdict first (the flow's view model)
    exposed = an.exposed_actions()
    out: list[WriteRef] = []
    for fn in node.body:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if fn.name in WRITE_HOOKS:
            if not set(WRITE_HOOKS[fn.name]) & exposed:
                continue  # as_view({"get": "list"}): DRF's create never runs
        elif not (is_handler(fn) or fn.name in exposed):
            continue
        out.extend(_in_handler(an, node, fn))
    return out


def _guarded(an: Analyzer, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A membership check of the URL's tenant guards every request ``fn`` serves: the
    view's, the handler's decorator (DRF's ``create`` for ``perform_create``), or a check in
    the handler itself."""
    names = {fn.name, *WRITE_HOOKS.get(fn.name, ())}
    if an.flow.membership or names & an.member_handlers:
        return True
    an.flow._fns.append(fn)  # the check reads the handler's parameters (its URL kwargs)
    try:
        return an.flow.checks_membership(fn)
    finally:
        an.flow._fns.pop()


def _in_handler(
    an: Analyzer, node: ast.ClassDef, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[WriteRef]:
    """The write refs of handler ``fn``: from the one flow run over it that the handler-query
    census made (:func:`~scaffold.analysis.view.queries_in` feeds :func:`write_visitor` too),
    or from a run of its own (``perform_create`` and the like, which hold no handler query)."""
    from scaffold.analysis.view import run_handler

    done: dict[int, list[WriteRef]] = an.__dict__.setdefault("_writes_in", {})
    if id(fn) not in done:
        visit, found = write_visitor(an, node.name, fn)
        run_handler(an, fn, [visit])
        done[id(fn)] = found
    return done[id(fn)]


def write_visitor(
    an: Analyzer, view_name: str, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> tuple[Visitor, list[WriteRef]]:
    """A flow visitor collecting the relations handler ``fn`` writes from what the client
    chose, and the list it fills."""
    from scaffold.analysis.view import _headers

    lookup = an.lookup
    bindings = Bindings(fn)
    guarded = _guarded(an, fn)
    found: list[WriteRef] = []
    seen: set[int] = set()

    def visit(stmt: ast.stmt, scopes: dict[str, Scope], env: set[str]) -> None:
        for head in _headers(stmt):
            for call in [head, *walk_function(head)]:
                if not isinstance(call, ast.Call) or id(call) in seen:
                    continue
                seen.add(id(call))
                model = _written_model(an, fn, call, scopes, env, bindings)
                if model is None or not lookup.is_tenant_model(model):
                    continue
                parents: set[str] | None = None
                for kw in call.keywords:
                    if kw.arg is None:
                        continue
                    rel = relation_target(lookup, model, kw.arg)
                    if rel is None or rel[0] in ("other", "global"):
                        continue
                    source = _origin(an, kw.value, scopes, env, bindings, guarded, frozenset())
                    if source not in ("body", "url") or rel[0] == "unknown":
                        continue
                    if parents is None:
                        parents = model_stamps(lookup, model) or set()
                    # the relation decides the row's tenant: the tenant itself, or the parent
                    # the model's save() takes it from (workspace = project.workspace)
                    decides = rel[0] == "tenant" or kw.arg.removesuffix("_id") in parents
                    if decides or (source == "body" and _reads_through(an, fn, model, kw.arg)):
                        found.append(
                            WriteRef(kw.value, view_name, fn.name, model, kw.arg, rel[1], source, decides)
                        )

    return visit, found


def _written_model(
    an: Analyzer,
    fn: ast.AST,
    call: ast.Call,
    scopes: dict[str, Scope],
    env: set[str],
    bindings: Bindings,
) -> ClassRef | None:
    """The model a call creates a row of: ``Model.objects.create(...)`` (``get_or_create``,
    ``update_or_create``), ``Model(...)`` (saved or bulk-created), ``serializer.save(...)``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in CREATES:
        return an.flow.eval(func.value, an.view, scopes, env, quiet=True)[1]
    if isinstance(func, ast.Attribute) and func.attr == "save" and isinstance(func.value, ast.Name):
        return _serializer_model(an, fn, func.value.id, bindings)
    if isinstance(func, (ast.Name, ast.Attribute)) and (
        isinstance(func, ast.Attribute) or func.id[:1].isupper()
    ):
        return an.lookup.model_info(an.view, func, fn)
    return None


def _serializer_model(an: Analyzer, fn: ast.AST, name: str, bindings: Bindings) -> ClassRef | None:
    """The model ``<name>.save()`` writes when ``name`` is a serializer: the hook's parameter
    (``perform_create(self, serializer)``) or a local built from a serializer class; its
    ``Meta.model`` when the class is the project's, else the view's model."""
    params = (
        [a.arg for a in fn.args.args[1:]] if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    )
    bound = bindings.all(name)
    serializers = [
        b
        for b in bound
        if isinstance(b, ast.Call)
        and (dotted_name(b.func) or "").endswith(("Serializer", "get_serializer", "serializer_class"))
    ]
    if not serializers and not (getattr(fn, "name", "") in WRITE_HOOKS and params[:1] == [name]):
        return None
    for b in serializers:
        qual = (
            an.lookup.qualify(an.view, b.func, fn) if isinstance(b.func, (ast.Name, ast.Attribute)) else None
        )
        ref = class_ref(an.index, qual)
        meta = (
            next((n for n in ref.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
            if ref
            else None
        )
        value = next(
            (
                stmt.value
                for stmt in (meta.body if meta is not None else [])
                if isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "model" for t in stmt.targets)
            ),
            None,
        )
        model = an.lookup.model_info(ref, value) if ref is not None and value is not None else None
        if model is not None:
            return model
    result = an.analyze()
    if result is not None and result.model is not None:
        return result.model
    declared = an.lookup.find_attr("model")
    value = getattr(declared[1], "value", None) if declared is not None else None
    return an.lookup.model_info(declared[0], value) if declared is not None and value is not None else None


def _addressed_to_user(an: Analyzer, value: ast.expr, env: set[str]) -> bool:
    """Rows a lookup selects by the requester's identity (``Invite.objects.filter(pk__in=ids,
    email=request.user.email)``): whatever ids the client sent, only rows addressed to the
    user come back."""
    from scaffold.analysis.predicate import anded_conditions

    node: ast.AST = value
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("filter", "get"):
                if any(an.values.is_user_derived(v, set()) for _, v in anded_conditions(node, fn=an.flow.fn)):
                    return True
            node = node.func
        else:
            node = node.value
    return False


def _reads_through(an: Analyzer, fn: ast.AST, model: ClassRef, field: str) -> bool:
    """The handler builds a serializer of ``model`` whose fields read through the relation
    ``field`` (``name = CharField(source="issue.name")``, a nested serializer named after it,
    ``Meta.depth``): its answer shows the row the client's id points to."""
    rel = field.removesuffix("_id")
    for call in walk_function(fn):
        if not (isinstance(call, ast.Call) and isinstance(call.func, (ast.Name, ast.Attribute))):
            continue
        if not (dotted_name(call.func) or "").endswith("Serializer"):
            continue
        ref = class_ref(an.index, an.lookup.qualify(an.view, call.func, fn))
        if ref is not None and _serializer_reads(an, ref, model, rel):
            return True
    return False


def _serializer_reads(an: Analyzer, serializer: ClassRef, model: ClassRef, rel: str) -> bool:
    classes = [c for c in mro(an.index, serializer) if isinstance(c, ClassRef)]
    meta_model: ClassRef | None = None
    depth = False
    for cls in classes:
        meta = next((n for n in cls.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
        for stmt in meta.body if meta is not None else []:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                if stmt.targets[0].id == "model" and meta_model is None:
                    meta_model = an.lookup.model_info(cls, stmt.value)
                elif stmt.targets[0].id == "depth" and isinstance(stmt.value, ast.Constant):
                    depth = depth or bool(stmt.value.value)
    if meta_model is None or meta_model.qualname != model.qualname:
        return False
    if depth:
        return True
    for cls in classes:
        for stmt in cls.node.body:
            if isinstance(stmt, ast.Assign):
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, value = stmt.target, stmt.value
            else:
                continue
            if not isinstance(value, ast.Call):
                continue
            if (
                isinstance(target, ast.Name)
                and target.id == rel
                and (dotted_name(value.func) or "").endswith("Serializer")
            ):
                return True  # issue = IssueLiteSerializer(read_only=True)
            for kw in value.keywords:
                if (
                    kw.arg == "source"
                    and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, str)
                ):
                    head = kw.value.value.split(".")
                    if head[0] == rel and len(head) > 1 and head[1] not in ("id", "pk"):
                        return True  # name = CharField(source="issue.name")
    return False


def _origin(
    an: Analyzer,
    value: ast.expr,
    scopes: dict[str, Scope],
    env: set[str],
    bindings: Bindings,
    guarded: bool,
    seen: frozenset[str],
) -> str:
    """Who chose ``value``: ``trusted`` (the user's tenant, a row of it, a URL kwarg a
    membership check covers, an id a tenant-scoped lookup returned), ``body`` (the request
    body or query string, through locals and loops), ``url`` (a URL kwarg nothing checked),
    or ``other``."""
    flow = an.flow
    kind = flow.value_kind(an.view, value, env, scopes)
    if kind in TRUSTED_KINDS or kind.startswith(("row:", "url:")):
        return "trusted"
    if _saved_row(value, bindings) or _created_row(an, value) or _addressed_to_user(an, value, env):
        return "trusted"
    if (
        isinstance(value, ast.Call)
        and (dotted_name(value.func) or "").rpartition(".")[2] == "get_object_or_404"
        and flow.filter_scope(value, env, an.view, scopes) in (Scope.TENANT, Scope.OWNER)
    ):
        return "trusted"  # get_object_or_404(Project, pk=..., tenant_id=<the user's>): 404 otherwise
    if _reads_body(value):
        return "body"
    worst = "other"
    for sub in walk_all(value):
        url = flow.url_value(sub, env) if isinstance(sub, ast.expr) else ""
        if url and not (guarded and (not flow.covered or url in flow.covered)):
            worst = "url"
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in seen:
            for bound in bindings.reaching(sub):
                origin = _origin(an, bound, scopes, env, bindings, guarded, seen | {sub.id})
                if origin == "body":
                    return "body"
                if origin == "url":
                    worst = "url"
    return worst
