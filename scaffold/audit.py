"""``scaffold audit``: run the rules of :mod:`scaffold.rules` over a project.

Static rules run through the shared engine (:mod:`scaffold.engine`: byte prefilter, stdlib
``ast``, a process pool and a content-hash cache; libcst is never imported), so an audit of
thousands of files parses only the files that can hold a finding. Database rules
(TEN060-TEN064) run only with a database URL, over read-only catalog queries.

``audit(...)`` returns an :class:`AuditReport`; its ``to_text``/``to_json``/``to_sarif``
are the three output formats. Findings are silenced per line with ``# noqa: TEN001`` (a
bare ``# noqa`` silences every rule on the line) and per file with ``per_file_ignores``.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__
from scaffold.config import ANALYSIS_KEYS, Config
from scaffold.engine import counted
from scaffold.errors import ConfigError, UsageError
from scaffold.rules import Finding, Rule, all_rules, get_rule, parse_codes, select_rules


def _rules_fingerprint() -> str:
    """Part of the engine's cache key: a hash of the rules' and the view analysis' source,
    so a changed rule invalidates cached verdicts without a hand-bumped version."""
    import hashlib

    from scaffold.analysis import fingerprint

    digest = hashlib.blake2b(fingerprint().encode(), digest_size=8)
    for path in sorted((Path(__file__).parent / "rules").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def rule_version() -> str:
    """The rules' part of the cache key, computed when a cache is used (``--no-cache`` runs
    never read the sources to hash them)."""
    return _rules_fingerprint()


NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/scaffold-tenancy/scaffold"


# -- the engine unit behind every static rule -------------------------------------------


@dataclass(frozen=True)
class RuleUnit:
    """Adapts one rule to the engine's unit protocol (analysis only, no fix)."""

    code: str
    needles: tuple[bytes, ...]

    @property
    def version(self) -> str:
        return rule_version()

    def analyze(self, ectx: Any) -> Any:
        from scaffold.engine import Analysis, Message
        from scaffold.rules._context import FileContext

        rule = get_rule(self.code)
        ctx = FileContext.from_engine(ectx)
        try:
            findings = list(rule.check(ctx))
            census = list(rule.census(ctx)) if rule.census is not None else []
        except RecursionError:
            raise  # the engine reports "too deeply nested"
        except Exception as exc:  # noqa: BLE001 - a rule bug must not stop the audit of every other file
            return Analysis(
                [
                    Message(
                        1, 0, self.code, f"internal error, rule skipped on this file: {exc!r}", kind="error"
                    )
                ]
            )
        return Analysis(
            [
                Message(
                    f.line,
                    f.column - 1,
                    f.code,
                    f.message,
                    kind="finding",
                    symbol=f.symbol,
                    fixable=f.fixable,
                )
                for f in findings
            ]
            + [
                Message(line, 0, self.code, verdict, kind="view", symbol=name)
                for line, name, verdict in census
            ]
        )


# -- settings the rules read -------------------------------------------------------------


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


_NOT_LITERAL = object()
ALLOW_ANY = "rest_framework.permissions.AllowAny"


def drf_default_permissions(cfg: Config) -> tuple[str, ...] | None:
    """``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]`` from settings (DRF's default is
    ``AllowAny``); None when the settings cannot be read statically."""
    try:
        files = cfg.settings_files()
    except ConfigError:
        return None
    for path in files:
        try:
            tree = ast.parse(path.read_bytes())
        except (OSError, SyntaxError, ValueError):
            return None
        for node in tree.body:
            if not (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "REST_FRAMEWORK" for t in node.targets)
            ):
                continue
            value = _literal(node.value)
            if not isinstance(value, dict):
                return None
            perms = value.get("DEFAULT_PERMISSION_CLASSES", [ALLOW_ANY])
            if not isinstance(perms, (list, tuple)) or not all(isinstance(p, str) for p in perms):
                return None
            return tuple(perms)
    return (ALLOW_ANY,)


ATOMIC_REQUESTS = re.compile(r"ATOMIC_REQUESTS['\"]?\s*(?:\]\s*=|:|=)\s*True")


def atomic_requests(cfg: Config) -> bool | None:
    """True when a settings module turns on ``ATOMIC_REQUESTS``; None when unreadable."""
    try:
        files = cfg.settings_files()
    except ConfigError:
        return None
    for path in files:
        try:
            if ATOMIC_REQUESTS.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            return None
    return False


