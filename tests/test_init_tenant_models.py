"""``scaffold init --tenant-model NAME [--user-model] [--models-app APP]`` on fresh
``startproject`` projects whose database cannot be reached (port 1): what is written, what
is refused (exit 2, one line, nothing touched), and a second run changing nothing.

The database side (auth already migrated: refused; the whole path to a migrated, isolated
module) runs against PostgreSQL in tests/test_newcomer_path.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold.errors import ConfigError, UsageError
from scaffold.init import init_project, tenant_offer
from tests.helpers.djproject import VENV_BIN

UNREACHABLE = """DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'nowhere',
        'HOST': '127.0.0.1',
        'PORT': '1',
    }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "mysite"
    root.mkdir()
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    settings = root / "mysite" / "settings.py"
    text = settings.read_text()
    start = text.index("DATABASES = {")
    end = text.index("\n}\n", start) + 3
    settings.write_text(text[:start] + UNREACHABLE + text[end:])
    return root


def snapshot(root: Path) -> dict[Path, bytes]:
    return {
        p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
    }


def test_offer_only_while_the_user_is_auth_user(project: Path) -> None:
    assert tenant_offer(project) is not None
    init_project(project, tenant_model="Tenant", user_model=True)
    assert tenant_offer(project) is None


def test_user_model_renders_tenant_user_and_auth_user_model(project: Path) -> None:
    result = init_project(project, tenant_model="Organisation", user_model=True)
    models = (project / "tenancy" / "models.py").read_text()
    tree = ast.parse(models)
    assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == ["Organisation", "User"]
    assert "tenant = models.ForeignKey(\n        Organisation," in models
    assert (project / "tenancy" / "migrations" / "__init__.py").read_bytes() == b""
    settings = (project / "mysite" / "settings.py").read_text()
    assert settings.endswith("AUTH_USER_MODEL = 'tenancy.User'\n")  # startproject's quotes
    assert "    'tenancy',\n" in settings
    assert 'user_tenant_attr = "tenant_id"' in (project / "pyproject.toml").read_text()
    text = result.to_text()
    assert "could not reach the database" in text  # said, not silently assumed
    assert "warning" not in text  # the user model now carries the tenant
    assert text.index("next: python manage.py makemigrations tenancy") < text.index(
        "next: python manage.py migrate"
    )
    # A second run changes nothing.
    again = init_project(project, tenant_model="Organisation", user_model=True)
    assert not again.changes


def test_without_flags_init_warns_and_names_the_flags(project: Path) -> None:
    text = init_project(project).to_text()
    assert "AUTH_USER_MODEL is not set" in text
    assert "scaffold init --tenant-model Tenant --user-model" in text
    assert not (project / "tenancy" / "models.py").exists()
    assert "makemigrations" not in text
    first = text.index("next: scaffold init --tenant-model Tenant --user-model")
    assert first < text.index("next: python manage.py migrate")


def test_models_app_is_created_and_installed(project: Path) -> None:
    init_project(project, tenant_model="Tenant", user_model=True, models_app="accounts")
    assert (project / "accounts" / "__init__.py").is_file()
    assert "class User(AbstractUser)" in (project / "accounts" / "models.py").read_text()
    settings = (project / "mysite" / "settings.py").read_text()
    assert "    'accounts',\n" in settings and "AUTH_USER_MODEL = 'accounts.User'" in settings
    assert not (project / "tenancy" / "models.py").exists()


