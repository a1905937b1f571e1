"""The write journal: a multi-file change is applied wholly or not at all, even when the
process is killed half-way.

:meth:`scaffold.fsutil.ChangeSet.apply` commits through :func:`commit`, under the project
lock (:mod:`scaffold.lock`):

1. a journal ``.scaffold/journal.json`` in state ``preparing`` lists every target (path
   relative to the project), the SHA-256 of its old and new content, the temp file that
   will hold the new content, the kept copy of the old content and the folders to create;
   it is fsynced (file and folder);
2. every new content is written to its temp file (created files get the umask's mode,
   rewritten files keep theirs) and every old content is kept (a hard link, or a copy),
   all fsynced; every target is checked to still hold its old content;
3. the journal is rewritten in state ``committing`` (fsynced): the commit point;
4. folders are created and the temp files renamed over their targets (deleted targets
   unlinked), then the folders are fsynced;
5. the journal is removed, then the kept copies.

The next scaffold command in the project (:func:`recover`, run by :mod:`scaffold.lock`)
finds a journal left behind by a killed run. In state ``committing`` it rolls forward when
every target is either already new or still old with its temp file intact; otherwise (and
in state ``preparing``) it rolls back, restoring only targets that hold exactly the new
content (a file someone changed since is left as it is and named). Either way no temp file
is left behind.

SIGINT and SIGTERM are deferred while a change is applied: one that arrives while temp
files are written stops the run with nothing changed; one that arrives during the renames
lets them finish. Both then exit 130 (:class:`Interrupted`).

Test hooks (environment): ``SCAFFOLD_FAULT_AFTER_STAGED=N`` / ``SCAFFOLD_FAULT_AFTER_RENAMES=N``
deliver ``SCAFFOLD_FAULT_SIGNAL`` (``KILL`` by default, ``INT``, ``TERM``, or ``ERROR`` for an
injected I/O error) after N temp files were written / N targets were renamed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from scaffold.errors import Interrupted, OperationFailed
from scaffold.fsutil import write_new_file
from scaffold.lock import state_dir

if TYPE_CHECKING:
    from scaffold.fsutil import Change

JOURNAL = "journal.json"
TXN = "txn"
VERSION = 1


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return digest(path.read_bytes())
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "<directory>"


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder
    finally:
        os.close(fd)


def stage(target: Path, temp: Path, data: bytes, mode: int | None) -> None:
    """Write ``data`` to the fresh file ``temp`` (the future ``target``) and fsync it.
    ``mode`` None: the umask's mode, as for any created file. (The tests' fault injection
    point for the staging writes.)"""
    write_new_file(temp, data, mode)


# -- signals and faults ----------------------------------------------------------------


class _Deferred:
    """Hold SIGINT / SIGTERM while active (main thread only); remember the first one."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _Deferred:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:  # (nohup, background jobs)
                    self._saved[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


def _fault(phase: str, count: int) -> None:
    """The fault-injection hook of the kill tests (see the module docstring)."""
    at = os.environ.get(f"SCAFFOLD_FAULT_AFTER_{phase}")
    if at is None or not at.isdigit() or int(at) != count:
        return
    how = os.environ.get("SCAFFOLD_FAULT_SIGNAL", "KILL").upper()
    if how == "ERROR":
        raise OSError(errno.EIO, "injected fault")
    os.kill(os.getpid(), getattr(signal, f"SIG{how}"))


# -- the journal -----------------------------------------------------------------------


@dataclass
class Entry:
    target: str  # relative to the project root
    old: str | None  # sha256 of the old content; None: the target did not exist
    new: str | None  # sha256 of the new content; None: the target is deleted
    temp: str | None  # where the new content is staged (relative to the root)
    backup: str | None  # the kept old content (relative to the root)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "old": self.old,
            "new": self.new,
            "temp": self.temp,
            "backup": self.backup,
        }


def _write_journal(root: Path, state: str, label: str, dirs: Sequence[str], entries: Sequence[Entry]) -> None:
    folder = state_dir(root)
    data = json.dumps(
        {
            "version": VERSION,
            "state": state,
            "command": label,
            "pid": os.getpid(),
            "dirs": list(dirs),
            "entries": [e.to_json() for e in entries],
        },
        indent=0,
    ).encode()
    tmp = folder / f"{JOURNAL}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    stage(folder / JOURNAL, tmp, data, None)
    os.replace(tmp, folder / JOURNAL)
    fsync_dir(folder)


