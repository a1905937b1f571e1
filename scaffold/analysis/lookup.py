"""Helper lookup: which class, method, function or model a name in a view's code means.

Names are resolved by meaning, across files (:class:`scaffold.index.ProjectIndex`): imports,
re-exports, module-level aliases (conditional ones too), imports inside the function being
read, and methods along the view's bases and mixins.
"""

from __future__ import annotations

import ast

from scaffold.analysis.scope import ClassRef, Scope
from scaffold.analysis.settings import Settings, matches
from scaffold.analysis.syntax import walk_all, walk_function
from scaffold.index import ProjectIndex, dotted_name

Function = ast.FunctionDef | ast.AsyncFunctionDef
DJANGO_MODEL = frozenset({"django.db.models.Model", "django.db.models.base.Model"})
# Bases from other packages that are Django models too (django-extensions' TimeStampedModel,
# django-model-utils' TimeStampedModel, polymorphic's PolymorphicModel, ...).
MODEL_FIELD_PREFIX = "django.db.models."


def class_ref(index: ProjectIndex, qualname: str | None) -> ClassRef | None:
    """The project class behind ``qualname`` (following re-exports and aliases), or None."""
    if not qualname:
        return None
    info = index.class_info(qualname)
    if info is None:
        return None
    mod = index.module(info.module)
    if mod is None:
        return None
    return ClassRef(info, mod)


def mro(index: ProjectIndex, cls: ClassRef) -> list[ClassRef | str]:
    """``cls`` and its bases: project classes as :class:`ClassRef` first (depth-first, left to
    right), then framework or unresolvable bases as qualified-name strings. Computed once per
    class node and index (models and bases are asked about for every view)."""
    bases = index.remembered(f"mro:{cls.qualname}", lambda: _bases(index, cls), token=cls.node)
    return [cls, *bases]


def nearest_assign(index: ProjectIndex, cls: ClassRef, name: str) -> tuple[ClassRef, ast.expr] | None:
    """The class-body assignment of ``name`` nearest ``cls`` along its MRO (what Python's
    attribute lookup finds among the project's classes), with the class that holds it."""
    for owner in mro(index, cls):
        if isinstance(owner, ClassRef):
            value = owner.body_assign(name)
            if value is not None:
                return owner, value
    return None


def _bases(index: ProjectIndex, cls: ClassRef) -> list[ClassRef | str]:
    project: list[ClassRef | str] = []
    external: list[ClassRef | str] = []
    for qual, info in index.ancestors(cls.info):
        mod = index.module(info.module) if info is not None else None
        if info is not None and mod is not None:
            project.append(ClassRef(info, mod))
        else:
            external.append(qual)
    return project + external


def resolve_function(index: ProjectIndex, qualname: str | None) -> Function | None:
    """The project function behind ``qualname`` (re-exports followed), or None."""
    for _ in range(3):
        if not qualname or "." not in qualname:
            return None
        module, _, name = qualname.rpartition(".")
        mod = index.module(module)
        if mod is None:
            return None
        for node in mod.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return node
        qualname = mod.imports.names.get(name)
    return None


def local_import(fn: ast.AST | None, owner: ClassRef, head: str) -> str | None:
    """``from app.models import Order`` inside ``fn``: the qualified name ``head`` is bound to."""
    if fn is None:
        return None
    key = (owner.mod.module, owner.mod.imports.is_package)
    cached = fn.__dict__.get("_scaffold_local_imports")
    if cached is None or cached[0] != key:  # one pass per function (and module it is read in)
        cached = (key, _local_imports(fn, owner))
        fn.__dict__["_scaffold_local_imports"] = cached
    return cached[1].get(head)