def test_tenant_model_alone_leaves_the_user_model(project: Path) -> None:
    result = init_project(project, tenant_model="Tenant")
    assert "class User" not in (project / "tenancy" / "models.py").read_text()
    assert "AUTH_USER_MODEL" not in (project / "mysite" / "settings.py").read_text()
    assert any("AUTH_USER_MODEL is not set" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("edit", "kwargs", "error", "message"),
    [
        (None, {"tenant_model": "tenant"}, UsageError, "expected a PascalCase model name"),
        (None, {"tenant_model": "User", "user_model": True}, UsageError, "other than User"),
        (None, {"models_app": "accounts"}, UsageError, "pass --tenant-model too"),
        (
            "AUTH_USER_MODEL = 'accounts.Member'\n",
            {"user_model": True},
            ConfigError,
            "AUTH_USER_MODEL is already 'accounts.Member': add a tenant foreign key",
        ),
        (
            "AUTH_USER_MODEL = os.environ['USER_MODEL']\nimport os\n",
            {"user_model": True},
            ConfigError,
            "AUTH_USER_MODEL is computed",
        ),
    ],
)
def test_refusals_touch_nothing(
    project: Path, edit: str | None, kwargs: dict, error: type[Exception], message: str
) -> None:
    if edit:
        settings = project / "mysite" / "settings.py"
        settings.write_text(settings.read_text() + edit)
    before = snapshot(project)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        init_project(project, **kwargs)
    assert snapshot(project) == before


def test_migrations_against_auth_user_refuse_the_user_model(project: Path) -> None:
    """Database unreachable, but makemigrations already ran against auth.User."""
    app = project / "shop" / "migrations"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('auth', '0012_alter_user_first_name_max_length')]\n"
        "    operations = [migrations.CreateModel('Cart', [('owner', models.ForeignKey('auth.User', "
        "on_delete=models.CASCADE))])]\n"
    )
    before = snapshot(project)
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "init", "--no-input", "--user-model", "--project", str(project)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "shop/migrations/0001_initial.py points at auth.User" in proc.stderr
    assert "recreate the database" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(project) == before


def test_cli_flags_with_no_input(project: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scaffold",
            "init",
            "--no-input",
            "--tenant-model",
            "Tenant",
            "--user-model",
            "--project",
            str(project),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "next: python manage.py makemigrations tenancy" in proc.stdout
    assert (project / "tenancy" / "models.py").is_file()


def test_on_a_terminal_init_offers_the_tenant(project: Path) -> None:
    """stdin a real terminal (a pty): init asks, the answers render the models."""
    import os

    master, slave = os.openpty()
    try:
        os.write(master, b"y\nAccount\ny\n")  # render them? name? apply?
        proc = subprocess.run(
            [sys.executable, "-m", "scaffold", "init", "--project", str(project)],
            stdin=slave,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "request.user is django.contrib.auth's User, which has no tenant" in proc.stdout
    assert "class Account(models.Model)" in (project / "tenancy" / "models.py").read_text()
    assert "next: python manage.py makemigrations tenancy" in proc.stdout


def test_a_foreign_core_needs_models_app(tmp_path: Path) -> None:
    """legacy_erp's own core (custom_auth.rls) is not scaffold's package: the tenant model
    goes where --models-app says, never into someone else's package."""
    from tests.helpers.djproject import copy_example

    proj = copy_example("legacy_erp", tmp_path / "legacy_erp", init_git=False)
    before = snapshot(proj.root)
    with pytest.raises(UsageError, match="pass --models-app NAME"):
        init_project(proj.root, tenant_model="Tenant")
    with pytest.raises(ConfigError, match="AUTH_USER_MODEL is already 'custom_auth.User'"):
        init_project(proj.root, tenant_model="Tenant", user_model=True, models_app="tenants")
    assert snapshot(proj.root) == before
    init_project(proj.root, tenant_model="Tenant", models_app="tenants")
    assert "class Tenant(models.Model)" in (proj.root / "tenants" / "models.py").read_text()


def test_dry_run_writes_nothing_not_even_bytecode(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--user-model runs the project's settings (the auth probe); a dry run still writes
    nothing into the project (no __pycache__ either, whatever the caller's environment)."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    before = sorted(p for p in project.rglob("*"))
    result = init_project(project, tenant_model="Tenant", user_model=True, dry_run=True)
    assert result.changes and not result.applied
    assert sorted(p for p in project.rglob("*")) == before
    assert "next:" not in result.to_text()
