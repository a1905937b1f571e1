"""The project lock: one mutating scaffold run per project at a time.

A mutating command (init, new-module, migrate-viewsets, fix, update) holds an exclusive
``fcntl.flock`` on ``<project>/.scaffold/lock`` for its whole read-plan-write cycle, so two
runs never plan from the same old content (a lost update): the second one reads after the
first one wrote. A second run waits (bounded, ``SCAFFOLD_LOCK_TIMEOUT`` seconds, default 120),
saying so once, or with ``--no-wait`` exits 2 at once. Read-only commands never wait for it.

Before its own work every command looks for an unfinished journal left by a run that was
killed in its commit phase (:mod:`scaffold.journal`) and, when no live run holds the lock,
completes it or rolls it back. The folder is removed again when a run leaves nothing in it,
so a project only ever shows ``.scaffold/`` while a run is active or was killed; it holds a
``.gitignore`` of ``*`` so git never sees it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scaffold.errors import OperationFailed, ScaffoldError, UsageError

STATE_DIR = ".scaffold"
LOCK_NAME = "lock"
IGNORE_TEXT = "# created by scaffold: its write journal and project lock\n*\n"
DEFAULT_TIMEOUT = 120.0
WAITING = "waiting for another scaffold run in this project"


class LockBusy(UsageError):
    """Another scaffold run holds the project lock (exit 2)."""


class LockUnavailable(OperationFailed):
    """The lock file cannot be created: the project folder is read-only (exit 2)."""


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


@dataclass
class _Held:
    root: Path
    fd: int
    label: str
    depth: int = 1


_HELD: dict[Path, _Held] = {}


def _forget_in_child() -> None:
    """A forked child (the engine's process pool) must not keep the lock alive: a worker
    orphaned by a killed run would otherwise hold it until it exits."""
    for held in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def held_root(paths: Iterable[Path]) -> tuple[Path, str] | None:
    """The locked project (and its run's label) that contains every path, if this process holds one."""
    paths = list(paths)
    for root, held in _HELD.items():
        if all(p.is_relative_to(root) for p in paths):
            return root, held.label
    return None


def _timeout() -> float:
    raw = os.environ.get("SCAFFOLD_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def _ensure_dir(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(IGNORE_TEXT, encoding="utf-8")


def _try_open_locked(root: Path, *, block_until: float | None) -> int | None:
    """Open and flock ``.scaffold/lock``; None when busy (after ``block_until`` if given).

    The lock file is unlinked by whoever releases the lock last, so after getting the flock
    the path must still name the inode we locked; else we locked a stale file and retry."""
    folder = state_dir(root)
    path = folder / LOCK_NAME
    while True:
        try:
            _ensure_dir(folder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except FileNotFoundError:  # the folder was removed by a run finishing just now
            continue
        except OSError as exc:
            raise LockUnavailable(
                f"cannot create the project lock {path}: {exc.strerror or exc}; "
                "scaffold needs to write in the project folder; nothing was written"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if block_until is None or time.monotonic() >= block_until:
                return None
            time.sleep(0.05)
            continue
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            _ensure_dir(folder)  # a finishing run may have removed the .gitignore
            return fd
        os.close(fd)


def _release(held: _Held) -> None:
    """Drop the lock; remove ``.scaffold/`` when it holds nothing but the lock itself."""
    folder = state_dir(held.root)
    try:
        with contextlib.suppress(OSError):
            (folder / "txn").rmdir()  # only when empty
        names = {p.name for p in folder.iterdir()}
        if names <= {LOCK_NAME, ".gitignore"}:  # else a journal to finish: keep it, git-ignored
            (folder / LOCK_NAME).unlink()  # while locked: see _try_open_locked
            with contextlib.suppress(OSError):
                (folder / ".gitignore").unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()
    except OSError:
        pass
    finally:
        os.close(held.fd)


@contextlib.contextmanager
def project_lock(
    root: Path,
    *,
    label: str = "scaffold",
    wait: bool = True,
    timeout: float | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the project's lock (re-entrant within this process). Finishes an interrupted
    journal first, reporting it through ``say``."""
    root = root.resolve()
    held = _HELD.get(root)
    if held is not None:
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
        return
    emit = say or _stderr
    fd = _try_open_locked(root, block_until=None)
    if fd is None:
        if not wait:
            raise LockBusy(
                f"another scaffold run is changing {root} (it holds {STATE_DIR}/{LOCK_NAME}); "
                "re-run when it has finished, or drop --no-wait to wait for it"
            )
        limit = _timeout() if timeout is None else timeout
        emit(WAITING)
        fd = _try_open_locked(root, block_until=time.monotonic() + limit)
        if fd is None:
            raise LockBusy(
                f"another scaffold run held the lock of {root} for {limit:g}s; re-run when it has finished "
                f"(or remove {STATE_DIR}/{LOCK_NAME} if no scaffold is running)"
            )
    held = _Held(root, fd, label)
    _HELD[root] = held
    try:
        from scaffold.journal import recover

        message = recover(root)
        if message:
            emit(message)
        yield
    finally:
        del _HELD[root]
        _release(held)


def recover_if_idle(root: Path, *, say: Callable[[str], None] | None = None) -> None:
    """For read-only commands: finish a journal a killed run left behind, unless a live run
    holds the lock (then the journal is that run's, still committing: left alone, not waited for)."""
    root = root.resolve()
    if root in _HELD or not (state_dir(root) / "journal.json").exists():
        return
    try:
        fd = _try_open_locked(root, block_until=None)
    except ScaffoldError:
        return  # a read-only checkout: nothing we could repair anyway
    if fd is None:
        return
    held = _Held(root, fd, "recovery")
    _HELD[root] = held
    try:
        from scaffold.journal import recover

        message = recover(root)
        if message:
            (say or _stderr)(message)
    finally:
        del _HELD[root]
        _release(held)


@contextlib.contextmanager
def guard(
    project: str | os.PathLike[str] | None,
    *,
    mutating: bool,
    wait: bool = True,
    label: str = "scaffold",
    say: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """What every CLI command runs inside: mutating ones hold the project lock, read-only
    ones only finish an interrupted journal first. A missing project is left to the command
    to report."""
    from scaffold.errors import ProjectNotFound
    from scaffold.project import find_project

    try:
        root: Path | None = find_project(project)
    except ProjectNotFound:
        if mutating:
            raise
        root = None
    if root is None or not mutating:
        if root is not None:
            recover_if_idle(root, say=say)
        yield
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(project_lock(root, label=label, wait=wait, say=say))
        except LockUnavailable:
            pass  # a read-only project folder: if the run has something to write after all,
            # ChangeSet.apply refuses with this same message, nothing written
        yield


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
