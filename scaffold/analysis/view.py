"""One result per DRF view: model, scoping of every path, permissions, verdict.

:class:`Analyzer` puts the three collaborators together for one view class (helper
:class:`~scaffold.analysis.lookup.Lookup`, value tracking
:class:`~scaffold.analysis.values.Values`, :class:`~scaffold.analysis.flow.Flow`);
:func:`analyze_view` returns its :class:`ViewAnalysis`. Audit's TEN001-TEN004 and
migrate-viewsets' plans (:mod:`scaffold.viewsets`) both read that one result.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from scaffold.analysis.flow import Flow, is_generic, is_super
from scaffold.analysis.lookup import Function, Lookup, class_ref, resolve_function
from scaffold.analysis.predicate import ALLOW_ANY, permission_kind
from scaffold.analysis.scope import GOOD, LEAKS, ClassRef, Return, Scope
from scaffold.analysis.settings import Settings, matches
from scaffold.analysis.syntax import TRY_STMTS, walk_all, walk_function
from scaffold.analysis.values import Values
from scaffold.index import ProjectIndex, dotted_name

if TYPE_CHECKING:
    from scaffold.analysis.writes import WriteRef

DRF_VIEW_PREFIXES = (
    "rest_framework.viewsets.",
    "rest_framework.generics.",
    "rest_framework.mixins.",
    "rest_framework.views.APIView",
)
SAFE_EXTERNAL_PREFIXES = ("rest_framework.", "django.", "builtins.", "typing.", "abc.")
SAFE_EXTERNAL = frozenset({"object", "Generic", "ABC"})
ALLOW_ANY_NAMES = frozenset({ALLOW_ANY, "AllowAny"})
UNKNOWN_PERMISSION = "<unknown>"  # *BASE, a call: may be empty
HTTP_HANDLERS = frozenset(["get", "post", "put", "patch", "delete"])
ACTION_METHOD = {
    "list": "get",
    "retrieve": "get",
    "create": "post",
    "update": "put",
    "partial_update": "patch",
    "destroy": "delete",
}
_CRUD = ("list", "create", "retrieve", "update", "partial_update", "destroy")
DRF_ACTIONS: dict[str, tuple[str, ...]] = {
    "ModelViewSet": _CRUD,
    "ReadOnlyModelViewSet": ("list", "retrieve"),
    "ListModelMixin": ("list",),
    "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",),
    "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",),
    "ListAPIView": ("get",),
    "CreateAPIView": ("post",),
    "RetrieveAPIView": ("get",),
    "DestroyAPIView": ("delete",),
    "UpdateAPIView": ("put", "patch"),
    "ListCreateAPIView": ("get", "post"),
    "RetrieveUpdateAPIView": ("get", "put", "patch"),
    "RetrieveDestroyAPIView": ("get", "delete"),
    "RetrieveUpdateDestroyAPIView": ("get", "put", "patch", "delete"),
}
# what reads the view's queryset: DRF's hooks, the attribute, and DRF's actions called on self
QUERYSET_READERS = frozenset({"get_queryset", "get_object", "filter_queryset", "queryset"})
DRF_QUERYSET_METHODS = frozenset({"list", "retrieve", "update", "partial_update", "destroy"})
# DRF's actions that read their row through get_object() (the URL's lookup kwarg)
DETAIL_ACTIONS = frozenset({"retrieve", "update", "partial_update", "destroy"})


Verdict = Literal["scoped", "unscoped", "not-tenant-data", "unknown"]
Permissions = tuple[ClassRef | None, ast.AST | None, list[str]]  # owner, node, qualified names


def kwargs_read(body: ast.AST) -> frozenset[str]:
    """The URL kwargs a membership check's code reads: ``kwargs["slug"]``,
    ``view.kwargs.get("slug")``, ``view.project_id``. Read once per check (kept on its node:
    every view it guards asks)."""
    cached: frozenset[str] | None = body.__dict__.get("_scaffold_kwargs_read")
    if cached is not None:
        return cached
    names: set[str] = set()
    for sub in walk_all(body):
        if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant):
            if (dotted_name(sub.value) or "").endswith("kwargs") and isinstance(sub.slice.value, str):
                names.add(sub.slice.value)
        elif isinstance(sub, ast.Attribute) and dotted_name(sub.value) == "view":
            names.add(sub.attr)
        elif (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "get"
            and (dotted_name(sub.func.value) or "").endswith("kwargs")
            and sub.args
            and isinstance(sub.args[0], ast.Constant)
            and isinstance(sub.args[0].value, str)
        ):
            names.add(sub.args[0].value)  # view.kwargs.get("slug")
    cached = body.__dict__["_scaffold_kwargs_read"] = frozenset(names)
    return cached


def lets_anyone_in(names: list[str]) -> bool:
    """Empty, or AllowAny with nothing else known to check (``[*BASE, AllowAny]``)."""
    return not names or (
        all(n in ALLOW_ANY_NAMES or n == UNKNOWN_PERMISSION for n in names)
        and any(n in ALLOW_ANY_NAMES for n in names)
    )


def is_drf_view(mro: list[ClassRef | str]) -> bool:
    return any(isinstance(m, str) and m.startswith(DRF_VIEW_PREFIXES) for m in mro)


@dataclass
class ViewAnalysis:
    """Everything scaffold knows about one DRF view's tenant scoping."""

    cls: ClassRef
    mro: list[ClassRef | str]
    model: ClassRef | None = None
    # True: the model's rows belong to a tenant; False: they do not (no tenant field, a
    # global model, the tenant itself); None: scaffold cannot tell
    tenant_data: bool | None = None
    the_tenant: bool = False  # the model is the tenant model itself
    get_queryset: tuple[ClassRef, Function] | None = None
    queryset_attr: tuple[ClassRef, ast.stmt] | None = None
    returns: list[Return] = field(default_factory=list)
    refuses: bool = False
    permissions: Permissions | None = None
    unknown_bases: list[str] = field(default_factory=list)
    membership: bool = False  # a declared membership permission / decorator guards it
    # False: every action the view exposes is a handler of its own that never reaches
    # get_queryset / get_object / self.queryset, so the queryset serves no request
    queryset_served: bool = True
    why_unknown: str = ""

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def tenant_model(self) -> bool:
        return self.tenant_data is True

    @property
    def verdict(self) -> Verdict:
        """The one answer audit and migrate-viewsets share about the view's queryset:
        ``unknown`` is never rewritten and never passes silently."""
        if self.tenant_data is False and not self.the_tenant:
            return "not-tenant-data"
        if not self.queryset_served:
            return "scoped"  # its handlers' own queries are judged one by one
        if self.the_tenant or self.tenant_data is None:
            return "unknown"  # the tenant model itself: scoped by membership, if at all
        if self.tenant_data is False:
            return "not-tenant-data"
        if self.tenant_data is None:
            return "unknown"
        if any(r.scope in LEAKS for r in self.returns):
            return "unscoped"
        if self.returns and all(r.scope is not Scope.UNKNOWN for r in self.returns):
            return "scoped"
        return "unknown"


