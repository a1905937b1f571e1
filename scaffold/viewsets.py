"""migrate-viewsets' plans, derived from the one view analysis (:mod:`scaffold.analysis`).

:func:`analyze_module` returns one :class:`ViewPlan` per DRF generic view / ViewSet class at
module level: whether it is already scoped (and how), the rewrites that bring it to the
secure pattern (:class:`Action`), or why it needs manual review. Whether a queryset is
scoped, where a value comes from, which helper or model a name means: all of it is asked of
the shared analysis, so audit's TEN001-TEN004 and these plans cannot disagree; this module
only turns the verdict into edits. The four viewset codemods
in ``codemods/`` re-run this analysis on the code they are given and carry out exactly the
actions of their kind, so the engine's cheap ast decision and the libcst rewrite can never
disagree, and a second run finds nothing to do.

Classes are matched by meaning: bases are resolved through imports (aliases, relative
imports) and through project-local base classes and mixins in other files
(:class:`scaffold.index.ProjectIndex`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from scaffold.analysis import KEPT, LEAKS, Analyzer, ClassRef, Scope, Settings, ViewAnalysis, class_ref
from scaffold.analysis.predicate import (
    CHAIN_METHODS,
    MANAGER_ATTRS,
    SCOPING_CALLS,
    permissions_open,
)
from scaffold.analysis.routes import exposes
from scaffold.analysis.syntax import (
    assigned_names,
    chain,
    class_members,
    is_super_qs,
    mentions_attr,
    source_segment,
    stmt_value,
    string_items,
    walk_all,
    walk_function,
)
from scaffold.analysis.view import lets_anyone_in, queries_in
from scaffold.analysis.writes import model_stamps, serializer_stamps
from scaffold.index import ClassInfo, ModuleInfo, ProjectIndex, _module_level, dotted_name

_V = "rest_framework.viewsets."
_G = "rest_framework.generics."
_M = "rest_framework.mixins."
# manual-review reasons about how the queryset is built (not about stamping or permissions)
QUERYSET_DOUBT = re.compile(r"get_queryset|queryset is built dynamically|returns `\w+`, built dynamically")
GENERIC_VIEWS = frozenset(
    [
        _V + "ModelViewSet",
        _V + "ReadOnlyModelViewSet",
        _V + "GenericViewSet",
        _G + "GenericAPIView",
        *(
            _G + n
            for n in (
                "CreateAPIView",
                "ListAPIView",
                "RetrieveAPIView",
                "DestroyAPIView",
                "UpdateAPIView",
                "ListCreateAPIView",
                "RetrieveUpdateAPIView",
                "RetrieveDestroyAPIView",
                "RetrieveUpdateDestroyAPIView",
            )
        ),
    ]
)
CREATING_VIEWS = frozenset(
    [_V + "ModelViewSet", _M + "CreateModelMixin", _G + "CreateAPIView", _G + "ListCreateAPIView"]
)
UPDATING_VIEWS = frozenset(
    [
        _V + "ModelViewSet",
        _M + "UpdateModelMixin",
        _G + "UpdateAPIView",
        _G + "RetrieveUpdateAPIView",
        _G + "RetrieveUpdateDestroyAPIView",
    ]
)
IS_AUTHENTICATED = "rest_framework.permissions.IsAuthenticated"
PERMISSION_DENIED = ("rest_framework.exceptions.PermissionDenied", "django.core.exceptions.PermissionDenied")
QS_METHODS = CHAIN_METHODS  # what a rewritable queryset chain may call
RAW_CALLS = frozenset(["raw", "extra", "RawSQL", "cursor", "execute"])
# value kinds that are the requesting user's tenant: from the user, or a row scoped to it
# (save(workspace=Workspace.objects.get(slug=<URL slug under a membership check>)))
USERS = ("user", "scoped")
GUARD_VAR = "tenant_id"  # the local the pattern's tenant_guard defines and tenant_filter uses

ActionKind = Literal[
    "add_get_queryset", "scope_get_queryset", "set_permissions", "stamp_create", "stamp_update"
]


@dataclass
class Action:
    kind: ActionKind
    line: int
    # add_get_queryset: the queryset expression to filter (source text, ``.all()`` dropped)
    queryset_expr: str = ""
    # scope_get_queryset: per return in source order: keep / replace_all / append
    # stamp_create: per ``serializer.save()`` call in source order: keep / add / replace
    # (no steps: add the pattern's perform_create)
    steps: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # stamp_create: dotted callee of each save()
    method: str = ""  # the method edited (get_queryset, perform_create, create)
    insert_guard: bool = False
    # set_permissions: "add" (no permission_classes) or "replace" (AllowAny elements)
    mode: str = ""


@dataclass
class ViewPlan:
    name: str
    line: int
    col: int
    model: str | None = None
    scoped_by: str = ""  # why it is already scoped ("" when it is not)
    actions: list[Action] = field(default_factory=list)
    manual: list[tuple[int, int, str]] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # pattern names to import (PermissionDenied, ...)
    # for a human, but not blocking the class's rewrites (e.g. actions querying the manager)
    advice: list[tuple[int, int, str]] = field(default_factory=list)
    # the shared analysis' verdict (scoped / unscoped / not-tenant-data / unknown), "" when
    # the class serves no model data of its own
    verdict: str = ""

    def of(self, kind: ActionKind) -> Action | None:
        return next((a for a in self.actions if a.kind == kind), None)


# -- entry point -----------------------------------------------------------------------


def analyze_module(
    tree: ast.Module,
    source: str,
    module: str,
    path: Path,
    index: ProjectIndex,
    settings: Settings,
    analyzer: Callable[[ast.ClassDef], Analyzer] | None = None,
    advice: bool = True,
) -> list[ViewPlan]:
    """One plan per module-level DRF generic view / ViewSet class of ``tree`` (parsed from ``source``).

    ``analyzer(node)``, when given, returns the one :class:`Analyzer` of class ``node`` that
    other readers (audit's rules) share, so each view is analysed once per file.
    ``advice=False`` leaves out what would only be advice: ``ViewPlan.advice`` (the lines for
    queries that bypass ``get_queryset``) and the plans of handler-only views that hold nothing
    else. Audit reports those queries as TEN001 findings of its own and reads only the plans'
    actions and manual reasons, which are the same either way."""
    info = index.add_tree(module, path, tree)
    plans: list[ViewPlan] = []
    top = {id(n) for n in tree.body}
    for node in _module_level(tree.body):
        if (
            isinstance(node, ast.ClassDef)
            and info.classes.get(node.name) is not None
            and info.classes[node.name].node is node
        ):
            an = analyzer(node) if analyzer is not None else None
            plan = _View(info, info.classes[node.name], index, settings, source, an, advice).plan()
            if plan is None:
                continue
            if plan.actions and node.body and node.body[0].lineno == node.lineno:
                # `class V(ModelViewSet): queryset = ...`: the codemods need an indented
                # body to add methods to; a human splits the line first
                plan.actions.clear()
                plan.manual.append(
                    (
                        node.lineno,
                        node.col_offset,
                        f"{node.name} has a one-line class body; put its body on its own lines, then re-run",
                    )
                )
            if id(node) not in top and plan.actions:
                # under `if settings.DEBUG:` / `try:`: audit sees it, the codemods rewrite
                # module-level classes only, so a human applies the pattern
                plan.actions.clear()
                plan.manual.append(
                    (
                        node.lineno,
                        node.col_offset,
                        f"{node.name} is defined under if/try/with and is not scoped to the tenant; "
                        "apply the secure pattern by hand",
                    )
                )
            plans.append(plan)
    return plans


def parse_and_analyze(
    code: str, module: str, path: Path, index: ProjectIndex, settings: Settings
) -> list[ViewPlan]:
    return analyze_module(ast.parse(code), code, module, path, index, settings)


class _View:
    """The analysis of one class; ``plan()`` returns None for classes that are not DRF views."""

    def __init__(
        self,
        module: ModuleInfo,
        cls: ClassInfo,
        index: ProjectIndex,
        settings: Settings,
        source: str,
        an: Analyzer | None = None,
        advice: bool = True,
    ) -> None:
        self.source = source
        self.module = module
        self.cls = cls
        self.node = cls.node
        self.index = index
        self.s = settings
        self.ancestors = list(index.ancestors(cls))
        self.attrs, self.methods = class_members(self.node)
        self.ref = ClassRef(cls, module)
        # the one analysis every verdict comes from (shared with audit's rules when given)
        self.an = an if an is not None else Analyzer(self.ref, index, settings)
        self.result: ViewAnalysis | None = None
        self.advice = advice

    # -- the plan --------------------------------------------------------------------
    def plan(self) -> ViewPlan | None:
        plan = self._plan()
        if plan is None:
            return self._handlers_only()
        self._url_scoped(plan)
        if self.advice:
            self._direct_queries(plan)
            self._handler_leaks(plan)
            self._client_relations(plan)
        return plan

    def _tenant_from_url(self) -> bool:
        """Its get_queryset filters the tenant by a URL kwarg (``workspace__slug=self.kwargs
        ["slug"]``): URL-scoped tenancy, whatever guards it; never the request.user pattern."""
        found = self.an.lookup.find_method("get_queryset")
        if found is None:
            return False
        stems = {self.s.tenant_field, self.s.tenant_field.removesuffix("_id")}
        for node in walk_function(found[1]):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    head = (kw.arg or "").split("__")[0]
                    value = kw.value
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                        value = value.func.value  # self.kwargs.get("slug")
                    elif isinstance(value, ast.Subscript):
                        value = value.value  # self.kwargs["slug"]
                    if head in stems and (dotted_name(value) or "").endswith("kwargs"):
                        return True
        return False

    def _handler_leaks(self, plan: ViewPlan) -> None:
        """The handler queries audit reports as TEN001 (one list, the analysis'
        ``handler_queries``), each a manual-review line unless advice already names it."""
        from scaffold.analysis.scope import LEAKS
        from scaffold.analysis.view import handler_queries

        named = {line for line, _, _ in plan.advice}
        for q in handler_queries(self.an, self.node):
            if q.scope in LEAKS and q.node.lineno not in named:
                named.add(q.node.lineno)
                plan.advice.append(
                    (
                        q.node.lineno,
                        q.node.col_offset,
                        f"{self.node.name}.{q.method} queries {q.model.name} rows not scoped to the tenant; "
                        "filter it by tenant by hand",
                    )
                )

    def _client_relations(self, plan: ViewPlan) -> None:
        """The relations audit reports as TEN001 because the client chose them (the shared
        analysis' ``client_writes``): no rewrite can tell which rows the client may name, so
        each is a manual-review line."""
        from scaffold.analysis.writes import client_writes, describe

        for ref in client_writes(self.an, self.node):
            plan.advice.append(
                (
                    ref.node.lineno,
                    ref.node.col_offset,
                    f"{describe(ref, self.s.tenant_field)}; check it against the tenant by hand",
                )
            )

    def _handlers_only(self) -> ViewPlan | None:
        """A generic view with no queryset of its own (an ``APIView``-style endpoint) whose
        handlers query a tenant model without scoping (audit's TEN001 on them): nothing to
        rewrite, a human scopes each query."""
        from scaffold.analysis.view import is_drf_view

        if not is_drf_view(self.an.mro):
            return None
        plan = ViewPlan(self.node.name, self.node.lineno, self.node.col_offset)
        self.result = self.result or self.an.analyze()
        if self.result is not None and self.result.verdict == "unknown":
            plan.verdict = "unknown"
            self._url_scoped(plan)  # the shared verdict: cannot judge, a human looks
            return plan
        if not self.advice:
            return None  # what is left to say about it is advice only
        self._handler_leaks(plan)
        self._client_relations(plan)
        if not plan.advice:
            return None
        plan.verdict = "unscoped"
        return plan

    def _url_scoped(self, plan: ViewPlan) -> None:
        """A view whose tenant comes from the URL (a declared membership permission or
        decorator guards it), or whose exposed handlers never read its queryset, is never
        rewritten to the ``request.user.<attr>`` pattern: the shared analysis' verdict
        decides, and what is not scoped there is left to a human."""
        r = self.result
        if r is None:
            return
        if r.verdict == "unknown":
            # the shared analysis cannot judge it: never act, always say so
            plan.actions.clear()
            if not plan.manual:
                plan.manual.append(
                    (
                        self.node.lineno,
                        self.node.col_offset,
                        f"{self.node.name}: {r.why_unknown or 'its queryset is built dynamically'}; "
                        "scaffold cannot judge its tenant scoping, review it by hand",
                    )
                )
            return
        if r.verdict == "not-tenant-data":
            # the shared analysis: the model has no tenant field (or is global): nothing to scope
            plan.actions.clear()
            plan.manual.clear()
            plan.scoped_by = (
                plan.scoped_by or f"{r.model.name if r.model else 'its model'} is not tenant data"
            )
            return
        if r.verdict == "scoped" and all(ret.scope in KEPT for ret in r.returns):
            # its queryset is scoped on every path (the shared analysis): what this module's
            # own reading of get_queryset could not follow is no reason for a human to look
            plan.manual = [m for m in plan.manual if not QUERYSET_DOUBT.search(m[2])]
            plan.actions = [
                a for a in plan.actions if a.kind not in ("scope_get_queryset", "add_get_queryset")
            ]
        if not (r.membership or self.an.member_handlers or not r.queryset_served or self._tenant_from_url()):
            return
        plan.actions.clear()
        if r.verdict in ("scoped", "not-tenant-data"):
            plan.manual.clear()
            plan.scoped_by = plan.scoped_by or (
                "scoped by the URL's tenant under a membership check"
                if r.queryset_served
                else "no action it exposes reads its queryset"
            )
        elif not plan.manual:
            why = r.why_unknown or "its queryset is not scoped to the URL's tenant"
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"{self.node.name} takes its tenant from the URL (membership check): {why}; "
                    "scaffold will not rewrite it to request.user, scope it by hand",
                )
            )

    def _plan(self) -> ViewPlan | None:
        quals = {q for q, _ in self.ancestors}
        if not quals & GENERIC_VIEWS:
            return None
        plan = ViewPlan(self.node.name, self.node.lineno, self.node.col_offset)
        self.result = self.an.analyze()
        plan.verdict = self.result.verdict if self.result is not None else ""
        inherited = self._inherited()
        own_filter = self.methods.get("filter_queryset")
        if self._method_scoped("filter_queryset"):
            # filter_queryset() adds the tenant filter (a project mixin): DRF's list and
            # get_object pass every queryset through it, like a scoping get_queryset.
            where = "" if own_filter is not None else f" inherited from {inherited['filter_queryset'][0]}"
            plan.scoped_by = f"filter_queryset{where} filters by tenant"
            if "queryset" not in self.attrs and "get_queryset" not in self.methods:
                if "permission_classes" in self.attrs:
                    self._permissions(plan, inherited)
                return plan
            plan.model = self._attr_model()
        elif "get_queryset" in self.methods:
            self._get_queryset(plan, self.methods["get_queryset"])
        elif "get_queryset" in inherited:
            owner, fn = inherited["get_queryset"]
            if self._method_scoped("get_queryset"):
                plan.scoped_by = f"get_queryset inherited from {owner}"
            else:
                plan.manual.append(
                    (
                        self.node.lineno,
                        self.node.col_offset,
                        f"{self.node.name} inherits get_queryset from {owner}, which is not scoped to the tenant; fix {owner}",
                    )
                )
            routed_write = any(exposes(self.index, self.cls.qualname, w) for w in ("create", "update"))
            if (
                plan.scoped_by
                and not self.attrs.keys() & {"queryset", "serializer_class"}
                and not routed_write
            ):
                if "permission_classes" in self.attrs or self._serves_tenant_data():
                    self._permissions(plan, inherited)  # its own AllowAny / () is still wrong
                return plan  # an intermediate class: its concrete subclasses are checked
            # a concrete view over a scoping mixin: still needs permissions and tenant stamping
            plan.model = self._attr_model()
        elif "queryset" in self.attrs:
            self._queryset_attr(plan, self.attrs["queryset"])
        else:
            return None  # no data of its own (its base, if any, carries the fix)
        if plan.manual and plan.model is None:
            # a view whose declared model has no tenant field is not tenant data at all
            model = self._attr_model() or (
                self.result.model.qualname if self.result and self.result.model else None
            )
            if model is not None and self._tenant_data(model) is False:
                plan.manual.clear()
                plan.model = model
                plan.scoped_by = f"{model} has no {self.s.tenant_field} field"
                return plan
        if plan.model is None and self.result is not None and self.result.model is not None:
            plan.model = self.result.model.qualname  # what the shared analysis resolved
        if plan.manual or (plan.model is None and not plan.actions and not plan.scoped_by):
            plan.actions.clear()
            return plan
        if plan.model is not None and self._tenant_data(plan.model) is not True:
            self._not_judged(plan)
            return plan
        if plan.model is None and (plan.actions or not plan.scoped_by):
            plan.actions.clear()  # never act on what it cannot judge
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"{self.node.name}: cannot tell which model it serves",
                )
            )
            return plan
        self._permissions(plan, inherited)
        if (
            quals & CREATING_VIEWS
            and exposes(self.index, self.cls.qualname, "create") is not False  # as_view({"get": "list"})
            and not self._stamped_elsewhere(plan, inherited, "create")
        ):
            self._stamping(plan, inherited, "perform_create", "create", "stamp_create")
        if (
            quals & UPDATING_VIEWS
            and exposes(self.index, self.cls.qualname, "update") is not False
            and self._serializer_writes_tenant(inherited)
            and not self._stamped_elsewhere(plan, inherited, "update")
        ):
            self._stamping(plan, inherited, "perform_update", "update", "stamp_update")
        self._opaque_bases(plan)
        if plan.manual:
            plan.actions.clear()
        return plan

    def _opaque_bases(self, plan: ViewPlan) -> None:
        """A base outside the project and outside DRF (a third-party mixin such as
        drf-extensions' NestedViewSetMixin) may define the very method or attribute an action
        would add; adding ours would silently override it. Such additions need a human."""
        opaque = [
            q
            for q, info in self.ancestors
            if info is None and not q.startswith("rest_framework.") and q != "object"
        ]
        if not opaque:
            return
        adds = {
            "add_get_queryset": "get_queryset",
            "stamp_create": "perform_create",
            "stamp_update": "perform_update",
            "set_permissions": "permission_classes",
        }
        for action in plan.actions:
            added = (
                action.kind == "add_get_queryset"
                or (action.kind in ("stamp_create", "stamp_update") and not action.steps)
                or (action.kind == "set_permissions" and action.mode == "add")
            )
            if added:
                plan.manual.append(
                    (
                        self.node.lineno,
                        self.node.col_offset,
                        f"{self.node.name} would get {adds[action.kind]}, but it inherits from {opaque[0]}, "
                        f"which scaffold cannot read and may define it; add the secure {adds[action.kind]} by hand",
                    )
                )
                return

    def _not_judged(self, plan: ViewPlan) -> None:
        """The model is not tenant data, is the tenant itself, or cannot be read: never rewrite."""
        assert plan.model is not None
        plan.actions.clear()
        ref = class_ref(self.index, plan.model)
        data = self._tenant_data(plan.model)
        if ref is not None and self.an.lookup.is_the_tenant(ref) and not self.an.lookup.declares_tenant(ref):
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"{self.node.name} serves {ref.name}, the tenant model itself (no {self.s.tenant_field}): "
                    "scope it by membership by hand, or list it in [tool.scaffold] global_models",
                )
            )
        elif data is None:
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"cannot tell whether {plan.model} has a {self.s.tenant_field} field "
                    "(model not found in the project); scaffold leaves it alone",
                )
            )
        else:
            plan.scoped_by = plan.scoped_by or f"{plan.model} has no {self.s.tenant_field} field"

    def _serves_tenant_data(self) -> bool:
        """The shared analysis found the (inherited) queryset's model to be tenant data."""
        return self.result is not None and self.result.verdict in ("scoped", "unscoped")

    def _method_scoped(self, name: str) -> bool:
        """The view's (own or inherited) ``name`` method returns a scoped queryset on every path."""
        found = self.an.lookup.find_method(name)
        if found is None:
            return False
        returns = self.an.flow.returns(*found)
        return bool(returns) and all(r.scope in KEPT for r in returns)

    def _scope(self, expr: ast.expr, fn: ast.AST | None = None) -> Scope:
        """The shared analysis' scope of a queryset expression of this class."""
        flow = self.an.flow
        if fn is not None:
            flow._fns.append(fn)
        try:
            env = (
                self.an.env_of(self.ref, fn)
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                else set()
            )
            return flow.eval(expr, self.ref, {}, env, quiet=True)[0]
        finally:
            if fn is not None:
                flow._fns.pop()

    def _direct_queries(self, plan: ViewPlan) -> None:
        """Extra actions and handlers that query a tenant model's manager without a tenant
        filter bypass get_queryset (lists, counts, aggregates of every tenant): advise."""
        for name, fn in self.methods.items():
            if name in ("get_queryset", "perform_create", "perform_update", "create", "update"):
                continue
            for q in queries_in(self.an, fn):
                if q.scope not in LEAKS:
                    continue  # a fail-closed / thread-local manager: TEN002's advice, not a leak
                call = q.node
                if (
                    isinstance(call, ast.Call)
                    and (dotted_name(call.func) or "").rpartition(".")[2] == "get_object_or_404"
                ):
                    if not isinstance(call.args[0], (ast.Name, ast.Attribute)):
                        continue
                    plan.advice.append(
                        (
                            call.lineno,
                            call.col_offset,
                            f"{self.node.name}.{name} queries {dotted_name(call.args[0])} directly "
                            "(get_object_or_404), bypassing get_queryset (every tenant's rows); "
                            "pass self.get_queryset() or filter by tenant",
                        )
                    )
                    continue
                root, _ = chain(call)
                plan.advice.append(
                    (
                        root.lineno,
                        root.col_offset,
                        f"{self.node.name}.{name} queries {dotted_name(root) or ast.unparse(root)} directly, "
                        "bypassing get_queryset (every tenant's rows); use self.get_queryset() or filter by tenant",
                    )
                )

    def _inherited(self) -> dict[str, tuple[str, ast.AST]]:
        """Members defined by project-local ancestors (first one wins, MRO-ish order)."""
        out: dict[str, tuple[str, ast.AST]] = {}
        for qual, info in self.ancestors:
            if info is None:
                continue
            attrs, methods = class_members(info.node)
            for name, stmt in (*attrs.items(), *methods.items()):
                out.setdefault(name, (info.name if qual.rsplit(".", 1)[-1] == info.name else qual, stmt))
        return out

    # -- model and tenant data ------------------------------------------------------------
    def _model_of(self, root: ast.expr, fn: ast.AST | None = None) -> str | None:
        """``Supplier.objects`` -> qualified ``purchasing.models.Supplier`` (imports inside
        ``fn`` too)."""
        if isinstance(root, ast.Attribute) and root.attr in MANAGER_ATTRS:
            return self.an.lookup.qualify(self.ref, root.value, fn)
        return None

    def _tenant_data(self, model: str) -> bool | None:
        """True/False when the model's rows do/don't belong to a tenant; None when unknown."""
        ref = class_ref(self.index, model)
        if ref is None:
            return False if model.startswith("django.") else None  # Django's own models
        return self.an.lookup.tenant_data(ref)

    def _need_model(self, plan: ViewPlan, node: ast.AST) -> None:
        if plan.model is None:
            return
        if self._tenant_data(plan.model) is None:
            plan.manual.append(
                (
                    getattr(node, "lineno", self.node.lineno),
                    getattr(node, "col_offset", 0),
                    f"cannot tell whether {plan.model} has a {self.s.tenant_field} field (model not found in the project)",
                )
            )

    # -- rule 1: queryset attribute ---------------------------------------------------
    def _queryset_attr(self, plan: ViewPlan, stmt: ast.stmt) -> None:
        value = stmt_value(stmt)
        root, calls = chain(value) if value is not None else (None, [])
        model = self._model_of(root) if root is not None else None
        if value is None or model is None or any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
            plan.manual.append(
                (
                    stmt.lineno,
                    stmt.col_offset,
                    f"{self.node.name}.queryset is built dynamically; scope it to the tenant by hand",
                )
            )
            return
        plan.model = model
        if self._scope(value) in KEPT:
            plan.scoped_by = "queryset attribute filters by tenant"
            return
        self._need_model(plan, stmt)
        if calls and calls[-1].func.attr == "all" and not calls[-1].args and not calls[-1].keywords:  # type: ignore[attr-defined]
            base = calls[-1].func.value  # type: ignore[attr-defined]
        else:
            base = value
        expr = source_segment(self.source, base) or ast.unparse(base)
        plan.actions.append(
            Action("add_get_queryset", stmt.lineno, queryset_expr=expr, method="get_queryset")
        )
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)

    # -- scoping evidence ----------------------------------------------------------------
    # -- rule 2: get_queryset ---------------------------------------------------------
    def _get_queryset(self, plan: ViewPlan, fn: ast.FunctionDef) -> None:
        name = self.node.name
        for sub in walk_function(fn):
            if isinstance(sub, ast.Call):
                callee = sub.func.attr if isinstance(sub.func, ast.Attribute) else dotted_name(sub.func) or ""
                if callee.rsplit(".", 1)[-1] in RAW_CALLS:
                    plan.manual.append(
                        (
                            sub.lineno,
                            sub.col_offset,
                            f"{name}.get_queryset uses raw SQL; scope it to the tenant by hand",
                        )
                    )
                    return
            if isinstance(sub, (ast.Yield, ast.YieldFrom)):
                plan.manual.append((sub.lineno, sub.col_offset, f"{name}.get_queryset is a generator"))
                return
        returns = [n for n in walk_function(fn) if isinstance(n, ast.Return)]
        if not returns:
            plan.manual.append((fn.lineno, fn.col_offset, f"{name}.get_queryset has no return statement"))
            return
        steps: list[str] = []
        for ret in returns:
            step = self._return_step(plan, fn, ret)
            if step is None:
                return
            steps.append(step)
        if plan.model is None:
            plan.model = self._attr_model()
        if plan.model is None and self.result is not None and self.result.model is not None:
            plan.model = self.result.model.qualname  # what the shared analysis resolved
        if all(s == "keep" for s in steps):
            plan.scoped_by = "get_queryset filters by tenant"
            return
        self._need_model(plan, fn)
        if plan.model is None:
            plan.manual.append(
                (fn.lineno, fn.col_offset, f"{name}.get_queryset: cannot tell which model it returns")
            )
            return
        insert_guard = self._guard_needed(plan, fn)
        if plan.manual:
            return
        plan.actions.append(
            Action(
                "scope_get_queryset", fn.lineno, steps=steps, method="get_queryset", insert_guard=insert_guard
            )
        )

    def _attr_model(self) -> str | None:
        stmt = self.attrs.get("queryset")
        if stmt is None:
            for _qual, info in self.ancestors:
                if info is not None:
                    attrs, _ = class_members(info.node)
                    if "queryset" in attrs:
                        stmt = attrs["queryset"]
                        break
        value = stmt_value(stmt) if stmt is not None else None
        if value is None:
            return None
        root, _ = chain(value)
        return self._model_of(root)

    def _return_step(self, plan: ViewPlan, fn: ast.FunctionDef, ret: ast.Return) -> str | None:
        name = self.node.name
        value = ret.value
        where = (ret.lineno, ret.col_offset)
        if value is None:
            plan.manual.append((*where, f"{name}.get_queryset returns None"))
            return None
        if isinstance(
            value, (ast.List, ast.ListComp, ast.Tuple, ast.Set, ast.SetComp, ast.Dict, ast.GeneratorExp)
        ):
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a list, not a queryset; filter it by tenant by hand")
            )
            return None
        root, calls = chain(value)
        if self._return_scope(fn, ret) in KEPT:
            return "keep"  # the shared flow analysis: scoped (or empty) on every path here
        scoping = next((c for c in calls if c.func.attr in SCOPING_CALLS), None)  # type: ignore[attr-defined]
        if scoping is not None:
            plan.manual.append(
                (
                    *where,
                    f"{name}.get_queryset calls {scoping.func.attr}() with something other than the "  # type: ignore[attr-defined]
                    "requesting user's tenant (e.g. a value the client sent); scope it by hand",
                )
            )
            return None
        if any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a queryset built dynamically; scope it by hand")
            )
            return None
        model = self._model_of(root, fn)
        root_name = dotted_name(root) if isinstance(root, ast.expr) else None
        is_super = is_super_qs(root)
        if model is not None:
            if plan.model is not None and plan.model != model:
                plan.manual.append((*where, f"{name}.get_queryset returns querysets of several models"))
                return None
            plan.model = model
        elif root_name == "self.queryset" or is_super:
            pass
        elif isinstance(root, ast.Name):
            if not self._name_is_queryset(fn, root.id, plan):
                plan.manual.append(
                    (*where, f"{name}.get_queryset returns `{root.id}`, built dynamically; scope it by hand")
                )
                return None
        else:
            plan.manual.append(
                (*where, f"{name}.get_queryset returns a queryset built dynamically; scope it by hand")
            )
            return None
        if calls and calls[-1].func.attr == "all" and not calls[-1].args and not calls[-1].keywords:  # type: ignore[attr-defined]
            return "replace_all"
        return "append"

    def _return_scope(self, fn: ast.FunctionDef, ret: ast.Return) -> Scope:
        """The scope the shared flow analysis gives ``ret`` (a return of the view's own ``fn``)."""
        found = self.an.flow.by_node.get(id(ret))
        if found is None:
            self.an.flow.returns(self.ref, fn)
            found = self.an.flow.by_node.get(id(ret))
        return found.scope if found is not None else Scope.UNKNOWN

    def _name_is_queryset(self, fn: ast.AST, name: str, plan: ViewPlan) -> bool:
        """Every assignment to ``name`` is a queryset chain (of one model, or of ``name`` itself)."""
        found = False
        for sub in walk_function(fn):
            targets: list[ast.expr] = []
            if isinstance(sub, ast.Assign):
                targets = sub.targets
            elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
                targets = [sub.target]
            elif isinstance(sub, (ast.For, ast.With, ast.NamedExpr)):
                tgt = getattr(sub, "target", None)
                if isinstance(sub, ast.With):
                    if any(
                        i.optional_vars is not None
                        and any(isinstance(n, ast.Name) and n.id == name for n in walk_all(i.optional_vars))
                        for i in sub.items
                    ):
                        return False
                    continue
                if tgt is not None and any(isinstance(n, ast.Name) and n.id == name for n in walk_all(tgt)):
                    return False
                continue
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in walk_all(t)):
                    return False  # tuple unpacking
                continue
            value = getattr(sub, "value", None)
            if not isinstance(sub, ast.Assign) or value is None:
                return False
            root, calls = chain(value)
            if any(c.func.attr not in QS_METHODS for c in calls):  # type: ignore[attr-defined]
                return False
            model = self._model_of(root)
            if model is not None:
                if plan.model is not None and plan.model != model:
                    return False
                plan.model = model
            elif (
                not is_super_qs(root)
                and not (isinstance(root, ast.Name) and root.id == name)
                and dotted_name(root) != "self.queryset"
            ):
                return False
            found = True
        return found

    def _guard_needed(self, plan: ViewPlan, fn: ast.FunctionDef) -> bool:
        """False when the method already assigns the pattern's ``tenant_id`` from the user."""
        for stmt in fn.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == GUARD_VAR for t in stmt.targets)
                and mentions_attr(stmt.value, self.s.user_tenant_attr)
                and any(
                    dotted_name(n) in ("self.request.user", "request.user", "user")
                    for n in walk_all(stmt.value)
                    if isinstance(n, ast.expr)
                )
            ):
                return False
        if GUARD_VAR in assigned_names(fn) or any(
            isinstance(n, ast.Name) and n.id == GUARD_VAR for n in walk_function(fn)
        ):
            plan.manual.append(
                (
                    fn.lineno,
                    fn.col_offset,
                    f"{self.node.name}.{fn.name} already uses a local `{GUARD_VAR}`; scope it by hand",
                )
            )
            return False
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)
        return True

    def _check_import(self, plan: ViewPlan, name: str, allowed: tuple[str, ...]) -> None:
        bound = self.module.imports.names.get(name) or self.module.local.get(name)
        if bound is not None and bound not in allowed:
            plan.manual.append(
                (
                    self.node.lineno,
                    self.node.col_offset,
                    f"`{name}` is bound to {bound} in this module; cannot add {allowed[0]}",
                )
            )

    # -- rule 3: permissions ---------------------------------------------------------------
    def _permissions(self, plan: ViewPlan, inherited: dict[str, tuple[str, ast.AST]]) -> None:
        if "get_permissions" in self.methods:
            return
        stmt = self.attrs.get("permission_classes")
        if stmt is None:
            if "permission_classes" in inherited or "get_permissions" in inherited:
                return
            defaults = self.s.default_permissions
            if defaults is not None and not lets_anyone_in(list(defaults)):
                return  # REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] already checks the user
            plan.actions.append(Action("set_permissions", self.node.lineno, mode="add"))
            plan.imports.add("IsAuthenticated")
            self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))
            return
        value = stmt_value(stmt)
        if isinstance(value, (ast.List, ast.Tuple)):
            if not value.elts:  # `permission_classes = []` checks nothing: like AllowAny
                plan.actions.append(Action("set_permissions", stmt.lineno, mode="fill"))
                plan.imports.add("IsAuthenticated")
                self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))
            elif permissions_open(value.elts, lambda e: self.module.imports.qualify(e, self.module.local)):
                if any(isinstance(e, ast.BinOp) for e in value.elts):
                    plan.manual.append(
                        (
                            stmt.lineno,
                            stmt.col_offset,
                            f"{self.node.name}.permission_classes lets anyone in (AllowAny | ...); "
                            "require IsAuthenticated by hand",
                        )
                    )
                    return
                plan.actions.append(Action("set_permissions", stmt.lineno, mode="replace"))
                plan.imports.add("IsAuthenticated")
                self._check_import(plan, "IsAuthenticated", (IS_AUTHENTICATED,))

    # -- rule 4: stamping the tenant on create ---------------------------------------------
    def _stamped_elsewhere(
        self, plan: ViewPlan, inherited: dict[str, tuple[str, ast.AST]], method: str
    ) -> bool:
        """The serializer or the model stamps the tenant (the shared write-path analysis)."""
        serializer = self._serializer(inherited)
        ref = class_ref(self.index, serializer.qualname) if serializer is not None else None
        if ref is not None and serializer_stamps(self.an.lookup, ref, method):
            return True
        model = class_ref(self.index, plan.model) if plan.model else None
        parents = model_stamps(self.an.lookup, model) if model is not None else None
        if parents is None:
            return False
        # save() takes the tenant from a parent row: safe unless the client picks the parent
        return not any(self._serializer_writes_tenant(inherited, {p, f"{p}_id"}) for p in parents)

    def _serializer(self, inherited: dict[str, tuple[str, ast.AST]]) -> ClassInfo | None:
        """The view's serializer class when it is in the project."""
        stmt = self.attrs.get("serializer_class")
        module = self.module
        if stmt is None and "serializer_class" in inherited:
            owner = next(
                (
                    i
                    for _, i in self.ancestors
                    if i is not None and "serializer_class" in class_members(i.node)[0]
                ),
                None,
            )
            if owner is None:
                return None
            stmt = class_members(owner.node)[0]["serializer_class"]
            module = self.index.module(owner.module) or module
        value = stmt_value(stmt) if stmt is not None else None
        qual = module.imports.qualify(value, module.local) if value is not None else None
        return self.index.class_info(qual) if qual else None

    def _serializer_writes_tenant(
        self, inherited: dict[str, tuple[str, ast.AST]], only: set[str] | None = None
    ) -> bool:
        """True when the view's serializer (found in the project) accepts the tenant field.

        Then an update could move a row to another tenant, so ``perform_update`` must stamp it.
        Generated serializers make it read-only; unresolvable serializers are left alone.
        """
        info = self._serializer(inherited)
        if info is None:
            return False
        tf = self.s.tenant_field
        names = only or ({tf, tf[:-3]} if tf.endswith("_id") else {tf})
        included = False
        for cls in (info, *(i for _, i in self.index.ancestors(info) if i is not None)):
            attrs, _ = class_members(cls.node)
            for name in names & attrs.keys():
                field_value = stmt_value(attrs[name])
                if isinstance(field_value, ast.Call):
                    callee = dotted_name(field_value.func) or ""
                    read_only = any(
                        k.arg == "read_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                        for k in field_value.keywords
                    )
                    return not read_only and not callee.endswith(
                        ("ReadOnlyField", "HiddenField", "SerializerMethodField")
                    )
            meta = next((n for n in cls.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
            if meta is None:
                continue
            meta_attrs, _ = class_members(meta)
            if names & string_items(meta_attrs.get("read_only_fields")) or names & string_items(
                meta_attrs.get("exclude")
            ):
                return False
            extra = stmt_value(meta_attrs["extra_kwargs"]) if "extra_kwargs" in meta_attrs else None
            if isinstance(extra, ast.Dict):
                for key, options in zip(extra.keys, extra.values, strict=False):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value in names
                        and isinstance(options, ast.Dict)
                        and any(
                            isinstance(k, ast.Constant)
                            and k.value == "read_only"
                            and isinstance(v, ast.Constant)
                            and v.value is True
                            for k, v in zip(options.keys, options.values, strict=False)
                        )
                    ):
                        return False  # extra_kwargs = {"tenant_id": {"read_only": True}}
            listed = stmt_value(meta_attrs["fields"]) if "fields" in meta_attrs else None
            if isinstance(listed, ast.Constant) and listed.value == "__all__":
                included = True
            elif "fields" not in meta_attrs and "exclude" in meta_attrs:
                included = True  # every model field but the excluded ones: the tenant too
            elif names & string_items(meta_attrs.get("fields")):
                included = True
            if "fields" in meta_attrs or "exclude" in meta_attrs:
                break  # the nearest Meta decides
        return included

    def _stamping(
        self,
        plan: ViewPlan,
        inherited: dict[str, tuple[str, ast.AST]],
        hook: str,
        direct: str,
        kind: ActionKind,
    ) -> None:
        """perform_create / perform_update (``hook``) or a ``create`` / ``update`` (``direct``)
        that saves without calling the hook: every save() gets the user's tenant."""
        fn = self.methods.get(hook)
        if fn is not None:
            param = fn.args.args[1].arg if len(fn.args.args) > 1 else None
            self._stamp(
                plan, fn, lambda call: param is not None and dotted_name(call.func) == f"{param}.save", kind
            )
            return
        own = self.methods.get(direct)
        if own is not None and not any(
            isinstance(n, ast.Call) and dotted_name(n.func) == f"self.{hook}" for n in walk_function(own)
        ):
            names = {
                t.id
                for n in walk_function(own)
                if isinstance(n, ast.Assign)
                and isinstance(n.value, ast.Call)
                and (dotted_name(n.value.func) or "").endswith(
                    ("get_serializer", "Serializer", "serializer_class")
                )
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            self._stamp(
                plan,
                own,
                lambda call: (
                    (dotted_name(call.func) or "").rpartition(".")[::2] in {(n, "save") for n in names}
                ),
                kind,
            )
            return
        if hook in inherited or (direct in inherited and own is None):
            return
        plan.actions.append(Action(kind, self.node.lineno, method=hook))
        plan.imports.add("PermissionDenied")
        self._check_import(plan, "PermissionDenied", PERMISSION_DENIED)

    def _user_tenant_value(self, fn: ast.FunctionDef, value: ast.expr) -> bool:
        """``value`` is the requesting user's tenant: ``user.tenant_id``, or a local assigned
        only from it (``business_id = getattr(self.request.user, "business_id", None)``)."""

        def from_user(expr: ast.expr) -> bool:
            return mentions_attr(expr, self.s.user_tenant_attr) and any(
                dotted_name(n) in ("self.request.user", "request.user", "user")
                for n in walk_all(expr)
                if isinstance(n, ast.expr)
            )

        if isinstance(value, ast.Name):
            sources = [
                sub.value
                for sub in walk_function(fn)
                if isinstance(sub, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == value.id for t in sub.targets)
            ]
            if sources:
                return all(from_user(v) for v in sources) or self.an.value_kind(self.ref, fn, value) in USERS
            return value.id == GUARD_VAR
        return from_user(value) or self.an.value_kind(self.ref, fn, value) in USERS

    def _stamp(self, plan: ViewPlan, fn: ast.FunctionDef, is_save, kind: ActionKind) -> None:
        name = f"{self.node.name}.{fn.name}"
        saves = [n for n in walk_function(fn) if isinstance(n, ast.Call) and is_save(n)]
        if not saves:
            plan.manual.append(
                (
                    fn.lineno,
                    fn.col_offset,
                    f"{name} does not call serializer.save(); stamp the tenant by hand",
                )
            )
            return
        tf = self.s.tenant_field
        steps: list[str] = []
        for call in saves:
            if any(k.arg is None for k in call.keywords) or any(
                isinstance(a, ast.Starred) for a in call.args
            ):
                plan.manual.append(
                    (
                        call.lineno,
                        call.col_offset,
                        f"{name} passes **kwargs to save(); stamp the tenant by hand",
                    )
                )
                return
            kw = next((k for k in call.keywords if k.arg == tf), None)
            stem = tf[:-3] if tf.endswith("_id") else None
            rel = next((k for k in call.keywords if stem is not None and k.arg == stem), None)
            if kw is None and rel is not None:
                # save(tenant=request.user.tenant): the FK behind tenant_id, stamped from the user
                if self._user_tenant_value(fn, rel.value):
                    steps.append("keep")
                else:
                    plan.manual.append(
                        (
                            call.lineno,
                            call.col_offset,
                            f"{name} saves {stem}= from something other than the user's tenant; "
                            "stamp the tenant by hand",
                        )
                    )
                    return
            elif kw is None:
                steps.append("add")
            elif self._user_tenant_value(fn, kw.value):
                steps.append("keep")
            else:
                steps.append("replace")  # from the request body, URL, ...: never trust it
        if all(s == "keep" for s in steps):
            return
        insert_guard = self._guard_needed(plan, fn)
        plan.actions.append(
            Action(
                kind,
                fn.lineno,
                steps=steps,
                targets=[dotted_name(c.func) or "" for c in saves],
                method=fn.name,
                insert_guard=insert_guard,
            )
        )