def rule_settings(cfg: Config, codes: Iterable[str] | None = None, *, fixing: bool = False) -> dict[str, Any]:
    """The plain, picklable settings every rule receives (also part of the cache key).

    Keys that need a scan of the project to autodetect are looked up only when a selected
    rule needs them (``urls``/``middleware`` for TEN020, the tenancy core for fixes).
    """
    wanted = set(codes) if codes is not None else None
    perms = drf_default_permissions(cfg)
    onboarding = wanted is None or "TEN020" in wanted
    return {
        "tenant_field": cfg.tenant_field,
        "user_tenant_attr": cfg.user_tenant_attr,
        "tenant_setting": cfg.tenant_setting,
        "api_prefix": cfg.api_prefix,
        "tenancy_module": cfg.get("tenancy_module") if fixing else None,
        "urls": cfg.get("urls") if onboarding else None,
        "middleware": cfg.get("middleware") if onboarding else None,
        "default_permissions": list(perms) if perms is not None else None,
        **{key: list(cfg.get(key) or []) for key in ANALYSIS_KEYS},
        "atomic_requests": atomic_requests(cfg) if wanted is None or "TEN050" in wanted else None,
        **({"per_file_ignores": cfg.per_file_ignores} if fixing else {}),
    }


# -- the report ----------------------------------------------------------------------------


@dataclass
class AuditReport:
    root: Path
    rules: list[Rule]
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    problems: list[tuple[str, int, str]] = field(default_factory=list)  # unparsable / skipped files
    notes: list[str] = field(default_factory=list)
    silenced: int = 0
    unanalyzed: int = 0  # files the engine could not analyze, reported as TEN090 findings
    views: int = 0  # DRF views recognised (None of them: scaffold saw no view at all)
    views_counted: bool = False  # a view rule ran
    not_judged: list[tuple[str, int, str, str]] = field(default_factory=list)  # path, line, view, why

    @property
    def exit_code(self) -> int:
        return 1 if self.findings else 0

    @property
    def fixable(self) -> int:
        return sum(1 for f in self.findings if f.fixable)

    def summary(self) -> str:
        if not self.findings:
            head = "No findings"
        else:
            n = len(self.findings)
            head = f"Found {n} finding{'s' if n != 1 else ''}"
            if self.fixable:
                head += f" ({self.fixable} fixable with `scaffold fix`)"
        tail = f"{counted(self.scanned, 'file')} scanned"
        if self.views_counted:
            tail += (
                f", {counted(self.views, 'view')} recognised, {self.views - len(self.not_judged)} analysed"
            )
        if self.unanalyzed or self.problems:
            tail += f", {self.unanalyzed + len(self.problems)} could not be analyzed"
        return f"{head}; {tail}."

    def by_rule(self) -> list[tuple[str, str, int, int]]:
        """``(code, rule name, findings, fixable)`` per rule with findings, by code."""
        counts: dict[str, list[int]] = {}
        for f in self.findings:
            entry = counts.setdefault(f.code, [0, 0])
            entry[0] += 1
            entry[1] += int(f.fixable)
        return [(code, get_rule(code).name, n, fixable) for code, (n, fixable) in sorted(counts.items())]

    def to_text(self, *, table: bool = False) -> str:
        """One line per finding, then the summary; ``table`` (a terminal) puts a table of
        findings per rule (count, fixable) before the summary."""
        lines = []
        for f in self.findings:
            if f.line:
                lines.append(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}")
            else:
                lines.append(f"{f.path}:{f.symbol}: {f.code} {f.message}")
        for path, line, view, why in self.not_judged:
            lines.append(f"{path}:{line}: {view} not judged (review by hand): {why}")
        if table and self.findings:
            lines.append(rule_table(self.by_rule()))
        lines.append(self.summary())
        return "\n".join(lines)

    def diagnostics(self) -> list[str]:
        """Lines for stderr: files that could not be analyzed, and notes."""
        out = [f"warning: {path}:{line}: {message}" for path, line, message in self.problems]
        out += [f"note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "summary": {
                "findings": len(self.findings),
                "fixable": self.fixable,
                "files_scanned": self.scanned,
                "silenced": self.silenced,
                "views_recognised": self.views,
                "views_analysed": self.views - len(self.not_judged),
            },
            "not_judged": [
                {"path": p, "line": ln, "view": v, "reason": why} for p, ln, v, why in self.not_judged
            ],
            "errors": [{"path": p, "line": ln, "message": m} for p, ln, m in self.problems],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_sarif(self) -> str:
        return json.dumps(sarif(self), indent=2)