class Analyzer:
    """The analysis of one view class: helper lookup, value tracking and flow, shared."""

    def __init__(self, view: ClassRef, index: ProjectIndex, settings: Settings) -> None:
        self.view = view
        self.index = index
        self.settings = settings
        self.lookup = Lookup(view, index, settings)
        self.values = Values(self.lookup)
        self.mro = self.lookup.mro
        self._member_handlers: set[str] = set()

    @property
    def flow(self) -> Flow:
        """The flow analysis of the view, set up on first use: a class that is no DRF view
        (most classes of a views module: serializers, filters, models) never pays for its
        permissions, membership checks and declared model."""
        flow: Flow | None = self.__dict__.get("_flow")
        if flow is None:
            flow = self.__dict__["_flow"] = Flow(self.lookup, self.values)
            flow.membership = self.has_membership()
            flow.member_handlers = self._member_handlers
            flow.covered = self.covered_kwargs()
            declared = self.lookup.find_attr("model")  # model = Cycle: an APIView names its row too
            value = getattr(declared[1], "value", None) if declared is not None else None
            if declared is not None and isinstance(value, (ast.Name, ast.Attribute)):
                model = self.lookup.model_info(declared[0], value)
                flow.view_model = model.name if model is not None else ""
        return flow

    @property
    def member_handlers(self) -> set[str]:
        """Handlers guarded one by one by a declared membership decorator."""
        return self.flow.member_handlers

    # -- permissions ----------------------------------------------------------------------
    def has_membership(self) -> bool:
        """A declared membership permission guards every request the view serves: in its
        effective ``permission_classes``, a class decorator, or a decorator on every action
        the view exposes (a decorated ``list`` does not guard DRF's default ``update``).
        Handlers decorated one by one are recorded in ``self.member_handlers``."""
        declared = self.settings.membership_permissions
        self._member_handlers.clear()
        if not declared:
            return False
        perms = self.permissions()
        if perms is not None and any(matches(p, declared) for p in perms[2]):
            return True
        if self._membership_by_get_permissions(declared):
            return True
        if any(isinstance(m, str) and matches(m, declared) for m in self.mro):
            return True
        for cls in self.lookup.projects:
            if self._declared(cls, cls.node.decorator_list, declared):
                return True
        for cls in self.lookup.projects:
            for fn in cls.node.body:
                if (
                    isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and self.lookup.find_method(fn.name) == (cls, fn)
                    and self._declared(cls, fn.decorator_list, declared)
                ):
                    self._member_handlers.add(fn.name)
        exposed = self.exposed_actions()
        return bool(exposed) and exposed <= self._member_handlers

    def _membership_by_get_permissions(self, declared: tuple[str, ...]) -> bool:
        """``get_permissions()`` whose every return is a literal list holding an instance of
        a declared membership permission (``return [ProjectAdminPermission()]`` per method)."""
        found = self.lookup.find_method("get_permissions")
        if found is None:
            return False
        owner, fn = found
        returns = [n for n in walk_function(fn) if isinstance(n, ast.Return)]
        if not returns:
            return False

        def lists_declared(value: ast.AST | None, instances: bool) -> bool:
            return isinstance(value, (ast.List, ast.Tuple)) and any(
                isinstance(
                    el.func if instances and isinstance(el, ast.Call) else el, (ast.Name, ast.Attribute)
                )
                and matches(
                    owner.qualify(el.func if instances and isinstance(el, ast.Call) else el) or "", declared
                )
                for el in value.elts
            )

        for ret in returns:
            call = ret.value
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "get_permissions"
                and is_super(call.func.value)
            ):
                # self.permission_classes = [ProjectLitePermission] per branch, then DRF's own
                # get_permissions(): every list it may read must hold a declared permission
                assigned = [
                    n.value
                    for n in walk_function(fn)
                    if isinstance(n, ast.Assign)
                    and any(dotted_name(t) == "self.permission_classes" for t in n.targets)
                ]
                attr = self.lookup.find_attr("permission_classes")
                lists = [*assigned, getattr(attr[1], "value", None) if attr is not None else None]
                if not all(lists_declared(v, instances=False) for v in lists):
                    return False
                continue
            if not isinstance(ret.value, (ast.List, ast.Tuple)):
                return False
            if not any(
                isinstance(el, ast.Call)
                and isinstance(el.func, (ast.Name, ast.Attribute))
                and matches(owner.qualify(el.func) or "", declared)
                for el in ret.value.elts
            ):
                return False
        return True

    def covered_kwargs(self) -> set[str]:
        """The URL kwargs the declared membership checks read (``kwargs["slug"]``,
        ``view.project_id``): a filter on one of them is the user's tenant; empty when the
        checks cannot be read (then every URL kwarg is trusted under them)."""
        declared = self.settings.membership_permissions
        names: set[str] = set()
        if not declared:
            return names
        for cls in self.lookup.projects:
            stmt = cls.body_assign_stmt("permission_classes")
            value = getattr(stmt, "value", None)
            exprs: list[ast.AST] = list(cls.node.decorator_list)
            exprs += list(value.elts) if isinstance(value, (ast.List, ast.Tuple)) else []
            for fn in cls.node.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    exprs += fn.decorator_list
                    if fn.name == "get_permissions":
                        exprs += [n.value for n in walk_function(fn) if isinstance(n, ast.Return) and n.value]
            for expr in exprs:
                for node in walk_all(expr):
                    qual = cls.qualify(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
                    if not qual or not matches(qual, declared):
                        continue
                    source = class_ref(self.index, qual)
                    body: ast.AST | None = (
                        source.node if source is not None else resolve_function(self.index, qual)
                    )
                    if body is not None:
                        names |= kwargs_read(body)
        if any("slug" in n for n in names):
            names.add("slug")
        for name in list(names):
            # view.project_id read by the check: a property of the view returning
            # self.kwargs.get("project_id") or self.kwargs.get("pk") covers both kwargs
            names |= self.flow._kwarg_property(name)
        return names

    @staticmethod
    def _declared(cls: ClassRef, exprs: list[ast.expr], declared: tuple[str, ...]) -> bool:
        for expr in exprs:
            for node in walk_all(expr):
                if isinstance(node, (ast.Name, ast.Attribute)):
                    qual = cls.qualify(node) or ""
                    if qual and matches(qual, declared):
                        return True
        return False

    def exposed_actions(self) -> set[str]:
        """The actions and HTTP handlers the view serves: the actions its ``as_view({...})``
        routes map when that is all it is mounted with, else DRF's mixins and the handlers
        defined in its project classes, limited by a literal ``http_method_names``."""
        from scaffold.analysis.routes import routes

        routed = routes(self.index).get(self.view.qualname, None)
        if routed:  # {"get": "list", "post": "create"}: the actions, not the HTTP methods
            named = {a for a in routed if a not in HTTP_HANDLERS}
            return (named - self.unserved_detail_actions(named)) or routed
        actions: set[str] = set()
        for m in self.mro:
            if isinstance(m, str):
                actions |= set(DRF_ACTIONS.get(m.rpartition(".")[2], ()))
        for cls in self.lookup.projects:
            for fn in cls.node.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in HTTP_HANDLERS:
                    actions.add(fn.name)
        found = self.lookup.find_attr("http_method_names")
        value = getattr(found[1], "value", None) if found is not None else None
        if isinstance(value, (ast.List, ast.Tuple)):
            methods = {e.value for e in value.elts if isinstance(e, ast.Constant)}
            actions = {a for a in actions if ACTION_METHOD.get(a, a) in methods}
        return actions

    def unserved_detail_actions(self, actions: set[str]) -> set[str]:
        """Those of ``actions`` that are DRF's own ``retrieve`` / ``update`` /
        ``partial_update`` / ``destroy`` (neither they nor ``get_object`` / ``dispatch`` /
        ``initial`` overridden, no base scaffold cannot read) routed only on paths that do
        not capture the view's lookup kwarg, with no ``include()`` prefix that could add it
        and nothing writing ``self.kwargs``: ``get_object()`` asserts on every such request
        (TEN010), so they serve no rows."""
        memo: dict[frozenset[str], set[str]] = self.__dict__.setdefault("_unserved", {})
        key = frozenset(actions)
        if key not in memo:
            memo[key] = self._unserved_detail_actions(actions)
        return set(memo[key])

    def _unserved_detail_actions(self, actions: set[str]) -> set[str]:
        from scaffold.analysis.routes import (
            fills_kwargs,
            include_kwargs,
            lookup_kwarg,
            route_kwargs,
            writes_self_kwargs,
        )

        candidates = {a for a in actions & DETAIL_ACTIONS if self.lookup.find_method(a) is None}
        if not candidates or not readable(self):
            return set()
        if self.lookup.find_method("get_object") is not None:
            return set()  # reads its row its own way
        if fills_kwargs(self.mro):
            return set()  # a hook that may fill the kwarg in before get_object()
        lookup = lookup_kwarg(self.mro)
        prefixes = include_kwargs(self.index)
        if lookup is None or prefixes is None or lookup in prefixes:
            return set()
        if writes_self_kwargs(self.mro):
            return set()  # self.kwargs.update(pk=...): the kwarg may be filled in
        mounted = route_kwargs(self.index).get(self.view.qualname, [])
        return {
            action
            for action in candidates
            if (on := [kwargs for mapped, kwargs in mounted if action in mapped])
            and all(kwargs is not None and lookup not in kwargs for kwargs in on)
        }

    def _routed(self) -> bool:
        """The project's urlconfs mount this very class (a router or ``as_view``): a
        concrete view, not a base whose subclasses declare the model."""
        from scaffold.analysis.routes import routes

        return self.view.qualname in routes(self.index)

    def queryset_served(self) -> bool:
        """Some request reaches the view's queryset: an exposed action is DRF's own (list,
        retrieve, update, ... read get_queryset), an ``@action``, or a handler of the
        project's that (through the view's methods it calls) reads ``get_queryset``,
        ``get_object``, ``filter_queryset`` or ``self.queryset``, or calls DRF's action via
        ``super()``. False only when every exposed action is the project's own handler and
        none of them does: then its handlers' queries are what serve the rows."""
        exposed = self.exposed_actions()
        if not exposed:
            return True  # nothing known to be exposed: cannot show the queryset unused
        for cls in self.lookup.projects:
            for fn in cls.node.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    "action" in (dotted_name(d.func if isinstance(d, ast.Call) else d) or "")
                    for d in fn.decorator_list
                ):
                    return True  # @action methods: routed by a router, not listed above
        seen: set[int] = set()
        for name in exposed:
            found = self.lookup.find_method(name)
            if found is None or self._reaches_queryset(found[1], seen):
                return True
        return False

    def _reaches_queryset(self, fn: Function, seen: set[int]) -> bool:
        if id(fn) in seen:
            return False
        seen.add(id(fn))
        for node in walk_function(fn):
            if isinstance(node, ast.Attribute):
                if node.attr in QUERYSET_READERS:
                    return True
                if isinstance(node.value, ast.Call) and is_super(node.value):
                    return True  # super().list(...), super().update(...): DRF's own action
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    found = self.lookup.find_method(node.attr)
                    if found is None and node.attr in DRF_QUERYSET_METHODS:
                        return True
                    if found is not None and self._reaches_queryset(found[1], seen):
                        return True
        return False

    def permissions(self) -> Permissions | None:
        """(owner, node, qualified permission names); None when they cannot be known.
        Without ``permission_classes`` in the project classes, DRF's
        ``DEFAULT_PERMISSION_CLASSES`` from settings apply (owner and node None)."""
        for cls in self.lookup.projects:
            if cls.method("get_permissions") is not None:
                return None
            stmt = cls.body_assign_stmt("permission_classes")
            if stmt is None:
                continue
            value = getattr(stmt, "value", None)
            if isinstance(value, (ast.List, ast.Tuple)):
                # The list ANDs its elements: which let anyone in (AllowAny, AllowAny | X)
                # and which are unknown (*BASE) is the predicate's permission_kind.
                names = []
                for el in value.elts:
                    if isinstance(el, (ast.Name, ast.Attribute)):
                        names.append(cls.qualify(el) or "?")
                        continue
                    kind = permission_kind(el, cls.qualify)
                    names.append(
                        ALLOW_ANY if kind == "any" else UNKNOWN_PERMISSION if kind == "unknown" else "<expr>"
                    )
                return cls, stmt, names
            return None
        defaults = self.settings.default_permissions
        if defaults is None:
            return None
        return None, None, list(defaults)

    # -- the result -----------------------------------------------------------------------
    def env_of(self, owner: ClassRef, fn: Function) -> set[str]:
        """What every local of ``fn`` holds (value tracking over its assignments)."""
        from scaffold.analysis.syntax import walk_function as walk

        env: set[str] = set()
        self.flow._fns.append(fn)
        try:
            for sub in walk(fn):
                if isinstance(sub, ast.Assign):
                    for target in sub.targets:
                        self.flow.assign(target, sub.value, owner, {}, env)
        finally:
            self.flow._fns.pop()
        return env

    def value_kind(self, owner: ClassRef, fn: Function | None, value: ast.expr) -> str:
        """Where ``value`` (in ``fn``) comes from: user / owner / implicit / client / other."""
        if fn is None:
            return self.flow.value_kind(owner, value, set())
        env = self.env_of(owner, fn)
        self.flow._fns.append(fn)
        try:
            return self.flow.value_kind(owner, value, env)
        finally:
            self.flow._fns.pop()

    def _unresolved_model(self) -> str:
        """``vendor.models.Thing`` behind ``Thing.objects`` in the queryset, when scaffold cannot read it."""
        found = self.lookup.find_attr("queryset")
        exprs = [getattr(found[1], "value", None)] if found is not None else []
        owner = found[0] if found is not None else self.view
        gq = self.lookup.find_method("get_queryset")
        if gq is not None:
            owner = gq[0]
            exprs += [n.value for n in walk_function(gq[1]) if isinstance(n, ast.Return)]
        for expr in exprs:
            for node in walk_all(expr) if expr is not None else ():
                if isinstance(node, ast.Attribute) and node.attr == "objects":
                    qual = self.lookup.qualify(owner, node.value, gq[1] if gq else None)
                    if qual and self.lookup.model_info(owner, node.value) is None:
                        return f"cannot read model {qual} (not found in the project)"
        return ""

    def analyze(self) -> ViewAnalysis | None:
        """The result, or None when the class is not a DRF view serving model data. Computed
        once, before anything else reads the flow (the models a handler's queries touch are
        not the view's)."""
        if "_result" not in self.__dict__:
            self.__dict__["_result"] = self._analyze()
        result: ViewAnalysis | None = self.__dict__["_result"]
        return result

    def _analyze(self) -> ViewAnalysis | None:
        if not is_drf_view(self.mro):
            return None
        an, lookup, flow = self, self.lookup, self.flow
        result = ViewAnalysis(self.view, an.mro, membership=flow.membership)
        result.unknown_bases = [
            m
            for m in an.mro[1:]
            if isinstance(m, str) and not m.startswith(SAFE_EXTERNAL_PREFIXES) and m not in SAFE_EXTERNAL
        ]
        result.get_queryset = lookup.find_method("get_queryset")
        result.queryset_attr = lookup.find_attr("queryset")
        if result.get_queryset is not None:
            result.returns = flow.returns(*result.get_queryset)
            result.refuses = flow.refuses(*result.get_queryset)
        elif result.queryset_attr is not None and is_generic(an.mro):
            owner, stmt = result.queryset_attr
            scope, model, mgr = flow.eval(getattr(stmt, "value", None), owner, {}, set())
            result.returns = [Return(stmt, owner, scope, model, mgr)]
        else:
            return None
        scoping = lookup.find_method("filter_queryset")
        if scoping is not None and flow.eval_function(*scoping)[0] in (
            Scope.TENANT,
            Scope.OWNER,
            Scope.EMPTY,
        ):
            # A mixin whose filter_queryset() adds the tenant filter: DRF's list and get_object
            # pass every queryset through it.
            for ret in result.returns:
                if ret.scope not in GOOD and ret.scope is not Scope.UNVERIFIED:
                    ret.scope = Scope.TENANT
        models = [r.model for r in result.returns if r.model is not None] + flow.models
        declared = lookup.find_attr("model")  # model = Issue (a common view attribute)
        if not models and declared is not None:
            value = getattr(declared[1], "value", None)
            model = lookup.model_info(declared[0], value) if value is not None else None
            if model is not None:
                models.append(model)
        if not models and result.queryset_attr is not None:
            owner, stmt = result.queryset_attr
            model = flow.eval(getattr(stmt, "value", None), owner, {}, set(), quiet=True)[1]
            if model is not None:
                models.append(model)
        result.permissions = self.permissions()
        if result.returns and not self.queryset_served():
            result.queryset_served = False
            result.returns = []  # no request reads them; the handlers' queries are judged instead
        if not models:
            if any(r.scope is Scope.UNVERIFIED for r in result.returns):
                result.tenant_data = True  # cannot be shown not to be tenant data
            elif (why := self._unresolved_model()).startswith("cannot read model django."):
                result.tenant_data = False  # Django's own models (auth.Permission, ...)
            elif why:
                result.why_unknown = why
            elif (
                result.queryset_attr is None
                and not any(r.scope in LEAKS for r in result.returns)
                and not self._routed()
            ):
                return None  # a base class: its concrete subclasses declare the model
            else:
                result.why_unknown = "cannot tell which model it serves"
            return result
        result.model = models[0]
        flow.view_model = result.model.name
        datas = [lookup.tenant_data(m) for m in models]
        result.tenant_data = True if True in datas else None if None in datas else False
        result.the_tenant = lookup.is_the_tenant(models[0]) and not lookup.declares_tenant(models[0])
        if result.the_tenant and not lookup.is_global(models[0]):
            result.why_unknown = (
                f"serves {result.model.name}, the tenant model itself (no {self.settings.tenant_field}); "
                "scope it by membership by hand, or list it in [tool.scaffold] global_models"
            )
        else:
            result.the_tenant = False
        if result.tenant_data is None:
            result.why_unknown = (
                f"cannot tell whether {result.model.name} has a {self.settings.tenant_field} field "
                "(a base class scaffold cannot read)"
            )
        if not result.refuses:
            # A custom permission that checks the tenant refuses before get_queryset runs.
            perms = result.permissions[2] if result.permissions else []
            result.refuses = result.membership or any("tenant" in p.rsplit(".", 1)[-1].lower() for p in perms)
        return result


