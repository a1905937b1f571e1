"""Two tenants of data built from the project's models with model-bakery.

Tenant A and tenant B: a tenant row each when the tenant field is a foreign key, a UUID
otherwise; a user per tenant (``AUTH_USER_MODEL`` with ``user_tenant_attr`` set and the
``probe_user`` fields of ``[tool.scaffold]``), a user without a tenant; and, for every
model carrying ``tenant_field``, one row per tenant whose foreign keys point at rows of
the same tenant. Every row is written inside a transaction with that tenant's context
bound (``SELECT set_config(<tenant_setting>, <id>, true)``), so RLS ``WITH CHECK``
passes, and read back the same way ("outside the request").

Integer primary keys are drawn from a random range far above what a fresh sequence
hands out, so an id found in a response is evidence, not a coincidence.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scaffold.probe.environment import ProbeUnavailable, first_line

INT_PKS = ("AutoField", "BigAutoField")


@dataclass
class Tenant:
    label: str  # "A" / "B"
    value: Any  # the tenant id (UUID, or the tenant row's pk)
    row: Any = None  # the tenant row when the tenant field is a foreign key
    user: Any = None


@dataclass
class Evidence:
    """Ids whose presence in a response proves a leak, each with a label for the report."""

    strings: dict[str, str] = field(default_factory=dict)  # lower-case text -> label
    ints: dict[int, str] = field(default_factory=dict)

    def add(self, value: Any, label: str) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.ints[value] = label
        else:
            self.strings[str(value).lower()] = label

    def merge(self, other: Evidence) -> Evidence:
        return Evidence({**self.strings, **other.strings}, {**self.ints, **other.ints})

    def find(self, body: Any) -> list[str]:
        """Labels of the ids that occur anywhere in a decoded JSON body."""
        found: dict[str, None] = {}
        stack = [body]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, int):
                if item in self.ints:
                    found[self.ints[item]] = None
            elif isinstance(item, (str, float)):
                found.update(dict.fromkeys(self.find_text(str(item))))
        return list(found)

    def find_text(self, text: str) -> list[str]:
        low = text.lower()
        hits = [label for value, label in self.strings.items() if value in low]
        hits += [label for value, label in self.ints.items() if str(value) in low]
        return list(dict.fromkeys(hits))


class ProbeData:
    """The two tenants, their users and rows; reads and writes under a tenant's context."""

    def __init__(self, tenant_field: str, user_tenant_attr: str, setting: str, probe_user: dict[str, Any]):
        from django.apps import apps
        from django.contrib.auth import get_user_model

        self.setting = setting
        self.user_model = get_user_model()
        self.user_tenant_attr = user_tenant_attr
        self.probe_user = dict(probe_user)
        self._next_pk = random.randrange(1_000_000_000, 1_900_000_000)
        self.tenant_model: Any = None
        self.tenant_field_of: dict[Any, Any] = {}  # model -> its tenant field
        for model in apps.get_models():
            meta = model._meta
            if meta.proxy or not meta.managed or model is self.user_model:
                continue
            for f in meta.concrete_fields:
                if tenant_field in (f.name, f.attname):
                    self.tenant_field_of[model] = f
                    if f.is_relation:
                        self.tenant_model = f.related_model
        self.tenant_field_of.pop(self.tenant_model, None)
        self.models = self._ordered(list(self.tenant_field_of))
        self.tenants: dict[str, Tenant] = {}
        self.no_tenant_user: Any = None
        self.no_tenant_reason = ""
        self.rows: dict[tuple[Any, str], Any] = {}
        self.broken: dict[Any, str] = {}  # model -> why its rows cannot be built
        self._evidence: dict[str, Evidence] = {}

    # -- context ------------------------------------------------------------------------
    @contextmanager
    def context(self, tenant: Tenant | None) -> Iterator[None]:
        """One transaction with ``tenant``'s context bound (none: no context)."""
        from django.db import connection, transaction

        with transaction.atomic():
            if tenant is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, %s, true)", [self.setting, str(tenant.value)])
            yield

    # -- building -----------------------------------------------------------------------
    def _ordered(self, models: list[Any]) -> list[Any]:
        """Parents before children (required foreign keys among tenant models)."""
        ordered: list[Any] = []
        pending = list(models)
        while pending:
            for model in pending:
                parents = {
                    f.related_model
                    for f in model._meta.concrete_fields
                    if f.many_to_one
                    and not f.null
                    and f.related_model in self.tenant_field_of
                    and f.related_model is not model
                }
                if parents <= set(ordered):
                    ordered.append(model)
                    pending.remove(model)
                    break
            else:  # a cycle of required foreign keys: baker will try; the row may fail
                ordered.extend(pending)
                break
        return ordered

    def pk_kwargs(self, model: Any) -> dict[str, Any]:
        pk = model._meta.pk
        if pk.get_internal_type() in INT_PKS:
            self._next_pk += 1
            return {pk.attname: self._next_pk}
        return {}

    def build(self) -> None:
        from model_bakery import baker

        for label in ("A", "B"):
            if self.tenant_model is not None:
                kwargs = self.pk_kwargs(self.tenant_model)
                pk_field = self.tenant_model._meta.pk
                if pk_field.get_internal_type() == "UUIDField":
                    kwargs[pk_field.attname] = uuid.uuid4()
                value = next(iter(kwargs.values()), None)
                tenant = Tenant(label, value)
                with self.context(tenant if value is not None else None):
                    tenant.row = baker.make(self.tenant_model, **kwargs)
                tenant.value = tenant.row.pk
            else:
                tenant = Tenant(label, uuid.uuid4())
            self.tenants[label] = tenant
            tenant.user = self._make_user(tenant)
        self.no_tenant_user = self._make_user(None)
        for model in self.models:
            try:
                for label in ("A", "B"):
                    self.rows[(model, label)] = self.make_row(model, self.tenants[label])
            except Exception as exc:  # noqa: BLE001 - the model's own constraints and save()
                self.broken[model] = first_line(exc)

    def _user_tenant_field(self) -> Any:
        from django.core.exceptions import FieldDoesNotExist

        meta = self.user_model._meta
        for f in meta.concrete_fields:
            if self.user_tenant_attr in (f.name, f.attname):
                return f
        try:
            return meta.get_field(self.user_tenant_attr)
        except FieldDoesNotExist:
            raise ProbeUnavailable(
                f"{meta.label} has no field {self.user_tenant_attr!r} ([tool.scaffold] user_tenant_attr): "
                "the probe cannot give its users a tenant; set user_tenant_attr to the user's tenant field"
            ) from None

    def _make_user(self, tenant: Tenant | None) -> Any:
        from model_bakery import baker

        f = self._user_tenant_field()
        kwargs = {**self.probe_user, **self.pk_kwargs(self.user_model)}
        if tenant is None:
            if not f.null:
                self.no_tenant_reason = f"{self.user_model._meta.label}.{f.name} is not nullable"
                return None
            kwargs[f.attname] = None
        else:
            kwargs[f.attname] = tenant.value
        with self.context(tenant):
            try:
                return baker.make(self.user_model, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a probe_user key or value the model refuses
                raise ProbeUnavailable(
                    f"cannot create a probe user ({first_line(exc)}); check probe_user under [tool.scaffold]"
                ) from exc

    def row_kwargs(self, model: Any, tenant: Tenant) -> dict[str, Any]:
        """The tenant field and every foreign key filled within ``tenant``."""
        tf = self.tenant_field_of[model]
        kwargs: dict[str, Any] = {tf.attname: tenant.value}
        for f in model._meta.concrete_fields:
            if not f.many_to_one or f is tf:
                continue
            rel = f.related_model
            if rel is self.user_model:
                kwargs[f.name] = tenant.user
            elif rel is self.tenant_model and rel is not None:
                kwargs[f.name] = tenant.row
            elif rel in self.tenant_field_of and (rel, tenant.label) in self.rows:
                kwargs[f.name] = self.rows[(rel, tenant.label)]
        return kwargs

    def make_row(self, model: Any, tenant: Tenant) -> Any:
        from model_bakery import baker

        self.forget_evidence()
        with self.context(tenant):
            return baker.make(model, **self.row_kwargs(model, tenant), **self.pk_kwargs(model))

    def prepare_row(self, model: Any, tenant: Tenant) -> Any:
        """An unsaved row of ``tenant`` with fresh values (for request payloads)."""
        from model_bakery import baker

        with self.context(tenant):
            return baker.prepare(model, _save_related=True, **self.row_kwargs(model, tenant))

    def main_row(self, model: Any, label: str) -> Any:
        """The tenant's row of ``model``, made again if an earlier leak moved or deleted it."""
        row = self.rows[(model, label)]
        if self.snapshot(model, row.pk, label) is None:
            row = self.rows[(model, label)] = self.make_row(model, self.tenants[label])
        return row

    # -- reading back -------------------------------------------------------------------
    def snapshot(self, model: Any, pk: Any, label: str) -> dict[str, Any] | None:
        """The row's column values as tenant ``label`` sees it, None when it is not there."""
        tf = self.tenant_field_of[model]
        tenant = self.tenants[label]
        with self.context(tenant):
            return model._base_manager.filter(pk=pk, **{tf.attname: tenant.value}).values().first()

    def pks(self, model: Any, label: str) -> set[Any]:
        tf = self.tenant_field_of[model]
        tenant = self.tenants[label]
        with self.context(tenant):
            return set(model._base_manager.filter(**{tf.attname: tenant.value}).values_list("pk", flat=True))

    def forget_evidence(self) -> None:
        """Rows were (or may have been) written: read the ids again next time."""
        self._evidence.clear()

    def evidence(self, label: str) -> Evidence:
        """Every id of tenant ``label`` right now: its tenant id, its user, its rows."""
        if label not in self._evidence:
            self._evidence[label] = self._read_evidence(label)
        return self._evidence[label]

    def _read_evidence(self, label: str) -> Evidence:
        tenant = self.tenants[label]
        found = Evidence()
        found.add(tenant.value, f"tenant {label}'s id")
        if tenant.user is not None:
            found.add(tenant.user.pk, f"{label}'s user {tenant.user.pk}")
        for model in self.models:
            for pk in self.pks(model, label):
                found.add(pk, f"{label}'s {model._meta.label} {pk}")
        return found
