"""``scaffold probe``: prove tenant isolation dynamically, endpoint by endpoint.

Runs in the project's own environment, as pytest-django does: ``django.setup()`` with
the project's settings, a throwaway test database created and migrated by Django's test
runner functions, two tenants of data built with model-bakery, then every Django REST
framework endpoint of the root urlconf exercised over DRF's test client as tenant A, a
user without a tenant and anonymous, against tenant B's rows. Split by concern:

* :mod:`~scaffold.probe.environment`: settings, test database, role (exit 2 problems);
* :mod:`~scaffold.probe.data`: the two tenants' users and rows, tenant context, read-back;
* :mod:`~scaffold.probe.endpoints`: the endpoints, walked from the resolver;
* :mod:`~scaffold.probe.checks`: the checks and their verdicts;
* :mod:`~scaffold.probe.report`: text / JSON report and exit code.

Django is set up once per process: call :func:`probe` once (the CLI does). No secret of
the project's database settings reaches a message or the report (:mod:`scaffold.conninfo`
masks them, as it does for ``audit --database-url``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import replace

from scaffold.config import Config
from scaffold.conninfo import mask
from scaffold.errors import ScaffoldError, UsageError
from scaffold.probe.environment import ProbeUnavailable, first_line
from scaffold.probe.report import CheckResult, DatabaseInfo, ProbeReport

__all__ = ["CheckResult", "DatabaseInfo", "ProbeReport", "ProbeUnavailable", "probe"]


def probe(
    project: str | os.PathLike[str] | None = None,
    *,
    select: Iterable[str] = (),
    fail_on_skip: bool = False,
    keep_db: bool = False,
) -> ProbeReport:
    """Probe every (or every ``select``-ed) endpoint of the project; see the module doc."""
    from scaffold.api import load_project
    from scaffold.probe.environment import database_secrets, setup_django, test_database

    cfg = load_project(project)
    globs = tuple(g.strip() for item in select for g in item.split(",") if g.strip())
    previous = os.getcwd()
    os.chdir(cfg.root)  # as `manage.py` runs: relative paths in settings resolve
    try:
        # Whatever the project prints goes to stderr: stdout is the report (JSON included).
        with contextlib.redirect_stdout(sys.stderr):
            try:
                module = setup_django(cfg)
                with test_database(keep_db) as database:
                    results, unbuilt = _run(cfg, globs, module)
            except ScaffoldError as exc:  # its text may quote the project's code or driver
                raise type(exc)(mask(str(exc), database_secrets(), quoted=False)) from None
            secrets = database_secrets()
    finally:
        os.chdir(previous)
    results = [replace(r, detail=mask(r.detail, secrets, quoted=False)) for r in results]
    unbuilt = [mask(what, secrets, quoted=False) for what in unbuilt]
    return ProbeReport(results, database, fail_on_skip, unbuilt)


def _run(cfg: Config, globs: tuple[str, ...], module: str) -> tuple[list[CheckResult], list[str]]:
    from django.conf import settings

    from scaffold.probe.checks import Prober
    from scaffold.probe.data import ProbeData
    from scaffold.probe.endpoints import enumerate_endpoints, select

    try:
        endpoints = enumerate_endpoints()
    except Exception as exc:  # noqa: BLE001 - the project's urlconf and views
        raise ProbeUnavailable(
            f"the root urlconf {settings.ROOT_URLCONF} does not import ({first_line(exc)}); "
            "`python manage.py check` shows the same"
        ) from exc
    if not endpoints:
        raise ProbeUnavailable(
            f"no Django REST framework endpoint in {settings.ROOT_URLCONF} (settings {module}); "
            "nothing to probe"
        )
    chosen = select(endpoints, globs)
    if not chosen:
        routes = ", ".join(sorted({e.route for e in endpoints}))
        raise UsageError(f"--select {' '.join(globs)} matches no endpoint; the routes are: {routes}")
    data = ProbeData(cfg.tenant_field, cfg.user_tenant_attr, cfg.tenant_setting, cfg.probe_user)
    data.build()
    prober = Prober(data)
    logging.disable(logging.CRITICAL)  # the project's 4xx/5xx request logging
    try:
        for endpoint in chosen:
            prober.run(endpoint)
    finally:
        logging.disable(logging.NOTSET)
    unbuilt = [f"{model._meta.label} ({why})" for model, why in data.broken.items()]
    return prober.results, unbuilt
