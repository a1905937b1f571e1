"""``scaffold new-module`` without a database: validation, dry run, idempotency, atomicity,
registration in odd project layouts, and the interactive (questionary) flow.

Everything runs in-process through ``scaffold.cli.main`` (no Django is imported); the
target projects are a copy of ``examples/legacy_erp`` and small synthetic projects.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from scaffold import newmodule
from scaffold.cli import main
from scaffold.errors import ConfigError, UsageError
from tests.helpers.djproject import copy_example, git


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example("legacy_erp", tmp_path_factory.mktemp("nm") / "legacy_erp").root


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def run(root: Path, *args: str) -> int:
    return main(["new-module", *args, "--project", str(root)])


# -- pure helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "model", "segment"),
    [
        ("inventory", "Inventory", "inventories"),
        ("purchase_orders", "PurchaseOrder", "purchase-orders"),
        ("categories", "Category", "categories"),
        ("boxes", "Box", "boxes"),
        ("addresses", "Address", "addresses"),
        ("status", "Status", "statuses"),
        ("hr", "Hr", "hrs"),
        ("news", "News", "news"),
        ("series", "Series", "series"),
        ("analyses", "Analysis", "analyses"),
        ("children", "Child", "children"),
        ("quizzes", "Quiz", "quizzes"),
        ("people", "Person", "people"),
        ("crisis_notes", "CrisisNote", "crisis-notes"),
    ],
)
def test_default_model_and_url_segment(module: str, model: str, segment: str) -> None:
    assert newmodule.default_model_name(module) == model
    assert newmodule.collection_segment(model) == segment


def test_collection_segment_is_kebab_plural() -> None:
    assert newmodule.collection_segment("StockItem") == "stock-items"
    assert newmodule.collection_segment("HTTPLog") == "http-logs"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "title:str",
            {"name": "title", "type": "str", "max_length": 255, "unique": False, "optional": False},
        ),
        (
            "sku:str:64:unique",
            {"name": "sku", "type": "str", "max_length": 64, "unique": True, "optional": False},
        ),
        (
            "price:decimal:12,3",
            {
                "name": "price",
                "type": "decimal",
                "max_digits": 12,
                "decimal_places": 3,
                "unique": False,
                "optional": False,
            },
        ),
        (
            "price:decimal",
            {
                "name": "price",
                "type": "decimal",
                "max_digits": 10,
                "decimal_places": 2,
                "unique": False,
                "optional": False,
            },
        ),
        ("notes:text:optional", {"name": "notes", "type": "text", "unique": False, "optional": True}),
        (
            "mail:email",
            {"name": "mail", "type": "email", "max_length": 254, "unique": False, "optional": False},
        ),
        ("data:json", {"name": "data", "type": "json", "unique": False, "optional": False}),
    ],
)
def test_parse_field(spec: str, expected: dict) -> None:
    assert newmodule.parse_field(spec).answers() == expected


def test_parse_fk_field() -> None:
    f = newmodule.parse_field("supplier:fk:purchasing.Supplier:optional")
    assert (f.type, f.target, f.optional) == ("fk", "purchasing.Supplier", True)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("price:money", "unknown type 'money'"),
        ("price", "expected NAME:TYPE"),
        ("Price:str", "lower-case identifier"),
        ("class:str", "Python keyword"),
        ("id:str", "reserved"),
        ("tenant_id:uuid", "reserved"),
        ("a__b:str", "lower-case identifier"),
        ("flag:bool:unique", "cannot be unique"),
        ("sku:str:unique:optional", "cannot be optional"),
        ("price:decimal:2,5", "PLACES <= DIGITS"),
        ("name:str:wide", "unknown modifier 'wide'"),
        ("owner:fk", "names its model"),
        ("owner:fk:supplier", "names its model"),
        ("tenant_id:str", "clashes with the tenant column 'tenant_id'"),
        ("tenant:fk:Warehouse", "clashes with the tenant column 'tenant_id'"),
        ("tenant:str", "clashes with the tenant column 'tenant_id'"),
        ("pk:int", "reserved"),
        ("objects:str", "reserved"),
        ("created_at:date", "reserved"),
        ("updated_at:datetime", "reserved"),
        ("name:str:100:200", "modifier '200' conflicts with '100'; keep one"),
        ("name:str:unique:unique", "modifier 'unique' is given twice"),
        ("name:str:optional:null", "modifier 'null' conflicts with 'optional'"),
        ("price:decimal:10,2:12,3", "modifier '12,3' conflicts with '10,2'"),
        ("flag:bool:optional", "a bool field cannot take 'optional' (it takes no modifiers)"),
        ("data:json:optional", "a json field cannot take 'optional' (it takes no modifiers)"),
        ("notes:text:unique", "a text field cannot be unique (it takes only optional)"),
        ("qty:int:100", "an int field cannot take '100' (it takes only unique, optional)"),
        ("price:decimal:100", "cannot take '100'"),
        ("name:str:10,2", "cannot take '10,2'"),
        ("owner:fk:Supplier:64", "cannot take '64'"),
    ],
)
def test_parse_field_refuses(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=None) as info:
        newmodule.parse_field(spec)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


# -- bad input: exit 2, one line, nothing written ----------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["Inventory"], "lower-case Python identifier"),
        (["class"], "Python keyword"),
        (["json"], "standard library"),
        (["crm"], "installed app 'crm'"),
        (["custom_auth"], "installed app 'custom_auth'"),
        (["rest_framework"], "reserved"),
        (["psycopg"], "installed top-level package"),
        (["scripts"], "was not generated by scaffold"),
        (["erp", "--force"], "was not generated by scaffold"),
        (["stock", "--field", "price:money"], "unknown type 'money'"),
        (["stock", "--field", "Price:str"], "lower-case identifier"),
        (["stock", "--field", "for:str"], "Python keyword"),
        (["stock", "--field", "a:str", "--field", "a:int"], "given twice"),
        (["stock", "--field", "place:fk:Nowhere"], "no model Nowhere"),
        (["stock", "--field", "user:fk:custom_auth.UserSession"], "has no tenant_id column"),
        (["stock", "--field", "tenant:fk:purchasing.Supplier"], "clashes with the tenant column"),
        (["stock", "--field", "group:fk:auth.Group"], "auth.Group is not a tenant model"),
        (["stock", "--field", "parent:fk:Stock"], "a foreign key from Stock to itself is not supported"),
        (["stock", "--field", "parent:fk:stock.Stock"], "from Stock to itself is not supported"),
        (["stock", "--field", "owner:fk:custom_auth.User"], "is the user model (AUTH_USER_MODEL)"),
        (["stock", "--field", "owner:fk:User"], "add a plain ForeignKey(settings.AUTH_USER_MODEL)"),
        (["stock", "--model", "stock"], "PascalCase"),
        (["stock", "--model", "TenantManager"], "uses that name"),
        (["stock", "--protected", "--exempt"], "--protected and --exempt exclude each other"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    legacy: Path, args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(legacy)
    assert run(legacy, *args, "--no-input") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err
    assert snapshot(legacy) == before
    assert git(legacy, "status", "--porcelain") == ""


# -- dry run, second run, --force ----------------------------------------------------------


def test_dry_run_prints_every_diff_and_writes_nothing(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(legacy)
    assert run(legacy, "stock", "--no-input", "--field", "name:str", "--dry-run", "--full") == 1
    out = capsys.readouterr().out
    for path in (
        "stock/models.py",
        "stock/views.py",
        "stock/migrations/0001_initial.py",
        "stock/migrations/0002_stock_rls.py",
        "stock/tests/test_tenant_isolation.py",
        ".copier-answers.stock.yml",
    ):
        assert f"--- /dev/null\n+++ b/{path}\n" in out, path
    assert "+++ b/erp/settings.py\n" in out and '+    "stock",\n' in out
    assert '+    path("api/stock/", include("stock.urls")),\n' in out
    assert '+        "/api/stock/",\n' in out
    assert snapshot(legacy) == before


@pytest.fixture()
def scratch(tmp_path: Path) -> Path:
    return copy_example("legacy_erp", tmp_path / "legacy_erp").root


def test_second_run_up_to_date_and_changes_need_force(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(scratch, "stock", "--no-input", "--field", "name:str") == 0
    first = snapshot(scratch)
    capsys.readouterr()
    assert run(scratch, "stock", "--no-input", "--field", "name:str") == 0
    assert capsys.readouterr().out == "stock: already up to date\n"
    assert snapshot(scratch) == first
    # a different request over an existing module is refused without --force ...
    assert run(scratch, "stock", "--no-input", "--field", "name:str", "--field", "qty:int") == 2
    assert "--force" in capsys.readouterr().err
    assert snapshot(scratch) == first
    # ... and applied with it; the registration is not duplicated
    assert run(scratch, "stock", "--no-input", "--field", "name:str", "--field", "qty:int", "--force") == 0
    assert "qty = models.IntegerField()" in (scratch / "stock/models.py").read_text()
    assert (scratch / "erp/settings.py").read_text().count('"stock"') == 1
    assert (scratch / "erp/urls.py").read_text().count("stock.urls") == 1
    # the same module can never be both exempt and protected
    assert (
        run(
            scratch,
            "stock",
            "--no-input",
            "--field",
            "name:str",
            "--field",
            "qty:int",
            "--protected",
            "--force",
        )
        == 2
    )
    assert "never in both lists" in capsys.readouterr().err


def test_unparsable_urls_is_refused_and_nothing_is_written(
    scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = scratch / "erp/urls.py"
    urls.write_text(urls.read_text() + "\nurlpatterns += [\n")
    before = snapshot(scratch)
    assert run(scratch, "stock", "--no-input", "--field", "name:str") == 2
    assert "erp/urls.py: cannot parse" in capsys.readouterr().err
    assert snapshot(scratch) == before


def test_failure_while_writing_restores_every_file(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Atomicity: the write of the middleware (the last edit) fails; everything is rolled back."""
    from scaffold import journal

    before = snapshot(scratch)
    plan = newmodule.plan_module(scratch, "stock", fields=["name:str"])
    real = journal.stage

    def failing(path: Path, temp: Path, data: bytes, mode: int | None) -> None:
        if path.name == "onboarding_middleware.py" and b"/api/stock/" in data:
            raise OSError("disk full (injected)")
        real(path, temp, data, mode)

    monkeypatch.setattr(journal, "stage", failing)
    from scaffold.errors import OperationFailed

    with pytest.raises(
        OperationFailed, match=r"onboarding_middleware.py: disk full \(injected\); every file was left"
    ):
        plan.apply()
    assert snapshot(scratch) == before
    assert not (scratch / "stock").exists()


