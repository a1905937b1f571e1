"""The command line: parse arguments, call the library API, map errors to exit codes.

Exit codes: 0 ok, 1 changes or findings, 2 usage or config error. Errors are mapped in
:func:`main` only; commands return their exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from scaffold import __version__, libcst_import
from scaffold.errors import Interrupted, ScaffoldError, UsageError

project_option = click.option(
    "--project",
    "project",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
    default=None,
    help="Django project folder (the one holding manage.py). Default: nearest parent of cwd.",
)


no_wait_option = click.option(
    "--no-wait",
    "no_wait",
    is_flag=True,
    help="Exit 2 at once when another scaffold run is changing the project (default: wait for it).",
)


def _guard(project: Path | None, *, mutating: bool, no_wait: bool = False, label: str) -> Any:
    """Mutating runs hold the project lock for their whole read-plan-write cycle; every run
    first finishes a write an earlier, killed run left half-done (see scaffold.lock)."""
    from scaffold.lock import guard

    return guard(
        project, mutating=mutating, wait=not no_wait, label=label, say=lambda m: click.echo(m, err=True)
    )


def _version_message() -> str:
    from scaffold.templates import template_version

    try:
        version = template_version("module")
    except ScaffoldError:
        version = "missing"
    return f"scaffold {__version__} (module template {version})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_message())
        ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the scaffold and module-template versions and exit.",
)
def cli() -> None:
    """Generate, migrate and audit multi-tenant Django REST Framework modules."""


@cli.command("config")
@project_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def config_cmd(project: Path | None, as_json: bool) -> int:
    """Show the project's effective [tool.scaffold] configuration and what was autodetected."""
    from scaffold import api

    with _guard(project, mutating=False, label="config"):
        report = api.describe_config(project)
    click.echo(report.to_json() if as_json else report.to_text())
    return 0


@cli.command("init")
@project_option
@click.option("--no-input", "no_input", is_flag=True, help="Do not ask; apply the detected values.")
@click.option(
    "--dry-run",
    "dry_run",
    is_flag=True,
    help="Print the plan (new files by name, diffs of edited files); write nothing (exit 1 if due).",
)
@click.option("--full", "-v", "full", is_flag=True, help="Show the diff of every file, new ones too.")
@click.option("--package", default=None, help="Package for a new tenancy core (default: tenancy).")
@click.option(
    "--allow-non-postgres",
    is_flag=True,
    help="Proceed although DATABASES['default'] is not PostgreSQL (isolation needs PostgreSQL RLS).",
)
@click.option(
    "--tenant-model",
    "tenant_model",
    default=None,
    metavar="NAME",
    help="Render a tenant model NAME (e.g. Tenant) into the tenancy core or --models-app.",
)
@click.option(
    "--user-model",
    "user_model",
    is_flag=True,
    help="Also render a custom user model with a tenant foreign key and set AUTH_USER_MODEL "
    "(only before the first migrate).",
)
@click.option(
    "--models-app",
    "models_app",
    default=None,
    metavar="APP",
    help="App for those models (default: the core).",
)
@no_wait_option
def init_cmd(
    project: Path | None,
    no_input: bool,
    dry_run: bool,
    full: bool,
    package: str | None,
    allow_non_postgres: bool,
    tenant_model: str | None,
    user_model: bool,
    models_app: str | None,
    no_wait: bool,
) -> int:
    """Record the [tool.scaffold] config and add (or record) the project's tenancy core."""
    from scaffold.init import InitResult, init_project, tenant_offer

    def confirm(result: InitResult) -> bool:
        click.echo(result.to_text(full=full))
        return click.confirm("Apply these changes?", default=True)

    interactive = not no_input and not dry_run and sys.stdin.isatty()
    if interactive and tenant_model is None and not user_model:
        question = tenant_offer(project)
        if question and click.confirm(question, default=True):
            tenant_model = click.prompt("Tenant model name", default="Tenant")
            user_model = True
    with _guard(project, mutating=not dry_run, no_wait=no_wait, label="init"):
        result = init_project(
            project,
            dry_run=dry_run,
            package=package,
            confirm=confirm if interactive else None,
            allow_non_postgres=allow_non_postgres,
            tenant_model=tenant_model,
            user_model=user_model,
            models_app=models_app,
        )
    if interactive and result.applied:
        click.echo(f"wrote {len(result.changes.changes)} file(s)")
        for step in result.next_steps():
            click.echo(f"next: {step}")
    else:
        click.echo(result.to_text(full=full))
    return 1 if dry_run and result.changes else 0