def analyze_view(view: ClassRef, index: ProjectIndex, settings: Settings) -> ViewAnalysis | None:
    return Analyzer(view, index, settings).analyze()


# -- queries inside handlers ---------------------------------------------------------------

HANDLERS = frozenset(
    [
        "get",
        "post",
        "put",
        "patch",
        "delete",
        "list",
        "retrieve",
        "create",
        "update",
        "partial_update",
        "destroy",
        # DRF hooks whose queries serve the response: an overridden get_object() answers
        # retrieve / update / destroy (Note.objects.get(pk=...) there bypasses get_queryset)
        "get_object",
        "get_serializer_context",
    ]
)
WRITE_METHODS = frozenset(["create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"])
ADMIN_PERMISSIONS = ("IsAdminUser", "DjangoModelPermissions", "DjangoObjectPermissions")


@dataclass
class HandlerQuery:
    node: ast.expr
    view: str
    method: str
    model: ClassRef
    scope: Scope


def is_handler(fn: Function) -> bool:
    if fn.name in HANDLERS:
        return True
    for dec in fn.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "action":
            return True
    return False


def handlers(node: ast.ClassDef) -> list[Function]:
    return [f for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_handler(f)]


def readable(an: Analyzer) -> bool:
    """A DRF view whose bases scaffold can read entirely (a third-party base other than DRF's
    may scope it)."""
    return is_drf_view(an.mro) and not any(
        isinstance(m, str) and not m.startswith(SAFE_EXTERNAL_PREFIXES) and m not in SAFE_EXTERNAL
        for m in an.mro[1:]
    )


