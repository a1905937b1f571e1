"""Project discovery and ``[tool.scaffold]`` config: defaults, autodetection, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from scaffold.cli import main
from scaffold.config import Config
from scaffold.errors import ConfigError, ProjectNotFound
from scaffold.project import find_project, is_excluded, iter_python_files


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


MANAGE = """\
    import os, sys
    if __name__ == "__main__":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "manage.py": MANAGE,
            "site_cfg/__init__.py": "",
            "site_cfg/settings.py": 'INSTALLED_APPS = []\nROOT_URLCONF = "site_cfg.urls"\n',
            "site_cfg/urls.py": "urlpatterns = []\n",
            "accounts/__init__.py": "",
            "accounts/middleware.py": """\
                class OnboardingMiddleware:
                    EXEMPT_PATHS = ["/api/auth/"]
                    PROTECTED_PATHS = ["/api/reports/"]
            """,
            "accounts/middleware_backup/middleware.py": "class M:\n    EXEMPT_PATHS = []\n",
            "accounts/old_middleware.py.bak": "EXEMPT_PATHS = []\n",
            ".venv/lib/site.py": "EXEMPT_PATHS = []\n",
            "core/rls.py": "def set_tenant_context(tenant_id):\n    pass\n",
        },
    )
    return tmp_path


def test_detects_every_key(project: Path) -> None:
    cfg = Config.load(project)
    assert cfg.require("settings") == "site_cfg.settings"
    assert cfg.require("urls") == "site_cfg.urls"
    assert cfg.require("middleware") == "accounts.middleware:OnboardingMiddleware"
    assert cfg.require("tenancy_module") == "core.rls"
    assert cfg.api_prefix == "/api/"
    assert cfg.tenant_field == "tenant_id"
    assert cfg.user_tenant_attr == "tenant_id"
    assert cfg.tenant_setting == "app.current_tenant_id"
    assert cfg.file_for("settings") == project / "site_cfg" / "settings.py"


def test_explicit_keys_win(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.scaffold]\napi_prefix = "/v2/"\ntenant-field = "business_id"\nmiddleware = "accounts.middleware"\n'
    )
    cfg = Config.load(project)
    assert cfg.api_prefix == "/v2/"
    assert cfg.tenant_field == "business_id"
    assert cfg.require("middleware") == "accounts.middleware"


def test_settings_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "manage.py": MANAGE.replace("site_cfg.settings", "proj.settings"),
            "proj/__init__.py": "",
            "proj/settings/__init__.py": "from .base import *\n",
            "proj/settings/base.py": 'INSTALLED_APPS = []\nROOT_URLCONF = "proj.urls"\n',
            "proj/settings/prod.py": "DEBUG = False\n",
            "proj/urls.py": "urlpatterns = []\n",
        },
    )
    cfg = Config.load(tmp_path)
    assert [p.name for p in cfg.settings_files()] == ["__init__.py", "base.py", "prod.py"]
    assert cfg.require("urls") == "proj.urls"


def test_ambiguous_middleware_lists_candidates_only_when_needed(project: Path) -> None:
    write(project, {"billing/mw.py": "EXEMPT_PATHS = ['/api/billing/']\n"})
    cfg = Config.load(project)
    assert cfg.require("settings") == "site_cfg.settings"  # other keys still work
    with pytest.raises(ConfigError) as err:
        cfg.require("middleware")
    message = str(err.value)
    assert "2 candidates" in message
    assert "accounts.middleware:OnboardingMiddleware" in message and "billing.mw" in message
    assert "[tool.scaffold]" in message and "\n" not in message


