"""Atomic file writes and all-or-nothing multi-file changes."""

from __future__ import annotations

import contextlib
import difflib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.errors import OperationFailed


def write_new_file(path: Path, data: bytes, mode: int | None) -> None:
    """Create ``path`` (it must not exist), write ``data`` and fsync it. ``mode`` None: 0o666
    minus the umask, as for any created file (mkstemp's 0600 would hide it from the
    application's runtime user); a replaced file's mode is passed to keep it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder plus rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = None
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o7777
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        write_new_file(tmp, data, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_source(path: Path) -> tuple[str, str]:
    """Read a text file keeping its line endings; return ``(text, newline)``."""
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    newline = "\r\n" if b"\r\n" in raw else "\n"
    return text, newline


def _decode(data: bytes, path: Path) -> str:
    """Text of ``data`` for a diff: Python sources in their PEP 263 / BOM encoding (raises
    UnicodeDecodeError when they cannot be read as text)."""
    if path.suffix == ".py":
        from scaffold.engine import Undecodable, decode_source

        try:
            return decode_source(data)[0]
        except Undecodable as exc:
            raise UnicodeDecodeError("python-source", data, 0, len(data), str(exc)) from exc
    return data.decode("utf-8")


@dataclass
class Change:
    """One file to create or replace. ``old`` is None for a new file."""

    path: Path
    new: bytes | None  # None: the file is deleted
    old: bytes | None = None

    @property
    def created(self) -> bool:
        return self.old is None

    @property
    def deleted(self) -> bool:
        return self.new is None

    def diff(self, root: Path | None = None) -> str:
        name = str(self.path.relative_to(root)) if root else str(self.path)
        try:
            old = _decode(self.old or b"", self.path).splitlines(keepends=True)
            new = _decode(self.new or b"", self.path).splitlines(keepends=True)
        except UnicodeDecodeError:
            return f"Binary file {name} differs\n"
        return "".join(
            difflib.unified_diff(
                old,
                new,
                fromfile="/dev/null" if self.old is None else f"a/{name}",
                tofile="/dev/null" if self.new is None else f"b/{name}",
            )
        )


@dataclass
class ChangeSet:
    """A set of file changes applied all together or not at all."""

    changes: list[Change] = field(default_factory=list)
    # what each file held when this set first read it: the base every edit is computed
    # from, and so what apply() checks is still on disk (a second read could see another
    # process's write and make its loss pass the check)
    _read: dict[Path, bytes | None] = field(default_factory=dict, repr=False)

    def _disk(self, path: Path) -> bytes | None:
        if path not in self._read:
            self._read[path] = path.read_bytes() if path.exists() else None
        return self._read[path]

    def _find(self, path: Path) -> Change | None:
        return next((c for c in self.changes if c.path == path), None)

    def pending(self, path: Path) -> bytes | None:
        """What ``path`` will hold once the set is applied: the latest change added for it,
        else its content on disk (None when it does not exist and nothing creates it).

        Every step that edits a file the set may already change reads it through this, so
        two edits of one file (INSTALLED_APPS, then EXEMPT_PATHS in the same settings.py)
        compose instead of the second replacing the first."""
        change = self._find(path)
        if change is not None:
            return change.new
        return self._disk(path)

    def add(self, path: Path, new: bytes | str) -> None:
        """Plan ``path`` to hold ``new``. A second add for the same path supersedes the
        first's content but keeps the original disk content as ``old`` (what apply() checks
        and what the diff starts from); content equal to the disk drops the change."""
        data = new.encode("utf-8") if isinstance(new, str) else new
        earlier = self._find(path)
        old = earlier.old if earlier is not None else self._disk(path)
        if earlier is not None:
            if data == old:
                self.changes.remove(earlier)
            else:
                earlier.new = data
            return
        if old == data:
            return
        self.changes.append(Change(path, data, old))

    def add_tree(
        self, src_dir: Path, dest_dir: Path, *, skip: tuple[str, ...] = ("__pycache__",)
    ) -> list[Path]:
        """Add every file under ``src_dir`` (a rendered template) at the same relative path
        under ``dest_dir``, in a stable order; folders named in ``skip`` are left out.
        Returns every destination path, changed or not."""
        files: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(src_dir):
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for filename in sorted(filenames):
                src = Path(dirpath) / filename
                dest = dest_dir / src.relative_to(src_dir)
                self.add(dest, src.read_bytes())
                files.append(dest)
        return files

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def diff(self, root: Path | None = None) -> str:
        return "".join(c.diff(root) for c in sorted(self.changes, key=lambda c: str(c.path)))

    def delete(self, path: Path) -> None:
        """Plan ``path`` (an existing file) to be removed with the rest of the set."""
        earlier = self._find(path)
        if earlier is not None:
            self.changes.remove(earlier)
            if earlier.old is None:
                return
        old = earlier.old if earlier is not None else self._disk(path)
        if old is not None:
            self.changes.append(Change(path, None, old))

    def apply(self) -> None:
        """Write every change as one set, through the project's write journal
        (:mod:`scaffold.journal`): a run killed half-way is completed or rolled back by the
        next scaffold command, so the tree is never left mixed.

        Read-only files and folders are refused before anything is written (a rename would
        replace a file its owner marked read-only); a write that still fails (disk full,
        permissions) restores what was written and raises :class:`OperationFailed`.
        The project lock is taken for the commit when the caller does not hold it already
        (the CLI holds it for the whole read-plan-write cycle)."""
        if not self.changes:
            return
        for change in self.changes:
            _check_writable(change.path)
        from scaffold import journal, lock

        changes = [Change(_resolved(c.path), c.new, c.old) for c in self.changes]
        paths = [c.path for c in changes]
        held = lock.held_root(paths)
        if held is not None:
            journal.commit(held[0], changes, held[1])
            return
        root = _project_root(paths)
        with lock.project_lock(root, label="apply"):
            journal.commit(root, changes, "apply")


def _resolved(path: Path) -> Path:
    """``path`` with its folder's symbolic links resolved (the file itself is not followed)."""
    return path.absolute().parent.resolve() / path.name


def _project_root(paths: list[Path]) -> Path:
    """Where the journal of a library-level apply lives: the nearest folder holding
    manage.py above the changed files, else their deepest existing common folder."""
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    while not common.exists():
        common = common.parent
    for folder in (common, *common.parents):
        if (folder / "manage.py").is_file():
            return folder
    return common


def _check_writable(path: Path) -> None:
    """Refuse a symbolic link (the rename would replace the link with a copy), a read-only
    target file, or a target folder scaffold cannot write into (the temp file and the
    rename need it). Mode bits are checked as well as access, so a file
    or folder marked read-only is respected when running as root too."""
    if path.is_symlink():
        raise OperationFailed(
            f"{path} is a symbolic link (to {os.path.realpath(path)}); scaffold writes files in place and "
            "would replace the link: point the configuration at the real file or edit it by hand; "
            "nothing was written"
        )
    if path.exists():
        mode = path.stat().st_mode
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise OperationFailed(
                f"{path}: read-only file; make it writable (chmod u+w) or leave it out of the run; "
                "nothing was written"
            )
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.stat().st_mode & 0o222 or not os.access(parent, os.W_OK | os.X_OK):
        raise OperationFailed(f"{parent}: folder not writable; fix its permissions; nothing was written")
