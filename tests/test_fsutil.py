"""ChangeSet: edits of one file compose, ``old`` stays the disk content, trees are added whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold.errors import OperationFailed
from scaffold.fsutil import ChangeSet

SETTINGS = 'INSTALLED_APPS = ["a"]\nEXEMPT_PATHS = ["/api/auth/"]\n'


def test_two_adds_to_one_path_compose_into_one_change(tmp_path: Path) -> None:
    path = tmp_path / "settings.py"
    path.write_text(SETTINGS)
    original = path.read_bytes()
    changes = ChangeSet()
    assert changes.pending(path) == original  # nothing planned: the disk content

    first = SETTINGS.replace('["a"]', '["a", "stock"]')
    changes.add(path, first)
    assert changes.pending(path) == first.encode()
    # the second step reads what the first left, not the disk
    second = changes.pending(path).decode().replace('"/api/auth/"]', '"/api/auth/", "/api/stock/"]')
    changes.add(path, second)

    assert len(changes.changes) == 1
    (change,) = changes
    assert change.old == original
    assert change.new == second.encode()
    diff = changes.diff(tmp_path)
    assert '-INSTALLED_APPS = ["a"]' in diff and '+INSTALLED_APPS = ["a", "stock"]' in diff
    assert '+EXEMPT_PATHS = ["/api/auth/", "/api/stock/"]' in diff
    assert diff.count("--- a/settings.py") == 1

    changes.apply()
    assert (
        path.read_text() == 'INSTALLED_APPS = ["a", "stock"]\nEXEMPT_PATHS = ["/api/auth/", "/api/stock/"]\n'
    )


def test_a_later_add_back_to_the_disk_content_drops_the_change(tmp_path: Path) -> None:
    path = tmp_path / "urls.py"
    path.write_text("urlpatterns = []\n")
    changes = ChangeSet()
    changes.add(path, "urlpatterns = [1]\n")
    changes.add(path, "urlpatterns = []\n")
    assert not changes
    assert changes.pending(path) == b"urlpatterns = []\n"


def test_pending_of_a_created_file_and_of_a_missing_one(tmp_path: Path) -> None:
    changes = ChangeSet()
    new = tmp_path / "pkg" / "mod.py"
    assert changes.pending(new) is None
    changes.add(new, b"x = 1\n")
    changes.add(new, b"x = 2\n")
    (change,) = changes
    assert change.created and change.old is None and change.new == b"x = 2\n"
    assert changes.pending(new) == b"x = 2\n"
    changes.apply()
    assert new.read_bytes() == b"x = 2\n"


def test_apply_still_checks_the_original_content(tmp_path: Path) -> None:
    """``old`` is what was on disk before the first add: a file edited meanwhile is refused."""
    path = tmp_path / "settings.py"
    path.write_text(SETTINGS)
    changes = ChangeSet()
    changes.add(path, SETTINGS + "A = 1\n")
    changes.add(path, SETTINGS + "A = 1\nB = 2\n")
    path.write_text(SETTINGS + "# edited by someone else\n")
    with pytest.raises(OperationFailed, match="changed while scaffold was working"):
        changes.apply()
    assert path.read_text() == SETTINGS + "# edited by someone else\n"


def test_add_tree_adds_every_file_in_a_stable_order(tmp_path: Path) -> None:
    src = tmp_path / "rendered"
    for rel, text in {
        "pkg/__init__.py": "",
        "pkg/models.py": "M = 1\n",
        "pkg/__pycache__/models.cpython-312.pyc": "junk",
        "pkg/migrations/0001_initial.py": "# m\n",
        ".copier-answers.pkg.yml": "a: 1\n",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "pkg").mkdir()
    (dest / "pkg/__init__.py").write_text("")  # already identical: listed, not changed

    changes = ChangeSet()
    files = changes.add_tree(src, dest)
    rels = [p.relative_to(dest).as_posix() for p in files]
    assert rels == [
        ".copier-answers.pkg.yml",
        "pkg/__init__.py",
        "pkg/models.py",
        "pkg/migrations/0001_initial.py",
    ]
    assert sorted(c.path.relative_to(dest).as_posix() for c in changes) == [
        ".copier-answers.pkg.yml",
        "pkg/migrations/0001_initial.py",
        "pkg/models.py",
    ]
    changes.apply()
    assert (dest / "pkg/migrations/0001_initial.py").read_text() == "# m\n"
    assert not (dest / "pkg/__pycache__").exists()


def test_an_edit_planned_from_a_read_is_checked_against_that_read(tmp_path: Path) -> None:
    """The lost update two concurrent new-module runs hit: the plan read settings.py, another
    process wrote it, then add() read it again as ``old`` and apply's check passed, dropping
    the other write. ``old`` is now the content the edit was computed from."""
    path = tmp_path / "settings.py"
    path.write_text(SETTINGS)
    changes = ChangeSet()
    planned = changes.pending(path).decode().replace('["a"]', '["a", "stock"]')
    path.write_text(SETTINGS.replace('["a"]', '["a", "orders"]'))  # the other run's write
    assert changes.pending(path) == SETTINGS.encode()  # one consistent snapshot per plan
    changes.add(path, planned)
    with pytest.raises(OperationFailed, match="changed while scaffold was working"):
        changes.apply()
    assert '"orders"' in path.read_text()
