"""Real-world evaluation of ``scaffold audit`` (TEN001-TEN004) and ``scaffold migrate-viewsets``.

The code bases are public multi-tenant Django/DRF projects, extracted (never committed) under one
corpus folder, one sub-folder per code base name. ``benchmarks/realworld/manifest.toml`` names each
one (repository, pinned commit, project root inside the extract, tenancy idiom, the
``[tool.scaffold]`` keys it needs); ``benchmarks/realworld/<name>.csv`` holds the hand labels, one
row per view: ``repo,commit,path,class,label,reason`` with label ``scoped`` / ``unscoped`` /
``not-tenant-data``.

For each labelled code base present in the corpus this script copies the project root to a temp
dir (the corpus is never modified), writes the configuration into the copy's ``pyproject.toml``,
runs ``scaffold audit --select TEN001,TEN002,TEN003,TEN004 --format json`` and
``scaffold migrate-viewsets --diff`` (which writes nothing), attributes every finding, diff hunk
and "manual review" line to the class it sits in, and compares with the labels:

- TEN001 true positives (flagged, labelled unscoped), false positives (flagged, labelled scoped or
  not-tenant-data), false negatives (labelled unscoped, not flagged); precision and recall;
- migrate-viewsets rewrites and manual-review claims on views labelled scoped / not-tenant-data;
- per-view agreement: audit flags a view (TEN001) or lists it as not judged (``not_judged`` in
  its JSON: review by hand) exactly when migrate-viewsets rewrites it or asks for manual review.

It runs whatever scaffold you point it at, so another branch can measure itself::

    python benchmarks/realworld.py --corpus /work/corpus
    python benchmarks/realworld.py --corpus /work/corpus --scaffold /work/wt/i11b/.venv/bin/scaffold
    python benchmarks/realworld.py --corpus /work/corpus --only monta --json out.json

"views recognised" / "views analysable" are printed when the scaffold under test reports them (a
key of the audit JSON ``summary`` or a "N views recognised"/"N ... analys..." phrase in the
migrate-viewsets summary line); otherwise the column shows ``-``.

Labels are facts about the code at the pinned commit; the corpus must be extracted at that commit
(see ``benchmarks/realworld/README.md``).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import tomllib

HERE = Path(__file__).resolve().parent / "realworld"
LABELS = ("scoped", "unscoped", "not-tenant-data")
AUDIT_CODES = "TEN001,TEN002,TEN003,TEN004"
IGNORE_DIRS = ("node_modules", ".git", "__pycache__", ".scaffold-cache", "frontend", "static")
UNKNOWN_KEY = re.compile(r"unknown key \[tool\.scaffold\] (\w+)")
MANUAL = re.compile(r"^(?P<path>[^:\s][^:]*):(?P<line>\d+): manual review: (?P<msg>.*)$")


def fail(message: str) -> NoReturn:
    """Bad input: one line naming the problem and the fix, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


@dataclass
class Codebase:
    name: str
    repo: str
    commit: str
    root: str
    tenancy: str
    config: dict[str, Any]
    labels: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    files: int | None = None
    views_labelled: int = 0
    by_label: dict[str, int] = field(default_factory=dict)
    views_recognised: int | None = None
    views_analysable: int | None = None
    tp: list[str] = field(default_factory=list)
    fp: list[str] = field(default_factory=list)
    fn: list[str] = field(default_factory=list)
    unlabelled_findings: list[str] = field(default_factory=list)
    other_codes: dict[str, int] = field(default_factory=dict)
    rewrites: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)
    rewrites_on_safe: list[str] = field(default_factory=list)
    manual_on_safe: list[str] = field(default_factory=list)
    not_judged: list[str] = field(default_factory=list)  # labelled views audit could not judge
    disagreements: list[str] = field(default_factory=list)
    audit_seconds: float = 0.0
    migrate_seconds: float = 0.0
    dropped_keys: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    audit_summary: dict[str, Any] = field(default_factory=dict)
    migrate_summary: str = ""

    @property
    def precision(self) -> float | None:
        n = len(self.tp) + len(self.fp)
        return len(self.tp) / n if n else None

    @property
    def recall(self) -> float | None:
        n = len(self.tp) + len(self.fn)
        return len(self.tp) / n if n else None

    @property
    def agreement(self) -> str:
        return f"{self.views_labelled - len(self.disagreements)}/{self.views_labelled}"