def _local_imports(fn: ast.AST, owner: ClassRef) -> dict[str, str]:
    """Every name the imports inside ``fn`` bind, to its qualified name (the first binding)."""
    bound: dict[str, str] = {}
    for node in walk_function(fn):
        if isinstance(node, ast.ImportFrom):
            base = owner.mod.imports.absolute(node.module, node.level)
            if base is None:
                continue
            for alias in node.names:
                bound.setdefault(alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None:
                    bound.setdefault(alias.asname, alias.name)
                else:
                    top = alias.name.split(".")[0]
                    bound.setdefault(top, top)
    return bound


def _manager_text(gq: ast.AST) -> tuple[bool, bool]:
    """Whether a manager's ``get_queryset`` reads like a tenant-aware one (mentions tenants or
    ``current_setting``) and whether it filters (``.filter(`` / ``.none()``): read from its
    source text once per function node (every query through the manager asks)."""
    cached: tuple[bool, bool] | None = gq.__dict__.get("_scaffold_manager_text")
    if cached is None:
        text = ast.unparse(gq)
        cached = (
            "tenant" in text.lower() or "current_setting" in text,
            ".filter(" in text or ".none()" in text,
        )
        gq.__dict__["_scaffold_manager_text"] = cached
    return cached


class Lookup:
    """Methods, attributes, helpers and models seen from one view (its MRO)."""

    def __init__(self, view: ClassRef, index: ProjectIndex, settings: Settings) -> None:
        self.view = view
        self.index = index
        self.settings = settings
        self.mro = mro(index, view)
        self.projects = [m for m in self.mro if isinstance(m, ClassRef)]

    # -- along the MRO -------------------------------------------------------------------
    def find_method(self, name: str, after: ClassRef | None = None) -> tuple[ClassRef, Function] | None:
        classes = self.projects
        if after is not None:
            keys = [c.qualname for c in classes]
            if after.qualname in keys:
                classes = classes[keys.index(after.qualname) + 1 :]
        for cls in classes:
            fn = cls.method(name)
            if fn is not None:
                return cls, fn
        return None

    def find_attr(self, name: str) -> tuple[ClassRef, ast.stmt] | None:
        for cls in self.projects:
            stmt = cls.body_assign_stmt(name)
            if stmt is not None:
                return cls, stmt
        return None

    # -- names -----------------------------------------------------------------------------
    def local_imports(self, fn: ast.AST, owner: ClassRef) -> dict[str, str]:
        """Names bound by imports inside ``fn`` (cached: asked for every name the flow reads)."""
        cache: dict[tuple[int, str], dict[str, str]] = self.__dict__.setdefault("_local_imports", {})
        key = (id(fn), owner.mod.module)
        if key not in cache:
            found: dict[str, str] = {}
            for node in walk_function(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    for alias in node.names:
                        head = alias.asname or alias.name.split(".")[0]
                        bound = local_import(fn, owner, head)
                        if bound is not None:
                            found.setdefault(head, bound)
            cache[key] = found
        return cache[key]

    def qualify(self, owner: ClassRef, expr: ast.AST | None, fn: ast.AST | None = None) -> str | None:
        """The qualified name of ``expr`` in ``owner``'s module, imports inside ``fn`` first."""
        if not isinstance(expr, ast.expr):
            return None
        name = dotted_name(expr)
        if name is not None and fn is not None:
            head, _, rest = name.partition(".")
            bound = self.local_imports(fn, owner).get(head)
            if bound is not None:
                return f"{bound}.{rest}" if rest else bound
        return owner.qualify(expr)

    def helper(self, owner: ClassRef | None, func: ast.AST, fn: ast.AST | None = None) -> Function | None:
        """The project method (``self.get_tenant_id``, along the MRO) or function behind a callee."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            found = self.find_method(func.attr)
            return found[1] if found is not None else None
        if owner is not None and isinstance(func, (ast.Name, ast.Attribute)):
            return resolve_function(self.index, self.qualify(owner, func, fn))
        return None

    def trusted_helper(self, owner: ClassRef | None, func: ast.AST, fn: ast.AST | None = None) -> bool:
        """The callee is declared in ``[tool.scaffold] scoping_helpers``."""
        trusted = self.settings.scoping_helpers
        if not trusted:
            return False
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            found = self.find_method(func.attr)
            names = [func.attr] + ([f"{found[0].qualname}.{func.attr}"] if found is not None else [])
            return any(matches(n, trusted) for n in names)
        qual = self.qualify(owner, func, fn) if owner is not None else None
        return qual is not None and matches(qual, trusted)

    # -- models ------------------------------------------------------------------------------
    def model_info(self, owner: ClassRef, expr: ast.AST, fn: ast.AST | None = None) -> ClassRef | None:
        if (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and expr.value.id == "self"
            and expr.attr == "model"
        ):
            # self.model.objects in a base's get_queryset: the model the view (the most
            # derived class) declares, ``model = Issue``
            found = self.find_attr("model")
            value = getattr(found[1], "value", None) if found is not None else None
            if found is None or not isinstance(value, (ast.Name, ast.Attribute)):
                return None
            owner, expr = found[0], value
        info = class_ref(self.index, self.qualify(owner, expr, fn))
        if info is None or not self.is_model(info):
            return None
        return info

    def is_model(self, cls: ClassRef) -> bool:
        """A Django model: Django's Model among its bases, a model base from another package
        (``TimeStampedModel``), or a project class in its MRO that declares model fields."""
        chain = mro(self.index, cls)
        for m in chain:
            if isinstance(m, str):
                if m in DJANGO_MODEL:
                    return True
                if m.rpartition(".")[2].endswith("Model") and not m.startswith(
                    ("rest_framework.", "django.")
                ):
                    return True
            elif any(self._is_field(m, stmt) for stmt in m.node.body):
                return True
        return False

    @staticmethod
    def _is_field(cls: ClassRef, stmt: ast.stmt) -> bool:
        value = getattr(stmt, "value", None) if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(value, ast.Call):
            return False
        qual = cls.qualify(value.func) or ""
        return qual.startswith(MODEL_FIELD_PREFIX) and qual.rpartition(".")[2].endswith(("Field", "Key"))

    def declares_tenant(self, model: ClassRef) -> bool:
        names = {self.settings.tenant_field, self.settings.tenant_relation}
        return any(
            isinstance(cls, ClassRef) and any(cls.body_assign(n) is not None for n in names)
            for cls in mro(self.index, model)
        )

    def is_the_tenant(self, model: ClassRef) -> bool:
        """The tenant model itself (``Workspace`` when rows carry ``workspace_id``), by
        ``[tool.scaffold] tenant_models`` or by name."""
        if matches(model.qualname, self.settings.tenant_models):
            return True
        return model.name.lower() == self.settings.tenant_relation.replace("_", "").lower()

    def is_global(self, model: ClassRef) -> bool:
        """Shared by every tenant, or a published entry point (its rows are public by design)."""
        return matches(model.qualname, self.settings.global_models) or self.is_published(model)

    def is_published(self, model: ClassRef) -> bool:
        return matches(model.qualname, self.settings.published_models)

    def tenant_data(self, model: ClassRef) -> bool | None:
        """True when the model's rows belong to a tenant, False when they do not (no tenant
        field, a global model, the tenant itself), None when scaffold cannot tell (a base it
        cannot read may declare the field)."""
        if self.is_global(model) or matches(model.qualname, self.settings.tenant_models):
            return False
        if self.declares_tenant(model):
            return True
        if self.is_the_tenant(model):
            return False
        unread = [
            m
            for m in mro(self.index, model)
            if isinstance(m, str)
            and m not in DJANGO_MODEL
            and not m.startswith(("django.", "builtins."))
            and m != "object"
            and not self._plain_model_base(m)
        ]
        return None if unread else False

    def _plain_model_base(self, qualname: str) -> bool:
        """A model base from another package that adds no tenant (``TimeStampedModel``): named
        like a model, nothing about tenants, organizations or the tenant relation in its name."""
        short = qualname.rpartition(".")[2].lower()
        words = (
            "tenant",
            "organization",
            "organisation",
            "account",
            "company",
            self.settings.tenant_relation,
        )
        return short.endswith("model") and not any(w.replace("_", "") in short for w in words)

    def is_tenant_model(self, model: ClassRef) -> bool:
        return self.tenant_data(model) is True

    def is_manager(self, model: ClassRef, attr: str) -> bool:
        """``Model.<attr>`` is a manager: ``objects`` and friends, or a class attribute holding
        a manager (``active = ActiveManager()``), not a constant, field or exception."""
        if attr in ("objects", "_default_manager", "_base_manager"):
            return True
        found = nearest_assign(self.index, model, attr)
        value = found[1] if found is not None else None
        if not isinstance(value, ast.Call):
            return False
        callee = (dotted_name(value.func) or "").rpartition(".")[2]
        return not callee.endswith(("Field", "Key", "Choices"))

    def manager_scope(self, model: ClassRef, attr: str) -> tuple[Scope, str]:
        """How ``Model.<attr>`` is scoped with no explicit filter."""
        if attr in ("_default_manager", "_base_manager"):
            attr = "objects"
        found = nearest_assign(self.index, model, attr)
        if found is None:
            return Scope.UNSCOPED, ""
        cls, value = found
        if not isinstance(value, ast.Call):
            return Scope.UNSCOPED, ""
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in ("as_manager", "from_queryset"):
            func = func.value
        qual = cls.qualify(func) or ""
        short = qual.rsplit(".", 1)[-1]
        manager = class_ref(self.index, qual)
        tenant_aware = "tenant" in short.lower()
        closed = False
        if manager is not None:
            for mcls in mro(self.index, manager):
                if not isinstance(mcls, ClassRef):
                    continue
                gq = mcls.method("get_queryset")
                if gq is None:
                    continue
                aware, filters = _manager_text(gq)
                tenant_aware = tenant_aware or aware
                closed = closed or filters
                break
        if tenant_aware:
            return (Scope.MANAGER_CLOSED if closed else Scope.MANAGER_OPEN), short
        return Scope.UNSCOPED, short

    def returned_model(self, owner: ClassRef, call: ast.Call) -> ClassRef | None:
        """``self.get_model()`` returning one project model (``return Customer``)."""
        func = call.func
        if not (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"
        ):
            return None
        found = self.find_method(func.attr)
        if found is None:
            return None
        cls, fn = found
        values = [n.value for n in walk_all(fn) if isinstance(n, ast.Return)]
        models = {id(m): m for m in (self.model_info(cls, v, fn) if v is not None else None for v in values)}
        if len(values) == 1 and None not in models:
            return next(iter(models.values()))
        return None
