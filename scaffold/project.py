"""Finding the target Django project and walking its source files."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import ProjectNotFound, SourceError, UsageError

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".venv",
    "venv",
    ".env",
    "env",
    ".git",
    ".hg",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    "site-packages",
    "build",
    "dist",
    "migrations",
    "*backup*",
    "*_bak",
    "*.bak",
    "*.orig",
    "old_*",
    "*_old",
)


def find_project(project: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """Return the Django project root: ``project`` itself, or the nearest folder up from cwd with manage.py."""
    if project is not None:
        root = Path(project).expanduser()
        if not root.exists():
            raise ProjectNotFound(
                f"--project {project}: no such directory; pass the folder that holds manage.py"
            )
        if not root.is_dir():
            raise ProjectNotFound(
                f"--project {project}: not a directory; pass the folder that holds manage.py"
            )
        if not (root / "manage.py").is_file():
            raise ProjectNotFound(
                f"--project {project}: no manage.py there; pass the folder that holds manage.py"
            )
        return root.resolve()
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "manage.py").is_file():
            return folder
    raise ProjectNotFound(
        f"no manage.py in {start} or any parent; run inside a Django project or pass --project DIR"
    )


def is_excluded(rel: str, patterns: Iterable[str]) -> bool:
    """True when the relative posix path ``rel`` or any of its folders matches a glob."""
    whole, part = _compiled(tuple(patterns))
    if whole is not None and whole.match(os.path.normcase(rel)):
        return True
    return part is not None and any(part.match(os.path.normcase(p)) for p in rel.split("/"))


@functools.lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One regex for the globs matched against the whole path, one for those matched per folder
    (the walk calls is_excluded for every folder and file: fnmatch per glob per part is slow)."""

    def join(globs: list[str]) -> re.Pattern[str] | None:
        return re.compile("|".join(fnmatch.translate(os.path.normcase(g)) for g in globs)) if globs else None

    return join(list(patterns)), join([p for p in patterns if "/" not in p])


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str


def iter_python_files(
    root: Path, exclude: Iterable[str], paths: Iterable[Path] | None = None
) -> Iterator[SourceFile]:
    """Yield the project's ``.py`` files in a stable order, pruning excluded folders early.

    A file or folder passed explicitly in ``paths`` is never excluded itself (as with ruff,
    ``scaffold audit backup/`` audits that folder): below an excluded folder passed
    explicitly the globs are matched against the path relative to it, elsewhere against the
    path relative to the project root."""
    patterns = tuple(exclude)
    starts = [Path(p).resolve() for p in paths] if paths else [root]
    seen: set[Path] = set()
    for start in starts:
        if start.is_file():
            if start.suffix == ".py" and start not in seen:
                seen.add(start)
                yield SourceFile(start, rel_path(root, start))
            continue
        anchor = start if start != root and is_excluded(rel_path(root, start), patterns) else root
        # relative paths by string slicing: Path.relative_to per file is most of a warm run
        root_prefix, anchor_prefix = _prefix(root), _prefix(anchor)
        for dirpath, dirnames, filenames in os.walk(start):
            below = _below(dirpath, anchor_prefix)
            dirnames[:] = sorted(d for d in dirnames if not is_excluded(f"{below}{d}", patterns))
            for name in sorted(filenames):
                if not name.endswith(".py") or is_excluded(f"{below}{name}", patterns):
                    continue
                path = Path(dirpath, name)
                if path in seen:
                    continue
                seen.add(path)
                yield SourceFile(path, _below(dirpath, root_prefix) + name)


def _prefix(folder: Path) -> str:
    return os.path.join(str(folder), "")


def _below(dirpath: str, prefix: str) -> str:
    """``dirpath`` relative to the folder whose ``prefix`` (path + separator) is given, as a
    posix prefix ending in ``/`` (empty for the folder itself)."""
    if dirpath + os.sep == prefix:
        return ""
    rel = dirpath[len(prefix) :] if dirpath.startswith(prefix) else dirpath
    return rel.replace(os.sep, "/") + "/"


def resolve_paths(root: Path, paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Command-line PATHs as resolved paths inside the project ``root`` (relative ones are
    tried from the current directory, then from the root). A missing path, or one that is
    outside the project (symbolic links followed), is a :class:`UsageError`: scaffold never
    reads or writes files of another project."""
    resolved: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_absolute() and not path.exists() and (root / path).exists():
            path = root / path
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory; pass files or folders inside the project")
        real = path.resolve()
        if not real.is_relative_to(root):
            raise UsageError(
                f"{raw}: outside the project {root}"
                + (f" (it links to {real})" if real != path.absolute() else "")
                + "; pass paths inside it, or --project for the other project"
            )
        resolved.append(real)
    return resolved


def rel_path(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in posix form, for messages and ids (absolute when outside)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def git_ignored(root: Path, rel: str) -> str | None:
    """Where git ignores the folder ``rel`` of ``root`` (``.gitignore:4:/static/``), or None.

    Asks git itself (``git check-ignore --no-index``) inside a work tree; elsewhere reads
    ``root/.gitignore`` for the patterns that can match a top-level folder."""
    import shutil
    import subprocess

    if shutil.which("git"):
        try:
            result = subprocess.run(
                ["git", "-C", str(root), "check-ignore", "-v", "--no-index", f"{rel}/", f"{rel}/__init__.py"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        if result is not None and result.returncode == 1:  # 128: not a git work tree
            return None
        if result is not None and result.returncode == 0:
            sources = [line.split("\t")[0] for line in result.stdout.splitlines()]
            return next((src for src in sources if ":!" not in src), None) or "git check-ignore"
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = None
    for number, raw in enumerate(lines, 1):
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        core = pattern[1:] if negate else pattern
        core = core.rstrip("/")
        core = core[1:] if core.startswith("/") else core
        # "**/x" matches x at any depth (the top level too); "x/**" everything inside x
        core = core.removeprefix("**/").removesuffix("/**")
        if "/" in core.strip("*") or not fnmatch.fnmatchcase(rel, core):
            continue
        found = None if negate else f".gitignore:{number}:{raw.strip()}"
    return found


def unreadable(exc: OSError) -> str:
    """``cannot read (Permission denied)``: why a file could not be read, for one line."""
    return f"cannot read ({exc.strerror or type(exc).__name__})"


def unreadable_error(where: str, exc: OSError, need: str) -> SourceError:
    """The one line (exit 2) for a file scaffold must ``need`` (``edit it``) but cannot read."""
    return SourceError(
        f"{where}: {unreadable(exc)}; scaffold must {need}: fix its permissions (chmod u+rw) and re-run"
    )


def read_required(root: Path, path: Path, purpose: str) -> bytes:
    """The bytes of a project file a command must read (and usually edit); a file that
    cannot be read is one line (:class:`SourceError`, exit 2), never a traceback."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unreadable_error(rel_path(root, path), exc, f"read it to {purpose}") from None


def module_file(root: Path, dotted: str) -> Path | None:
    """Map ``a.b`` to ``root/a/b.py`` or ``root/a/b/__init__.py``."""
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def file_module(root: Path, path: Path) -> str:
    """Map ``root/a/b.py`` back to ``a.b``."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
