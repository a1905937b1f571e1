"""The secure tenant pattern has one source: ``templates/module/_macros/secure.jinja``.

Generated ViewSets import its macros (copier), the codemods render them (scaffold.pattern),
and ``scaffold init`` renders them into the tenancy core's ``TenantScopedViewMixin`` (a
separate copier template that cannot import them; ``scaffold.init.core_answers`` passes the
rendering as hidden answers). Asserted here: the rendered mixin holds exactly the macro's
code with the mixin's attributes, and the template holds no copy of its own. Behaviour (an error response rolls back the
request's writes) is proven against PostgreSQL in tests/test_new_module.py and
tests/test_tenancy_core.py.
"""

from __future__ import annotations

import ast
import textwrap

import jinja2

from scaffold import pattern
from scaffold.init import core_answers
from scaffold.templates import macros, template_path


def render_tenancy(relpath: str, user_tenant_attr: str = "tenant_id") -> str:
    values = core_answers("tenancy", "app.current_tenant_id", "tenant_id", user_tenant_attr)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path("tenancy"))),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("{{ package }}/" + relpath).render(**values)


def class_source(module: str, name: str) -> str:
    tree = ast.parse(module)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(module, node) or ""


def test_mixin_hooks_are_the_macro_rendering() -> None:
    mixin = class_source(render_tenancy("views.py.jinja", user_tenant_attr="org_id"), "TenantScopedViewMixin")
    hooks = str(macros("secure").transaction_hooks("self.user_tenant_attr", "self.tenant_database"))
    assert textwrap.indent(hooks, "    ") in mixin
    assert f"    {pattern.permission_classes()}" in mixin
    assert 'USER_TENANT_ATTR = "org_id"' in render_tenancy("views.py.jinja", user_tenant_attr="org_id")


def test_the_tenancy_template_keeps_no_copy_of_the_pattern() -> None:
    source = (template_path("tenancy") / "{{ package }}" / "views.py.jinja").read_text(encoding="utf-8")
    for code in (
        "def dispatch",
        "def initial",
        "with transaction.atomic(",
        "set_rollback(",
        "(IsAuthenticated,)",
    ):
        assert code not in source, code


def test_generated_and_mixin_hooks_roll_back_an_error_response_in_the_transaction() -> None:
    generated = pattern.context_hooks("org_id")
    mixin = str(macros("secure").transaction_hooks("self.user_tenant_attr", "self.tenant_database"))
    for code, using in ((generated, ""), (mixin, ", using=self.tenant_database")):
        ast.parse(code)
        dispatch = code.split("def initial")[0]
        atomic = dispatch.index("with transaction.atomic(")
        check = dispatch.index('if getattr(response, "exception", False):')
        rollback = dispatch.index(f"transaction.set_rollback(True{using})")
        assert atomic < check < rollback < dispatch.index("return response")
    assert 'getattr(request.user, "org_id", None)' in generated


def test_mixin_and_generated_views_share_the_safety_hooks() -> None:
    """403 without a tenant (a permission, so the browsable API renders no form), 400 for a
    too deeply nested body, 409 for a protected delete: one macro, in both places; the
    behaviour over HTTP is proven in tests/test_newcomer_path.py."""
    views = render_tenancy("views.py.jinja", user_tenant_attr="org_id")
    mixin = class_source(views, "TenantScopedViewMixin")
    hooks = str(macros("secure").safety_hooks("self.user_tenant_attr"))
    assert textwrap.indent(hooks, "    ") in mixin
    assert str(macros("secure").parser_guard()) in views
    ast.parse(views)
    generated = str(macros("secure").safety_hooks('"org_id"'))
    assert 'getattr(request.user, "org_id", None)' in generated
    for code in ("def check_permissions", "def get_parsers", "def perform_destroy"):
        assert code in generated
    module_views = (template_path("module") / "{{module_name}}" / "views.py.jinja").read_text(
        encoding="utf-8"
    )
    assert "secure.safety_hooks(" in module_views and "secure.parser_guard()" in module_views
    source = (template_path("tenancy") / "{{ package }}" / "views.py.jinja").read_text(encoding="utf-8")
    for code in (
        "def check_permissions",
        "def perform_destroy",
        "class NestingSafeParser",
        "status_code = 409",
    ):
        assert code not in source and code not in module_views, code