@cli.command("migrate-viewsets")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when rewrites are due.")
@click.option("--diff", is_flag=True, help="Print unified diffs; write nothing.")
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: CPU count).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Extra glob to skip (repeatable).")
@click.option("--no-cache", is_flag=True, help="Ignore and don't update .scaffold-cache/.")
@no_wait_option
def migrate_viewsets_cmd(
    paths: tuple[Path, ...],
    project: Path | None,
    check: bool,
    diff: bool,
    jobs: int | None,
    exclude: tuple[str, ...],
    no_cache: bool,
    no_wait: bool,
) -> int:
    """Rewrite DRF ViewSets and generic views to the secure tenant pattern."""
    from scaffold.migrate import migrate_viewsets
    from scaffold.progress import progress_bar

    mutating = not check and not diff
    with (
        _guard(project, mutating=mutating, no_wait=no_wait, label="migrate-viewsets"),
        progress_bar("migrate-viewsets") as progress,
    ):
        result = migrate_viewsets(
            project,
            paths,
            check=check,
            diff=diff,
            jobs=jobs,
            exclude=exclude,
            cache=not no_cache,
            progress=progress,
        )
    if diff:
        click.echo(result.diff_text(), nl=False)
    click.echo(result.summary(), err=diff)
    return result.exit_code


@cli.command("new-module")
@click.argument("name")
@project_option
@click.option("--model", default=None, help="Model class name (default: singular PascalCase of NAME).")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME:TYPE[:MOD]",
    help="A model field, repeatable: title:str, price:decimal:10,2, sku:str:unique, supplier:fk:Supplier.",
)
@click.option(
    "--protected",
    "protected_flag",
    is_flag=True,
    help="Register under PROTECTED_PATHS (needs completed onboarding).",
)
@click.option("--exempt", "exempt_flag", is_flag=True, help="Register under EXEMPT_PATHS (the default).")
@click.option("--no-input", is_flag=True, help="Never prompt; use the options and defaults.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (new files by name, diffs of edited files); write nothing (exit 1).",
)
@click.option(
    "--full", "-v", "full", is_flag=True, help="With --dry-run: the diff of every file, new ones too."
)
@click.option("--force", is_flag=True, help="Overwrite the generated files of an existing module.")
@click.option(
    "--unversioned",
    is_flag=True,
    help="Without git: generate a module that records no template version (`scaffold update` cannot update it).",
)
@click.option(
    "--allow-non-postgres",
    is_flag=True,
    help="Generate although DATABASES['default'] is not PostgreSQL (its RLS migration needs PostgreSQL).",
)
@no_wait_option
def new_module_cmd(
    name: str,
    project: Path | None,
    model: str | None,
    fields: tuple[str, ...],
    protected_flag: bool,
    exempt_flag: bool,
    no_input: bool,
    dry_run: bool,
    full: bool,
    force: bool,
    allow_non_postgres: bool,
    unversioned: bool,
    no_wait: bool,
) -> int:
    """Generate a secure, tenant-isolated business module NAME and register it."""
    from scaffold import newmodule

    if protected_flag and exempt_flag:
        raise UsageError("--protected and --exempt exclude each other; pass one (the default is --exempt)")
    protected: bool | None = True if protected_flag else False if exempt_flag else None

    if not no_input and not fields and not newmodule.interactive_possible():
        raise UsageError(
            "stdin is not a terminal, so new-module cannot ask for the model's fields: pass "
            "--no-input with a --field NAME:TYPE for each field (--no-input alone: a model without fields)"
        )
    prechecked = None
    if not no_input and newmodule.interactive_possible():
        prechecked = newmodule.precheck(
            project, name, allow_non_postgres=allow_non_postgres, unversioned=unversioned
        )
        model, fields_list, protected = newmodule.ask(name, model=model, fields=fields, protected=protected)
        fields = tuple(fields_list)
    with _guard(project, mutating=not dry_run, no_wait=no_wait, label=f"new-module {name}"):
        plan = newmodule.plan_module(
            project,
            name,
            model=model,
            fields=fields,
            protected=bool(protected),
            force=force,
            allow_non_postgres=allow_non_postgres,
            unversioned=unversioned,
            prechecked=prechecked,
        )
        if plan.up_to_date:
            click.echo(f"{name}: already up to date")
            for warning in plan.warnings:
                click.echo(f"warning: {warning}", err=True)
            return 0
        if dry_run:
            click.echo(plan.preview(full=full), nl=False)
            for warning in plan.warnings:
                click.echo(f"warning: {warning}", err=True)
            return 1
        plan.apply()
    click.echo(plan.summary())
    click.echo("next: python manage.py migrate")
    return 0


