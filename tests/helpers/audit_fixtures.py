"""Audit rule fixture projects, stored as layers over one shared project.

``tests/fixtures/audit/_base`` holds what every fixture project has in common
(``manage.py``, ``proj/settings.py`` and the tenant-aware ``shop/models.py`` the
TEN001-TEN004 ViewSets query); each ``tests/fixtures/audit/<name>`` holds only the files
that make its case. :func:`audit_fixture` lays the two over each other in a temp dir.
"""

from __future__ import annotations

import shutil
from pathlib import Path

AUDIT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
BASE = AUDIT_FIXTURES / "_base"


def fixture_names() -> list[str]:
    return sorted(p.name for p in AUDIT_FIXTURES.iterdir() if p.is_dir() and not p.name.startswith("_"))


def audit_fixture(name: str, dest: Path) -> Path:
    """Materialise fixture project ``name`` under ``dest``; its own files win over the base."""
    source = AUDIT_FIXTURES / name
    if not source.is_dir():
        raise FileNotFoundError(f"no audit fixture project {source}")
    root = dest / name
    shutil.copytree(BASE, root)
    shutil.copytree(source, root, dirs_exist_ok=True)
    return root
