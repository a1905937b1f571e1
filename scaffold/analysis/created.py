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

from scaffold.analysis.lookup import Lookup, class_ref, mro
from scaffold.analysis.scope import ClassRef
from scaffold.analysis.syntax import class_members, key_read, stmt_value, string_items, walk_function
from scaffold.index import dotted_name

ID_NAMES = frozenset(["id", "pk"])
AUTO_FIELDS = frozenset(["AutoField", "BigAutoField", "SmallAutoField"])
READ_ONLY_FIELDS = ("ReadOnlyField", "HiddenField", "SerializerMethodField")
SERIALIZER_PREFIX = "rest_framework.serializers."
# serializer methods that decide which row save() returns, or what goes into validated_data
OWN_SAVING = ("create", "save", "to_internal_value", "run_validation")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _true(value: ast.expr | None) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


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
    for cls in projects:
        if any(cls.method(m) is not None for m in OWN_SAVING):
            return None  # its own create() may hand back a row that already existed
        validate = cls.method("validate")
        if validate is not None and any(
            (isinstance(n, ast.Constant) and n.value in ID_NAMES)
            or (isinstance(n, ast.keyword) and n.arg in ID_NAMES)
            for n in walk_function(validate)
        ):
            return None  # validate() may put an id into the validated data
    # the nearest Meta is the serializer's (Meta classes do not merge)
    meta = next(
        (n for c in projects for n in c.node.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None
    )
    owner = next((c for c in projects if meta is not None and meta in c.node.body), None)
    if meta is None or owner is None:
        return None
    attrs, _ = class_members(meta)
    value = stmt_value(attrs["model"]) if "model" in attrs else None
    model = (
        class_ref(lookup.index, owner.qualify(value))
        if isinstance(value, (ast.Name, ast.Attribute))
        else None
    )
    read_only = bool(ID_NAMES & string_items(attrs.get("read_only_fields")))
    extra = stmt_value(attrs["extra_kwargs"]) if "extra_kwargs" in attrs else None
    if extra is not None and not (
        isinstance(extra, ast.Dict)
        and all(isinstance(k, ast.Constant) and k.value not in ID_NAMES for k in extra.keys)
    ):
        return None  # extra_kwargs = {"id": {...}} (or one scaffold cannot read): may make it writable
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
    read = key_read(expr)
    if read is None or read[1] not in ID_NAMES:
        return None
    base = read[0]
    if isinstance(base, ast.Attribute) and base.attr == "data" and isinstance(base.value, ast.Name):
        return base.value.id
    return None


def created_row_of(expr: ast.AST) -> str | None:
    """The local ``expr`` is, or whose id it reads (``dup``, ``dup.id``, ``dup.pk``)."""
    if isinstance(expr, ast.Attribute) and expr.attr in ID_NAMES:
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None
