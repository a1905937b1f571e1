"""``[tool.scaffold]`` values changed after ``init``: tenant_field, tenant_setting and
user_tenant_attr must match the tenancy core, or generated modules break at runtime
(FieldError on every request, RLS refusing every write). Also ``init --package`` names.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scaffold.cli import main
from tests.test_init import snapshot, write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PG = """\
INSTALLED_APPS = [
    "django.contrib.auth",
    "accounts",
]
AUTH_USER_MODEL = "accounts.User"
ROOT_URLCONF = "proj.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}}
"""


def site(tmp_path: Path, **extra: str) -> Path:
    return write(
        tmp_path / "site",
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n',
            "proj/__init__.py": "",
            "proj/settings.py": PG,
            "proj/urls.py": "from django.urls import path\n\nurlpatterns = []\n",
            "accounts/__init__.py": "",
            "accounts/models.py": (
                "from django.db import models\n\n\n"
                "class User(models.Model):\n"
                "    tenant_id = models.UUIDField(null=True)\n"
                "    org_id = models.UUIDField(null=True)\n"
            ),
            **extra,
        },
    )


def cli(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--project", str(root)])
    out, err = capsys.readouterr()
    return code, out, err


def initialised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = site(tmp_path)
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    return root


def set_key(root: Path, key: str, value: str) -> None:
    path = root / "pyproject.toml"
    text = path.read_text()
    table = tomllib.loads(text)["tool"]["scaffold"]
    path.write_text(text.replace(f"{key} = {table[key]!r}".replace("'", '"'), f'{key} = "{value}"'))
    assert tomllib.loads(path.read_text())["tool"]["scaffold"][key] == value


@pytest.mark.parametrize(
    ("key", "value", "file", "constant"),
    [
        ("tenant_field", "org_id", "tenancy/managers.py", "TENANT_FIELD"),
        ("tenant_setting", "app.org", "tenancy/context.py", "TENANT_SETTING"),
        ("user_tenant_attr", "org_id", "tenancy/views.py", "USER_TENANT_ATTR"),
    ],
)
def test_changed_key_refuses_new_module_and_init_rerenders_the_core(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, file: str, constant: str
) -> None:
    root = initialised(tmp_path, capsys)
    set_key(root, key, value)
    before = snapshot(root)

    code, out, err = cli(root, capsys, "new-module", "shop", "--no-input", "--field", "name:str")
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    assert f"{key} = {value!r}" in line and file in line and constant in line
    assert "run `scaffold init`" in line
    assert snapshot(root) == before

    code, out, err = cli(root, capsys, "init", "--dry-run")
    assert code == 1, out + err
    assert f"+++ b/{file}" in out and f'+{constant} = "{value}"' in out
    assert snapshot(root) == before

    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    assert f'{constant} = "{value}"' in (root / file).read_text()
    assert f"{key}: {value}" in (root / "tenancy/.copier-answers.yml").read_text()
    # the core is exactly a fresh render with the new values: a second run has nothing to do
    after = snapshot(root)
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0 and out.startswith("nothing to do"), out
    assert snapshot(root) == after


def test_edited_core_is_refused_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = initialised(tmp_path, capsys)
    managers = root / "tenancy/managers.py"
    managers.write_text(managers.read_text() + "\n# our own tweak\n")
    set_key(root, "tenant_field", "org_id")
    before = snapshot(root)
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    assert "tenancy/managers.py was edited" in line
    assert "TENANT_FIELD = 'org_id' in tenancy/managers.py" in line
    assert "tenant_field = 'tenant_id' back" in line
    assert snapshot(root) == before


def test_an_edit_the_new_values_do_not_touch_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = initialised(tmp_path, capsys)
    apps = root / "tenancy/apps.py"
    apps.write_text(apps.read_text() + "# ours\n")
    set_key(root, "tenant_field", "org_id")
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    assert apps.read_text().endswith("# ours\n")
    assert 'TENANT_FIELD = "org_id"' in (root / "tenancy/managers.py").read_text()


THIRD_PARTY = """\
from django.db import connection, models


