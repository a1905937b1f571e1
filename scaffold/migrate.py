"""``scaffold migrate-viewsets``: bring existing DRF views up to the secure tenant pattern.

The work is done by the shared engine (:mod:`scaffold.engine`) with one unit,
:class:`MigrateViewSets`: its ``analyze`` is the stdlib-ast decision of
:mod:`scaffold.viewsets`; its ``fix`` runs the registered viewset codemods (``codemods/``)
with libcst, only on files that have something to rewrite.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold import engine
from scaffold.analysis import Settings, fingerprint
from scaffold.engine import Analysis, FileContext, ManualReview, Message
from scaffold.errors import UsageError
from scaffold.fsutil import ChangeSet
from scaffold.project import resolve_paths
from scaffold.viewsets import ViewPlan, analyze_module


class MigrateViewSets:
    """The engine unit behind ``migrate-viewsets`` (and the TEN001-TEN004 fixes)."""

    code = "migrate-viewsets"
    # the files TEN001 reads too (rules/unscoped_viewset_queryset.py): handler-only views
    # (APIView endpoints) get manual-review lines for the queries audit reports
    needles = (b"queryset", b"APIView", b"ViewSet", b"generics", b"(self, request")

    @property
    def version(self) -> str:
        """The cache key: a hash of the analysis and of the codemods' source, never bumped by hand."""
        # and this module (its fix() assembles the rewrite the cache keeps)
        return f"{fingerprint()}-{codemods_fingerprint()}-{_own_fingerprint()}"

    def analyze(self, ctx: FileContext) -> Analysis:
        settings = _settings(ctx.settings)
        plans = analyze_module(ctx.tree, ctx.text, ctx.module, ctx.path, ctx.index, settings)
        ctx.scratch[f"{self.code}:plans"] = (ctx.text, plans)  # the first codemod's plans
        left_alone = silenced_views(ctx, plans)
        plans = [plan for plan in plans if plan.name not in left_alone]
        messages = [
            Message(line, col, self.code, reason, kind="manual", symbol=plan.name)
            for plan in plans
            for line, col, reason in sorted([*plan.manual, *plan.advice])
        ]
        messages += [
            Message(plan.line, plan.col, self.code, view_verdict(plan), kind="view", symbol=plan.name)
            for plan in plans
        ]
        ctx.scratch[self.code] = {action.kind for plan in plans for action in plan.actions}
        ctx.scratch[f"{self.code}:left-alone"] = left_alone
        return Analysis(messages, fix_due=any(plan.actions for plan in plans))

    def fix(self, ctx: FileContext, text: str) -> str:
        """Run the registered viewset codemods whose kind of action is due, on one parse."""
        import libcst as cst
        from libcst.codemod import CodemodContext, SkipFile

        from scaffold.codemods import CODEMODS
        from scaffold.codemods._imports import drop_unused_added_imports, tidy_added_imports
        from scaffold.codemods._viewset import ViewsetCodemod

        settings = _settings(ctx.settings)
        due = ctx.scratch.get(self.code)
        try:
            tree = original = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise ManualReview(
                f"libcst cannot parse this file: {exc.message}", exc.raw_line, exc.raw_column
            ) from exc
        for name, cls in sorted(CODEMODS.items()):
            if not issubclass(cls, ViewsetCodemod) or (due is not None and cls.KIND not in due):
                continue
            context = CodemodContext(filename=str(ctx.path), full_module_name=ctx.module)
            command = cls(
                context, settings.tenant_field, settings.user_tenant_attr, ctx.index, settings=settings
            )
            command.known_plans = ctx.scratch.get(f"{self.code}:plans")
            command.known_tree = original  # parsed from that text (libcst round-trips it)
            try:
                tree = transform_with_light_imports(command, tree)
            except SkipFile as exc:
                raise ManualReview(f"{name}: {exc or 'cannot rewrite safely'}; file left untouched") from exc
        left_alone = ctx.scratch.get(f"{self.code}:left-alone")
        if left_alone:  # the codemods rewrite every view they find: put the silenced ones back
            tree = drop_unused_added_imports(original, _restore_classes(original, tree, left_alone))
        return tidy_added_imports(original, tree, ctx.index.is_local_package, before_code=text).code


VIEW_CODES = ("TEN001", "TEN002", "TEN003", "TEN004")
PLACEHOLDER = "__scaffold_statement_"