def _remove_journal(root: Path) -> None:
    folder = state_dir(root)
    (folder / JOURNAL).unlink()
    fsync_dir(folder)
    _clear_txn(root)


def _clear_txn(root: Path) -> None:
    folder = state_dir(root)
    with contextlib.suppress(FileNotFoundError):
        (folder / f"{JOURNAL}.tmp").unlink()
    shutil.rmtree(folder / TXN, ignore_errors=True)


def _rel(root: Path, path: Path) -> str:
    return os.path.relpath(path, root)


def _existing_ancestor(path: Path) -> Path:
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    return parent


def commit(root: Path, changes: Sequence[Change], label: str) -> None:
    """Apply ``changes`` (targets inside ``root``) through the journal. The caller holds the
    project lock. Raises :class:`OperationFailed` (nothing changed) or :class:`Interrupted`."""
    folder = state_dir(root)
    txn = folder / TXN
    _clear_txn(root)  # debris of a run killed before its journal existed
    txn.mkdir(parents=True)
    txn_dev = txn.stat().st_dev

    dirs: list[Path] = []
    entries: list[Entry] = []
    for i, change in enumerate(changes):
        anchor = _existing_ancestor(change.path)
        missing = [p for p in reversed(change.path.parents) if p.is_relative_to(anchor) and p != anchor]
        dirs.extend(d for d in missing if d not in dirs)
        temp: Path | None = None
        if change.new is not None:
            # renames cannot cross file systems: stage beside the target when it is elsewhere
            temp = txn / f"new-{i}" if anchor.stat().st_dev == txn_dev else anchor / f".scaffold-new-{i}.tmp"
        entries.append(
            Entry(
                _rel(root, change.path),
                digest(change.old),
                digest(change.new),
                None if temp is None else _rel(root, temp),
                None if change.old is None else _rel(root, txn / f"old-{i}"),
            )
        )
    rel_dirs = [_rel(root, d) for d in dirs]

    with _Deferred() as deferred:
        at = 0
        try:
            _write_journal(root, "preparing", label, rel_dirs, entries)
            for at, (change, entry) in enumerate(zip(changes, entries, strict=True)):
                if deferred.signum is not None:
                    break
                _prepare(root, change, entry)
                _fault("STAGED", at + 1)
            if deferred.signum is None:
                for change in changes:  # the last look before the commit point
                    if (change.path.read_bytes() if change.path.exists() else None) != change.old:
                        raise OperationFailed(
                            f"{change.path} changed while scaffold was working; re-run the command"
                        )
                fsync_dir(txn)
                for temp_dir in {(root / e.temp).parent for e in entries if e.temp}:
                    fsync_dir(temp_dir)
                _write_journal(root, "committing", label, rel_dirs, entries)  # the commit point
        except BaseException as exc:
            _discard(root, entries)
            if isinstance(exc, OSError):
                where = changes[at].path if changes else exc.filename
                raise OperationFailed(
                    f"cannot write {where}: {exc.strerror or exc}; every file was left as it was"
                ) from exc
            raise
        if deferred.signum is not None:
            _discard(root, entries)
            raise Interrupted("stopped before writing anything; every file was left as it was")

        done = 0
        try:
            _fault("RENAMES", 0)
            for d in dirs:
                d.mkdir(exist_ok=True)
            for change, entry in zip(changes, entries, strict=True):
                if entry.temp is None:
                    change.path.unlink()
                else:
                    os.replace(root / entry.temp, change.path)
                done += 1
                _fault("RENAMES", done)
            for parent in sorted({c.path.parent for c in changes} | {d.parent for d in dirs}):
                fsync_dir(parent)
        except OSError as exc:
            where = changes[done].path if done < len(changes) else exc.filename
            try:
                outcome = _roll_back(root, entries, [Path(root, d) for d in rel_dirs])
            except OSError as again:
                raise OperationFailed(
                    f"cannot write {where}: {exc.strerror or exc}; restoring the other files failed too "
                    f"({again.strerror or again}): the next scaffold command in this project will finish "
                    "restoring them"
                ) from exc
            left = f" (left as they are, changed since: {', '.join(outcome.kept)})" if outcome.kept else ""
            raise OperationFailed(
                f"cannot write {where}: {exc.strerror or exc}; every file was left as it was{left}"
            ) from exc
        with contextlib.suppress(OSError):  # else the next command finds every file new: done
            _remove_journal(root)
        if deferred.signum is not None:
            raise Interrupted(f"the change being written was completed first ({len(changes)} files written)")


