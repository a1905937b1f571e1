"""Shared fixtures. Database tests get a fresh PostgreSQL database per test module and a
NOSUPERUSER NOBYPASSRLS runtime role; when no server is reachable they skip loudly, and
under CI=true they fail instead."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.helpers.djproject import DjangoProject, copy_example  # noqa: E402
from tests.helpers.pg import PgDatabase, server_problem  # noqa: E402

_PROBLEM: list[str | None] = []


def pg_problem() -> str | None:
    if not _PROBLEM:
        _PROBLEM.append(server_problem())
    return _PROBLEM[0]


def require_postgres() -> None:
    problem = pg_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {problem}; database tests may not skip in CI", pytrace=False)
    message = f"SKIPPING DATABASE TESTS: {problem} (set SCAFFOLD_TEST_DATABASE_URL)"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgDatabase]:
    """A fresh database for this test module plus its runtime role; dropped afterwards."""
    require_postgres()
    db = PgDatabase.create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture(scope="module")
def legacy_project(tmp_path_factory: pytest.TempPathFactory, pg_database: PgDatabase) -> DjangoProject:
    """``examples/legacy_erp`` copied into a temp dir, git-initialised and migrated."""
    project = copy_example("legacy_erp", tmp_path_factory.mktemp("legacy") / "legacy_erp", pg_database)
    project.migrate()
    return project


def pytest_report_header(config: pytest.Config) -> str:
    problem = pg_problem()
    return "postgres: reachable" if problem is None else f"postgres: !!! {problem} !!!"
