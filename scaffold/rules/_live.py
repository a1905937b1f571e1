"""Live-database rules: read-only catalog queries over psycopg.

The connection is opened read-only (``default_transaction_read_only``), runs only
``SELECT``s against ``pg_catalog``, and is closed afterwards. No secret of the connection
string (password in the userinfo, the query or a ``key=value`` pair) is ever echoed in
errors: see :mod:`scaffold.conninfo`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scaffold.conninfo import mask, redact
from scaffold.errors import UsageError, first_line
from scaffold.rls import COMMANDS, ROLE_SQL, Policy
from scaffold.rules import RULES, Finding, Rule

TABLES_SQL = """
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       pg_get_userbyid(c.relowner) AS owner,
       pg_has_role(current_user, c.relowner, 'USAGE') AS runtime_owns,
       has_table_privilege(current_user, c.oid, 'TRUNCATE') AS can_truncate,
       has_table_privilege(current_user, c.oid, 'REFERENCES') AS can_reference
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped AND a.attnum > 0
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%'
ORDER BY n.nspname, c.relname
"""
# polroles holds 0 for PUBLIC; a policy applies to the current role when it is TO PUBLIC or
# TO a role whose privileges the current role has (pg_has_role USAGE: membership with
# INHERIT), as PostgreSQL decides it.
POLICIES_SQL = """
SELECT n.nspname, c.relname, p.polname, p.polpermissive, p.polcmd,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
             FROM unnest(p.polroles) AS r ORDER BY 1) AS roles,
       (0 = ANY (p.polroles) OR EXISTS (
          SELECT 1 FROM unnest(p.polroles) AS r WHERE r <> 0 AND pg_has_role(current_user, r, 'USAGE')
       )) AS applies
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY n.nspname, c.relname, p.polname
"""
VIEWS_SQL = """
SELECT DISTINCT vn.nspname, v.relname, v.relkind, tn.nspname, t.relname,
       COALESCE(v.reloptions::text[], '{}') AS options
FROM pg_class v
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_rewrite r ON r.ev_class = v.oid
JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
                AND d.refclassid = 'pg_class'::regclass
JOIN pg_class t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p') AND t.oid <> v.oid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE v.relkind IN ('v', 'm')
  AND vn.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 4, 5
"""
# SECURITY DEFINER functions the current role may call, outside the system schemas, with
# their source (plpgsql/sql text) and the relations an SQL-standard body depends on.
DEFINER_SQL = """
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       pg_get_userbyid(p.proowner) AS owner, l.lanname, COALESCE(p.prosrc, '') AS src,
       ARRAY(SELECT dn.nspname || '.' || dc.relname
             FROM pg_depend d
             JOIN pg_class dc ON dc.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
             JOIN pg_namespace dn ON dn.oid = dc.relnamespace
             WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid) AS depends,
       r.rolsuper OR r.rolbypassrls AS owner_bypasses
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
JOIN pg_roles r ON r.oid = p.proowner
WHERE p.prosecdef
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%'
  AND has_function_privilege(current_user, p.oid, 'EXECUTE')
ORDER BY n.nspname, p.proname, args
"""
# Functions marked LEAKPROOF outside the system schemas that no extension installed (an
# extension's functions are reviewed where the extension is; CREATE EXTENSION marks them).
LEAKPROOF_SQL = """
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args,
       pg_get_userbyid(p.proowner) AS owner, l.lanname,
       has_function_privilege(current_user, p.oid, 'EXECUTE') AS callable
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.proleakproof
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_depend d
    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