def load_manifest(labels_dir: Path) -> list[Codebase]:
    data = tomllib.loads((labels_dir / "manifest.toml").read_text(encoding="utf-8"))
    out = []
    for entry in data["codebase"]:
        cb = Codebase(
            name=entry["name"],
            repo=entry["repo"],
            commit=entry["commit"],
            root=entry.get("root", "."),
            tenancy=entry.get("tenancy", ""),
            config={**entry.get("config", {}), **entry.get("config_next", {})},
        )
        label_file = labels_dir / f"{cb.name}.csv"
        if label_file.exists():
            with label_file.open(encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    if row["label"] not in LABELS:
                        fail(
                            f"{label_file}: bad label {row['label']!r} for {row['class']}; use one of {', '.join(LABELS)}"
                        )
                    if row["commit"] != cb.commit:
                        fail(
                            f"{label_file}: {row['class']} labelled at {row['commit']}, manifest pins {cb.commit};"
                            " relabel or fix the manifest"
                        )
                    cb.labels[(row["path"], row["class"])] = row["label"]
        out.append(cb)
    return out


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(project: Path, config: dict[str, Any]) -> None:
    """Append a [tool.scaffold] table to the copy's pyproject.toml (the copy has none of its own)."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
    if text:
        existing = tomllib.loads(text).get("tool", {}).get("scaffold")
        if existing is not None:
            fail(f"{pyproject} already has [tool.scaffold]; the manifest config would conflict")
    lines = ["", "[tool.scaffold]", *(f"{k} = {toml_value(v)}" for k, v in config.items()), ""]
    pyproject.write_text(text + "\n".join(lines), encoding="utf-8")


def class_spans(path: Path) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of every top-level class, decorators included."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return []
    spans = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans.append((start, node.end_lineno or node.lineno, node.name))
    return spans


class ClassLocator:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache: dict[str, list[tuple[int, int, str]]] = {}

    def spans(self, rel: str) -> list[tuple[int, int, str]]:
        if rel not in self.cache:
            self.cache[rel] = class_spans(self.root / rel)
        return self.cache[rel]

    def at(self, rel: str, line: int) -> str | None:
        for start, end, name in self.spans(rel):
            if start <= line <= end:
                return name
        return None

    def before(self, rel: str, line: int) -> str | None:
        """The class an indented insertion after old line ``line`` belongs to."""
        best = None
        for start, _end, name in self.spans(rel):
            if start <= line:
                best = name
        return best


def changed_classes(diff: str, locate: ClassLocator) -> dict[str, set[str]]:
    """Map file -> classes a unified diff touches (old-file line numbers; imports ignored)."""
    out: dict[str, set[str]] = {}
    path = None
    old_line = 0
    for raw in diff.splitlines():
        if raw.startswith("--- "):
            continue
        if raw.startswith("+++ "):
            target = raw[4:].strip()
            path = target[2:] if target.startswith("b/") else target
            continue
        hunk = re.match(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", raw)
        if hunk:
            old_line = int(hunk.group(1))
            continue
        if path is None:
            continue
        if raw.startswith("-"):
            name = locate.at(path, old_line)
            if name:
                out.setdefault(path, set()).add(name)
            old_line += 1
        elif raw.startswith("+"):
            body = raw[1:]
            if body.strip() and body[:1].isspace():
                name = locate.at(path, old_line) or locate.before(path, old_line - 1)
                if name:
                    out.setdefault(path, set()).add(name)
        else:
            old_line += 1
    return out


def run(cmd: list[str], cwd: Path) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started


def run_with_config(
    cmd: list[str], project: Path, cb: Codebase, result: Result
) -> tuple[int, str, str, float]:
    """Run; when this scaffold refuses a manifest key as unknown, drop it, say so, and retry."""
    while True:
        rc, out, err, secs = run(cmd, project)
        match = UNKNOWN_KEY.search(err + out) if rc == 2 else None
        if not match:
            return rc, out, err, secs
        key = match.group(1)
        result.dropped_keys.append(key)
        config = {k: v for k, v in cb.config.items() if k not in result.dropped_keys}
        pyproject = project / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(text.split("\n[tool.scaffold]\n")[0], encoding="utf-8")
        write_config(project, config)


def view_counts(summary: dict[str, Any], text: str) -> tuple[int | None, int | None]:
    recognised = analysable = None
    for key, value in summary.items():
        if isinstance(value, int) and "view" in key:
            if "recogni" in key or key in ("views", "views_found"):
                recognised = value
            elif "analy" in key:
                analysable = value
    if recognised is None:
        m = re.search(r"(\d+) views? recogni[sz]ed", text)
        recognised = int(m.group(1)) if m else None
    if analysable is None:
        m = re.search(r"(\d+)(?: views?)?(?: \w+)? analy[sz]", text)
        analysable = int(m.group(1)) if m else None
    return recognised, analysable


def evaluate(
    cb: Codebase,
    corpus: Path,
    scaffold: str,
    jobs: int | None,
    select: str = AUDIT_CODES,
    agree_codes: frozenset[str] = frozenset({"TEN001"}),
) -> Result:
    result = Result(name=cb.name, views_labelled=len(cb.labels))
    for label in LABELS:
        result.by_label[label] = sum(1 for v in cb.labels.values() if v == label)
    source = corpus / cb.name / cb.root
    if not (source / "manage.py").exists() and not source.is_dir():
        result.errors.append(f"{source} missing: extract {cb.repo}@{cb.commit} there")
        return result
    with tempfile.TemporaryDirectory(prefix=f"realworld-{cb.name}-") as tmp:
        project = Path(tmp) / cb.name
        shutil.copytree(source, project, ignore=shutil.ignore_patterns(*IGNORE_DIRS), symlinks=True)
        write_config(project, cb.config)
        jobs_args = ["-j", str(jobs)] if jobs else []
        rc, out, err, result.audit_seconds = run_with_config(
            [scaffold, "audit", "--select", select, "--format", "json", "--no-cache", *jobs_args],
            project,
            cb,
            result,
        )
        if rc not in (0, 1):
            result.errors.append(f"audit exit {rc}: {(err or out).strip()[:300]}")
            return result
        report = json.loads(out)
        result.audit_summary = report.get("summary", {})
        result.files = result.audit_summary.get("files_scanned")
        locate = ClassLocator(project)
        flagged: set[tuple[str, str]] = set()
        not_clean: set[tuple[str, str]] = set()
        audit_manual: set[tuple[str, str]] = set()
        for entry in report.get("not_judged", report.get("summary", {}).get("not_judged", [])) or []:
            view = (entry.get("view") or "").split(".")[0]
            names = {n for _s, _e, n in locate.spans(entry["path"])}
            name = view if view in names else locate.at(entry["path"], entry.get("line", 0))
            audit_manual.add((entry["path"], name or f"<line {entry.get('line')}>"))
        for finding in report.get("findings", []):
            code = finding["code"]
            symbol = (finding.get("symbol") or "").split(".")[0]
            names = {n for _s, _e, n in locate.spans(finding["path"])}
            name = symbol if symbol in names else locate.at(finding["path"], finding["line"])
            key = (finding["path"], name or f"<line {finding['line']}>")
            if code in agree_codes:
                not_clean.add(key)
            if code == "TEN001":
                flagged.add(key)
            else:
                result.other_codes[code] = result.other_codes.get(code, 0) + 1
        rc, out, err, result.migrate_seconds = run_with_config(
            [scaffold, "migrate-viewsets", "--diff", "--no-cache", *jobs_args], project, cb, result
        )
        if rc not in (0, 1):
            result.errors.append(f"migrate-viewsets exit {rc}: {(err or out).strip()[:300]}")
            return result
        text = out + "\n" + err
        summary_lines = [ln for ln in text.splitlines() if "files scanned" in ln]
        result.migrate_summary = summary_lines[-1] if summary_lines else ""
        rewritten = {(p, c) for p, classes in changed_classes(out, locate).items() for c in classes}
        manual: set[tuple[str, str]] = set()
        for line in text.splitlines():
            m = MANUAL.match(line.strip())
            if m:
                name = locate.at(m.group("path"), int(m.group("line")))
                manual.add((m.group("path"), name or f"<line {m.group('line')}>"))
        result.views_recognised, result.views_analysable = view_counts(
            result.audit_summary, result.migrate_summary
        )

    fmt = "{0[0]}:{0[1]}".format
    for key, label in sorted(cb.labels.items()):
        audit_says = key in flagged
        if label == "unscoped":
            (result.tp if audit_says else result.fn).append(fmt(key))
        elif audit_says:
            result.fp.append(fmt(key) + f" ({label})")
        if label != "unscoped":
            if key in rewritten:
                result.rewrites_on_safe.append(fmt(key) + f" ({label})")
            if key in manual:
                result.manual_on_safe.append(fmt(key) + f" ({label})")
        if key in audit_manual:
            result.not_judged.append(fmt(key) + f" ({label})")
        migrate_says = key in rewritten or key in manual
        audit_not_clean = key in not_clean or key in audit_manual
        if audit_not_clean != migrate_says:
            audit_verdict = "flagged" if key in not_clean else "manual" if key in audit_manual else "clean"
            result.disagreements.append(
                fmt(key) + f" audit={audit_verdict}"
                f" migrate={'rewrite' if key in rewritten else 'manual' if key in manual else 'clean'}"
            )
    result.unlabelled_findings = sorted(fmt(k) for k in flagged if k not in cb.labels)
    result.rewrites = sorted(fmt(k) for k in rewritten)
    result.manual = sorted(fmt(k) for k in manual)
    return result


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def opt(value: int | None) -> str:
    return "-" if value is None else str(value)


COLUMNS = (
    ("code base", lambda r: r.name),
    ("files", lambda r: opt(r.files)),
    (
        "labelled (s/u/n)",
        lambda r: (
            f"{r.views_labelled} ({r.by_label['scoped']}/{r.by_label['unscoped']}/{r.by_label['not-tenant-data']})"
        ),
    ),
    ("recognised", lambda r: opt(r.views_recognised)),
    ("analysable", lambda r: opt(r.views_analysable)),
    ("TEN001 TP", lambda r: str(len(r.tp))),
    ("FP", lambda r: str(len(r.fp))),
    ("FN", lambda r: str(len(r.fn))),
    ("precision", lambda r: ratio(r.precision)),
    ("recall", lambda r: ratio(r.recall)),
    ("rewrites on safe", lambda r: str(len(r.rewrites_on_safe))),
    ("manual on safe", lambda r: str(len(r.manual_on_safe))),
    ("audit not judged", lambda r: str(len(r.not_judged))),
    ("agree", lambda r: r.agreement),
    ("audit s", lambda r: f"{r.audit_seconds:.1f}"),
    ("migrate s", lambda r: f"{r.migrate_seconds:.1f}"),
)


def table(results: list[Result]) -> str:
    rows = [[h for h, _ in COLUMNS]] + [[f(r) for _, f in COLUMNS] for r in results]
    head = "| " + " | ".join(rows[0]) + " |"
    sep = "|" + "|".join("---" for _ in rows[0]) + "|"
    return "\n".join([head, sep, *("| " + " | ".join(row) + " |" for row in rows[1:])])


def default_scaffold() -> str:
    here = Path(sys.executable).parent / "scaffold"
    if here.exists():
        return str(here)
    found = shutil.which("scaffold")
    if not found:
        fail("no scaffold executable found; pass --scaffold PATH")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, required=True, help="folder holding the extracted code bases by name"
    )
    parser.add_argument(
        "--scaffold", default=None, help="scaffold executable to measure (default: this venv's)"
    )
    parser.add_argument("--labels", type=Path, default=HERE, help="folder with manifest.toml and <name>.csv")
    parser.add_argument("--only", action="append", default=[], help="code base name (repeatable)")
    parser.add_argument(
        "--select", default=AUDIT_CODES, help=f"audit rule codes to run (default {AUDIT_CODES})"
    )
    parser.add_argument(
        "--agree-codes",
        default="TEN001",
        help="codes that make audit's verdict on a view 'not clean' when comparing with migrate-viewsets "
        "(default TEN001; add a cannot-judge code once audit has one)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=None, help="passed to scaffold -j")
    parser.add_argument("--json", type=Path, default=None, help="also write every detail as JSON here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list FP/FN/disagreements per code base")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: --corpus {args.corpus} is not a folder; extract the code bases there", file=sys.stderr)
        return 2
    # a path given relative to here: the commands run with the copied project as their cwd
    scaffold = os.path.abspath(args.scaffold) if args.scaffold and os.sep in args.scaffold else args.scaffold
    scaffold = scaffold or default_scaffold()
    codebases = [
        cb for cb in load_manifest(args.labels) if cb.labels and (not args.only or cb.name in args.only)
    ]
    results = []
    for cb in codebases:
        if not (args.corpus / cb.name).is_dir():
            print(
                f"skip {cb.name}: {args.corpus / cb.name} missing (extract {cb.repo}@{cb.commit})",
                file=sys.stderr,
            )
            continue
        agree = frozenset(c.strip() for c in args.agree_codes.split(",") if c.strip())
        results.append(evaluate(cb, args.corpus, scaffold, args.jobs, args.select, agree))
    print(table(results))
    for r in results:
        notes = []
        if r.errors:
            notes.append("errors: " + "; ".join(r.errors))
        if r.dropped_keys:
            notes.append("config keys this scaffold does not know (dropped): " + ", ".join(r.dropped_keys))
        if r.other_codes:
            notes.append("other findings: " + ", ".join(f"{c} {n}" for c, n in sorted(r.other_codes.items())))
        if r.unlabelled_findings:
            notes.append(f"{len(r.unlabelled_findings)} TEN001 findings on classes not labelled as views")
        if r.migrate_summary:
            notes.append("migrate-viewsets: " + r.migrate_summary.strip())
        if notes:
            print(f"\n{r.name}: " + "\n  ".join(notes))
        if args.verbose:
            for title, items in (
                ("false positives", r.fp),
                ("false negatives", r.fn),
                ("rewrites on scoped/not-tenant-data", r.rewrites_on_safe),
                ("manual review on scoped/not-tenant-data", r.manual_on_safe),
                ("audit: not judged (review by hand)", r.not_judged),
                ("audit/migrate disagreements", r.disagreements),
                ("TEN001 on unlabelled classes", r.unlabelled_findings),
            ):
                if items:
                    print(f"  {title} ({len(items)}):")
                    for item in items:
                        print(f"    {item}")
    if args.json:
        payload = [
            dict(r.__dict__, precision=r.precision, recall=r.recall, scaffold=scaffold) for r in results
        ]
        args.json.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
