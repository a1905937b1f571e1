"""How long `scaffold probe` takes on the example project (the CI gate's cost).

Copies ``examples/legacy_erp`` into a temp dir, adds one generated module
(``scaffold new-module warehouse``: 10 DRF routes in all, 85 checks) and
``probe_user = { onboarding_completed = true }``, then runs ``scaffold probe --format
json`` from the command line (interpreter start-up, ``django.setup()``, test database
creation and migrations, data, every check, teardown) ``--runs`` times as a NOSUPERUSER
NOBYPASSRLS CREATEDB role, and as many times with ``--keep-db`` on a test database that
is already migrated (what remains is the probing itself). Prints each run and the medians.

    .venv/bin/python benchmarks/probe_speed.py [--runs 3]

Needs the PostgreSQL server at SCAFFOLD_TEST_DATABASE_URL (default: local); creates and
drops its own database and roles. No assertion on the times: it prints them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.djproject import DjangoProject, copy_example  # noqa: E402
from tests.helpers.pg import PgDatabase  # noqa: E402
from tests.helpers.probe import PYPROJECT, drop_database, kept_database_name  # noqa: E402


def timed_probe(project: DjangoProject, *args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = project.scaffold("probe", "--format", "json", *args, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"probe failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    db = PgDatabase.create("scaffold_bench_probe")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_example("legacy_erp", Path(tmp) / "legacy_erp", db)
            (project.root / "pyproject.toml").write_text(PYPROJECT)
            project.scaffold(
                "new-module", "warehouse", "--no-input", "--field", "name:str", "--field", "code:str:unique"
            )
            project.extra_env["DATABASE_URL"] = db.runner_url
            fresh, kept = [], []
            report: dict = {}
            for i in range(args.runs):
                elapsed, report = timed_probe(project)
                fresh.append(elapsed)
                print(f"run {i + 1}: fresh test database  {elapsed:6.2f} s", flush=True)
            timed_probe(project, "--keep-db")  # creates and migrates the kept database once
            for i in range(args.runs):
                elapsed, _ = timed_probe(project, "--keep-db")
                kept.append(elapsed)
                print(f"run {i + 1}: --keep-db (migrated)   {elapsed:6.2f} s", flush=True)
            drop_database(kept_database_name(db))
        routes = len({e["route"] for e in report["endpoints"]})
        summary = report["summary"]
        print(
            f"\n{routes} routes, {summary['checks']} checks ({summary['leaks']} leaks: the seed's "
            f"SupplierViewSet), as {report['database']['role']}"
        )
        print(f"median, fresh test database (created + migrated): {statistics.median(fresh):.2f} s")
        print(f"median, --keep-db (already migrated):             {statistics.median(kept):.2f} s")
        share = 1 - statistics.median(kept) / statistics.median(fresh)
        print(f"share of a fresh run spent creating and migrating the database: {share:.0%}")
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
