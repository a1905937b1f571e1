"""TEN001 unscoped-viewset-queryset: a view's queryset is not scoped to the requesting tenant.

## What it does
Checks DRF ViewSets and generic views that serve a tenant model (a model with the
configured `tenant_field`) and reports every normal code path on which the queryset
they return is not filtered to the requesting tenant: a `queryset = Model.objects.all()`
class attribute with no `get_queryset`, a `get_queryset` returning `.all()`, and a
fallback branch (`if not tenant_id: return Model.objects.all()`) that returns every row.

Scoping is recognised through the view's own code and through project base classes and
mixins (resolved across files, `get_queryset` or `filter_queryset`), by one rule shared with
`scaffold migrate-viewsets`: a `.filter()` / `.get()` that ANDs in an equality on the tenant
column (`<tenant_field>=`, `__exact`, `__in` with a list or tuple of such values, the
relation's `tenant=` / `tenant__id=`, a plain `Q(...)` or `Q(...) & Q(<tenant_field>=...)`,
also held in a local assigned once and never changed: `cond = Q(...)`, `filters = {...}`;
`filter(**filters)`) whose value is the requesting user's tenant
(`request.user.<user_tenant_attr>`, a local assigned from it, or a project helper such as
`get_tenant_id()` returning it); a scoping method (`.for_tenant(...)`, `.for_user(...)`,
`.for_request(...)`) called with no argument, the request, the user, or the user's tenant;
owner filters on the requesting user (`user=self.request.user`); `.none()`. Not scoping:
`Q(...) | Q(...)`, `~Q(...)`, `.exclude(...)`, `__isnull` and other non-equality lookups, a
constant, a tenant id taken from the request (`query_params`, `data`, `headers`,
`self.kwargs`: the client's choice, also as `.for_tenant(self.request.query_params["t"])` or
one element of an `__in` list), `.union()` / `|` / `or` with an unscoped queryset, and a
reassignment to an unscoped queryset on any path. `[o for o in Order.objects.all()]` and `Order.objects.all()[:10]` are
the rows of `Order.objects.all()`; `self.get_model().objects.all()` is reported when the
model cannot be named (scoping cannot be verified).

Queries built in the request handlers of any DRF view count as well: `Supplier.objects.get(pk=pk)`
or `get_object_or_404(Supplier, pk=pk)` in an `APIView.get` or an overridden `get_object()`
(it answers retrieve, update and destroy), `Supplier.objects.count()` in an `@action`, unless the view is restricted to admins (`IsAdminUser`, model permissions).
These are reported for manual review (`scaffold fix` cannot tell what the handler meant), and
so are views that `scaffold migrate-viewsets` sends to manual review (combined querysets,
lists, dynamic models).

The write path counts too: a view that creates (or, when its serializer accepts the tenant
field, updates) rows without stamping the tenant from `request.user` in `perform_create` /
`perform_update` (or a `create` that saves directly) lets the client choose the tenant. This
part uses the same analysis as `scaffold migrate-viewsets` (`scaffold.viewsets`), so audit
and fix agree on it. So does a relation a handler writes into new rows from what the client
chose (reported for manual review): the tenant, or the parent the model's `save()` derives it
from (`self.workspace = self.project.workspace`), taken from the request body, or from a URL
kwarg that no membership check (`[tool.scaffold] membership_permissions`) covers on that
handler (`serializer.save(project_id=self.kwargs["project_id"])` in `perform_create` under
`IsAuthenticated` alone); and an id from the request body written into a relation to tenant
data (`bulk_create([Link(issue_id=i) for i in request.data["issues"]])`) when the handler
answers with a serializer that reads through that relation (`source="issue.name"`). An id
that went through a tenant-scoped lookup first (`.get(pk=..., workspace__slug=slug)`,
`filter(pk__in=..., project_id=...)` iterated), a row the handler created, or rows selected by
the requesting user (`filter(pk__in=ids, invitee=request.user)`) are the tenant's.

## Why is this bad?
A queryset that is not filtered by tenant returns, updates and deletes other tenants'
rows: the cross-tenant data exposure of the seed's "ViewSet Tenant Filtering
Inconsistencies". Row-level security is a second line of defence, not the only one.

## Example
```python
class SupplierViewSet(viewsets.ModelViewSet):
    serializer_class = SupplierSerializer

    def get_queryset(self):
        return Supplier.objects.all()
```

## Use instead
```python
class SupplierViewSet(viewsets.ModelViewSet):
    serializer_class = SupplierSerializer
    permission_classes = (IsAuthenticated,)

    def get_queryset(self):
        tenant_id = getattr(self.request.user, "tenant_id", None)
        if not tenant_id:
            raise PermissionDenied("User is not associated with a tenant.")
        return Supplier.objects.filter(tenant_id=tenant_id)
```

## Fix safety
`scaffold fix --select TEN001` (and `scaffold migrate-viewsets`) adds the guard and the
explicit filter, rendered from the same secure pattern the module template uses. Views
whose querysets are built dynamically are reported for manual review, never rewritten.

## References
- Backend troubleshooting guide: "ViewSet Tenant Filtering Inconsistencies"
- [DRF: Filtering against the current user](https://www.django-rest-framework.org/api-guide/filtering/#filtering-against-the-current-user)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from scaffold.analysis import LEAKS, Scope
from scaffold.analysis.writes import describe
from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import FileContext
from scaffold.rules._views import census, handler_queries, location, view_classes, view_plans, write_refs

BAD = LEAKS


def write_path(ctx: FileContext) -> Iterator[Finding]:
    """Views whose create/update does not stamp the tenant (migrate-viewsets' analysis)."""
    s = ctx.settings
    for plan in view_plans(ctx):
        for action in plan.actions:
            if action.kind not in ("stamp_create", "stamp_update"):
                continue
            verb = "creates" if action.kind == "stamp_create" else "updates"
            hook = "perform_create" if action.kind == "stamp_create" else "perform_update"
            where = f"{action.method or hook}()" if action.steps else f"no {hook}()"
            model = (plan.model or "").rsplit(".", 1)[-1] or "tenant"
            line = ctx.line_text(action.line)
            node = ast.Pass(lineno=action.line, col_offset=len(line) - len(line.lstrip()))
            yield ctx.finding(
                "TEN001",
                node,
                f"{plan.name} {verb} {model} rows without stamping {s.tenant_field} from request.user "
                f"({where}): the client chooses the tenant",
                plan.name,
            )


def in_handlers(ctx: FileContext) -> Iterator[Finding]:
    """Manager queries inside handlers (``APIView.get``, ``list``, ``@action``) that are not scoped."""
    tf = ctx.settings.tenant_field
    for q in handler_queries(ctx):
        if q.scope not in BAD:
            continue
        shown = ast.unparse(q.node)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        why = f"filtered by a client-supplied {tf}" if q.scope is Scope.CLIENT else f"not filtered by {tf}"
        yield ctx.finding(
            "TEN001",
            q.node,
            f"{q.view}.{q.method}() queries {q.model.name} rows that are not scoped to the requesting tenant "
            f"(`{shown}` is {why})",
            q.view,
            fixable=False,
        )


def client_relations(ctx: FileContext) -> Iterator[Finding]:
    """Relations a handler writes into new rows from what the client chose (the tenant, the
    parent it derives from, or a reference it answers with): never fixable by a codemod."""
    for ref in write_refs(ctx):
        yield ctx.finding(
            "TEN001", ref.node, describe(ref, ctx.settings.tenant_field), ref.view, fixable=False
        )


def check(ctx: FileContext) -> Iterator[Finding]:
    yield from write_path(ctx)
    yield from in_handlers(ctx)
    yield from client_relations(ctx)
    tf = ctx.settings.tenant_field
    manual = {p.name for p in view_plans(ctx) if p.manual}  # migrate-viewsets leaves these to a human
    for an in view_classes(ctx):
        for ret in an.returns:
            if ret.scope not in BAD:
                continue
            node, inherited = location(an, ret.node, ret.owner)
            model = ret.model.name if ret.model else an.model.name if an.model else "the model"
            where = f"{an.name}.get_queryset" if an.get_queryset is not None else f"{an.name}.queryset"
            if ret.scope is Scope.UNVERIFIED:
                yield ctx.finding(
                    "TEN001",
                    node,
                    f"{where} returns every row of a model obtained dynamically (`.objects.all()`): "
                    f"scoping to the requesting tenant cannot be verified; filter by {tf}{inherited}",
                    an.name,
                    fixable=False,
                )
                continue
            if ret.scope is Scope.CLIENT:
                why = f"is filtered by a client-supplied {tf}"
            elif ret.scope is Scope.MANAGER_OPEN:
                why = f"is not filtered by {tf} ({ret.manager or 'the manager'} returns every row)"
            else:
                why = f"is not filtered by {tf}"
            yield ctx.finding(
                "TEN001",
                node,
                f"{where} returns {model} rows that are not scoped to the requesting tenant: "
                f"the queryset {why}{inherited}",
                an.name,
                fixable=False if an.name in manual else None,
            )


rule = register(
    Rule(
        code="TEN001",
        name="unscoped-viewset-queryset",
        summary="ViewSet or generic view whose queryset is not scoped to the requesting tenant on some code path",
        check=check,
        census=census,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"queryset", b"APIView", b"ViewSet", b"generics", b"(self, request"),
    )
)