def transform_with_light_imports(command: Any, tree: Any) -> Any:
    """``command.transform_module(tree)``, with libcst's import pass run on a light module.

    libcst runs ``AddImportsVisitor`` after a codemod that asked for an import, over a deep
    copy of the whole module: most of a rewrite's time on long view files. What that visitor
    does depends only on the module's top-level statements (the leading imports it may extend,
    where the new ones go, one blank line before the first statement after them), so it runs
    here on the module with every class, function and other compound statement stood in for by
    a one-name placeholder, and the statements are put back in their places afterwards.
    """
    import libcst as cst
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

    tree = _transform_without_imports(command, tree)
    scratch = command.context.scratch
    if RemoveImportsVisitor.CONTEXT_KEY in scratch:  # removals need the whole module: libcst's way
        for key, visitor in (
            (AddImportsVisitor.CONTEXT_KEY, AddImportsVisitor),
            (RemoveImportsVisitor.CONTEXT_KEY, RemoveImportsVisitor),
        ):
            if key in scratch:
                tree = visitor(command.context).transform_module(tree)
        return tree
    if AddImportsVisitor.CONTEXT_KEY not in scratch:
        return tree
    stood_in: list[Any] = []
    body: list[Any] = []
    for stmt in tree.body:
        if isinstance(stmt, cst.BaseCompoundStatement):
            body.append(
                cst.SimpleStatementLine(
                    body=[cst.Expr(cst.Name(f"{PLACEHOLDER}{len(stood_in)}"))],
                    leading_lines=stmt.leading_lines,
                )
            )
            stood_in.append(stmt)
        else:
            body.append(stmt)
    light = AddImportsVisitor(command.context).transform_module(tree.with_changes(body=body))
    restored: list[Any] = []
    for stmt in light.body:
        name = _placeholder(stmt)
        if name is None:
            restored.append(stmt)
            continue
        original = stood_in[int(name[len(PLACEHOLDER) :])]
        restored.append(original.with_changes(leading_lines=stmt.leading_lines))
    return light.with_changes(body=restored)


def _transform_without_imports(command: Any, tree: Any) -> Any:
    """The codemod itself (``Codemod.transform_module``), without the import pass.

    libcst deep-copies the whole module into a ``MetadataWrapper`` before every codemod so
    that metadata (positions, qualified names) can be keyed by node. A codemod that reads no
    metadata gets the module as it is: it builds a new tree and never mutates the one given
    (a third of ``--diff``'s time on Monta's rewritten view files was these copies)."""
    from dataclasses import replace

    from libcst.codemod import Codemod
    from libcst.metadata import MetadataWrapper

    if command.get_inherited_dependencies() or command.should_allow_multiple_passes():
        return Codemod.transform_module(command, tree)
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    old = command.context.wrapper
    with command.resolve(wrapper):
        command.context = replace(command.context, wrapper=wrapper)
        try:
            return command.transform_module_impl(wrapper.module)
        finally:
            command.context = replace(command.context, wrapper=old)


def _placeholder(stmt: Any) -> str | None:
    import libcst as cst

    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.Name)
        and stmt.body[0].value.value.startswith(PLACEHOLDER)
    ):
        return stmt.body[0].value.value
    return None


def view_verdict(plan: ViewPlan) -> str:
    """The census line of one plan: the shared analysis' verdict and what migrate-viewsets
    does about it (``unscoped; rewrite``, ``not judged: <why>``, ...)."""
    verdict = (plan.verdict or "no model data").replace("-", " ")
    if plan.verdict == "unknown" or (plan.verdict == "" and plan.manual):
        return engine.NOT_JUDGED + (
            plan.manual[0][2] if plan.manual else "cannot tell how its queryset is scoped"
        )
    if plan.actions:
        verdict += "; rewrite"
    if plan.manual or plan.advice:
        verdict += "; manual review"
    return verdict


def silenced_views(ctx: FileContext, plans: Sequence[ViewPlan]) -> set[str]:
    """Views to leave alone because audit silences them: every TEN001-TEN004 finding the
    view has is silenced (``# noqa`` on the finding's line, or ``per_file_ignores``), or the
    file's ``per_file_ignores`` cover all four codes. A view with one finding left is
    rewritten whole."""
    from scaffold.audit import code_silenced, file_ignores, opted_out

    names = {plan.name for plan in plans if plan.actions or plan.manual or plan.advice}
    if not names:
        return set()
    file_codes = file_ignores(ctx.rel, ctx.settings.get("per_file_ignores") or {})
    if all(code_silenced(code, file_codes or None) for code in VIEW_CODES):
        return names
    if not file_codes and not _noqa_could_silence(ctx.text):
        return set()  # nothing can be silenced: don't run the rules
    from scaffold.rules import get_rule
    from scaffold.rules._context import FileContext as RuleContext

    rctx = RuleContext.from_engine(ctx)
    # the rules' view plans are these very plans (same analysis, settings and tree): don't
    # analyse every view of the file a second time
    rctx.__dict__.setdefault("_view_plans", list(plans))
    verdicts: dict[str, list[bool]] = {}
    try:
        for code in VIEW_CODES:
            for f in get_rule(code).check(rctx):
                silenced = bool(f.line) and opted_out(f.code, rctx.line_text(f.line), file_codes)
                verdicts.setdefault(f.symbol.split(".")[0], []).append(silenced)
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - a rule bug: audit reports it; rewrite as without opt-outs
        return set()
    return {name for name in names if verdicts.get(name) and all(verdicts[name])}