def test_missing_candidate_is_reported(tmp_path: Path) -> None:
    write(tmp_path, {"manage.py": "print('no settings here')\n"})
    cfg = Config.load(tmp_path)
    with pytest.raises(ConfigError, match="cannot detect `settings`"):
        cfg.require("settings")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("bogus = 1", "bogus"),
        ('api_prefix = "api"', "api_prefix"),
        ('tenant_setting = "app.x; DROP TABLE t"', "tenant_setting"),
        ('tenant_setting = "noprefix"', "tenant_setting"),
        ('tenant_field = "tenant-id"', "tenant_field"),
        ('exclude = "x"', "exclude"),
        ('settings = "not a module"', "settings"),
        ('per_file_ignores = {"a.py" = "TEN001"}', "per_file_ignores"),
    ],
)
def test_bad_config_exits_2_naming_the_key(
    project: Path, toml: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.scaffold]\n{toml}\n")
    assert main(["config", "--project", str(project)]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("codes", ['["TEN999"]', '["TEN001", "ten9"]', '["E501"]', '["ALL"]'])
def test_unknown_code_in_per_file_ignores_exits_2_naming_key_and_code(
    project: Path, codes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(f'[tool.scaffold]\nper_file_ignores = {{"a/*.py" = {codes}}}\n')
    assert main(["audit", "--project", str(project), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    bad = [c for c in json.loads(codes) if c.upper() not in ("TEN001",)][0]
    assert "per_file_ignores" in err and repr(bad) in err and "a/*.py" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("codes", ['["TEN05"]', '["ten001", "TEN06"]', '["TEN0"]', "[]"])
def test_rule_prefixes_in_per_file_ignores_are_valid(project: Path, codes: str) -> None:
    (project / "pyproject.toml").write_text(f'[tool.scaffold]\nper_file_ignores = {{"a/*.py" = {codes}}}\n')
    assert main(["audit", "--project", str(project), "--no-cache"]) == 0


def test_invalid_toml_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.scaffold\n")
    assert main(["config", "--project", str(project)]) == 2
    assert "invalid TOML" in capsys.readouterr().err


def test_find_project_walks_up(project: Path) -> None:
    assert find_project(cwd=project / "accounts") == project.resolve()


@pytest.mark.parametrize("bad", ["does-not-exist", "manage.py", "accounts"])
def test_bad_project_exits_2(project: Path, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--project", str(project / bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --project") and "manage.py" in err
    assert len(err.splitlines()) == 1


def test_no_project_found(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="--project DIR"):
        find_project(cwd=tmp_path)


def test_config_json_reports_sources(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.scaffold]\napi_prefix = "/v1/"\n')
    assert main(["config", "--project", str(project), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["config"]
    assert data["api_prefix"] == {"value": "/v1/", "source": "pyproject.toml"}
    assert data["settings"]["source"] == "detected"
    assert data["tenant_field"]["source"] == "default"


def test_default_excludes(project: Path) -> None:
    rels = [f.rel for f in iter_python_files(project, Config.load(project).exclude_globs)]
    assert "accounts/middleware.py" in rels
    assert not any(r.startswith((".venv/", "accounts/middleware_backup/")) for r in rels)
    assert is_excluded("app/migrations/0001_initial.py", ("migrations",))
    assert not is_excluded("app/views.py", ("migrations",))


def test_user_excludes_are_added(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.scaffold]\nexclude = ["core/*"]\n')
    rels = [f.rel for f in iter_python_files(project, Config.load(project).exclude_globs)]
    assert "core/rls.py" not in rels


def test_detectors_share_one_walk_reading_each_file_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    original = Config.read

    def counting(self: Config, src: object) -> bytes | None:
        reads.append(src.rel)  # type: ignore[attr-defined]
        return original(self, src)  # type: ignore[arg-type]

    monkeypatch.setattr(Config, "read", counting)
    cfg = Config.load(project)
    assert cfg.require("middleware") == "accounts.middleware:OnboardingMiddleware"
    assert cfg.require("tenancy_module") == "core.rls"
    assert sorted(reads) == sorted(set(reads))  # no file read twice
    assert "core/rls.py" in reads and "accounts/middleware.py" in reads
