"""Overhead of the tenant RLS policy on a list query, measured against plain filtering.

Loads ``--rows`` rows (default 1,000,000) across ``--tenants`` tenants (default 100)
into one table with a ``tenant_id`` index and scaffold's policy (rendered by
:mod:`scaffold.rls`, ENABLE + FORCE). It then times, interleaved in random order, the
queries a generated ViewSet runs for one tenant (``list``: all its rows, through the
tenant_id index; ``page``: 50 rows ordered by id; ``count``):

* baseline: a NOSUPERUSER BYPASSRLS role with ``WHERE tenant_id = %s``: the plain
  indexed filter with no RLS, on the very same table and pages;
* policy: the NOSUPERUSER NOBYPASSRLS runtime role, the context bound with
  ``set_config(..., true)`` in the same transaction, same explicit filter plus the policy
  (what generated code runs);
* policy only: the runtime role without the explicit filter (the policy does it all).

and prints medians and the policy / baseline ratio from the same run (goal: <= 1.2).

    .venv/bin/python benchmarks/rls_overhead.py [--rows 1000000] [--tenants 100]

Needs the PostgreSQL server at SCAFFOLD_TEST_DATABASE_URL (default: local); creates
and drops its own database and role.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from scaffold.rls import enable_rls_sql  # noqa: E402
from tests.helpers.pg import PgDatabase, admin_url, with_database  # noqa: E402

SETTING = "app.current_tenant_id"
COLUMNS = "id, tenant_id, name, created_at"
# name -> (SQL template, expected row count or None for "all of the tenant's rows")
SHAPES = {
    "list": (f"SELECT {COLUMNS} FROM {{table}} {{where}}", None),  # None: all the tenant's rows
    "page": (f"SELECT {COLUMNS} FROM {{table}} {{where}} ORDER BY id LIMIT 50", 50),
    "count": ("SELECT count(*), min(tenant_id::text) FROM {table} {where}", 1),
}


def load(db: PgDatabase, rows: int, tenants: int) -> list[str]:
    with db.owner() as conn:
        conn.execute(
            "CREATE TABLE bench_items (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, "
            "name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO bench_items (tenant_id, name) "
            "SELECT md5('tenant' || (g %% %s))::uuid, 'item ' || g FROM generate_series(1, %s) AS g",
            [tenants, rows],
        )
        conn.execute("CREATE INDEX ON bench_items (tenant_id)")
        conn.execute("VACUUM ANALYZE bench_items")
        conn.execute(enable_rls_sql("bench_items", "tenant_id", SETTING))
        # The baseline role reads the very same table and pages, with RLS not applied.
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER BYPASSRLS").format(
                sql.Identifier(bypass_role(db)), sql.Literal(db.runtime_password)
            )
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(db.name), sql.Identifier(bypass_role(db))
            )
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(bypass_role(db))))
        conn.execute(sql.SQL("GRANT SELECT ON bench_items TO {}").format(sql.Identifier(bypass_role(db))))
        ids = [row[0] for row in conn.execute("SELECT DISTINCT tenant_id::text FROM bench_items")]
    db.grant_runtime()
    return ids


def bypass_role(db: PgDatabase) -> str:
    return db.runtime_role + "_bypass"


def plan(conn, query: str, params: list) -> str:  # type: ignore[no-untyped-def]
    out = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]
    nodes: list[str] = []

    def walk(node: dict) -> None:
        name = node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else "")
        nodes.append(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(out[0]["Plan"])
    return " > ".join(nodes)


def measure(db: PgDatabase, ids: list[str], iterations: int) -> dict[str, list[float]]:
    # name -> (SQL, connection: "plain" or "rls", explicit tenant filter?, expected rows)
    queries: dict[str, tuple[str, str, bool, int | None]] = {}
    for shape, (template, expected) in SHAPES.items():
        explicit = template.format(table="bench_items", where="WHERE tenant_id = %s")
        queries[f"{shape}/baseline"] = (explicit, "plain", True, expected)
        queries[f"{shape}/policy"] = (explicit, "rls", True, expected)
        queries[f"{shape}/policy only"] = (
            template.format(table="bench_items", where=""),
            "rls",
            False,
            expected,
        )
    times: dict[str, list[float]] = {name: [] for name in queries}
    rng = random.Random(42)
    bypass_url = with_database(admin_url(), db.name, bypass_role(db), db.runtime_password)
    with db.runtime() as rls, psycopg.connect(bypass_url) as plain:
        conns = {"rls": rls, "plain": plain}
        for label, conn in conns.items():
            role = conn.execute(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            assert role == (False, label == "plain"), (label, role)
        for name, (query, which, explicit, _) in queries.items():
            with conns[which].transaction():
                conns[which].execute("SELECT set_config(%s, %s, true)", [SETTING, ids[0]])
                print(f"  plan {name:<18} {plan(conns[which], query, [ids[0]] if explicit else [])}")
        per_tenant = dict(
            plain.execute("SELECT tenant_id::text, count(*) FROM bench_items GROUP BY 1").fetchall()
        )
        for i in range(iterations + 50):
            tenant = rng.choice(ids)
            order = list(queries.items())
            rng.shuffle(order)  # interleaved, in random order: no drift favours one side
            for name, (query, which, explicit, expected) in order:
                conn = conns[which]
                with conn.transaction():
                    conn.execute("SELECT set_config(%s, %s, true)", [SETTING, tenant])
                    start = time.perf_counter()
                    rows = conn.execute(query, [tenant] if explicit else []).fetchall()
                    elapsed = time.perf_counter() - start
                assert len(rows) == (expected or per_tenant[tenant]), name
                assert str(rows[0][1]) == tenant, name  # every shape returns only this tenant
                if i >= 50:  # warm-up discarded
                    times[name].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args(argv)
    db = PgDatabase.create(prefix="scaffold_bench")
    try:
        start = time.perf_counter()
        ids = load(db, args.rows, args.tenants)
        print(f"loaded {args.rows:,} rows across {len(ids)} tenants in {time.perf_counter() - start:.1f}s")
        times = measure(db, ids, args.iterations)
    finally:
        db.drop()
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(bypass_role(db))))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"median latency of {args.iterations} interleaved runs each, one tenant's rows:")
    for shape in SHAPES:
        base = medians[f"{shape}/baseline"]
        for variant in ("baseline", "policy", "policy only"):
            ms = medians[f"{shape}/{variant}"]
            print(f"  {shape:<6} {variant:<12} {ms:9.3f} ms   ratio {ms / base:5.2f}")
    ratio = medians["list/policy"] / medians["list/baseline"]
    print(
        f"RLS policy overhead on the list query: ratio {ratio:.2f} (goal <= 1.2) {'OK' if ratio <= 1.2 else 'OVER GOAL'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