@cli.command("audit")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--select", default=None, metavar="CODES", help="Only these rule codes or prefixes (TEN001,TEN05)."
)
@click.option("--ignore", default=None, metavar="CODES", help="Skip these rule codes or prefixes.")
@click.option(
    "--database-url",
    default=None,
    envvar="SCAFFOLD_AUDIT_DATABASE_URL",
    metavar="URL",
    help="Also run the live-database rules (TEN060-TEN064), read-only, as this role.",
)
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: CPU count).")
@click.option("--no-cache", is_flag=True, help="Ignore and don't update .scaffold-cache/.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.option("--explain", default=None, metavar="CODE", help="Print the documentation of one rule and exit.")
def audit_cmd(
    paths: tuple[Path, ...],
    project: Path | None,
    fmt: str,
    select: str | None,
    ignore: str | None,
    database_url: str | None,
    jobs: int | None,
    no_cache: bool,
    list_rules: bool,
    explain: str | None,
) -> int:
    """Find tenant-isolation problems in code (and with --database-url, in the database)."""
    from scaffold import audit

    if explain:
        click.echo(audit.explain(explain), nl=False)
        return 0
    if list_rules:
        click.echo(audit.list_rules_text())
        return 0
    with _guard(project, mutating=False, label="audit"):
        report = audit.audit(
            project,
            paths,
            select=select,
            ignore=ignore,
            database_url=database_url,
            jobs=jobs,
            cache=not no_cache,
        )
    for line in report.diagnostics():
        click.echo(line, err=True)
    if fmt == "json":
        click.echo(report.to_json())
    elif fmt == "sarif":
        click.echo(report.to_sarif())
    else:
        click.echo(report.to_text(table=sys.stdout.isatty()))
    return report.exit_code


@cli.command("update")
@click.argument("modules", nargs=-1)
@click.option("--all", "all_modules", is_flag=True, help="Update every generated module.")
@project_option
@click.option(
    "--pretend", is_flag=True, help="Print the diff the update would apply; write nothing (exit 1 if due)."
)
@click.option(
    "--vcs-ref", default=None, metavar="REF", help="Template version to update to (default: this scaffold's)."
)
@click.option(
    "--conflict",
    type=click.Choice(["inline", "rej"]),
    default="inline",
    show_default=True,
    help="Conflicts as inline markers or as .rej files.",
)
@no_wait_option
def update_cmd(
    modules: tuple[str, ...],
    all_modules: bool,
    project: Path | None,
    pretend: bool,
    vcs_ref: str | None,
    conflict: str,
    no_wait: bool,
) -> int:
    """Bring generated modules forward to the current template, keeping your edits (exit 1 on conflicts)."""
    from scaffold.update import update_modules

    with _guard(project, mutating=not pretend, no_wait=no_wait, label="update"):
        report = update_modules(
            project,
            modules,
            all_modules=all_modules,
            pretend=pretend,
            vcs_ref=vcs_ref,
            conflict=conflict,  # type: ignore[arg-type]
        )
    click.echo(report.to_text())
    return report.exit_code


@cli.command("check-update", short_help="List modules whose template is behind (exit 1 if any).")
@project_option
def check_update_cmd(project: Path | None) -> int:
    """List generated modules whose template is behind this scaffold's (exit 1 if any), for CI.

    Compares the template version each module's .copier-answers.<module>.yml records
    (_commit) with the module template this scaffold ships (see `scaffold --version`).
    Writes nothing. Exit 1 when a module is behind or records no usable version: run
    `scaffold update --all` (or set _commit by hand); 0 when all are current.
    """
    from scaffold.update import check_updates

    with _guard(project, mutating=False, label="check-update"):
        report = check_updates(project)
    click.echo(report.to_text())
    return report.exit_code


@cli.command("fix")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@click.option(
    "--select",
    default=None,
    metavar="CODES",
    help="Only fix these rule codes or prefixes (default: all fixable).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when fixes are due.")
@click.option("--diff", is_flag=True, help="Print unified diffs; write nothing.")
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: CPU count).")
@click.option("--no-cache", is_flag=True, help="Ignore and don't update .scaffold-cache/.")
@no_wait_option
def fix_cmd(
    paths: tuple[Path, ...],
    project: Path | None,
    select: str | None,
    check: bool,
    diff: bool,
    jobs: int | None,
    no_cache: bool,
    no_wait: bool,
) -> int:
    """Apply the safe fixes for audit findings (migrate-viewsets is the TEN001-TEN004 subset)."""
    from scaffold.fix import fix
    from scaffold.progress import progress_bar

    with (
        _guard(project, mutating=not check and not diff, no_wait=no_wait, label="fix"),
        progress_bar("fix") as progress,
    ):
        result = fix(
            project,
            paths,
            select=select,
            check=check,
            diff=diff,
            jobs=jobs,
            cache=not no_cache,
            progress=progress,
        )
    if diff:
        click.echo(result.diff_text(), nl=False)
    click.echo(result.summary(), err=diff)
    return result.exit_code


