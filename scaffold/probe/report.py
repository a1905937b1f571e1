"""The probe's verdicts and its report: text grouped by endpoint, or JSON.

Exit codes: 0 no leak; 1 a leak (or, under ``--fail-on-skip``, a check that was skipped
or errored: the endpoint could not be proven); 2 the probe could not run at all (raised
as :class:`scaffold.probe.environment.ProbeUnavailable` before any report exists).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Verdict = Literal["ok", "leak", "skipped", "error"]
VERDICTS: tuple[Verdict, ...] = ("ok", "leak", "skipped", "error")


@dataclass(frozen=True)
class CheckResult:
    """One check on one endpoint: who did what, and what came of it."""

    route: str  # "/api/crm/customers/<pk>/"
    view: str  # "crm.views.CustomerViewSet"
    method: str  # "GET"
    check: str  # "retrieve as A: B's row"
    verdict: Verdict
    detail: str  # the evidence (leak), the reason (skipped), the exception (error)


@dataclass
class DatabaseInfo:
    """Which role the probe ran as, on which throwaway database."""

    role: str = ""
    superuser: bool = False
    bypassrls: bool = False
    test_database: str = ""
    kept: bool = False
    # tables the role owns (or inherits ownership of) with RLS enabled but not FORCE'd
    unforced_owned: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        found = []
        if self.superuser:
            found.append(f"role {self.role} is a superuser: row-level security is not exercised at all")
        if self.bypassrls:
            found.append(f"role {self.role} has BYPASSRLS: row-level security is not exercised at all")
        if self.unforced_owned and not (self.superuser or self.bypassrls):
            tables = ", ".join(self.unforced_owned)
            found.append(
                f"role {self.role} owns {tables} without FORCE ROW LEVEL SECURITY: their policies are "
                "not exercised (only the views' filters are); add FORCE or run as a role that owns nothing"
            )
        return found


@dataclass
class ProbeReport:
    results: list[CheckResult]
    database: DatabaseInfo
    fail_on_skip: bool = False
    # models whose rows could not be built: "label: why" (their endpoints are skipped)
    unbuilt: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return self.database.warnings() + [
            f"cannot build rows of {what}: checks that need them are skipped" for what in self.unbuilt
        ]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "checks": len(self.results),
            "ok": self.count("ok"),
            "leaks": self.count("leak"),
            "skipped": self.count("skipped"),
            "errors": self.count("error"),
        }

    @property
    def exit_code(self) -> int:
        if self.count("leak"):
            return 1
        if self.fail_on_skip and (self.count("skipped") or self.count("error")):
            return 1
        return 0

    def to_json(self) -> str:
        db = self.database
        return json.dumps(
            {
                "endpoints": [asdict(r) for r in self.results],
                "summary": self.summary,
                "database": {
                    "role": db.role,
                    "superuser": db.superuser,
                    "bypassrls": db.bypassrls,
                    "unforced_owned_tables": db.unforced_owned,
                    "test_database": db.test_database,
                    "kept": db.kept,
                },
                "warnings": self.warnings(),
            },
            indent=2,
        )

    def to_text(self) -> str:
        db = self.database
        flags = ("SUPERUSER" if db.superuser else "NOSUPERUSER") + (
            " BYPASSRLS" if db.bypassrls else " NOBYPASSRLS"
        )
        kept = " (kept: --keep-db)" if db.kept else " (dropped at the end)"
        lines = [f"probe: as role {db.role} ({flags}) on test database {db.test_database}{kept}"]
        lines += [f"warning: {w}" for w in self.warnings()]
        groups: dict[tuple[str, str], list[CheckResult]] = {}
        for result in self.results:
            groups.setdefault((result.route, result.view), []).append(result)
        for (route, view), results in groups.items():
            lines.append("")
            lines.append(f"{route}  ({view})")
            width = max(len(r.check) for r in results)
            for r in results:
                verdict = r.verdict.upper() if r.verdict in ("leak", "error") else r.verdict
                tail = f"  {r.detail}" if r.detail else ""
                lines.append(f"  {r.method:<6} {r.check:<{width}}  {verdict}{tail}")
        s = self.summary
        lines.append("")
        lines.append(
            f"{s['checks']} checks: {s['ok']} ok, {s['leaks']} leaks, {s['skipped']} skipped, "
            f"{s['errors']} errors"
        )
        return "\n".join(lines)
