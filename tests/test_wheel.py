"""The wheel ships the templates: build it, install it into a fresh venv, and find the
template from a directory outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("scaffold_tenancy-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    pip = env_dir / "bin" / "pip"
    proc = subprocess.run(
        [str(pip), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return env_dir


def test_wheel_contains_templates(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "scaffold/_templates/module/copier.yml" in names
    assert "scaffold/_templates/module/_macros/secure.jinja" in names
    assert any(n.startswith("codemods/") for n in names)
    assert not any(n.startswith("templates/") for n in names)


def test_installed_wheel_finds_template_outside_repo(venv: Path, tmp_path: Path) -> None:
    code = (
        "import scaffold.templates as t, scaffold.pattern as p;"
        "print(t.template_path('module'));"
        "print(p.permission_classes().strip())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    template_dir, pattern_line = proc.stdout.splitlines()
    assert Path(template_dir).is_relative_to(venv)
    assert "site-packages/scaffold/_templates/module" in template_dir
    assert pattern_line == "permission_classes = [IsAuthenticated]"
    version = subprocess.run(
        [str(venv / "bin" / "scaffold"), "--version"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert version.returncode == 0 and "module template" in version.stdout
    assert "missing" not in version.stdout
