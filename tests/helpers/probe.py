"""Running ``scaffold probe`` on a project copy, as the test runner's role: NOSUPERUSER
NOBYPASSRLS CREATEDB (it creates, migrates and owns the throwaway ``test_<db>`` database,
as ``manage.py test`` does; FORCE ROW LEVEL SECURITY still binds it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from tests.helpers.djproject import DjangoProject
from tests.helpers.pg import PgDatabase, admin_url

PYPROJECT = "[tool.scaffold]\nprobe_user = { onboarding_completed = true }\n"
# What the probe checks on a ModelViewSet whose model has no foreign key to another tenant model.
VIEWSET_CHECKS = {
    *(f"list as {who}" for who in ("A", "user without tenant", "anonymous")),
    "create as A with B's tenant id",
    "create as user without tenant",
    "create as anonymous",
    *(
        f"{action} as {who}"
        for action in ("retrieve", "update", "partial_update", "destroy")
        for who in ("A on B's row", "user without tenant on A's row", "anonymous on A's row")
    ),
    "update as A moving own row to B",
    "partial_update as A moving own row to B",
}


@dataclass
class ProbeRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    def checks(self, route_prefix: str) -> list[dict[str, Any]]:
        return [e for e in self.report["endpoints"] if e["route"].startswith(route_prefix)]

    def verdict(self, route: str, check: str) -> dict[str, Any]:
        found = [e for e in self.report["endpoints"] if e["route"] == route and e["check"] == check]
        assert len(found) == 1, (route, check, found)
        return found[0]


def as_runner(project: DjangoProject) -> DjangoProject:
    """The project's subprocesses connect as the runner role (CREATEDB, not superuser)."""
    assert project.db is not None
    project.extra_env["DATABASE_URL"] = project.db.runner_url
    return project


def probe(project: DjangoProject, *args: str) -> ProbeRun:
    proc = project.scaffold("probe", *args, check=False)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return ProbeRun(proc.returncode, proc.stdout, proc.stderr)


def kept_database_name(db: PgDatabase) -> str:
    return f"test_{db.name}"


def database_exists(name: str) -> bool:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