def _prepare(root: Path, change: Change, entry: Entry) -> None:
    """Stage the new content and keep the old one."""
    mode = None
    if change.old is not None:
        mode = change.path.stat().st_mode & 0o7777
        backup = root / entry.backup  # type: ignore[operator]
        try:
            os.link(change.path, backup)  # the old inode itself: content and mode
        except OSError:
            stage(change.path, backup, change.old, mode)
    if entry.temp is not None and change.new is not None:
        stage(change.path, root / entry.temp, change.new, mode)


def _discard(root: Path, entries: Sequence[Entry]) -> None:
    """Nothing was renamed yet: drop the temp files and the journal."""
    for e in entries:
        if e.temp:
            with contextlib.suppress(FileNotFoundError):
                (root / e.temp).unlink()
    with contextlib.suppress(FileNotFoundError):
        (state_dir(root) / JOURNAL).unlink()
    _clear_txn(root)


@dataclass
class _Outcome:
    restored: int
    kept: list[str]


def _roll_back(root: Path, entries: Sequence[Entry], dirs: Sequence[Path]) -> _Outcome:
    """Put back every target that holds exactly the new content; leave any other alone."""
    restored, kept = 0, []
    for e in entries:
        target = root / e.target
        current = _file_digest(target)
        if current == e.old:
            continue  # never renamed
        if current != e.new:
            kept.append(e.target)  # someone else's later write: never overwritten
            continue
        if e.old is None:
            target.unlink()
        else:
            backup = root / e.backup  # type: ignore[operator]
            if _file_digest(backup) != e.old:
                kept.append(e.target)
                continue
            try:
                os.replace(backup, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                tmp = target.parent / f".scaffold-restore-{target.name}.tmp"
                stage(target, tmp, backup.read_bytes(), backup.stat().st_mode & 0o7777)
                os.replace(tmp, target)
        restored += 1
    for e in entries:
        if e.temp:
            with contextlib.suppress(FileNotFoundError):
                (root / e.temp).unlink()
    for d in reversed(dirs):
        with contextlib.suppress(OSError):
            d.rmdir()
    for parent in sorted({(root / e.target).parent for e in entries if (root / e.target).parent.exists()}):
        fsync_dir(parent)
    _remove_journal(root)
    return _Outcome(restored, kept)


def _roll_forward(root: Path, entries: Sequence[Entry], dirs: Sequence[Path]) -> bool:
    """Finish the renames when every target is new already or still old with its temp intact."""
    todo: list[Entry] = []
    for e in entries:
        current = _file_digest(root / e.target)
        if current == e.new:
            continue
        if current != e.old or (e.temp is not None and _file_digest(root / e.temp) != e.new):
            return False
        todo.append(e)
    for d in dirs:
        d.mkdir(exist_ok=True)
    for e in todo:
        if e.temp is None:
            (root / e.target).unlink()
        else:
            os.replace(root / e.temp, root / e.target)
    for parent in sorted({(root / e.target).parent for e in entries}):
        fsync_dir(parent)
    _remove_journal(root)
    return True


def pending(root: Path) -> bool:
    return (state_dir(root) / JOURNAL).exists()


def recover(root: Path) -> str | None:
    """Finish the journal a killed run left (the caller holds the lock); one line saying what
    was done, or None when there was nothing to do."""
    path = state_dir(root) / JOURNAL
    try:
        journal = json.loads(path.read_bytes())
    except FileNotFoundError:
        _clear_txn(root)
        return None
    except (OSError, ValueError) as exc:
        raise OperationFailed(
            f"{path}: unreadable scaffold journal ({exc}); check the files it would name, then delete it"
        ) from exc
    entries = [Entry(**e) for e in journal.get("entries", [])]
    dirs = [root / d for d in journal.get("dirs", [])]
    what = f"`scaffold {journal.get('command', '?')}` (pid {journal.get('pid', '?')})"
    if journal.get("state") != "committing":
        _discard(root, entries)
        return f"rolled back the interrupted {what}: it had not changed any file yet"
    with _Deferred():
        if _roll_forward(root, entries, dirs):
            return f"completed the interrupted {what}: all {len(entries)} of its file changes are written"
        outcome = _roll_back(root, entries, dirs)
    left = (
        f"; left {len(outcome.kept)} changed since as they are: {', '.join(outcome.kept)}"
        if outcome.kept
        else ""
    )
    return f"rolled back the interrupted {what}: {outcome.restored} file(s) restored{left}"


@contextlib.contextmanager
def deferred_signals() -> Iterator[_Deferred]:
    with _Deferred() as d:
        yield d
