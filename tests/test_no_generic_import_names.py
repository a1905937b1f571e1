"""scaffold claims no generic top-level import name: its codemods are ``scaffold.codemods``.

A project with its own ``codemods`` package (here one that would break any import of a
scaffold codemod through it) is migrated as any other: ``python -m scaffold`` run from
the project folder puts that folder first on ``sys.path``, where a top-level ``codemods``
import would have found the project's package (issue 15: ``ModuleNotFoundError("No module
named 'codemods._imports'")``). The installed-wheel variant is in tests/test_wheel.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.djproject import VENV_BIN, copy_example

REPO = Path(__file__).resolve().parents[1]


def add_own_codemods(project: Path) -> None:
    """The project's own ``codemods`` package: importing it marks the run."""
    own = project / "codemods"
    own.mkdir()
    (own / "__init__.py").write_text('"""The project\'s own codemods."""\nCODEMODS = {}\nOWN = True\n')
    (own / "rename_things.py").write_text("def run():\n    return 'the project codemod'\n")


def assert_migrates_with_own_codemods(project: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr  # --diff prints, exits 0
    assert "internal error" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr, proc.stderr
    assert "+++ b/crm/views.py" in proc.stdout or "+++ b/purchasing/views.py" in proc.stdout, proc.stdout
    assert "codemods/" not in proc.stdout  # the project's codemods hold no views: untouched


def test_migrate_viewsets_diff_in_a_project_with_its_own_codemods(tmp_path: Path) -> None:
    project = copy_example("legacy_erp", tmp_path / "legacy_erp").root
    add_own_codemods(project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "migrate-viewsets", "--diff", "--no-cache", "--project", "."],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert_migrates_with_own_codemods(project, proc)


def test_scaffold_imports_its_codemods_only_as_scaffold_codemods() -> None:
    """No module of scaffold (or of the codemods) imports a top-level ``codemods``."""
    offenders = []
    for path in [*(REPO / "scaffold").rglob("*.py"), *(REPO / "codemods").glob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("from codemods", "import codemods")):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {stripped}")
    assert offenders == []
    import scaffold.codemods

    assert scaffold.codemods.CODEMODS and all(
        cls.__module__.startswith("scaffold.codemods.") for cls in scaffold.codemods.CODEMODS.values()
    )


def test_the_editable_install_imports_scaffold_codemods(tmp_path: Path) -> None:
    """``make install`` (``pip install -e .``): from outside the checkout, the venv's python
    finds scaffold through the editable install and its codemods as scaffold.codemods."""
    code = (
        "import json, importlib.metadata as m, scaffold, scaffold.codemods as c;"
        "d = m.distribution('scaffold-tenancy').read_text('direct_url.json') or '{}';"
        "print(json.dumps([scaffold.__file__, c.__file__, len(c.CODEMODS),"
        " json.loads(d).get('dir_info', {}).get('editable', False)]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    scaffold_file, codemods_file, count, editable = json.loads(proc.stdout)
    if not editable:
        pytest.skip("the test venv is not an editable install of this checkout")
    assert Path(scaffold_file).resolve() == REPO / "scaffold" / "__init__.py"
    assert Path(codemods_file).resolve() == REPO / "codemods" / "__init__.py"  # through the link
    assert Path(codemods_file).parent == REPO / "scaffold" / "codemods"
    assert count > 0


def test_codemods_fingerprint_hashes_scaffolds_own_codemods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache key of stored rewrites covers scaffold.codemods, never a top-level
    ``codemods`` package that happens to be importable (the user's own)."""
    import hashlib

    from scaffold import migrate

    before = migrate.codemods_fingerprint()
    assert before != hashlib.blake2b(digest_size=8).hexdigest()  # not the hash of no files
    theirs = tmp_path / "codemods"
    theirs.mkdir()
    (theirs / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert migrate.codemods_fingerprint() == before
