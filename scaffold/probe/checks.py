"""The checks, per endpoint, as they apply, over real HTTP through DRF's test client.

Who asks: A (tenant A's user), a user without a tenant, and anonymous. A is logged in
with a Django session when the view accepts ``SessionAuthentication`` (so middleware
sees the user, as in a browser) and with ``force_authenticate`` otherwise. Every write
is judged by reading the rows back outside the request, under the owning tenant's
context. A check on B's data is only judged once A's own request on A's data succeeded
(the control): otherwise a 403 proves nothing and the check is ``skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scaffold.probe.data import Evidence, ProbeData, Tenant
from scaffold.probe.endpoints import Endpoint
from scaffold.probe.environment import first_line
from scaffold.probe.report import CheckResult, Verdict

WHO = {"none": "user without tenant", "anon": "anonymous"}
UPDATES = ("update", "partial_update")


def ok2xx(status: int) -> bool:
    return 200 <= status < 300


def jsonable(value: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """How a row changed between two snapshots ('' when it did not)."""
    if before is None:
        return ""
    if after is None:
        return "was deleted or moved to another tenant"
    changed = [k for k in before if before[k] != after.get(k)]
    return f"changed ({', '.join(changed)})" if changed else ""


class Response:
    """The parts of a test-client response the verdicts read."""

    def __init__(self, raw: Any) -> None:
        self.status: int = raw.status_code
        content = b"".join(raw.streaming_content) if getattr(raw, "streaming", False) else raw.content
        self.content_type: str = raw.get("Content-Type", "") or ""
        self.is_json = "json" in self.content_type
        self.body: Any = content.decode("utf-8", "replace")
        if self.is_json:
            try:
                self.body = json.loads(content or b"null")
            except ValueError:
                self.is_json = False
        exc_info = getattr(raw, "exc_info", None)
        self.exception = first_line(exc_info[1]) if exc_info else ""

    def short(self) -> str:
        text = json.dumps(self.body) if self.is_json else str(self.body)
        text = " ".join(text.split())
        return text if len(text) <= 160 else text[:157] + "..."

    def error(self) -> str:
        return f"{self.status}: {self.exception or self.short()}"

    def hits(self, evidence: Evidence) -> list[str]:
        return evidence.find(self.body) if self.is_json else evidence.find_text(str(self.body))


class Skip(Exception):
    """A check that cannot be made, with the reason."""


class Prober:
    def __init__(self, data: ProbeData) -> None:
        from django.conf import settings
        from rest_framework.test import APIRequestFactory

        self.data = data
        self.factory = APIRequestFactory()
        self.sessions = "django.contrib.sessions" in settings.INSTALLED_APPS
        self._clients: dict[tuple[str, bool], Any] = {}
        self.results: list[CheckResult] = []

    # -- plumbing -----------------------------------------------------------------------
    def user(self, who: str) -> Any:
        if who == "A":
            return self.data.tenants["A"].user
        if who == "none":
            return self.data.no_tenant_user
        return None

    def uses_session(self, endpoint: Endpoint) -> bool:
        from rest_framework.authentication import SessionAuthentication

        classes = getattr(endpoint.cls, "authentication_classes", ()) or ()
        return self.sessions and any(
            isinstance(c, type) and issubclass(c, SessionAuthentication) for c in classes
        )

    def client(self, who: str, session: bool) -> Any:
        from rest_framework.test import APIClient

        key = (who, session)
        if key not in self._clients:
            client = APIClient(raise_request_exception=False)
            user = self.user(who)
            if user is not None:
                if session:
                    client.force_login(user)
                else:
                    client.force_authenticate(user=user)
            self._clients[key] = client
        return self._clients[key]

    def request(self, who: str, endpoint: Endpoint, method: str, url: str, payload: Any = None) -> Response:
        client = self.client(who, self.uses_session(endpoint))
        if method != "GET":
            self.data.forget_evidence()
        extra = {"HTTP_ACCEPT": "application/json"}
        if method == "GET":
            raw = client.get(url, **extra)
        else:
            body = "" if payload is None else json.dumps(payload)
            raw = client.generic(method, url, data=body, content_type="application/json", **extra)
        return Response(raw)

    def add(self, endpoint: Endpoint, method: str, check: str, verdict: Verdict, detail: str) -> None:
        self.results.append(CheckResult(endpoint.route, endpoint.view, method, check, verdict, detail))

    def view_for(self, endpoint: Endpoint, action: str, method: str) -> Any:
        """The view instance DRF would build for A's request (to read its serializer)."""
        from rest_framework.request import Request

        request = Request(self.factory.generic(method, endpoint.template))
        request.user = self.data.tenants["A"].user
        view = endpoint.cls(**endpoint.initkwargs)
        if endpoint.actions is not None:
            view.action_map = endpoint.actions
            view.action = action
        view.request, view.args, view.kwargs = request, (), {}
        view.format_kwarg = None
        view.headers = {}
        return view

    def serializer(self, endpoint: Endpoint, action: str, method: str) -> Any:
        try:
            return self.view_for(endpoint, action, method).get_serializer()
        except Exception as exc:  # noqa: BLE001 - the project's code
            raise Skip(f"cannot build the view's serializer ({first_line(exc)})") from exc

    def payload(self, serializer: Any, model: Any, tenant: Tenant) -> dict[str, Any]:
        """The serializer's writable fields for a fresh row of ``tenant`` (its own parents)."""
        from rest_framework.fields import SkipField
        from rest_framework.renderers import JSONRenderer

        try:
            instance = self.data.prepare_row(model, tenant)
        except Exception as exc:  # noqa: BLE001 - model-bakery or the model's code
            raise Skip(f"cannot build a payload ({first_line(exc)})") from exc
        values: dict[str, Any] = {}
        with self.data.context(tenant):
            for name, field in serializer.fields.items():
                if field.read_only:
                    continue
                try:
                    attribute = field.get_attribute(instance)
                    values[name] = None if attribute is None else field.to_representation(attribute)
                except (SkipField, Exception):  # noqa: BLE001 - leave the field to its default
                    continue
        rendered: dict[str, Any] = json.loads(JSONRenderer().render(values))
        return rendered

    def tenant_key(self, serializer: Any, model: Any) -> str:
        tf = self.data.tenant_field_of[model]
        for name, field in serializer.fields.items():
            if field.source in (tf.name, tf.attname):
                return str(name)
        return str(tf.name)

    def parent_keys(self, serializer: Any, model: Any) -> list[tuple[str, Any, str]]:
        """(key, parent model, column) of writable foreign keys to other tenant models."""
        tf = self.data.tenant_field_of[model]
        found = []
        for name, field in serializer.fields.items():
            if field.read_only or not isinstance(field.source, str):
                continue
            try:
                mf = model._meta.get_field(field.source)
            except Exception:  # noqa: BLE001 - a source that is not a model field
                continue
            rel = mf.related_model if mf.many_to_one else None
            if rel in self.data.tenant_field_of and mf is not tf and rel not in self.data.broken:
                found.append((str(name), rel, mf.attname))
        return found

    # -- per endpoint -------------------------------------------------------------------
    def run(self, endpoint: Endpoint) -> None:
        for method, action in endpoint.methods():
            try:
                self.run_method(endpoint, method, action)
            except Skip as skip:
                self.add(endpoint, method, action, "skipped", str(skip))
            except Exception as exc:  # noqa: BLE001 - building or reading rows outside a request
                self.add(
                    endpoint, method, action, "skipped", f"the probe could not run it ({first_line(exc)})"
                )

    def run_method(self, endpoint: Endpoint, method: str, action: str) -> None:
        if endpoint.unfillable:
            names = ", ".join(f"<{p}>" for p in endpoint.unfillable)
            raise Skip(f"route kwarg {names}: the probe has no value to fill it with")
        if not endpoint.detail and method == "GET":
            self.check_list(endpoint, method, action)
            return
        if not endpoint.generic:
            raise Skip("an APIView without a queryset or serializer: no payload or row to aim at")
        if not endpoint.detail and action not in ("create",):
            raise Skip(f"a custom list-level {method} action: the probe cannot tell what it writes")
        model = endpoint.model(self.view_for(endpoint, action, method))
        if model is None:
            raise Skip("cannot tell the view's model (no queryset, no serializer Meta.model)")
        model = model._meta.concrete_model
        if model not in self.data.tenant_field_of:
            raise Skip(f"{model._meta.label} has no tenant field: no tenant rows to aim at")
        if model in self.data.broken:
            raise Skip(f"cannot build {model._meta.label} rows ({self.data.broken[model]})")
        if not endpoint.detail:
            self.check_create(endpoint, method, action, model)
        elif method == "GET":
            self.check_read(endpoint, method, action, model)
        elif method == "DELETE" and action in ("destroy", "delete"):
            self.check_delete(endpoint, method, action, model)
        else:
            self.check_write(endpoint, method, action, model)

    def lookup(self, endpoint: Endpoint, row: Any) -> Any:
        value = row
        for part in str(getattr(endpoint.cls, "lookup_field", "pk")).split("__"):
            value = getattr(value, part)
        return value

    def control(self, response: Response, what: str, done: bool = True) -> None:
        """A's own request on A's data must have worked for the checks on B to mean anything."""
        if response.status >= 500:
            raise Skip(f"A's own {what} failed with {response.error()}")
        if not (ok2xx(response.status) and done):
            raise Skip(f"A's own {what} answered {response.status}: {response.short()}")

    def others(self, endpoint: Endpoint, method: str, action: str, on: str = "") -> Iterator[tuple[str, str]]:
        """``(who, check)`` for the user without a tenant, then anonymous; the former's
        check is recorded as skipped when the project cannot have such a user."""
        for who in ("none", "anon"):
            check = f"{action} as {WHO[who]}{on}"
            if who == "none" and self.data.no_tenant_user is None:
                reason = f"no user without a tenant ({self.data.no_tenant_reason})"
                self.add(endpoint, method, check, "skipped", reason)
                continue
            yield who, check

    # -- list ---------------------------------------------------------------------------
    def check_list(self, endpoint: Endpoint, method: str, action: str) -> None:
        url = endpoint.url()
        r = self.request("A", endpoint, method, url)
        check = f"{action} as A"
        if r.status >= 500:
            self.add(endpoint, method, check, "error", r.error())
        elif r.status == 401:
            self.add(endpoint, method, check, "skipped", f"A was not authenticated (401): {r.short()}")
        elif not ok2xx(r.status):
            self.add(endpoint, method, check, "skipped", f"A's own {action} answered {r.status}: {r.short()}")
        else:
            evidence = self.data.evidence("B")
            hits = r.hits(evidence)
            if hits:
                self.add(endpoint, method, check, "leak", f"B's ids in the response: {', '.join(hits)}")
            elif not r.is_json and evidence.ints:
                self.add(endpoint, method, check, "skipped", f"non-JSON response ({r.content_type})")
            else:
                self.add(endpoint, method, check, "ok", "no id of tenant B in the response")
        for who, check in self.others(endpoint, method, action):
            self.check_other_read(endpoint, method, check, who, url)

    def check_other_read(self, endpoint: Endpoint, method: str, check: str, who: str, url: str) -> None:
        r = self.request(who, endpoint, method, url)
        if r.status >= 500:
            self.add(endpoint, method, check, "error", r.error())
        elif not ok2xx(r.status):
            self.add(endpoint, method, check, "ok", f"refused ({r.status})")
        else:
            hits = r.hits(self.data.evidence("A").merge(self.data.evidence("B")))
            if hits:
                self.add(endpoint, method, check, "leak", f"tenant rows in the response: {', '.join(hits)}")
            else:
                self.add(endpoint, method, check, "ok", f"answered {r.status} without tenant data")

    # -- create -------------------------------------------------------------------------
    def check_create(self, endpoint: Endpoint, method: str, action: str, model: Any) -> None:
        data = self.data
        a, b = data.tenants["A"], data.tenants["B"]
        serializer = self.serializer(endpoint, action, method)
        url = endpoint.url()

        def post(who: str, payload: dict[str, Any]) -> tuple[Response, set[Any], set[Any]]:
            before_a, before_b = data.pks(model, "A"), data.pks(model, "B")
            r = self.request(who, endpoint, method, url, payload)
            return r, data.pks(model, "A") - before_a, data.pks(model, "B") - before_b

        r, new_a, _ = post("A", self.payload(serializer, model, a))
        self.control(r, action, bool(new_a))

        label = model._meta.label
        tenant_payload = self.payload(serializer, model, a)
        tenant_payload[self.tenant_key(serializer, model)] = jsonable(b.value)
        r, new_a, new_b = post("A", tenant_payload)
        check = f"{action} as A with B's tenant id"
        if new_b:
            self.add(
                endpoint, method, check, "leak", f"stored in tenant B: {label} {sorted(map(str, new_b))}"
            )
        elif r.status >= 500:
            self.add(endpoint, method, check, "error", r.error())
        elif ok2xx(r.status) and new_a:
            self.add(endpoint, method, check, "ok", f"stored in A ({r.status})")
        elif ok2xx(r.status):
            self.add(
                endpoint, method, check, "leak", f"answered {r.status}; the new row is in neither A nor B"
            )
        else:
            self.add(endpoint, method, check, "ok", f"rejected ({r.status})")

        parents = self.parent_keys(serializer, model)
        if parents:
            parent_payload = self.payload(serializer, model, a)
            b_parents = {}
            for key, parent, column in parents:
                pk = data.main_row(parent, "B").pk
                parent_payload[key] = jsonable(pk)
                b_parents[column] = (parent._meta.label, pk)
            r, new_a, new_b = post("A", parent_payload)
            check = f"{action} as A with B's parent rows"
            crossing = self.references(model, new_a, b_parents)
            if new_b:
                self.add(
                    endpoint, method, check, "leak", f"stored in tenant B: {label} {sorted(map(str, new_b))}"
                )
            elif crossing:
                self.add(endpoint, method, check, "leak", f"A's new {label} references {crossing}")
            elif r.status >= 500:
                self.add(endpoint, method, check, "error", r.error())
            elif ok2xx(r.status):
                self.add(endpoint, method, check, "ok", f"stored in A with A's parents ({r.status})")
            else:
                self.add(endpoint, method, check, "ok", f"rejected ({r.status})")

        for who, check in self.others(endpoint, method, action):
            r, new_a, new_b = post(who, self.payload(serializer, model, a))
            self.judge_other_write(endpoint, method, check, r, "stored in a tenant" if new_a or new_b else "")

    def references(self, model: Any, pks: set[Any], parents: dict[str, tuple[str, Any]]) -> str:
        if not pks:
            return ""
        with self.data.context(self.data.tenants["A"]):
            rows = list(model._base_manager.filter(pk__in=pks).values(*parents))
        for row in rows:
            for column, (label, pk) in parents.items():
                if row[column] == pk:
                    return f"B's {label} {pk}"
        return ""

    def judge_other_write(self, endpoint: Endpoint, method: str, check: str, r: Response, wrote: str) -> None:
        if wrote:
            self.add(endpoint, method, check, "leak", f"{wrote} ({r.status})")
        elif r.status >= 500:
            self.add(endpoint, method, check, "error", r.error())
        elif ok2xx(r.status):
            self.add(endpoint, method, check, "leak", f"write accepted ({r.status})")
        else:
            self.add(endpoint, method, check, "ok", f"refused ({r.status}); nothing written")

    # -- detail -------------------------------------------------------------------------
    def judge_b_row(
        self, endpoint: Endpoint, method: str, check: str, r: Response, label: str, changed: str
    ) -> None:
        """A's request on one of B's rows: only 403, 404 or 405 with the row untouched is ok.

        A 2xx served or touched the row; a 400/409/422 means the view found it (DRF looks
        the object up before it validates the body, and the same body worked on A's row)."""
        if changed:
            self.add(endpoint, method, check, "leak", f"{label} {changed} ({r.status})")
        elif r.status >= 500:
            self.add(endpoint, method, check, "error", r.error())
        elif r.status in (403, 404, 405):
            self.add(endpoint, method, check, "ok", f"refused ({r.status}); {label} untouched")
        elif r.status == 401:
            self.add(endpoint, method, check, "skipped", f"A was not authenticated (401): {r.short()}")
        elif ok2xx(r.status) or r.status in (400, 409, 422):
            hits = r.hits(self.data.evidence("B")) if ok2xx(r.status) else []
            shown = f": {', '.join(hits)} in the response" if hits else ""
            self.add(
                endpoint, method, check, "leak", f"answered {r.status} for {label}{shown} (not 403/404/405)"
            )
        else:
            self.add(endpoint, method, check, "skipped", f"answered {r.status}: {r.short()}")

    def check_read(self, endpoint: Endpoint, method: str, action: str, model: Any) -> None:
        data = self.data
        a_row = data.main_row(model, "A")
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, a_row)))
        self.control(r, action)
        b_row = data.main_row(model, "B")
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, b_row)))
        label = f"B's {model._meta.label} {b_row.pk}"
        self.judge_b_row(endpoint, method, f"{action} as A on B's row", r, label, "")
        for who, check in self.others(endpoint, method, action, " on A's row"):
            self.check_other_read(endpoint, method, check, who, endpoint.url(self.lookup(endpoint, a_row)))

    def check_write(self, endpoint: Endpoint, method: str, action: str, model: Any) -> None:
        """update, partial_update and custom detail actions that write."""
        data = self.data
        a, b = data.tenants["A"], data.tenants["B"]
        serializer = self.serializer(endpoint, action, method) if action in UPDATES else None

        def body(tenant: Tenant) -> dict[str, Any]:
            return self.payload(serializer, model, tenant) if serializer is not None else {}

        a_row = data.main_row(model, "A")
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, a_row)), body(a))
        self.control(r, action)

        b_row = data.main_row(model, "B")
        before = data.snapshot(model, b_row.pk, "B")
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, b_row)), body(a))
        changed = changes(before, data.snapshot(model, b_row.pk, "B"))
        label = f"B's {model._meta.label} {b_row.pk}"
        self.judge_b_row(endpoint, method, f"{action} as A on B's row", r, label, changed)

        if serializer is not None:
            a_row = data.main_row(model, "A")
            moving = body(a)
            moving[self.tenant_key(serializer, model)] = jsonable(b.value)
            r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, a_row)), moving)
            check = f"{action} as A moving own row to B"
            if data.snapshot(model, a_row.pk, "B") is not None:
                self.add(
                    endpoint, method, check, "leak", f"A's {model._meta.label} {a_row.pk} is now in tenant B"
                )
            elif r.status >= 500:
                self.add(endpoint, method, check, "error", r.error())
            elif ok2xx(r.status):
                self.add(endpoint, method, check, "ok", f"answered {r.status}; the row stayed in A")
            else:
                self.add(endpoint, method, check, "ok", f"rejected ({r.status})")

        for who, check in self.others(endpoint, method, action, " on A's row"):
            a_row = data.main_row(model, "A")
            before = data.snapshot(model, a_row.pk, "A")
            r = self.request(who, endpoint, method, endpoint.url(self.lookup(endpoint, a_row)), body(a))
            changed = changes(before, data.snapshot(model, a_row.pk, "A"))
            self.judge_other_write(endpoint, method, check, r, f"A's row {changed}" if changed else "")

    def check_delete(self, endpoint: Endpoint, method: str, action: str, model: Any) -> None:
        """Spare rows nothing references, so a PROTECT'ed parent never turns a leak into a 500."""
        data = self.data
        a, b = data.tenants["A"], data.tenants["B"]
        spare = data.make_row(model, a)
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, spare)))
        self.control(r, action, data.snapshot(model, spare.pk, "A") is None)

        spare = data.make_row(model, b)
        r = self.request("A", endpoint, method, endpoint.url(self.lookup(endpoint, spare)))
        label = f"B's {model._meta.label} {spare.pk}"
        deleted = "was deleted" if data.snapshot(model, spare.pk, "B") is None else ""
        self.judge_b_row(endpoint, method, f"{action} as A on B's row", r, label, deleted)

        for who, check in self.others(endpoint, method, action, " on A's row"):
            spare = data.make_row(model, a)
            r = self.request(who, endpoint, method, endpoint.url(self.lookup(endpoint, spare)))
            gone = data.snapshot(model, spare.pk, "A") is None
            self.judge_other_write(endpoint, method, check, r, "A's row was deleted" if gone else "")
