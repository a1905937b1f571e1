"""Real PostgreSQL for the test suite: a fresh database per test module and a runtime role
that is NOSUPERUSER NOBYPASSRLS, so row-level security really applies to it (T1, T4)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get("SCAFFOLD_TEST_DATABASE_URL", DEFAULT_URL)


def with_database(url: str, dbname: str, user: str | None = None, password: str | None = None) -> str:
    """``url`` pointing at ``dbname`` (and optionally as another user)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        cred = user if password is None else f"{user}:{password}"
        netloc = f"{cred}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, parts.fragment))


def server_problem() -> str | None:
    """None when the server is reachable, else why not."""
    try:
        with psycopg.connect(admin_url(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        return f"PostgreSQL at {admin_url()} is unreachable: {exc.__class__.__name__}: {exc}".strip()
    return None


@dataclass
class PgDatabase:
    """One throwaway database plus its runtime role."""

    name: str
    owner_url: str  # superuser, connected to this database: DDL, migrations, setup
    runtime_role: str
    runtime_password: str
    runtime_url: str  # NOSUPERUSER NOBYPASSRLS, owns nothing: what the app runs as
    runner_role: str = ""
    runner_url: str = ""  # NOSUPERUSER NOBYPASSRLS CREATEDB: for `manage.py test`, which creates
    # and therefore owns its test database; FORCE ROW LEVEL SECURITY still binds it.

    @classmethod
    def create(cls, prefix: str = "scaffold_test") -> PgDatabase:
        suffix = uuid.uuid4().hex[:10]
        name = f"{prefix}_{suffix}"
        role = f"scaffold_rt_{suffix}"
        runner = f"scaffold_tr_{suffix}"
        password = uuid.uuid4().hex
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                ).format(sql.Identifier(role), sql.Literal(password))
            )
            conn.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE"
                ).format(sql.Identifier(runner), sql.Literal(password))
            )
        db = cls(
            name=name,
            owner_url=with_database(admin_url(), name),
            runtime_role=role,
            runtime_password=password,
            runtime_url=with_database(admin_url(), name, role, password),
            runner_role=runner,
            runner_url=with_database(admin_url(), name, runner, password),
        )
        with db.owner() as conn:
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(name), sql.Identifier(runner)
                )
            )
            conn.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(name), sql.Identifier(role)
                )
            )
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
        return db

    @contextmanager
    def owner(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            yield conn

    @contextmanager
    def runtime(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.runtime_url, autocommit=autocommit) as conn:
            yield conn

    def grant_runtime(self) -> None:
        """Give the runtime role DML (never TRUNCATE or REFERENCES, T11) on every table."""
        role = sql.Identifier(self.runtime_role)
        with self.owner() as conn:
            conn.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
                    role
                )
            )
            conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))

    def drop(self) -> None:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
            for role in (self.runtime_role, self.runner_role):
                if role:
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