@cli.command("probe", short_help="Prove tenant isolation over HTTP (exit 1 on leaks).")
@project_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="ROUTE_GLOB",
    help="Only routes matching this glob, e.g. '/api/crm/*' (repeatable, or comma-separated).",
)
@click.option("--fail-on-skip", is_flag=True, help="Exit 1 when a check is skipped or errors, too.")
@click.option("--keep-db", is_flag=True, help="Reuse and keep the test database (Django's --keepdb).")
def probe_cmd(
    project: Path | None, fmt: str, select: tuple[str, ...], fail_on_skip: bool, keep_db: bool
) -> int:
    """Prove tenant isolation dynamically: every DRF endpoint, two tenants, real PostgreSQL.

    Runs in the project's environment (pip install scaffold-tenancy[probe] there): sets up
    Django with the project's settings, creates and migrates a throwaway test database as
    Django's test runner does (the real database is never written), builds tenants A and
    B, then asks every endpoint of the root urlconf, as A, a user without a tenant and
    anonymous, for B's rows. Exit 0 without leaks, 1 with leaks (or skips under
    --fail-on-skip), 2 when it cannot run.
    """
    from scaffold.probe import probe

    report = probe(project, select=select, fail_on_skip=fail_on_skip, keep_db=keep_db)
    click.echo(report.to_json() if fmt == "json" else report.to_text())
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. The one place where exceptions become exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="scaffold", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            click.echo("interrupted", err=True)
            return 130
        click.echo("aborted", err=True)
        return 2
    except click.ClickException as exc:
        msg = (exc.format_message().splitlines() or ["usage error"])[0].rstrip(".")
        click.echo(f"error: {msg}; see `scaffold --help`", err=True)
        return 2
    except Interrupted as exc:
        click.echo(f"interrupted: {exc}", err=True)
        return exc.exit_code
    except ScaffoldError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:  # a file scaffold must read or write is unreadable, ...: one line
        import errno

        where = f"{exc.filename}: " if exc.filename else ""
        hint = "fix its permissions and re-run" if exc.errno in (errno.EACCES, errno.EPERM) else "re-run"
        click.echo(f"error: {where}{exc.strerror or exc}; {hint}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return int(result or 0)


# the commands whose runs keep every parsed tree (see console())
HEAP_HEAVY = frozenset(["audit", "migrate-viewsets", "fix"])


def console() -> NoReturn:
    """The ``scaffold`` console script and ``python -m scaffold``: :func:`main`, then, after
    an analysis command, leave without tearing the heap down.

    An analysis keeps every parsed tree until the end; freeing those millions of objects one
    by one at interpreter exit took 0.55 s of plane's 3.1 s ``audit -j 1`` (as mypy does, the
    process ends with ``os._exit`` once its output is flushed). By then the command has
    finished its own clean-up in ``with``/``finally`` blocks (locks, journal, temp dirs,
    worker pools, the database connection of ``audit --database-url``); nothing scaffold
    needs runs at exit. Other commands (``probe`` holds Django's connections, ``new-module``
    and ``update`` run copier) leave the normal way, and so does a run whose output cannot be
    flushed (a closed pipe: Python reports it as usual) or that runs under a tracer or
    profiler (coverage, cProfile), which writes its data at exit.

    Before that, it has libcst's matchers imported without a signature docstring per class
    (:mod:`scaffold.libcst_import`: a fifth of what the codemod framework's import costs each
    worker that rewrites a file)."""
    libcst_import.install()
    args = sys.argv[1:]
    code = main(args)
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in HEAP_HEAVY or sys.gettrace() is not None or sys.getprofile() is not None:
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code)
