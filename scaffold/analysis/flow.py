"""Flow analysis: how every queryset a view's code returns is scoped, on every path.

Walks ``get_queryset`` (and the methods it calls: ``super().get_queryset()``, helpers on
the view, its bases and mixins) statement by statement, tracking for each local the scope
of the queryset it holds (:class:`~scaffold.analysis.scope.Scope`) and what its values are
(:class:`~scaffold.analysis.values.Values`). Branches merge to the worst scope; a path that
raises never reaches a return.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable

from scaffold.analysis.created import created_model, created_row_of, saved_row_of, saves_client_id
from scaffold.analysis.lookup import Function, Lookup, class_ref, resolve_function
from scaffold.analysis.predicate import (
    CHAIN_METHODS,
    COMBINING_METHODS,
    QS_METHODS,
    SCOPING_CALLS,
    anded_conditions,
    condition_kind,
    scoping_call_kind,
)
from scaffold.analysis.scope import KIND_SCOPE, SCOPED, ClassRef, Return, Scope
from scaffold.analysis.settings import matches
from scaffold.analysis.syntax import TRY_STMTS, assigned_names, expr_facts, key_read, walk_all, walk_function
from scaffold.analysis.values import CLIENT_MARK, ROW_MARK, Values
from scaffold.index import dotted_name

VERIFIED_MARK = "\0verified:"  # a URL kwarg a tenant-scoped .get() checked: "<mark><kwarg>:<Model>"
PUBLISHED_MARK = "\0published:"  # a URL kwarg a published row was found by: "<mark><kwarg>"
# a local holding a tenant-scoped .first() by URL id, None when the row is not the tenant's:
# "<mark><local>:<kwarg>:<Model>", verified once the path goes on only with a row (see _run)
PENDING_MARK = "\0pending:"
# "<mark><local>": the local is a queryset scoped only by its correlation to an outer row
# (``OuterRef``): scoped as a subquery read for its rows, not as the scope of another query
CORRELATED_MARK = "\0correlated:"
TAINTS = (CLIENT_MARK, CORRELATED_MARK)  # marks a path keeps when any branch has them
# "<mark><local>:<Model>": the local is a row this request created (``X.objects.create()``),
# or a serializer that will create one on ``save()`` / has saved one (see created.py)
CREATED_MARK = "\0created:"
CREATING_MARK = "\0creating:"
SAVED_MARK = "\0saved:"
ROW_METHODS = frozenset(["get", "first", "last", "earliest", "latest"])  # one row of the queryset
MAYBE_NONE = frozenset(["first", "last"])  # ... or None
BLOCKS = (ast.If, ast.While, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)
ID_KEYS = frozenset(["pk", "id", "pk__exact", "id__exact"])

Result = tuple[Scope, ClassRef | None, str]  # scope, model, manager
SUBQUERIES = frozenset(["Exists", "Subquery"])
DRF_GENERIC_PREFIXES = (
    "rest_framework.generics.",
    "rest_framework.viewsets.GenericViewSet",
    "rest_framework.viewsets.ModelViewSet",
    "rest_framework.viewsets.ReadOnlyModelViewSet",
)


def _keyword_absent(call: ast.Call, name: str) -> bool:
    return all(k.arg is not None and k.arg != name for k in call.keywords)


def is_super(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "super"


def is_generic(mro: list[ClassRef | str]) -> bool:
    return any(isinstance(m, str) and m.startswith(DRF_GENERIC_PREFIXES) for m in mro)


def _join(env: set[str], paths: list[set[str]]) -> None:
    """``env`` becomes what the local marks are where the ``paths`` (each a branch that goes
    on) meet: a fact (the user's tenant, a scoped or created row, a verified id) only when
    every path holds it, something the client sent when any path does."""
    if not paths:
        return
    facts = set.intersection(*({m for m in p if not m.startswith(TAINTS)} for p in paths))
    taints = {m for p in paths for m in p if m.startswith(TAINTS)}
    env.clear()
    env.update(facts | taints)


def _killed(env: set[str], names: set[str]) -> set[str]:
    """``env`` without the facts about ``names`` (locals a block may rebind); their client
    taints stay."""
    out = set()
    for m in env:
        local = m.split(":", 1)[1].split(":", 1)[0] if m.startswith("\0") else m
        if local not in names or m.startswith(TAINTS):
            out.add(m)
    return out


def _merge(a: dict[str, Scope] | None, b: dict[str, Scope] | None) -> dict[str, Scope] | None:
    if a is None:
        return b
    if b is None:
        return a
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, v), v)
    return out


class Flow:
    """Scopes of queryset expressions and of the returns of functions, for one view."""

    def __init__(self, lookup: Lookup, values: Values, membership: bool = False) -> None:
        self.lookup = lookup
        self.values = values
        self.settings = lookup.settings
        # the view checks membership of the tenant named in the URL: a filter on a URL
        # kwarg is the user's tenant ([tool.scaffold] membership_permissions)
        self.membership = membership
        self.member_handlers: set[str] = set()  # handlers guarded one by one (@allow_permission)
        self.view_model = ""  # name of the model the view serves, once known
        self.covered: set[str] = set()  # URL kwargs the membership checks read (empty: all)
        self.models: list[ClassRef] = []
        # the functions being evaluated, by their depth on the stack; _cut: the shallowest
        # depth a recursive call was cut at (returns() answered [] for a function on the
        # stack) while the current frame ran. A result that relied on such a cut depends on
        # who asked first, so it is neither remembered nor recorded (see returns())
        self._stack: dict[tuple[str, str], int] = {}
        self._cut = sys.maxsize
        self._fns: list[ast.AST] = []  # the functions being read, innermost last
        self._last_model: ClassRef | None = None
        self.by_node: dict[int, Return] = {}  # every return judged, by id of its node
        # called with each statement and what the locals hold there (handler queries)
        self._visit: Callable[[ast.stmt, dict[str, Scope], set[str]], None] | None = None
        # a visited statement's calls, judged by the visitor, are evaluated again when the
        # statement runs (``qs = Order.objects.filter(...)``): the results of one statement
        # step, for its own env only (see _run)
        self._step: tuple[dict[str, Scope], set[str], dict[int, Result]] | None = None
        # evaluating a subquery as the scope of another query (``Exists(q)``, ``pk__in=q``):
        # there a correlation to the outer row (``OuterRef``) scopes nothing (see gate_scope)
        self._gate = False

    @property
    def fn(self) -> ast.AST | None:
        return self._fns[-1] if self._fns else None

    # -- conditions -------------------------------------------------------------------------
    def value_kind(
        self, owner: ClassRef, value: ast.expr, env: set[str], scopes: dict[str, Scope] | None = None
    ) -> str:
        if isinstance(value, (ast.Call, ast.Name, ast.Attribute)):
            scope, model, _ = self.gate_scope(value, owner, scopes or {}, env)
            if scope in (Scope.TENANT, Scope.OWNER) and model is not None:
                return "scoped"  # project__in=Project.objects.filter(tenant_id=tid)
        if (
            not self._gate
            and isinstance(value, ast.Call)
            and (dotted_name(value.func) or "").rpartition(".")[2] == "OuterRef"
        ):
            # a subquery correlated to the outer row returns only rows related to it; as the
            # scope of the outer query (Exists / __in) the correlation restricts nothing
            return "scoped"
        verified = self.url_value(value, env)
        if verified:
            prefix = f"{VERIFIED_MARK}{verified}:"
            rows = [m[len(prefix) :] for m in env if m.startswith(prefix)]
            if rows:
                return "row:" + rows[0]  # a URL id a scoped .get() already checked
            if PUBLISHED_MARK + verified in env:
                return "url:" + verified  # the tenant data a published row names (public board)
        created = self._created_row(value, env)
        if created:
            return "row:" + created  # the id of a row this request created
        guarded = (
            self.membership
            or getattr(self.fn, "name", None) in self.member_handlers
            or self.checks_membership(self.fn)
        )
        name = self.url_value(value, env) if guarded else ""
        if name and (not self.covered or name in self.covered):
            return "url:" + name  # a membership check covers the tenant named in the URL
        return self.values.kind(owner, value, env, self.fn)

    @staticmethod
    def _created_row(value: ast.AST, env: set[str]) -> str:
        """The model of the row this request created that ``value`` is or names the id of
        (``dup.id``, ``serializer.data["id"]`` after ``serializer.save()``), or ""."""
        for mark, local in ((CREATED_MARK, created_row_of(value)), (SAVED_MARK, saved_row_of(value))):
            if local is not None:
                prefix = f"{mark}{local}:"
                found = [m[len(prefix) :] for m in env if m.startswith(prefix)]
                if found:
                    return found[0]
        return ""

    def _track_created(self, name: str | None, value: ast.AST, owner: ClassRef, env: set[str]) -> None:
        """Record what ``name = value`` (or the bare call ``value`` when ``name`` is None)
        says about created rows: ``X.objects.create(...)`` is one, ``XSerializer(data=...)``
        creates one on ``save()``, ``serializer.save()`` has created it."""
        if name is not None:
            for mark in (CREATED_MARK, CREATING_MARK, SAVED_MARK):
                for old in [m for m in env if m.startswith(f"{mark}{name}:")]:
                    env.discard(old)
        if not isinstance(value, ast.Call):
            return
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr == "save" and isinstance(func.value, ast.Name):
            prefix = f"{CREATING_MARK}{func.value.id}:"
            models = [m[len(prefix) :] for m in env if m.startswith(prefix)]
            if models and not saves_client_id(value):
                env.add(f"{SAVED_MARK}{func.value.id}:{models[0]}")
                if name is not None:
                    env.add(f"{CREATED_MARK}{name}:{models[0]}")
            return
        if name is None:
            return
        if isinstance(func, ast.Attribute) and func.attr == "create":
            model = self.eval(func.value, owner, {}, env, quiet=True)[1]
            if model is not None and self.lookup.is_model(model):
                env.add(f"{CREATED_MARK}{name}:{model.name}")
            return
        if (
            isinstance(func, (ast.Name, ast.Attribute))
            and not value.args
            and _keyword_absent(value, "instance")
        ):
            serializer = class_ref(self.lookup.index, self.lookup.qualify(owner, func, self.fn))
            model = created_model(self.lookup, serializer) if serializer is not None else None
            if model is not None:
                env.add(f"{CREATING_MARK}{name}:{model.name}")

    def _scoped_row(self, value: ast.AST, scope: Scope, model: ClassRef | None) -> bool:
        """``value`` fetches one row the requesting user may see: from a scoped queryset, or
        of a model declared global (a published board found by its anchor)."""
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            return False
        if value.func.attr not in ("get", "first", "last", "earliest", "latest"):
            return False
        return model is not None and (scope in (Scope.TENANT, Scope.OWNER) or self.lookup.is_global(model))

    def _verify_ids(
        self, name: str, value: ast.AST, scope: Scope, model: ClassRef | None, env: set[str]
    ) -> None:
        """``state = State.objects.get(pk=state_id, workspace__slug=slug)``: a tenant-scoped
        ``.get()`` raises unless the row the URL id names is the tenant's, so after it that
        URL kwarg is a verified ``State`` id (``Issue.objects.filter(state=state_id)`` scopes).
        ``.filter(pk=draft_id).first()`` returns None instead: the kwarg is pending on the
        local ``name`` until the path can only go on with a row (:meth:`_settled`)."""
        for mark in [m for m in env if m.startswith(f"{PENDING_MARK}{name}:")]:
            env.discard(mark)  # the local holds something else now
        if model is None or scope not in (Scope.TENANT, Scope.OWNER):
            return
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            return
        method = value.func.attr
        if method not in ROW_METHODS:
            return
        for kwarg in self._ids_of_chain(value, env):
            if method in MAYBE_NONE:
                env.add(f"{PENDING_MARK}{name}:{kwarg}:{model.name}")
            elif method == "get":
                env.add(f"{VERIFIED_MARK}{kwarg}:{model.name}")

    def _ids_of_chain(self, call: ast.Call, env: set[str]) -> list[str]:
        """The URL kwargs a row lookup's chain ANDs in as its ``pk`` / ``id``
        (``self.get_queryset().filter(pk=draft_id).first()``), read down to the first call
        that is no plain narrowing (``union()``, ``get_queryset()``: its scope is the chain's)."""
        names: list[str] = []
        node: ast.AST = call
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in ("filter", "get"):
                for key, v in anded_conditions(node, fn=self.fn):
                    if key in ID_KEYS and (kwarg := self.url_value(v, env)):
                        names.append(kwarg)
            elif not (method in ROW_METHODS and node is call) and method not in CHAIN_METHODS:
                break
            node = node.func.value
        return names

    @staticmethod
    def _dereferenced(exprs: list[ast.AST]) -> set[str]:
        """Locals whose attributes ``exprs`` read on every evaluation (``draft.project_id``;
        not behind ``and`` / ``or`` / ``if-else``, in a lambda or a comprehension's body, and
        no dunder: ``None.__class__`` exists): each raises AttributeError when it is None."""
        found: set[str] = set()
        todo = list(exprs)
        while todo:
            node = todo.pop()
            if isinstance(node, ast.Attribute):
                if isinstance(node.value, ast.Name) and not node.attr.startswith("__"):
                    found.add(node.value.id)
                todo.append(node.value)
            elif isinstance(node, ast.BoolOp):
                todo.append(node.values[0])
            elif isinstance(node, ast.IfExp):
                todo.append(node.test)
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                todo.append(node.generators[0].iter)
            elif isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            elif isinstance(node, (ast.If, ast.While)):
                todo.append(node.test)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                todo.append(node.iter)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                todo.extend(i.context_expr for i in node.items)
            elif (
                isinstance(node, TRY_STMTS) or type(node).__name__ == "Match" or isinstance(node, ast.Assert)
            ):
                continue  # blocks: their own statements are read one by one; python -O drops asserts
            else:
                todo.extend(ast.iter_child_nodes(node))
        return found

    @staticmethod
    def _none_tested(test: ast.AST, negated: bool) -> set[str]:
        """Locals ``test`` is true for when they are None (``not draft``, ``draft is None``,
        ``not draft or ...``; ``negated``: when they are not None: ``draft``, ``draft is not None``)."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or if not negated else ast.And):
            return set().union(*(Flow._none_tested(v, negated) for v in test.values))
        if not negated and isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return {test.operand.id} if isinstance(test.operand, ast.Name) else set()
        if negated and isinstance(test, ast.Name):
            return {test.id}
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.left, ast.Name)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        ):
            op = test.ops[0]
            if isinstance(op, (ast.IsNot, ast.NotEq) if negated else (ast.Is, ast.Eq)):
                return {test.left.id}
        return set()

    @staticmethod
    def _settled(names: set[str], env: set[str]) -> set[str]:
        """The marks that say: the locals ``names`` hold a row (not None), so the URL kwargs
        pending on them are verified."""
        out: set[str] = set()
        for mark in env:
            if mark.startswith(PENDING_MARK):
                local, kwarg, model = mark[len(PENDING_MARK) :].split(":", 2)
                if local in names:
                    out.add(f"{VERIFIED_MARK}{kwarg}:{model}")
        return out

    def _publish(self, value: ast.AST, model: ClassRef | None, env: set[str]) -> None:
        """``board = DeployBoard.objects.get(workspace__slug=slug, project_id=project_id)`` of a
        published model (``[tool.scaffold] published_models``): ``.get()`` raises unless the
        tenant published exactly that, so after it those URL kwargs name published data and
        scope the relations they name, like URL kwargs under a membership check."""
        if model is None or not self.lookup.is_published(model):
            return
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
            return
        if value.func.attr != "get":
            return
        for kw in value.keywords:
            name = self.url_value(kw.value, env) if kw.arg is not None else ""
            if name:
                env.add(PUBLISHED_MARK + name)

    def checks_membership(self, fn: ast.AST | None) -> bool:
        """``fn`` refuses a user who is not a member of the URL's tenant itself:
        ``Member.objects.filter(member=request.user, workspace__slug=slug).exists()`` tested,
        and a 403 returned or an exception raised."""
        if fn is None:
            return False
        cache: dict[int, bool] = self.__dict__.setdefault("_membership_checks", {})
        if id(fn) not in cache:
            cache[id(fn)] = self._checks_membership(fn)
        return cache[id(fn)]

    def _checks_membership(self, fn: ast.AST) -> bool:

        for stmt in getattr(fn, "body", []):
            # member = WorkspaceMember.objects.get(workspace__slug=slug, member=request.user)
            # first thing in the handler: .get() raises for a non-member before anything runs
            value = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr)) else None
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr == "get"
                and self._user_and_url(value)
            ):
                return True
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                break  # only before any other statement (a docstring aside)
        refuses = any(
            isinstance(n, ast.Raise)
            or (isinstance(n, ast.Return) and n.value is not None and "403" in ast.unparse(n.value))
            for n in walk_function(fn)
        )
        if not refuses:
            return False
        declared = self.settings.membership_permissions
        for node in walk_function(fn):
            # a declared membership function called in the handler that refuses
            # (``if not user_has_project_role(request.user, project_id): return 403``)
            if declared and isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                qual = self.lookup.qualify(self.lookup.view, node.func, fn) or ""
                if matches(qual, declared) and resolve_function(self.lookup.index, qual) is not None:
                    return True
        for node in walk_function(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("exists", "first", "get", "count"):
                continue
            if self._user_and_url(node):
                return True
        return False

    def _user_and_url(self, node: ast.Call) -> bool:
        """The query's conditions name the requesting user and a URL kwarg."""
        from scaffold.analysis.predicate import is_user_expr

        conds = [
            kw for c in walk_all(node) if isinstance(c, ast.Call) for kw in c.keywords if kw.arg is not None
        ]
        user = any(is_user_expr(k.value) for k in conds)
        url = any(
            bool(self.url_value(k.value, set())) or self._row_of_url(k.value)
            for k in conds
            if not is_user_expr(k.value)
        )
        return user and url

    def _row_of_url(self, value: ast.expr) -> bool:
        """``value`` is a local only ever assigned a row looked up by a URL kwarg
        (``project = Project.objects.get(pk=project_id, ...)``)."""
        fn = self.fn
        while isinstance(value, ast.Attribute):  # board.workspace: the row's own relation
            value = value.value
        if not isinstance(value, ast.Name) or fn is None:
            return False
        bound = [
            a.value
            for a in walk_function(fn)
            if isinstance(a, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == value.id for t in a.targets)
        ]
        return bool(bound) and all(
            isinstance(v, ast.Call)
            and isinstance(v.func, ast.Attribute)
            and v.func.attr == "get"
            and any(self.url_value(k.value, set()) for k in v.keywords if k.arg in ("pk", "id"))
            for v in bound
        )

    def url_value(self, value: ast.expr, env: set[str]) -> str:
        """The URL kwarg ``value`` is (``self.kwargs["slug"]``, ``kwargs.get("pk")``, a handler
        parameter: ``def get(self, request, slug, pk)``), or ""."""
        fn = self.fn
        params = (
            {a.arg for a in fn.args.args[1:] if a.arg != "request"}
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            else set()
        )
        if isinstance(value, ast.Name) and value.id in params:
            return value.id
        if isinstance(value, ast.Name) and fn is not None:
            # workspace_slug = self.kwargs.get("slug"): a local that only ever holds one URL kwarg
            bound = [
                a.value
                for a in walk_function(fn)
                if isinstance(a, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == value.id for t in a.targets)
            ]
            names = {self._kwarg_of(v) for v in bound}
            if (
                len(names) == 1
                and "" not in names
                and all(
                    len(a.targets) == 1
                    for a in walk_function(fn)
                    if isinstance(a, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == value.id for t in a.targets)
                )
            ):
                return names.pop()
            return ""
        if (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id == "self"
            and self._kwarg_property(value.attr)
        ):
            # self.workspace_slug: a property returning self.kwargs.get("slug") is that kwarg;
            # one returning either of two kwargs (project_id, else pk) is named by the property
            kwargs = self._kwarg_property(value.attr)
            return next(iter(kwargs)) if len(kwargs) == 1 else value.attr
        read = key_read(value)
        if read is None:
            return ""
        base, key = read
        if isinstance(key, str) and (dotted_name(base) or "").endswith("kwargs"):
            return key
        return ""

    def _kwarg_property(self, name: str) -> set[str]:
        """The URL kwargs a ``@property`` ``name`` of the view returns, when every return is
        one of them (or None); else empty."""
        found = self.lookup.find_method(name)
        if found is None:
            return set()
        fn = found[1]
        if not any((dotted_name(d) or "").endswith("property") for d in fn.decorator_list):
            return set()
        returns = [n.value for n in walk_function(fn) if isinstance(n, ast.Return)]
        kwargs = {k for k in (self._kwarg_of(v) for v in returns if v is not None) if k}
        for a in walk_function(fn):  # project_id = self.kwargs.get("project_id"); return project_id
            if isinstance(a, ast.Assign) and self._kwarg_of(a.value):
                kwargs.add(self._kwarg_of(a.value))
        return (
            kwargs
            if kwargs
            and all(
                v is None
                or (isinstance(v, ast.Constant) and v.value is None)
                or self._kwarg_of(v)
                or (
                    isinstance(v, ast.Name)
                    and all(
                        self._kwarg_of(a.value)
                        for a in walk_function(fn)
                        if isinstance(a, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == v.id for t in a.targets)
                    )
                )
                for v in returns
            )
            else set()
        )

    @staticmethod
    def _kwarg_of(value: ast.AST | None) -> str:
        """``self.kwargs["slug"]`` / ``self.kwargs.get("slug", ...)`` -> ``slug``."""
        read = key_read(value)
        if read is None:
            return ""
        base, key = read
        return key if isinstance(key, str) and (dotted_name(base) or "") == "self.kwargs" else ""

    def filter_scope(
        self,
        call: ast.Call,
        env: set[str],
        owner: ClassRef,
        scopes: dict[str, Scope] | None = None,
        receiver: Result | None = None,
    ) -> Scope | None:
        """The scope a ``.filter()`` / ``.get()`` call adds, or None when it adds none
        (``scopes``: the querysets locals hold, for ``__in`` and subqueries over them;
        ``receiver``: the receiver's evaluation when the caller has it, so a chain of n
        filters is evaluated n times, not 2**n)."""
        pairs = anded_conditions(call, fn=self.fn)
        model = ""
        if isinstance(call.func, ast.Attribute):
            if receiver is None:
                receiver = self.eval(call.func.value, owner, scopes or {}, env, quiet=True)
            found = receiver[1]
            model = found.name if found is not None else ""
        elif call.args:  # get_object_or_404(Model, ...)
            found = self.lookup.model_info(owner, call.args[0], self.fn)
            model = found.name if found is not None else ""
        kind = condition_kind(
            pairs,
            self.settings.tenant_field,
            lambda v: self.value_kind(owner, v, env, scopes),
            model,
            self.view_model,
        )
        if kind is None and any(key is None and not isinstance(v, ast.Name) for key, v in pairs):
            return Scope.UNKNOWN  # filter(**self.filters[...]): conditions built elsewhere
        if kind is None:
            for arg in call.args:  # filter(Exists(Scoped.objects.filter(pk=OuterRef("pk"))))
                if (
                    isinstance(arg, ast.Call)
                    and (dotted_name(arg.func) or "").rpartition(".")[2] in SUBQUERIES
                ):
                    inner = arg.args[0] if arg.args else None
                    if inner is not None and self.gate_scope(inner, owner, scopes or {}, env)[0] in (
                        Scope.TENANT,
                        Scope.OWNER,
                    ):
                        return Scope.TENANT
            if any(self._published_gate(inner, env, owner) for inner in self._exists_filters(call, pairs)):
                return Scope.TENANT
        return KIND_SCOPE.get(kind or "")

    @staticmethod
    def _exists_filters(call: ast.Call, pairs: list[tuple[str | None, ast.expr]]) -> list[ast.expr]:
        """The subqueries a ``.filter()`` requires to exist: ``filter(Exists(q))``, and
        ``annotate(is_public=Exists(q))`` earlier in the chain then ``filter(is_public=True)``."""
        found = [
            a.args[0]
            for a in call.args
            if isinstance(a, ast.Call)
            and (dotted_name(a.func) or "").rpartition(".")[2] == "Exists"
            and a.args
        ]
        wanted = {k for k, v in pairs if k and isinstance(v, ast.Constant) and v.value is True}
        node = call.func.value if isinstance(call.func, ast.Attribute) else None
        while wanted and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("annotate", "alias"):
                for kw in node.keywords:
                    value = kw.value
                    if (
                        kw.arg in wanted
                        and isinstance(value, ast.Call)
                        and (dotted_name(value.func) or "").rpartition(".")[2] == "Exists"
                        and value.args
                    ):
                        found.append(value.args[0])
            node = node.func.value
        return found

    def _published_gate(self, inner: ast.expr, env: set[str], owner: ClassRef) -> bool:
        """``Exists(DeployBoard.objects.filter(anchor=anchor, project_id=OuterRef("pk")))`` over
        a published model: the outer rows are those a published row found by what the URL
        carries names (public by design)."""
        url = correlated = False
        node: ast.AST = inner
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("filter", "get"):
                for kw in node.keywords:
                    if kw.arg is None:
                        continue
                    if isinstance(kw.value, ast.Call) and (dotted_name(kw.value.func) or "").endswith(
                        "OuterRef"
                    ):
                        correlated = True
                    elif self.url_value(kw.value, env):
                        url = True
            node = node.func.value
        if not (url and correlated and isinstance(node, ast.Attribute)):
            return False
        model = self.lookup.model_info(owner, node.value, self.fn)
        return model is not None and self.lookup.is_published(model)

    def scoping_call_scope(self, call: ast.Call, env: set[str], owner: ClassRef) -> Scope | None:
        kind = scoping_call_kind(call, lambda v: self.value_kind(owner, v, env))
        return KIND_SCOPE.get(kind)

    # -- expressions ------------------------------------------------------------------------
    def gate_scope(self, expr: ast.AST, owner: ClassRef, env: dict[str, Scope], env_user: set[str]) -> Result:
        """How a subquery scopes the query that requires it (``filter(Exists(q))``,
        ``project__in=q``): like :meth:`eval`, except that a correlation to the outer row
        (``OuterRef``) counts for nothing, since ``Exists(Member.objects.filter(project=
        OuterRef("pk")))`` holds for every project that has any member. A local is read from
        its one assignment (its scope in ``env`` counted the correlation)."""
        saved = self._gate, self._step
        self._gate, self._step = True, None  # the step's results were judged outside a gate
        try:
            return self.eval(expr, owner, env, env_user, quiet=True)
        finally:
            self._gate, self._step = saved

    def eval(
        self,
        expr: ast.AST | None,
        owner: ClassRef,
        env: dict[str, Scope],
        env_user: set[str],
        quiet: bool = False,
    ) -> Result:
        """(scope, model, manager) of a queryset expression."""
        if expr is None:
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.Call):
            step = self._step
            if step is not None and step[0] is env and step[1] is env_user:
                found = step[2].get(id(expr))
                if found is None:
                    found = step[2][id(expr)] = self._eval_call(expr, owner, env, env_user, quiet)
                return found
            return self._eval_call(expr, owner, env, env_user, quiet)
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and expr.generators:
            return self.eval(expr.generators[0].iter, owner, env, env_user, quiet)
        if isinstance(expr, ast.Subscript):  # Customer.objects.all()[0:10]
            return self.eval(expr.value, owner, env, env_user, quiet)
        if isinstance(expr, ast.BoolOp):  # qs or Customer.objects.all(): either one
            results = [self.eval(v, owner, env, env_user, quiet) for v in expr.values]
            return max(results, key=lambda r: r[0])
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id == "self" and expr.attr == "queryset":
                return self.eval_queryset_attr()
            model = self.lookup.model_info(owner, expr.value, self.fn)
            if model is None and isinstance(expr.value, ast.Call):
                model = self.lookup.returned_model(owner, expr.value)
            if model is not None and not self.lookup.is_manager(model, expr.attr):
                return Scope.UNKNOWN, None, ""  # Order.STATUS_CHOICES, Order.DoesNotExist: no rows
            if model is not None:
                if not quiet:
                    self.models.append(model)
                scope, mgr = self.lookup.manager_scope(model, expr.attr)
                return scope, model, mgr
            if expr.attr in ("objects", "_default_manager", "_base_manager") and isinstance(
                expr.value, (ast.Call, ast.Subscript)
            ):
                return Scope.UNVERIFIED, None, ""  # self.get_model().objects: a model nobody can name
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.Name) and self._gate and CORRELATED_MARK + expr.id in env_user:
            return Scope.UNKNOWN, None, ""  # scoped only by its correlation (see assign)
        if isinstance(expr, ast.Name):
            if expr.id in env:
                return env[expr.id], self._last_model, ""
            return Scope.UNKNOWN, None, ""
        if isinstance(expr, ast.IfExp):
            a = self.eval(expr.body, owner, env, env_user, quiet)
            b = self.eval(expr.orelse, owner, env, env_user, quiet)
            return max(a, b, key=lambda r: r[0])
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.BitAnd, ast.BitOr)):
            a = self.eval(expr.left, owner, env, env_user, quiet)
            b = self.eval(expr.right, owner, env, env_user, quiet)
            pick = min if isinstance(expr.op, ast.BitAnd) else max
            return pick(a, b, key=lambda r: r[0])
        return Scope.UNKNOWN, None, ""

    def _eval_call(
        self, expr: ast.Call, owner: ClassRef, env: dict[str, Scope], env_user: set[str], quiet: bool
    ) -> Result:
        func = expr.func
        if self.lookup.trusted_helper(owner, func, self.fn) and not (
            isinstance(func, ast.Attribute) and func.attr in ("filter", "get", "all")
        ):
            # a declared scoping helper: scope_to_tenant(qs, request), self.for_tenant(qs)
            arg = self.eval(expr.args[0], owner, env, env_user, quiet) if expr.args else None
            via = (
                self.eval(func.value, owner, env, env_user, quiet)
                if isinstance(func, ast.Attribute)
                else None
            )
            model = (arg or via or (Scope.UNKNOWN, None, ""))[1]
            return Scope.TENANT, model, ""
        if isinstance(func, ast.Attribute):
            method = func.attr
            recv = func.value
            if method == "none":
                _, model, mgr = self.eval(recv, owner, env, env_user, quiet)
                return Scope.EMPTY, model, mgr
            if method in SCOPING_CALLS:
                added = self.scoping_call_scope(expr, env_user, owner)
                inner, model, mgr = self.eval(recv, owner, env, env_user, quiet)
                if added is not None and added < inner:
                    return added, model, mgr
                return inner, model, mgr
            if method in COMBINING_METHODS:
                parts = [self.eval(recv, owner, env, env_user, quiet)] + [
                    self.eval(a, owner, env, env_user, quiet) for a in expr.args
                ]
                if method == "intersection":
                    return min(parts, key=lambda r: r[0])
                if method == "difference":
                    return parts[0]
                return max(parts, key=lambda r: r[0])
            if method in ("filter", "get", "get_object_or_404"):
                inner, model, mgr = self.eval(recv, owner, env, env_user, quiet)
                added = self.filter_scope(expr, env_user, owner, env, receiver=(inner, model, mgr))
                if added is not None and added < inner:
                    return added, model, mgr
                return inner, model, mgr
            if method == "get_queryset":
                if is_super(recv):
                    return self.eval_get_queryset(after=owner)
                if isinstance(recv, ast.Name) and recv.id == "self":
                    return self.eval_get_queryset(after=None)
                return self.eval(recv, owner, env, env_user, quiet)
            if (isinstance(recv, ast.Name) and recv.id == "self") or is_super(recv):
                found = self.lookup.find_method(method, after=owner if is_super(recv) else None)
                if found is not None:
                    return self.eval_function(*found)
                if method in ("filter_queryset", "paginate_queryset") and expr.args:
                    # DRF's own: the filter backends / paginator narrow the queryset given
                    return self.eval(expr.args[0], owner, env, env_user, quiet)
                return Scope.UNKNOWN, None, ""
            inner, model, mgr = self.eval(recv, owner, env, env_user, quiet)
            if method not in QS_METHODS and model is not None and expr.args and inner not in SCOPED:
                # a project queryset method given the user, its tenant or a scoped row:
                # OnCallSchedule.objects.related_to_user(user), filter_by_permission(p, organization)
                kinds = {self.value_kind(owner, a, env_user, env) for a in expr.args}
                if kinds & {"user", "owner", "scoped"}:
                    return Scope.TENANT, model, mgr
            return inner, model, mgr
        if isinstance(func, ast.Name) and func.id in ("list", "sorted", "tuple", "set") and expr.args:
            return self.eval(expr.args[0], owner, env, env_user, quiet)
        return Scope.UNKNOWN, None, ""

    def eval_queryset_attr(self) -> Result:
        found = self.lookup.find_attr("queryset")
        if found is None:
            return Scope.UNKNOWN, None, ""
        owner, stmt = found
        return self.eval(getattr(stmt, "value", None), owner, {}, set())

    def eval_get_queryset(self, after: ClassRef | None) -> Result:
        found = self.lookup.find_method("get_queryset", after=after)
        if found is None:
            if is_generic(self.lookup.mro):
                return self.eval_queryset_attr()
            return Scope.UNKNOWN, None, ""
        return self.eval_function(*found)

    def eval_function(self, owner: ClassRef, fn: Function) -> Result:
        returns = self.returns(owner, fn)
        if not returns:
            return Scope.UNKNOWN, None, ""
        worst = max(returns, key=lambda r: r.scope)
        return worst.scope, worst.model, worst.manager

    # -- statements -------------------------------------------------------------------------
    def returns(self, owner: ClassRef, fn: Function, cached: bool = True) -> list[Return]:
        """How each return of ``fn`` (a method of ``owner``) is scoped.

        The answer does not depend on what was asked before: answers are remembered by what
        the function inherits from its caller (the model last assigned), and only when they
        did not rely on cutting a recursive call short (a function calling back into one
        being evaluated), so a helper asked first on its own and one asked from inside
        ``get_queryset`` give every reader the same result."""
        key = (owner.qualname, fn.name)
        at = self._stack.get(key)
        if at is not None:
            self._cut = min(self._cut, at)
            return []
        # keyed by what the function inherits from its caller too: the model last assigned
        # (a local returned without a model of its own takes it)
        entry = (owner.qualname, id(fn), self._last_model.qualname if self._last_model else "", self._gate)
        memo: dict[tuple[str, int, str, bool], list[Return]] = self.__dict__.setdefault("_returns", {})
        if cached and entry in memo:
            return memo[entry]
        saved, self._visit = self._visit, None  # methods it calls are not visited
        saved_step, self._step = self._step, None
        saved_cut, self._cut = self._cut, sys.maxsize
        visit = None if cached else saved
        depth = len(self._stack)
        self._stack[key] = depth
        self._fns.append(fn)
        try:
            out: list[Return] = []
            self._run(fn.body, owner, {}, set(), out, visit)
            if self._cut >= depth:  # relied on no caller being on the stack
                if cached:
                    memo[entry] = out
                if not self._gate:  # the verdicts of the returns themselves, not as a subquery
                    for ret in out:
                        self.by_node.setdefault(id(ret.node), ret)
            return out
        finally:
            self._fns.pop()
            del self._stack[key]
            self._visit = saved
            self._step = saved_step
            self._cut = min(saved_cut, self._cut) if self._cut < depth else saved_cut

    def assign(
        self, target: ast.AST, value: ast.AST, owner: ClassRef, env: dict[str, Scope], env_user: set[str]
    ) -> None:
        if isinstance(target, ast.Name):
            scope, model, _ = self.eval(value, owner, env, env_user)
            correlated = (
                scope in (Scope.TENANT, Scope.OWNER)
                and (
                    expr_facts(value).outer_ref
                    or any(CORRELATED_MARK + name in env_user for name in expr_facts(value).names)
                )
                and self.gate_scope(value, owner, env, env_user)[0] not in (Scope.TENANT, Scope.OWNER)
            )
            self._step = None  # env changes below: the step's evaluations no longer hold
            env[target.id] = scope
            if model is not None:
                self._last_model = model
            self.values.assign(owner, target.id, value, env_user, self.fn)
            env_user.discard(CORRELATED_MARK + target.id)
            if correlated:
                env_user.add(CORRELATED_MARK + target.id)
            if self._scoped_row(value, scope, model):
                env_user.add(ROW_MARK + target.id)  # board = DeployBoard.objects.get(anchor=anchor)
            self._verify_ids(target.id, value, scope, model, env_user)
            self._publish(value, model, env_user)
            self._track_created(target.id, value, owner, env_user)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._step = None
            for el in target.elts:
                if isinstance(el, ast.Name):
                    env[el.id] = Scope.UNKNOWN

    def _run(
        self,
        stmts: list[ast.stmt],
        owner: ClassRef,
        env: dict[str, Scope],
        env_user: set[str],
        out: list[Return],
        visit: Callable[[ast.stmt, dict[str, Scope], set[str]], None] | None = None,
    ) -> dict[str, Scope] | None:
        for stmt in stmts:
            if visit is not None:
                # one memo per statement step, valid while env and env_user are unchanged:
                # the visitor's judgement and the statement's own run share evaluations
                self._step = (env, env_user, {})
                visit(stmt, env, env_user)
            # draft.project_id read by the statement (its header, for a block): past it, the
            # path goes on only if draft is a row (None raises AttributeError)
            pending = {
                m[len(PENDING_MARK) :].split(":", 1)[0] for m in env_user if m.startswith(PENDING_MARK)
            }
            settled = self._settled(self._dereferenced([stmt]) & pending, env_user) if pending else set()
            if isinstance(stmt, BLOCKS):
                env_user |= settled  # a block's header runs before its body
                settled = set()
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self.assign(target, stmt.value, owner, env, env_user)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                self._track_created(None, stmt.value, owner, env_user)  # serializer.save(...)
                if isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "get":
                    # ShareLink.objects.get(...) for its DoesNotExist alone: a published row's check
                    self._publish(
                        stmt.value, self.eval(stmt.value, owner, env, env_user, quiet=True)[1], env_user
                    )
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self.assign(stmt.target, stmt.value, owner, env, env_user)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                scope, _, _ = self.eval(stmt.value, owner, env, env_user)
                cur = env.get(name, Scope.UNKNOWN)
                # qs &= X.objects.filter(tenant_id=...): the intersection is scoped
                env[name] = min(cur, scope) if isinstance(stmt.op, ast.BitAnd) else max(cur, scope)
            elif isinstance(stmt, ast.Return):
                if stmt.value is None or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
                    return None
                scope, model, mgr = self.eval(stmt.value, owner, env, env_user)
                if model is None and isinstance(stmt.value, ast.Name):
                    model = self._last_model
                out.append(Return(stmt, owner, scope, model, mgr))
                return None
            elif isinstance(stmt, ast.Raise):
                return None
            elif isinstance(stmt, ast.If):
                a_user, b_user = set(env_user), set(env_user)
                a = self._run(stmt.body, owner, dict(env), a_user, out, visit)
                b = self._run(stmt.orelse, owner, dict(env), b_user, out, visit)
                merged = _merge(a, b)
                if merged is None:
                    return None
                env = merged
                _join(env_user, [u for r, u in ((a, a_user), (b, b_user)) if r is not None])
                if pending:
                    # if not draft: return ...: past the if, draft is a row
                    guarded = (self._none_tested(stmt.test, False) if a is None else set()) | (
                        self._none_tested(stmt.test, True) if b is None else set()
                    )
                    env_user |= self._settled(guarded & pending, env_user)
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                # a later iteration starts with what the previous one left: what the body
                # rebinds is unknown at its top
                a_user = _killed(env_user, assigned_names(stmt))
                a = self._run(stmt.body, owner, dict(env), a_user, out, visit)
                env = _merge(env, a) or env
                _join(env_user, [set(env_user), *([a_user] if a is not None else [])])  # ran or not
                b_user = set(env_user)
                b = self._run(stmt.orelse, owner, dict(env), b_user, out, visit)
                if b is not None:
                    env = b
                    _join(env_user, [b_user])
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                r = self._run(stmt.body, owner, env, env_user, out, visit)
                if r is None:
                    return None
                env = r
            elif isinstance(stmt, TRY_STMTS):
                before = dict(env)
                body_user = set(env_user)
                a = self._run(stmt.body, owner, dict(env), body_user, out, visit)
                if a is not None and stmt.orelse:
                    a = self._run(stmt.orelse, owner, a, body_user, out, visit)
                merged = a
                # a handler may start anywhere in the body: what the body rebinds is unknown there
                partly = _killed(env_user, assigned_names(stmt))
                live = [body_user] if a is not None else []
                for handler in stmt.handlers:
                    start = _merge(before, a) or before  # the body may have run partly
                    handler_user = set(partly)
                    ended = self._run(handler.body, owner, dict(start), handler_user, out, visit)
                    if ended is not None:
                        live.append(handler_user)
                    merged = _merge(merged, ended)
                # after the try, the body ran to its end or a handler that goes on ran (every
                # except returns: board = DeployBoard.objects.get(...) in the try is a row)
                _join(env_user, live or [partly])
                if stmt.finalbody:
                    self._run(stmt.finalbody, owner, dict(merged or before), set(partly), out, visit)
                if merged is None:
                    return None
                env = merged
            elif type(stmt).__name__ == "Match":
                merged = None
                live = [set(env_user)]  # no case may match
                for case in stmt.cases:  # type: ignore[attr-defined]
                    case_user = set(env_user)
                    ended = self._run(case.body, owner, dict(env), case_user, out, visit)
                    merged = _merge(merged, ended)
                    if ended is not None:
                        live.append(case_user)
                env = _merge(merged, env) or env
                _join(env_user, live)
            env_user |= settled  # a statement's own reads ran: past it, the locals are rows
        return env

    # -- refusal ----------------------------------------------------------------------------
    def refuses(self, owner: ClassRef, fn: Function, depth: int = 0) -> bool:
        """``fn`` refuses a user without a tenant somewhere (raises, or returns ``.none()``)."""
        if depth > 4:
            return False
        for node in walk_all(fn):
            if isinstance(node, ast.Raise):
                return True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "none"
            ):
                return True
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and (
                    (isinstance(func.value, ast.Name) and func.value.id == "self") or is_super(func.value)
                ):
                    found = self.lookup.find_method(func.attr, after=owner if is_super(func.value) else None)
                    if found is not None and self.refuses(found[0], found[1], depth + 1):
                        return True
                elif isinstance(func, (ast.Name, ast.Attribute)):
                    target = self.lookup.helper(owner, func, fn)
                    if target is not None and any(isinstance(n, ast.Raise) for n in walk_all(target)):
                        return True
        return False