def rooted_at_class_attr(call: ast.Call) -> bool:
    """The chain starts at a class's attribute (``Order.objects...``, ``models.Order.objects...``):
    a capitalised name somewhere before the last attribute. Cheap filter before ``eval``."""
    parts: list[str] = []
    expr: ast.AST = call
    while True:
        if isinstance(expr, ast.Call):
            expr = expr.func
        elif isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        else:
            break
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    return any(p[:1].isupper() for p in parts[2:])


def _headers(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions a statement evaluates itself (not its nested blocks)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [i.context_expr for i in stmt.items]
    if type(stmt).__name__ == "Match":
        return [stmt.subject]  # type: ignore[attr-defined]
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or isinstance(stmt, TRY_STMTS):
        return []
    return [stmt]


def queries_in(
    an: Analyzer, fn: Function, skip_scoped: bool = True, by_client_id: bool = False
) -> list[HandlerQuery]:
    """Querysets built in handler ``fn`` straight from a tenant model's manager (or through
    ``get_object_or_404(Model, ...)``), with how each is scoped; scoped ones left out. Each
    is judged where it stands, with what the locals hold on the way there (the flow).

    Computed once per view, handler and ``by_client_id`` (every rule and the census ask)."""
    memo: dict[tuple[int, bool, bool], list[HandlerQuery]] = an.__dict__.setdefault("_queries_in", {})
    if by_client_id:
        key = (id(fn), True, skip_scoped)
        if key not in memo:
            memo[key] = _queries_in(an, fn, skip_scoped, True)
        return list(memo[key])
    key = (id(fn), False, False)  # every query; the scoped ones dropped on the way out
    if key not in memo:
        memo[key] = _queries_in(an, fn, False, False)
    return [q for q in memo[key] if not (skip_scoped and q.scope in GOOD)]


def _queries_in(an: Analyzer, fn: Function, skip_scoped: bool, by_client_id: bool) -> list[HandlerQuery]:
    from scaffold.analysis.writes import write_visitor

    an.analyze()  # the view's own verdict first: its model is not one a handler happens to query
    found: list[HandlerQuery] = []
    seen: set[int] = set()

    def visit(stmt: ast.stmt, scopes: dict[str, Scope], env: set[str]) -> None:
        calls, inner = _statement_calls(stmt)
        for call in calls:
            if id(call) not in seen:
                seen.add(id(call))
                found.extend(_judge(an, fn, call, inner, scopes, env, skip_scoped, by_client_id))

    visitors: list[Visitor] = [visit]
    # the same run also answers the client-writes question of this handler (one flow run
    # per handler: writes.client_writes reads it from here)
    writes: dict[int, list[WriteRef]] = an.__dict__.setdefault("_writes_in", {})
    pending = id(fn) not in writes and isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    if pending:
        write_visit, write_found = write_visitor(an, an.view.name, fn)
        visitors.append(write_visit)
    run_handler(an, fn, visitors)
    if pending:
        writes[id(fn)] = write_found
    return found


Visitor = Callable[[ast.stmt, dict[str, Scope], set[str]], None]  # a statement, what locals hold there


def run_handler(an: Analyzer, fn: Function, visitors: list[Visitor]) -> None:
    """Run the flow over handler ``fn`` once, showing each statement, with what the locals
    hold there, to every visitor."""

    def visit(stmt: ast.stmt, scopes: dict[str, Scope], env: set[str]) -> None:
        for each in visitors:
            each(stmt, scopes, env)

    an.flow._visit = visit if len(visitors) > 1 else visitors[0]
    try:
        an.flow.returns(an.view, fn, cached=False)
    finally:
        an.flow._visit = None


def _statement_calls(stmt: ast.stmt) -> tuple[list[ast.Call], set[int]]:
    """The calls a statement evaluates itself, and which of them are inner (see
    :func:`_inner_calls`): found once per statement and kept on its node, since a base's
    handler is walked again for every view that inherits it."""
    cached: tuple[list[ast.Call], set[int]] | None = stmt.__dict__.get("_scaffold_calls")
    if cached is None:
        calls = [n for h in _headers(stmt) for n in [h, *walk_function(h)] if isinstance(n, ast.Call)]
        cached = stmt.__dict__["_scaffold_calls"] = (calls, _inner_calls(calls))
    return cached


def _inner_calls(calls: list[ast.Call]) -> set[int]:
    """Ids of the nodes of one statement's ``calls`` that are part of a longer chain or of
    a Prefetch/Subquery/Exists body (computed once per statement, not once per call)."""
    inner = {id(c.func.value) for c in calls if isinstance(c.func, ast.Attribute)}
    # Prefetch("rel", queryset=X.objects...) and Subquery/Exists bodies narrow the rows of
    # the outer query they belong to: judged with it, not as reads of their own
    for c in calls:
        if (dotted_name(c.func) or "").rpartition(".")[2] in ("Prefetch", "Subquery", "Exists"):
            inner |= {id(n) for arg in [*c.args, *(k.value for k in c.keywords)] for n in walk_all(arg)}
    return inner


def _judge(
    an: Analyzer,
    fn: Function,
    call: ast.Call,
    inner: set[int],
    scopes: dict[str, Scope],
    env: set[str],
    skip_scoped: bool,
    by_client_id: bool,
) -> list[HandlerQuery]:
    view, flow = an.view, an.flow
    if id(call) in inner:
        return []  # part of a longer chain: judged at its outermost call
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name in WRITE_METHODS:
        return []
    if name == "get_object_or_404" and call.args:
        if isinstance(call.args[0], ast.Call):
            return []
        model = an.lookup.model_info(view, call.args[0], fn)
        if model is None or not an.lookup.is_tenant_model(model):
            return []
        added = flow.filter_scope(call, env, view, scopes)
        scope = added if added is not None else Scope.UNSCOPED
    elif isinstance(call.func, ast.Attribute) and rooted_at_class_attr(call):
        scope, model, _ = flow.eval(call, view, scopes, env, quiet=True)
        if model is None or not an.lookup.is_tenant_model(model):
            return []
    else:
        return []
    if skip_scoped and scope in GOOD:
        return []
    if by_client_id and not _client_lookup(an, call, env):
        return []
    return [HandlerQuery(call, view.name, fn.name, model, scope)]


def _client_lookup(an: Analyzer, call: ast.Call, env: set[str]) -> bool:
    """Some ``.get()`` / ``.filter()`` of the chain looks rows up by what the client sent
    (``User.objects.get(pk=request.data["user_id"])``)."""
    from scaffold.analysis.predicate import anded_conditions

    node: ast.AST = call
    while isinstance(node, ast.Call):
        name = (dotted_name(node.func) or "").rpartition(".")[2] or getattr(node.func, "attr", "")
        if name in ("get", "filter", "get_object_or_404"):
            for _, value in anded_conditions(node, fn=an.flow.fn):
                if an.flow.value_kind(an.view, value, env) == "client":
                    return True
        node = node.func.value if isinstance(node.func, ast.Attribute) else node.func
    return False


def handler_queries(an: Analyzer, node: ast.ClassDef) -> list[HandlerQuery]:
    """Unscoped manager queries in the request handlers of a readable DRF view (``get``,
    ``list``, ``@action`` methods, ...). In views restricted to admins (``IsAdminUser``,
    model permissions) only lookups by an id the client sent count: an admin of one tenant
    reaching another tenant's row; counts and reports over every tenant are theirs."""
    if not readable(an):
        return []
    exposed = an.exposed_actions()  # as_view({"post": "restore"}) routes a plain method too
    fns = [
        f
        for f in node.body
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and (is_handler(f) or f.name in exposed)
    ]
    if not fns:
        return []
    perms = an.permissions()
    admin = perms is not None and any(p.rsplit(".", 1)[-1] in ADMIN_PERMISSIONS for p in perms[2])
    out: list[HandlerQuery] = []
    for fn in fns:
        out.extend(queries_in(an, fn, by_client_id=admin))
    return out


def handler_model(an: Analyzer, node: ast.ClassDef) -> ClassRef | None:
    """The tenant model a readable view's handlers query directly (an ``APIView`` serving
    tenant data like a ViewSet does), or None."""
    if not readable(an):
        return None
    for fn in handlers(node):
        for q in queries_in(an, fn, skip_scoped=False):
            return q.model
    return None


def location(an: ViewAnalysis, node: ast.AST, owner: ClassRef) -> tuple[ast.AST, str]:
    """Where to report: the node itself when the view's own code holds it, otherwise the
    view's class line (the problem is inherited), with a note naming the base."""
    if owner.qualname == an.cls.qualname:
        return node, ""
    return an.cls.node, f" (inherited from {owner.name})"


__all__ = ["is_super"]