# -- registration in other project layouts ------------------------------------------------

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

CORE = """\
from django.db import models


def set_tenant_context(tenant_id):
    pass


class TenantManager(models.Manager):
    pass
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_settings_package_tuple_and_module_level_constants(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.format(settings="conf.settings"),
            "conf/__init__.py": "",
            "conf/settings/__init__.py": "from .base import *  # noqa\n",
            "conf/settings/base.py": """\
            ROOT_URLCONF = "conf.urls"
            INSTALLED_APPS = (
                "django.contrib.auth",
                "rest_framework",
                "core",  # the tenancy core
            )
            """,
            "conf/urls.py": """\
            from django.urls import path

            urlpatterns = [
                # the API
            ]
            """,
            "core/__init__.py": "",
            "core/rls.py": CORE,
            "accounts/__init__.py": "",
            "accounts/onboarding.py": """\
            EXEMPT_PATHS = ("/api/auth/",)  # open during onboarding
            PROTECTED_PATHS = ("/api/billing/",)


            def middleware(get_response):
                return get_response
            """,
        },
    )
    plan = newmodule.plan_module(tmp_path, "stock", fields=["name:str"])
    assert plan.url == "/api/stock/stocks/"
    plan.apply()
    base = (tmp_path / "conf/settings/base.py").read_text()
    assert '    "core",  # the tenancy core\n    "stock",\n)' in base
    urls = (tmp_path / "conf/urls.py").read_text()
    assert "from django.urls import include, path" in urls
    assert 'path("api/stock/", include("stock.urls")),' in urls and "# the API" in urls
    onboarding = (tmp_path / "accounts/onboarding.py").read_text()
    assert 'EXEMPT_PATHS = ("/api/auth/", "/api/stock/")  # open during onboarding' in onboarding
    assert "from core.rls import TenantManager" in (tmp_path / "stock/models.py").read_text()
    # idempotent
    assert newmodule.plan_module(tmp_path, "stock", fields=["name:str"]).up_to_date
    # --protected lands in the other list of a second module
    newmodule.plan_module(tmp_path, "billing_runs", protected=True).apply()
    onboarding = (tmp_path / "accounts/onboarding.py").read_text()
    assert 'PROTECTED_PATHS = ("/api/billing/", "/api/billing_runs/")' in onboarding


def test_missing_targets_name_the_file_and_the_config_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.format(settings="site_conf"),
            "site_conf.py": 'ROOT_URLCONF = "site_urls"\nINSTALLED_APPS = ["core"]\n',
            "site_urls.py": "from django.urls import path\n\nurlpatterns = build_patterns()\n",
            "core/__init__.py": "",
            "core/rls.py": CORE,
            "mw.py": "class Onboarding:\n    EXEMPT_PATHS = ['/api/auth/']\n",
            "pyproject.toml": '[tool.scaffold]\nmiddleware = "mw:Onboarding"\n',
        },
    )
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError) as info:
        newmodule.plan_module(tmp_path, "stock")
    message = str(info.value)
    assert "site_urls.py" in message and "urlpatterns" in message and "[tool.scaffold]" in message
    (tmp_path / "site_urls.py").write_text("from django.urls import path\n\nurlpatterns = []\n")
    with pytest.raises(ConfigError) as info:
        newmodule.plan_module(tmp_path, "stock", protected=True)
    message = str(info.value)
    assert "mw.py" in message and "PROTECTED_PATHS" in message and "middleware" in message
    assert snapshot(tmp_path) == {**before, "site_urls.py": snapshot(tmp_path)["site_urls.py"]}


def test_project_without_onboarding_middleware_skips_that_registration(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.format(settings="site_conf"),
            "site_conf.py": 'ROOT_URLCONF = "site_urls"\nINSTALLED_APPS = ["core"]\n',
            "site_urls.py": "urlpatterns = []\n",
            "core/__init__.py": "",
            "core/rls.py": CORE,
        },
    )
    plan = newmodule.plan_module(tmp_path, "stock")
    assert any("no onboarding middleware" in n for n in plan.notes)
    plan.apply()
    assert "from django.urls import include, path" in (tmp_path / "site_urls.py").read_text()
    with pytest.raises(UsageError, match="--protected needs an onboarding middleware"):
        newmodule.plan_module(tmp_path, "other", protected=True)


# -- interactive ---------------------------------------------------------------------------


def test_interactive_flow_with_questionary(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Drive the real questionary prompts through a prompt_toolkit pipe input."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    monkeypatch.setattr(newmodule, "interactive_possible", lambda: True)
    calls: list[str] = []
    real_source, real_ignored = newmodule.module_template_source, newmodule.git_ignored

    def counting_source(**kw: bool) -> tuple[str, str | None]:
        calls.append("template store")
        return real_source(**kw)

    def counting_ignored(root: Path, rel: str) -> str | None:
        calls.append("git check-ignore")
        return real_ignored(root, rel)

    monkeypatch.setattr(newmodule, "module_template_source", counting_source)
    monkeypatch.setattr(newmodule, "git_ignored", counting_ignored)
    keys = (
        "\x15Part\r"  # model name: clear the default (Ctrl-U), type Part
        "bad:type\r"  # refused by the validator: stays on the question...
        "\x15label:str:80\r"  # ... cleared and corrected
        "code:str:unique\r"
        "price:decimal:8,2\r"
        "\r"  # empty line: no more fields
        "\x1b[B\r"  # arrow down to "protected", enter
    )
    with create_pipe_input() as inp:
        inp.send_text(keys)
        with create_app_session(input=inp, output=DummyOutput()):
            assert run(scratch, "parts") == 0
    # checked once before the questions; the plan after them reuses it
    assert sorted(calls) == ["git check-ignore", "template store"]
    models = (scratch / "parts/models.py").read_text()
    assert "class Part(models.Model):" in models
    assert "label = models.CharField(max_length=80)" in models
    assert "price = models.DecimalField(max_digits=8, decimal_places=2)" in models
    assert 'fields=["tenant_id", "code"]' in models
    middleware = (scratch / "custom_auth/middleware_package/onboarding_middleware.py").read_text()
    assert '"/api/parts/"' in middleware.split("PROTECTED_PATHS = [")[1]


# -- layout of the generated code at the extremes ------------------------------------------

LONG = [
    "a_very_long_module_name_for_ab",
    "--model",
    "AVeryLongModelNameForLayoutXYZ",  # 30 characters, the maximum
    *("--field", "an_extremely_long_field_name_x:str:unique"),
    *("--field", "a_long_decimal_field_name_yyyy:decimal:20,10:unique"),
    *("--field", "another_long_optional_datetim:datetime:optional"),
    *("--field", "a_long_json_field_name_zzzzzz:json"),
    *("--field", "a_long_foreign_key_name_abcde:fk:purchasing.Supplier:optional"),
    *("--field", "short:fk:Supplier:unique"),
    *("--field", "e_long_email_field_name_abcde:email:200:unique"),
]


def test_longest_names_and_no_fields_stay_ruff_and_django_clean(scratch: Path) -> None:
    """30-character names everywhere, two keys to one parent, and a module with no field:
    the code is ruff-formatted at 88 and 120 columns, constraint names fit PostgreSQL's 63
    bytes, reverse accessors do not clash, and makemigrations sees nothing to do."""
    import subprocess
    import sys

    from tests.helpers.djproject import VENV_BIN
    from tests.helpers.lint import assert_ruff_clean

    assert run(scratch, *LONG, "--no-input") == 0
    assert run(scratch, "bare", "--no-input") == 0
    assert_ruff_clean(scratch, ["a_very_long_module_name_for_ab", "bare"])
    models = (scratch / "a_very_long_module_name_for_ab/models.py").read_text()
    names = [line.split('"')[1] for line in models.splitlines() if line.strip().startswith("name=")]
    assert len(names) == 5 and all(len(n) <= 63 for n in names) and len(set(names)) == 5
    # No database is needed for these two commands (Django only warns it cannot connect).
    env = {"PATH": str(VENV_BIN), "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for args in (["check"], ["makemigrations", "--check", "--dry-run"]):
        proc = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=scratch, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_project_without_tenancy_core_is_told_to_run_init(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.format(settings="site_conf"),
            "site_conf.py": 'ROOT_URLCONF = "site_urls"\nINSTALLED_APPS = []\n',
            "site_urls.py": "urlpatterns = []\n",
        },
    )
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError, match="run `scaffold init` first"):
        newmodule.plan_module(tmp_path, "stock")
    assert snapshot(tmp_path) == before


def test_composite_key_names_are_distinct_and_fit_postgres(legacy: Path) -> None:
    """Names that truncate to one prefix get distinct hashed names of at most 63 bytes; names
    that fit keep the exact name earlier releases wrote (applied migrations stay valid)."""
    import re

    plan = newmodule.plan_module(
        legacy,
        "procurement",
        model="PurchaseOrderLineItem",
        fields=[
            "delivery_supplier_primary_xx:fk:purchasing.Supplier",
            "delivery_supplier_secondary_x:fk:purchasing.Supplier:optional",
            "vendor:fk:purchasing.Supplier:optional",
        ],
    )
    rls = next(c.new.decode() for c in plan.changes if c.path.name.endswith("_rls.py"))
    forward = rls.split("REVERSE_SQL")[0]
    added = re.findall(r'ADD CONSTRAINT "([^"]+)"', forward)
    assert len(added) == 3 and len(set(added)) == 3 and all(len(n) <= 63 for n in added)
    assert "procurement_purchaseorderlineitem_vendor_tenant_fk" in added
    assert sum(n.startswith("procurement_purchaseorderlineitem_delivery_supplier_") for n in added) == 2
    # the reverse also drops the names earlier releases gave the long keys
    reverse = rls.split("REVERSE_SQL")[1]
    dropped = re.findall(r'DROP CONSTRAINT IF EXISTS "([^"]+)"', reverse)
    assert set(added) < set(dropped)
    legacy_name = "procurement_purchaseorderlineitem_delivery_supplier_primary_xx"[:53] + "_tenant_fk"
    assert legacy_name in dropped and legacy_name not in added