def _noqa_could_silence(text: str) -> bool:
    """Some ``# noqa`` of the file could silence one of TEN001-TEN004 (a bare one, or one
    listing such a code): only then are the rules worth running (``# noqa: E501`` is not)."""
    from scaffold.audit import code_silenced, noqa_codes

    if "noqa" not in text.lower():
        return False
    for line in text.splitlines():
        if "noqa" in line.lower():
            codes = noqa_codes(line)
            if codes is not None and any(code_silenced(code, codes) for code in VIEW_CODES):
                return True
    return False


def _restore_classes(original: Any, tree: Any, names: set[str]) -> Any:
    """``tree`` with its top-level classes named in ``names`` as they are in ``original``."""
    import libcst as cst

    before = {s.name.value: s for s in original.body if isinstance(s, cst.ClassDef)}
    body = [
        before[s.name.value]
        if isinstance(s, cst.ClassDef) and s.name.value in names and s.name.value in before
        else s
        for s in tree.body
    ]
    return tree.with_changes(body=body)


def _settings(values: Any) -> Settings:
    """The analysis' settings from the engine's (the same slice audit's rules read)."""
    from scaffold.rules._context import Settings as RuleSettings

    return RuleSettings.from_mapping(dict(values))


def _own_fingerprint() -> str:
    import hashlib

    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()


def codemods_fingerprint() -> str:
    """A hash of the viewset codemods' source (``scaffold.codemods``, the repository's
    ``codemods/``), without importing them (nor libcst). Never a top-level ``codemods``: that
    name may be the user's own package."""
    import hashlib

    folder = Path(__file__).resolve().parent / "codemods"
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(folder.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class MigrateResult:
    report: engine.RunReport
    changes: ChangeSet
    check: bool
    diff: bool
    applied: bool

    @property
    def exit_code(self) -> int:
        """``--check``: 1 when rewrites are due or a file that could need one was not
        analyzed (unreadable, over 1 MB, not decodable, not parsable: TEN090)."""
        return 1 if self.check and (self.report.rewritten or self.report.unanalyzed) else 0

    def diff_text(self) -> str:
        return self.changes.diff(self.report.root)

    def summary(self) -> str:
        r = self.report
        verb = "rewritten" if self.applied else "to rewrite"
        lines = []
        for res in r.rewritten:
            lines.append(f"{'rewrote' if self.applied else 'would rewrite'} {res.rel}")
        for res, msg in r.manual:
            lines.append(f"{res.rel}:{msg.line}: manual review: {msg.message}")
        lines += engine.problem_lines(r)
        manual_files = len({res.rel for res, _ in r.manual})
        lines.append(
            f"{engine.counted(r.scanned, 'file')} scanned, {engine.census_line(r)}, {len(r.rewritten)} {verb}, "
            f"{manual_files} need manual review ({engine.counted(len(r.manual), 'place')}), "
            f"{engine.problem_counts(r)}"
        )
        return "\n".join(lines)


def migrate_viewsets(
    project: str | os.PathLike[str] | None = None,
    paths: Sequence[str | os.PathLike[str]] = (),
    *,
    check: bool = False,
    diff: bool = False,
    jobs: int | None = None,
    exclude: Iterable[str] = (),
    cache: bool = True,
    progress: engine.ProgressFn | None = None,
) -> MigrateResult:
    """Rewrite the project's DRF views to the secure pattern (or, with check/diff, only report).

    Writes are all-or-nothing (:class:`scaffold.fsutil.ChangeSet`), each one atomic.
    """
    from scaffold.api import load_project
    from scaffold.audit import rule_settings

    cfg = load_project(project)
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be 1 or more")
    starts = resolve_paths(cfg.root, paths)
    files = cfg.source_files(starts, exclude)
    # the rules' settings too: views whose TEN001-TEN004 findings are silenced are left alone
    settings = {**rule_settings(cfg, VIEW_CODES), "per_file_ignores": cfg.per_file_ignores}
    report = engine.run(
        [MigrateViewSets()],
        files,
        root=cfg.root,
        settings=settings,
        jobs=jobs,
        # --check trusts the ast decision (the codemods re-run that same analysis): libcst
        # runs only when bytes are needed, for --diff and for writing
        fix=not check or diff,
        need_bytes=not check or diff,
        cache=cache,
        progress=progress,
    )
    changes = engine.changeset(report)
    applied = False
    if changes and not check and not diff:
        changes.apply()
        applied = True
    return MigrateResult(report, changes, check, diff, applied)
