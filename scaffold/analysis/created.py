"""Rows the request itself created: their ids address nothing of another tenant.

``dup = FileAsset.objects.create(...)`` then ``FileAsset.objects.filter(id=dup.id)`` reads
back the one row this request inserted, and so does ``WorkspaceMember.objects.filter(
workspace_id=serializer.data["id"])`` after ``serializer.save()`` of a serializer built
without an instance: after ``save()``, DRF's ``serializer.data`` is the saved row, not the
client's input. That holds only when the client cannot choose the id: the serializer's ``id``
field is read-only (declared ``read_only=True``, listed in ``Meta.read_only_fields``, or the
model's primary key is automatic or not editable), ``save()`` is not handed one, and no
project class overrides the serializer's ``create()`` / ``save()`` (which may return an
existing row). Whether the row was created in the right tenant is the write path's question
(:mod:`scaffold.analysis.writes`), not this one.
"""

from __future__ import annotations

import ast

from scaffold.analysis.lookup import Lookup, mro
from scaffold.analysis.scope import ClassRef
from scaffold.index import dotted_name

ID_NAMES = frozenset(["id", "pk"])
AUTO_FIELDS = frozenset(["AutoField", "BigAutoField", "SmallAutoField"])
READ_ONLY_FIELDS = ("ReadOnlyField", "HiddenField", "SerializerMethodField")
SERIALIZER_PREFIX = "rest_framework.serializers."


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _true(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def _strings(value: ast.expr | None, body: list[ast.stmt]) -> set[str] | None:
    """The strings of a list / tuple literal (or of a name the same class body binds to one:
    ``read_only_fields = fields``); None when it cannot be read."""
    if isinstance(value, ast.Name):
        bound = [
            s.value
            for s in body
            if isinstance(s, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == value.id for t in s.targets)
        ]
        value = bound[-1] if len(bound) == 1 else None
    if not isinstance(value, (ast.List, ast.Tuple)):
        return None
    out = {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return out if len(out) == len(value.elts) else None


def _meta(cls: ClassRef) -> ast.ClassDef | None:
    return next((n for n in cls.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)


def _meta_value(meta: ast.ClassDef, name: str) -> ast.expr | None:
    found = [
        s.value
        for s in meta.body
        if isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in s.targets)
    ]
    return found[-1] if found else None


def _model_pk_read_only(lookup: Lookup, model: ClassRef) -> bool:
    """DRF's ModelSerializer makes the model's primary key read-only: an automatic ``id``
    (no primary key declared, every base Django's own or the project's), an ``AutoField``
    or a field declared ``editable=False``."""
    for cls in mro(lookup.index, model):
        if isinstance(cls, str):
            if not cls.startswith("django.") and cls != "object":
                return False  # a base scaffold cannot read may declare a writable primary key
            continue
        for stmt in cls.node.body:
            value = getattr(stmt, "value", None) if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
            if not isinstance(value, ast.Call):
                continue
            names = [
                t.id
                for t in getattr(stmt, "targets", [getattr(stmt, "target", None)])
                if isinstance(t, ast.Name)
            ]
            if "id" not in names and not _true(_keyword(value, "primary_key")):
                continue
            kind = (dotted_name(value.func) or "").rpartition(".")[2]
            editable = _keyword(value, "editable")
            if not (kind in AUTO_FIELDS or (isinstance(editable, ast.Constant) and editable.value is False)):
                return False
    return True


def created_model(lookup: Lookup, serializer: ClassRef) -> ClassRef | None:
    """The model whose new row ``serializer.save()`` creates and whose id it reports, when the
    serializer (built without an instance) is a project ``ModelSerializer`` the client cannot
    hand an id to (see the module docstring); else None."""
    classes = mro(lookup.index, serializer)
    if not any(isinstance(c, str) and c.startswith(SERIALIZER_PREFIX) for c in classes):
        return None
    projects = [c for c in classes if isinstance(c, ClassRef)]
    if any(c.method("create") is not None or c.method("save") is not None for c in projects):
        return None  # its own create() may hand back a row that already existed
    model: ClassRef | None = None
    read_only: bool | None = None
    for cls in projects:
        meta = _meta(cls)
        if meta is None:
            continue
        value = _meta_value(meta, "model")
        if model is None and isinstance(value, (ast.Name, ast.Attribute)):
            found = lookup.index.class_info(cls.qualify(value) or "")
            model = (
                ClassRef(found, mod)
                if found is not None and (mod := lookup.index.module(found.module))
                else None
            )
        listed = _strings(_meta_value(meta, "read_only_fields"), meta.body)
        if read_only is None and listed is not None and ID_NAMES & listed:
            read_only = True
        extra = _meta_value(meta, "extra_kwargs")
        if isinstance(extra, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value in ID_NAMES for k in extra.keys
        ):
            return None  # extra_kwargs = {"id": {...}}: may make it writable
    if model is None or not lookup.is_model(model):
        return None
    for cls in projects:  # a declared id field decides, whatever Meta says
        field = next((cls.body_assign(n) for n in ID_NAMES if cls.body_assign(n) is not None), None)
        if field is None:
            continue
        if not isinstance(field, ast.Call):
            return None
        callee = dotted_name(field.func) or ""
        return model if _true(_keyword(field, "read_only")) or callee.endswith(READ_ONLY_FIELDS) else None
    if read_only or _model_pk_read_only(lookup, model):
        return model
    return None


def saves_client_id(call: ast.Call) -> bool:
    """``serializer.save(id=...)`` / ``save(**extra)``: the saved row's id may be the client's."""
    return any(k.arg is None or k.arg in ID_NAMES for k in call.keywords) or bool(call.args)


def saved_row_of(expr: ast.AST) -> str | None:
    """The local whose saved row's id ``expr`` reads: ``serializer.data["id"]``,
    ``serializer.data.get("id")``, ``serializer.instance`` / ``serializer.instance.pk``."""
    if isinstance(expr, ast.Attribute) and expr.attr in ID_NAMES:
        expr = expr.value
    if isinstance(expr, ast.Attribute) and expr.attr == "instance" and isinstance(expr.value, ast.Name):
        return expr.value.id
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        base, key = expr.value, expr.slice.value
    elif (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "get"
        and expr.args
        and isinstance(expr.args[0], ast.Constant)
    ):
        base, key = expr.func.value, expr.args[0].value
    else:
        return None
    if (
        key in ID_NAMES
        and isinstance(base, ast.Attribute)
        and base.attr == "data"
        and isinstance(base.value, ast.Name)
    ):
        return base.value.id
    return None


def created_row_of(expr: ast.AST) -> str | None:
    """The local ``expr`` is, or whose id it reads (``dup``, ``dup.id``, ``dup.pk``)."""
    if isinstance(expr, ast.Attribute) and expr.attr in ID_NAMES:
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None
