"""TEN040 authentication-without-tenant-context: an authentication class never sets the tenant context.

## What it does
Checks DRF authentication classes (subclasses of
`rest_framework.authentication.BaseAuthentication`, directly or through project base
classes) that define `authenticate()`, and reports each `return` of an authenticated user
that no call to the tenancy core's `set_tenant_context(...)` (or `tenant_context(...)`, or a
helper method of the class that makes one) precedes.

## Why is this bad?
Row-level security policies read the tenant from the database session
(`current_setting('app.current_tenant_id')`). If authentication does not set it, the user
is authenticated but every query under RLS returns nothing, or worse, runs with the
context a previous request left on the pooled connection: the seed's "RLS Context Not Set
During Authentication".

## Example
```python
class SessionTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        session = UserSession.objects.get(key=key)
        return (session.user, session)
```

## Use instead
```python
from custom_auth.rls import set_tenant_context


class SessionTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        session = UserSession.objects.get(key=key)
        tenant_id = getattr(session.user, "tenant_id", None)
        if tenant_id:
            set_tenant_context(tenant_id)
        return (session.user, session)
```

## Fix safety
`scaffold fix --select TEN040` inserts the call (and the import from the configured
`tenancy_module`) before each such `return`, when the returned value is a literal
`(user, auth)` tuple. Other shapes are reported for manual review.

## References
- [DRF: Custom authentication](https://www.django-rest-framework.org/api-guide/authentication/#custom-authentication)
- [PostgreSQL: Row Security Policies](https://www.postgresql.org/docs/current/ddl-rowsecurity.html)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from scaffold.rules import Finding, Rule, register
from scaffold.rules._context import ClassRef, FileContext, call_name, mro, sql_argument, sql_text, walk_scope

AUTH_PREFIX = "rest_framework.authentication."
CONTEXT_CALLS = {"set_tenant_context", "tenant_context", "activate_tenant", "set_current_tenant"}


def sets_context(
    ctx: FileContext, cls_mro: list[ClassRef | str], fn: ast.AST, before: int, depth: int = 0
) -> bool:
    """True when ``fn`` sets the tenant context on a line before ``before``."""
    setting = ctx.settings.tenant_setting
    for node in walk_scope(fn):
        if not isinstance(node, ast.Call) or node.lineno >= before:
            continue
        name = call_name(node)
        if name in CONTEXT_CALLS:
            return True
        text = sql_text(sql_argument(node), fn, ctx.tree)
        if text and ("set_config" in text.lower() or setting in text):
            return True
        func = node.func
        if (
            depth < 3
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
        ):
            for cls in cls_mro:
                if isinstance(cls, ClassRef):
                    helper = cls.method(func.attr)
                    if helper is not None:
                        if sets_context(ctx, cls_mro, helper, 10**9, depth + 1):
                            return True
                        break
    return False


def check(ctx: FileContext) -> Iterator[Finding]:
    for node in ctx.classes():
        fn = next(
            (
                s
                for s in node.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "authenticate"
            ),
            None,
        )
        if fn is None:
            continue
        ref = ctx.class_ref(node)
        cls_mro = mro(ctx.index, ref)
        if not any(isinstance(m, str) and m.startswith(AUTH_PREFIX) for m in cls_mro):
            continue
        for ret in walk_scope(fn):
            if not isinstance(ret, ast.Return) or ret.value is None:
                continue
            if isinstance(ret.value, ast.Constant) and ret.value.value is None:
                continue
            if sets_context(ctx, cls_mro, fn, ret.lineno):
                continue
            yield ctx.finding(
                "TEN040",
                ret,
                f"{node.name}.authenticate() returns an authenticated user without setting the tenant "
                f"context; call set_tenant_context(user.{ctx.settings.user_tenant_attr}) before returning",
                node.name,
            )


rule = register(
    Rule(
        code="TEN040",
        name="authentication-without-tenant-context",
        summary="A DRF authentication class whose authenticate() returns a user without setting the tenant context",
        check=check,
        doc=__doc__ or "",
        fixable=True,
        needles=(b"def authenticate",),
    )
)