def rule_table(rows: list[tuple[str, str, int, int]]) -> str:
    """A small box table (rich) of ``(code, name, count, fixable)`` rows with a total row."""
    import io

    from rich.console import Console
    from rich.table import Table

    grid = Table(show_footer=True, box=None, pad_edge=False, header_style="bold")
    grid.add_column("rule", footer="total")
    grid.add_column("name")
    grid.add_column("count", justify="right", footer=str(sum(r[2] for r in rows)))
    grid.add_column("fixable", justify="right", footer=str(sum(r[3] for r in rows)))
    for code, name, count, fixable in rows:
        grid.add_row(code, name, str(count), str(fixable) if fixable else "-")
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=False, color_system=None).print(grid)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def sarif(report: AuditReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (one run, rule metadata for every selected rule)."""
    by_code = {r.code: r for r in report.rules} | {f.code: get_rule(f.code) for f in report.findings}
    rules = sorted(by_code.items())
    index = {code: i for i, (code, _) in enumerate(rules)}
    descriptors = []
    for code, rule in rules:
        descriptors.append(
            {
                "id": code,
                "name": _camel(rule.name),
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule_doc_section(rule, "What it does") or rule.summary},
                "help": {"text": rule.summary, "markdown": rule_markdown(rule)},
                "helpUri": f"{INFORMATION_URI}/blob/main/{rule.url}",
                "defaultConfiguration": {"level": "error"},
                "properties": {
                    "fixable": rule.fixable,
                    "scope": rule.scope,
                    "tags": ["security", "multi-tenancy"],
                },
            }
        )
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": "error",
            "message": {"text": f.message},
            "properties": {"fixable": f.fixable},
        }
        if f.line:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    },
                    **({"logicalLocations": [{"name": f.symbol, "kind": "type"}]} if f.symbol else {}),
                }
            ]
            result["partialFingerprints"] = {"scaffold/v1": f"{f.code}:{f.path}:{f.symbol}:{f.message}"}
        else:
            result["locations"] = [
                {
                    "logicalLocations": [
                        {"name": f.symbol, "kind": "resource", "fullyQualifiedName": f"{f.path}:{f.symbol}"}
                    ]
                }
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "scaffold",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "warning",
                                "message": {"text": message},
                                "locations": [
                                    {
                                        "physicalLocation": {
                                            "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                                            "region": {"startLine": max(line, 1)},
                                        }
                                    }
                                ],
                            }
                            for path, line, message in report.problems
                        ],
                    }
                ],
                "results": results,
            }
        ],
    }


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-"))


# -- rule docs -------------------------------------------------------------------------------


def rule_doc_section(rule: Rule, title: str) -> str:
    """The text of one ``## title`` section of a rule's doc."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", rule.doc, re.S | re.M)
    return match.group(1).strip() if match else ""


def rule_markdown(rule: Rule) -> str:
    """The rule's documentation page (what ``--explain`` prints and ``docs/rules`` holds)."""
    head, _, body = rule.doc.strip().partition("\n")
    fix = "Fix available via `scaffold fix`." if rule.fixable else "No automatic fix."
    scope = (
        " Runs only with `--database-url` (read-only catalog queries)." if rule.scope == "database" else ""
    )
    return f"# {rule.code}: {rule.name}\n\n{rule.summary}.\n\n*{fix}{scope}*\n\n{body.strip()}\n"


def list_rules_text() -> str:
    rows = [f"{r.code}  {r.name:<40} {'fix' if r.fixable else '   '}  {r.summary}" for r in all_rules()]
    return "\n".join(rows)


def explain(code: str) -> str:
    return rule_markdown(get_rule(code))


# -- opt-outs ----------------------------------------------------------------------------------


def noqa_codes(line: str) -> set[str] | None:
    """Codes silenced on a source line: None when none, the empty set when all."""
    if "noqa" not in line.lower():
        return None
    match = NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return {c.strip().upper() for c in codes.split(",")} if codes else set()


def code_silenced(code: str, codes: set[str] | None) -> bool:
    """Whether opted-out ``codes`` (None: no opt-out; empty: every rule) cover ``code``."""
    return codes is not None and (not codes or any(code.startswith(c) for c in codes))


def opted_out(code: str, line_text: str, file_codes: set[str]) -> bool:
    """Whether audit silences a finding of ``code`` reported on a line reading
    ``line_text``, in a file whose ``per_file_ignores`` codes are ``file_codes``
    (:func:`file_ignores`). ``fix`` and ``migrate-viewsets`` ask the same question."""
    return code_silenced(code, file_codes or None) or code_silenced(code, noqa_codes(line_text))


def file_ignores(rel: str, table: dict[str, list[str]]) -> set[str]:
    """The codes ``per_file_ignores`` (``table``) opts the file ``rel`` out of."""
    codes: set[str] = set()
    parts = rel.split("/")
    for glob, listed in table.items():
        if fnmatch.fnmatch(rel, glob) or ("/" not in glob and any(fnmatch.fnmatch(p, glob) for p in parts)):
            codes.update(c.upper() for c in listed)
    return codes


class _Lines:
    """Decoded lines of project files, read once each (for ``# noqa``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, list[str]] = {}

    def get(self, rel: str, line: int) -> str:
        if rel not in self.cache:
            try:
                from scaffold.engine import decode_source

                text, _ = decode_source((self.root / rel).read_bytes())
            except Exception:  # noqa: BLE001 - unreadable: nothing to silence
                text = ""
            self.cache[rel] = text.splitlines()
        lines = self.cache[rel]
        return lines[line - 1] if 0 < line <= len(lines) else ""


def apply_opt_outs(
    findings: Iterable[Finding], root: Path, per_file_ignores: dict[str, list[str]]
) -> tuple[list[Finding], int]:
    lines = _Lines(root)
    kept: list[Finding] = []
    silenced = 0
    for f in findings:
        if f.line and opted_out(f.code, lines.get(f.path, f.line), file_ignores(f.path, per_file_ignores)):
            silenced += 1
            continue
        kept.append(f)
    return kept, silenced


# -- the entry point -----------------------------------------------------------------------------


def audit(
    project: str | os.PathLike[str] | None = None,
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    select: str | Iterable[str] | None = None,
    ignore: str | Iterable[str] | None = None,
    database_url: str | None = None,
    jobs: int | None = None,
    cache: bool = True,
) -> AuditReport:
    """Audit ``project`` (or only ``paths`` in it) and return the report.

    Raises :class:`scaffold.errors.UsageError` for unknown codes, missing paths, a database
    rule selected without ``database_url``, or a database that cannot be reached.
    """
    from scaffold import engine
    from scaffold.api import load_project
    from scaffold.project import resolve_paths

    cfg = load_project(project)
    rules = select_rules(select, ignore, live=database_url is not None)
    if database_url is None:
        for sel in parse_codes(select):  # a selector naming only database rules
            matched = [r for r in all_rules() if sel == "ALL" or r.code.startswith(sel)]
            if matched and all(r.scope == "database" for r in matched):
                if len(matched) == 1 and matched[0].code == sel:
                    raise UsageError(f"{sel} queries a live database; pass --database-url URL")
                span = f"{matched[0].code}-{matched[-1].code}" if len(matched) > 1 else matched[0].code
                raise UsageError(f"{sel} ({span}) query a live database; pass --database-url URL")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be 1 or more")
    targets = resolve_paths(cfg.root, paths)
    report = AuditReport(cfg.root, rules)
    # TEN090 is on whatever --select says (a narrower selection must not make a file that
    # could not be read pass); only --ignore turns it into a warning line again
    from scaffold.rules import unanalyzed_source_file

    report_unanalyzed = not any(
        sel == "ALL" or unanalyzed_source_file.CODE.startswith(sel) for sel in parse_codes(ignore)
    )
    units = [RuleUnit(r.code, r.needles) for r in rules if r.scope == "file"]
    if units:
        files = cfg.source_files(targets)
        run = engine.run(
            units,
            files,
            root=cfg.root,
            settings=rule_settings(cfg, [r.code for r in rules]),
            jobs=jobs,
            fix=False,
            cache=cache,
        )
        report.scanned = run.scanned
        report.views_counted = any(get_rule(u.code).census is not None for u in units)
        report.views, unjudged = engine.view_census(run)
        report.not_judged = [
            (rel, m.line, m.symbol, m.message[len(engine.NOT_JUDGED) :]) for rel, m in unjudged
        ]
        for res in run.results:
            if res.status in ("unparsable", "skipped"):
                if report_unanalyzed:  # TEN090: a finding, so the run cannot pass without looking
                    report.unanalyzed += 1
                    report.findings.extend(unanalyzed_source_file.check(res))
                    continue
                msg = res.messages[0] if res.messages else None
                report.problems.append((res.rel, msg.line if msg else 1, msg.message if msg else res.status))
            for m in res.messages:
                if m.kind == "error":
                    report.problems.append((res.rel, m.line, f"{m.code}: {m.message}"))
                elif m.kind == "finding":
                    report.findings.append(
                        Finding(res.rel, m.line, m.col + 1, m.code, m.message, m.symbol, m.fixable)
                    )
                elif m.kind == "manual":
                    report.notes.append(f"{res.rel}:{m.line}: {m.code}: {m.message}")
    live = [r for r in rules if r.scope == "database"]
    if live and database_url is not None:
        from scaffold.rules._live import run_live

        report.findings.extend(run_live(live, database_url, cfg))
    report.findings, report.silenced = apply_opt_outs(report.findings, cfg.root, cfg.per_file_ignores)
    report.findings.sort(key=lambda f: (f.path, f.line, f.column, f.code, f.message))
    return report