def set_tenant_context(tenant_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('erp.tenant', %s, true)", [str(tenant_id)])


class TenantManager(models.Manager):
    pass
"""


def test_third_party_core_setting_is_recorded_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site(tmp_path, **{"core/__init__.py": "", "core/rls.py": THIRD_PARTY})
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["scaffold"]
    assert table["tenancy_module"] == "core.rls"
    assert table["tenant_setting"] == "erp.tenant"  # what the core sets, not the default

    set_key(root, "tenant_setting", "app.current_tenant_id")
    before = snapshot(root)
    for command in (["init", "--no-input"], ["new-module", "shop", "--no-input", "--field", "name:str"]):
        code, out, err = cli(root, capsys, *command)
        assert code == 2, out + err
        line = err.strip()
        assert "\n" not in line
        assert "'erp.tenant'" in line and "'app.current_tenant_id'" in line
        assert "set tenant_setting = 'erp.tenant' under [tool.scaffold]" in line
    assert snapshot(root) == before


def test_core_without_tenant_manager_names_the_real_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    core = THIRD_PARTY.replace("class TenantManager(models.Manager):\n    pass\n", "")
    root = site(tmp_path, **{"core/__init__.py": "", "core/rls.py": core})
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    before = snapshot(root)
    code, out, err = cli(root, capsys, "new-module", "shop", "--no-input", "--field", "name:str")
    assert code == 2
    line = err.strip()
    assert "\n" not in line
    assert "does not provide TenantManager" in line
    assert "define or import TenantManager in core/rls.py" in line
    assert 'set tenancy_module = "tenancy"' in line and "run `scaffold init`" in line
    assert snapshot(root) == before
    # following the second fix works: init renders scaffold's core there
    set_text = (
        (root / "pyproject.toml")
        .read_text()
        .replace('tenancy_module = "core.rls"', 'tenancy_module = "tenancy"')
    )
    (root / "pyproject.toml").write_text(set_text)
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    assert (root / "tenancy/managers.py").is_file()


@pytest.mark.parametrize(
    ("package", "problem"),
    [
        ("json", "standard library"),
        ("rest_framework", "reserved"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("yaml", "installed top-level package"),
    ],
)
def test_package_shadowing_a_module_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package: str, problem: str
) -> None:
    root = site(tmp_path)
    before = snapshot(root)
    code, out, err = cli(root, capsys, "init", "--no-input", "--package", package)
    assert code == 2, out + err
    line = err.strip()
    assert "\n" not in line
    assert f"cannot render the tenancy core into {package!r}" in line and problem in line
    assert "--package NAME" in line
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("pyproject", "kept"),
    [
        (
            b'[project]\r\nname = "x"\r\n\r\n[tool.scaffold]\r\napi_prefix = "/v1/"\r\n\r\n[tool.ruff]\r\nline-length = 100\r\n',
            b'[project]\r\nname = "x"\r\n\r\n[tool.scaffold]\r\napi_prefix = "/v1/"\r\n',
        ),
        (
            b'[project]\r\nname = "x"\r\n\r\n[tool.scaffold]  # ours\r\napi_prefix = "/v1/"\r\n',
            b'[project]\r\nname = "x"\r\n\r\n[tool.scaffold]  # ours\r\napi_prefix = "/v1/"\r\n',
        ),
        (
            b'[project]\r\nname = "x"\r\n\r\n[tool]\r\nscaffold = { api_prefix = "/v1/" }  # ours\r\n',
            b'[project]\r\nname = "x"\r\n\r\n[tool]\r\nscaffold = { api_prefix = "/v1/", ',
        ),
        (
            b"[tool]\nscaffold = {}\n\n[tool.ruff]\nline-length = 100\n",
            b"[tool]\nscaffold = { ",
        ),
    ],
    ids=["crlf-table", "crlf-table-comment", "crlf-inline", "lf-empty-inline"],
)
def test_existing_tool_scaffold_table_gets_the_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pyproject: bytes, kept: bytes
) -> None:
    root = site(tmp_path)
    (root / "pyproject.toml").write_bytes(pyproject)
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    data = (root / "pyproject.toml").read_bytes()
    assert data.startswith(kept)
    if b"\r\n" in pyproject:
        assert b"\n" not in data.replace(b"\r\n", b"")
    if b"[tool.ruff]" in pyproject:
        assert data.endswith(b"[tool.ruff]\nline-length = 100\n") or data.endswith(
            b"[tool.ruff]\r\nline-length = 100\r\n"
        )
    table = tomllib.loads(data.decode())["tool"]["scaffold"]
    if b"api_prefix" in pyproject:
        assert table["api_prefix"] == "/v1/"
    assert table["tenancy_module"] == "tenancy" and table["settings"] == "proj.settings"
    assert data.count(b"scaffold") == 1 + data.count(b"`scaffold init`")
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0 and out.startswith("nothing to do"), out + err


def test_core_value_not_in_the_config_is_recorded_by_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = initialised(tmp_path, capsys)
    set_key(root, "tenant_field", "org_id")
    assert cli(root, capsys, "init", "--no-input")[0] == 0  # core re-rendered for org_id
    path = root / "pyproject.toml"
    path.write_text(path.read_text().replace('tenant_field = "org_id"\n', ""))
    code, out, err = cli(root, capsys, "new-module", "shop", "--no-input", "--field", "name:str")
    assert code == 2
    assert "sets no tenant_field (default 'tenant_id')" in err and "set tenant_field = 'org_id'" in err
    code, out, err = cli(root, capsys, "init", "--no-input")
    assert code == 0, out + err
    assert tomllib.loads(path.read_text())["tool"]["scaffold"]["tenant_field"] == "org_id"
    assert 'TENANT_FIELD = "org_id"' in (root / "tenancy/managers.py").read_text()


def test_dry_run_writes_nothing_in_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    root = site(tmp_path)
    before = snapshot(root)
    code, out, err = cli(root, capsys, "init", "--dry-run")
    assert code == 1, out + err
    assert snapshot(root) == before and list(home.iterdir()) == []


@pytest.mark.parametrize("package", ["class", "ten-x", ""])
def test_a_bad_package_is_refused_even_where_an_existing_core_makes_it_unused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package: str
) -> None:
    from tests.helpers.djproject import copy_example

    root = copy_example("legacy_erp", tmp_path / "legacy_erp").root  # has custom_auth.rls
    before = snapshot(root)
    code, out, err = cli(root, capsys, "init", "--no-input", "--package", package)
    assert code == 2, out + err
    assert err.count("\n") == 1 and f"cannot render the tenancy core into {package!r}" in err
    assert snapshot(root) == before