ORDER BY n.nspname, p.proname, args
"""
UNIQUE_SQL = """
SELECT n.nspname, c.relname, i.relname AS index_name, pg_get_indexdef(x.indexrelid) AS definition,
       EXISTS (
         SELECT 1 FROM unnest(x.indkey) k
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k AND a.attname = %s
       ) AS has_tenant,
       con.conname
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype = 'u'
WHERE x.indisunique AND NOT x.indisprimary
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY n.nspname, c.relname, i.relname
"""


@dataclass
class Table:
    schema: str
    name: str
    rls: bool
    force: bool
    owner: str
    runtime_owns: bool
    can_truncate: bool = False
    can_reference: bool = False
    policies: list[Policy] = field(default_factory=list)

    @property
    def qualname(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class DefinerFunction:
    """A SECURITY DEFINER function the runtime role may execute."""

    schema: str
    name: str
    args: str
    owner: str
    language: str
    source: str
    depends: tuple[str, ...]  # relations an SQL-standard body depends on (schema.name)
    owner_bypasses: bool  # owner is superuser or BYPASSRLS

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.args})"

    def reads(self, table: Table) -> bool:
        """Whether the function's body names ``table`` (or, for an SQL-standard body,
        depends on it). A name in a comment or string counts too: the rule prefers a
        false alarm to a miss."""
        if table.qualname in self.depends:
            return True
        name = re.escape(table.name)
        pattern = rf'(?<![\w$."])(?:"?{re.escape(table.schema)}"?\s*\.\s*)?"?{name}"?(?![\w$"])'
        return re.search(pattern, self.source, re.IGNORECASE) is not None


@dataclass(frozen=True)
class LeakproofFunction:
    """A function marked LEAKPROOF that no extension installed."""

    schema: str
    name: str
    args: str
    owner: str
    language: str
    callable: bool  # the connected (runtime) role may EXECUTE it

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.args})"


@dataclass
class DatabaseContext:
    """What a database rule sees: the tenant tables, their policies, the connected role."""

    tenant_field: str
    tenant_setting: str
    role: str
    superuser: bool
    bypassrls: bool
    tables: list[Table]
    uniques: list[dict[str, Any]]
    exempt: set[str]
    views: list[dict[str, Any]] = field(default_factory=list)  # views/matviews over tenant tables
    definers: list[DefinerFunction] = field(default_factory=list)  # SECURITY DEFINER the role may call
    leakproof: list[LeakproofFunction] = field(default_factory=list)  # LEAKPROOF, not from an extension

    def is_exempt(self, table: Table | str) -> bool:
        schema, name = (table.schema, table.name) if isinstance(table, Table) else table.split(".", 1)
        return name in self.exempt or f"{schema}.{name}" in self.exempt

    def finding(self, code: str, symbol: str, message: str) -> Finding:
        return Finding("database", 0, 0, code, message, symbol, RULES[code].fixable)


def load(url: str, tenant_field: str, tenant_setting: str, exempt: Iterable[str]) -> DatabaseContext:
    import psycopg

    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=False)
    except Exception as exc:  # noqa: BLE001 - any connection failure is a usage error
        raise UsageError(
            f"--database-url {redact(url)}: cannot connect ({mask(first_line(exc), url)}); check the URL"
        ) from None
    try:
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute(ROLE_SQL)
            role, superuser, bypassrls = cur.fetchone()  # type: ignore[misc]
            cur.execute(TABLES_SQL, [tenant_field])
            tables = {(r[0], r[1]): Table(*r) for r in cur.fetchall()}
            cur.execute(POLICIES_SQL)
            for schema, name, polname, permissive, cmd, using, check, roles, applies in cur.fetchall():
                if (schema, name) in tables:
                    tables[(schema, name)].policies.append(
                        Policy(
                            polname,
                            bool(permissive),
                            COMMANDS.get(cmd, "ALL"),
                            tuple(roles or ()),
                            bool(applies),
                            using,
                            check,
                        )
                    )
            cur.execute(UNIQUE_SQL, [tenant_field])
            uniques = [
                {
                    "schema": r[0],
                    "table": r[1],
                    "index": r[2],
                    "definition": r[3],
                    "has_tenant": r[4],
                    "constraint": r[5],
                }
                for r in cur.fetchall()
                if (r[0], r[1]) in tables
            ]
            cur.execute(VIEWS_SQL)
            views = [
                {
                    "view": f"{r[0]}.{r[1]}",
                    "kind": r[2],
                    "table": f"{r[3]}.{r[4]}",
                    "options": list(r[5] or []),
                }
                for r in cur.fetchall()
                if (r[3], r[4]) in tables
            ]
            cur.execute(DEFINER_SQL)
            definers = [
                DefinerFunction(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6] or ()), bool(r[7]))
                for r in cur.fetchall()
            ]
            cur.execute(LEAKPROOF_SQL)
            leakproof = [LeakproofFunction(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in cur.fetchall()]
        conn.rollback()
    except psycopg.Error as exc:
        raise UsageError(
            f"--database-url {redact(url)}: reading the catalog failed ({mask(first_line(exc), url)}); "
            "connect as the application's role with CONNECT on the database"
        ) from None
    finally:
        conn.close()
    return DatabaseContext(
        tenant_field,
        tenant_setting,
        role,
        bool(superuser),
        bool(bypassrls),
        list(tables.values()),
        uniques,
        set(exempt),
        views,
        definers,
        leakproof,
    )


def index_defeating(expr: str | None, column: str) -> str | None:
    """Why a policy expression cannot use an index on the tenant column, or None."""
    if not expr:
        return None
    col = re.escape(column)
    if re.search(rf"\(?\b{col}\b\)?\s*::\s*(text|character varying|varchar)", expr):
        return f"casts {column} to text"
    if re.search(r"\bOR\b", expr, re.IGNORECASE):
        return "uses OR"
    if re.search(r"\bCASE\b", expr, re.IGNORECASE):
        return "uses CASE"
    return None


def run_live(rules: list[Rule], url: str, cfg: Any) -> list[Finding]:
    ctx = load(url, cfg.tenant_field, cfg.tenant_setting, cfg.rls_exempt_tables)
    out: list[Finding] = []
    for rule in rules:
        out.extend(rule.check(ctx))
    return out
