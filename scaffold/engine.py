"""The fast pipeline shared by ``scaffold migrate-viewsets`` and ``scaffold audit``.

Every file goes through the cheapest test that can reject it, and only survivors pay for
the next, dearer one::

    walk (excludes) -> size / encoding checks -> byte prefilter (each unit's needles)
        -> content-hash cache -> stdlib ``ast`` (Unit.analyze) -> libcst (Unit.fix, only
        where a fix is due)

Analysis and fixing run in a process pool (``jobs``); files that are huge, not decodable
or not parsable are reported, never crashed on. The cache (``.scaffold-cache/`` under the
project) remembers per-file outcomes keyed by the file's content hash, the units' codes and
versions, the settings, and the content hashes of every other file the outcome depended on
(base classes resolved through :mod:`scaffold.index`), so a warm re-run only reads and hashes.

The API is small:

* a **unit** (:class:`Unit`) is anything with ``code``, ``version``, ``needles`` and
  ``analyze(ctx) -> Analysis``; units that can rewrite also implement ``fix(ctx, text) -> text``.
  Audit rules are units that only return findings.
* :func:`run` takes units and files and returns a :class:`RunReport` of :class:`FileResult`.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import gc
import hashlib
import io
import json
import os
import sys
import tokenize
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from scaffold.index import ProjectIndex
from scaffold.project import SourceFile, unreadable

ENGINE_VERSION = "2"  # 2: one cache for analysis and fix outcomes, rewritten bytes kept
MAX_BYTES = 1_000_000
# Below these, a process pool costs more than it saves: run in this process.
INLINE_MAX_FILES = 8
INLINE_MAX_BYTES = 200_000
CACHE_DIR = ".scaffold-cache"

Status = Literal["unchanged", "rewritten", "manual", "unparsable", "skipped"]
Kind = Literal["manual", "finding", "skipped", "unparsable", "error", "view"]
NOT_JUDGED = "not judged: "  # a ``view`` message whose verdict scaffold could not reach


# -- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One thing to tell the user about a file, with a 1-based line and 0-based column."""

    line: int
    col: int
    code: str  # the unit's code: a codemod name or a rule code such as TEN001
    message: str
    kind: Kind = "finding"
    symbol: str = ""  # enclosing class (or function) the message is about
    fixable: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": self.message,
            "kind": self.kind,
            "symbol": self.symbol,
            "fixable": self.fixable,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(**data)


@dataclass
class FileResult:
    """The outcome for one file.

    ``status``: ``unchanged`` (nothing due), ``rewritten`` (a fix is due; ``new`` holds the
    new bytes unless the run was ``fix=False`` or the result came from the cache),
    ``manual`` (something needs a human; nothing written), ``unparsable`` (syntax error),
    ``skipped`` (huge or not decodable). A file can be ``rewritten`` and still carry
    ``manual`` messages for the parts it could not touch.
    """

    path: Path
    rel: str
    status: Status = "unchanged"
    new: bytes | None = None
    old: bytes | None = None  # the bytes ``new`` was computed from (writes check they're unchanged)
    messages: list[Message] = field(default_factory=list)
    deps: dict[str, str] = field(default_factory=dict)  # rel path -> content hash
    cached: bool = False
    # False when a unit crashed on the file: such an outcome may be transient (an interrupt
    # surfacing as another exception, memory) and is never cached, so the next run retries
    cacheable: bool = True
    # When a fix ran: the analysis-only outcome (status, messages), what a ``fix=False`` run
    # reports; the cache keeps both so ``--check`` and ``--diff`` share one cache.
    analysis: tuple[Status, list[Message]] | None = None

    @property
    def findings(self) -> list[Message]:
        return [m for m in self.messages if m.kind == "finding"]

    @property
    def manual(self) -> list[Message]:
        return [m for m in self.messages if m.kind == "manual"]


@dataclass
class RunReport:
    """Everything :func:`run` found. ``results`` holds every scanned file, in walk order."""

    results: list[FileResult]
    root: Path

    @property
    def scanned(self) -> int:
        return len(self.results)

    def with_status(self, *status: Status) -> list[FileResult]:
        return [r for r in self.results if r.status in status]

    @property
    def rewritten(self) -> list[FileResult]:
        return self.with_status("rewritten")

    @property
    def unparsable(self) -> list[FileResult]:
        return self.with_status("unparsable")

    @property
    def skipped(self) -> list[FileResult]:
        return self.with_status("skipped")

    @property
    def unanalyzed(self) -> list[FileResult]:
        """Files that could hold a finding but were not analyzed: unparsable or skipped."""
        return self.with_status("unparsable", "skipped")

    @property
    def manual(self) -> list[tuple[FileResult, Message]]:
        return [(r, m) for r in self.results for m in r.messages if m.kind == "manual"]

    @property
    def findings(self) -> list[tuple[FileResult, Message]]:
        return [(r, m) for r in self.results for m in r.messages if m.kind == "finding"]


def problem_lines(report: RunReport) -> list[str]:
    """One line per file that could hold a finding but was not analyzed (syntax error,
    huge, not decodable): what ``migrate-viewsets`` and ``fix`` list in their summaries."""
    lines = []
    for res in report.unparsable:
        lines += [f"{res.rel}:{msg.line}: unparsable: {msg.message}" for msg in res.messages]
    for res in report.skipped:
        lines += [f"{res.rel}: {msg.message}" for msg in res.messages]
    return lines


def view_census(report: RunReport) -> tuple[int, list[tuple[str, Message]]]:
    """(views recognised, the ones not judged with their file) from the units' ``view``
    messages (one per view and unit; a view counts once)."""
    views: dict[tuple[str, str, int], Message] = {}
    for res in report.results:
        for m in res.messages:
            if m.kind == "view":
                views.setdefault((res.rel, m.symbol, m.line), m)
    unjudged = [(rel, m) for (rel, _, _), m in views.items() if m.message.startswith(NOT_JUDGED)]
    return len(views), sorted(unjudged, key=lambda x: (x[0], x[1].line))


def census_line(report: RunReport) -> str:
    """``12 views recognised, 11 analysed`` (``0 views recognised`` says scaffold saw no
    DRF view at all: a project with its own copy of DRF, or the wrong folder)."""
    recognised, unjudged = view_census(report)
    return f"{counted(recognised, 'view')} recognised, {recognised - len(unjudged)} analysed"


def problem_counts(report: RunReport, more_unparsable: int = 0) -> str:
    """``2 unparsable, 1 skipped``; ``more_unparsable`` counts files found outside the run."""
    return f"{len(report.unparsable) + more_unparsable} unparsable, {len(report.skipped)} skipped"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files`` (summaries)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


# -- units ---------------------------------------------------------------------------


@dataclass
class Analysis:
    """What a unit's ``analyze`` found: messages, and whether its ``fix`` has work to do."""

    messages: list[Message] = field(default_factory=list)
    fix_due: bool = False


class ManualReview(Exception):
    """Raised by a unit's ``fix`` when a file cannot be rewritten safely; nothing is written."""

    def __init__(self, message: str, line: int = 1, col: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


@runtime_checkable
class Unit(Protocol):
    """A codemod or audit rule plugged into the engine.

    * ``code``: stable public name (``secure_viewsets``, ``TEN001``).
    * ``version``: bump when behaviour changes; part of the cache key.
    * ``needles``: byte strings; the unit sees a file only if one occurs in it (empty: all files).
    * ``analyze(ctx)``: cheap, stdlib-ast based; decides whether ``fix`` is due.
    * ``fix(ctx, text) -> text`` (optional): the libcst rewrite, called only when due; may raise
      :class:`ManualReview`.
    """

    @property
    def code(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def needles(self) -> tuple[bytes, ...]: ...

    def analyze(self, ctx: FileContext) -> Analysis: ...


@dataclass
class FileContext:
    """What a unit sees of one file. ``tree`` is parsed once, lazily, and shared by units."""

    path: Path
    rel: str
    module: str
    data: bytes
    text: str
    encoding: str
    settings: Mapping[str, Any]
    index: ProjectIndex
    scratch: dict[str, Any] = field(default_factory=dict)  # units may leave notes for their fix()
    _tree: ast.Module | None = None

    @property
    def tree(self) -> ast.Module:
        if self._tree is None:
            self._tree = ast.parse(self.text, filename=self.rel)
        return self._tree

    @property
    def newline(self) -> str:
        return "\r\n" if b"\r\n" in self.data else "\n"


# -- decoding ------------------------------------------------------------------------


class Undecodable(Exception):
    pass


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode Python source as the interpreter would (BOM, PEP 263 cookie; default UTF-8).

    Returns ``(text, encoding)``. Raises :class:`Undecodable` (with a reason) when the
    declared codec is unknown, the bytes don't decode, or they would not round-trip
    byte-identically (then a rewrite could corrupt the file).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # not UTF-8 without a cookie, unknown codec, BOM + other cookie
        if "invalid or missing" in str(exc.msg):
            raise Undecodable(
                "not valid UTF-8 and no PEP 263 coding cookie; add `# -*- coding: <enc> -*-` or re-encode the file"
            ) from exc
        raise Undecodable(f"bad coding declaration ({exc.msg})") from exc
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise Undecodable(f"unknown encoding {encoding!r}") from exc
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise Undecodable(
            f"not valid {encoding} at byte {exc.start}; add a PEP 263 coding cookie or re-encode the file"
        ) from exc
    if text.encode(encoding) != data:
        raise Undecodable(f"{encoding} does not round-trip this file")
    return text, encoding


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# -- per-file work (runs in workers) -------------------------------------------------


@dataclass
class _Job:
    path: Path
    rel: str
    unit_ids: tuple[int, ...]
    digest: str = ""  # content hash the parent saw (lets the worker reuse an index parse)
    data: bytes | None = None  # the bytes the parent read and hashed: the worker reads nothing


_STATE: dict[str, Any] = {}


def _init_worker(units: Sequence[Unit], settings: Mapping[str, Any], root: Path, fix: bool) -> None:
    _STATE.update(units=list(units), settings=dict(settings), root=root, fix=fix, index=ProjectIndex(root))


def _process_chunk(jobs: Sequence[_Job]) -> list[FileResult]:
    return [_process_collected(job) for job in jobs]


def _process_collected(job: _Job) -> FileResult:
    """:func:`_process`, then the cycles that file's analysis left behind are collected (see
    :func:`_young_collections_only`)."""
    result = _process(job)
    gc.collect(1)
    return result


@contextlib.contextmanager
def _young_collections_only() -> Iterator[None]:
    """Pause CPython's automatic garbage collection for a run; each file's young objects are
    collected after it instead (:func:`_process_collected`).

    The run keeps every parsed tree (the index), millions of objects that the automatic
    collector's full passes walk again and again as the heap grows: 0.5 s of plane's 3.1 s
    audit and 0.5 s of oncall's 2.3 s (CPU, ``-j 1``). A file's own cycles are still freed
    (its young generation is collected when it is done; peak RSS unchanged), only the full
    passes over the long-lived trees are skipped. Forked workers inherit the pause."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _process(job: _Job) -> FileResult:
    units: list[Unit] = _STATE["units"]
    index: ProjectIndex = _STATE["index"]
    result = FileResult(job.path, job.rel)
    try:
        data = job.data if job.data is not None else job.path.read_bytes()
        text, encoding = decode_source(data)
    except (OSError, Undecodable) as exc:
        result.status = "skipped"
        result.messages.append(Message(1, 0, "engine", f"skipped: {exc}", kind="skipped"))
        return result
    ctx = FileContext(
        path=job.path,
        rel=job.rel,
        module=index.module_name(job.path),
        data=data,
        text=text,
        encoding=encoding,
        settings=_STATE["settings"],
        index=index,
    )
    # the index may have parsed this very file already (as another file's base-class
    # module): the same bytes give the same tree, so don't parse it again
    ctx._tree = index.parsed_tree(ctx.module, job.path, content_hash(data))
    try:
        ctx.tree  # noqa: B018 - parse once, up front, so a syntax error is one clear status
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return _unparsable(result, exc)
    due: list[Unit] = []
    with index.tracking(job.path) as deps:
        index.add_tree(ctx.module, job.path, ctx.tree, data)
        for uid in job.unit_ids:
            unit = units[uid]
            try:
                analysis = unit.analyze(ctx)
            except RecursionError as exc:
                result.messages.append(
                    Message(1, 0, unit.code, f"too deeply nested to analyze ({exc})", kind="manual")
                )
                continue
            except Exception as exc:  # a unit bug must not stop the run; the file is left alone
                _reraise_interrupt(exc)
                result.cacheable = False
                result.messages.append(
                    Message(1, 0, unit.code, f"internal error analyzing this file: {exc!r}", kind="manual")
                )
                continue
            result.messages.extend(analysis.messages)
            if analysis.fix_due and hasattr(unit, "fix"):
                due.append(unit)
    result.deps = deps.hashes()
    if due and _STATE["fix"]:
        result.analysis = ("rewritten", list(result.messages))
        new_text = text
        for unit in due:
            try:
                new_text = unit.fix(ctx, new_text)  # type: ignore[attr-defined]
            except ManualReview as exc:
                result.messages.append(Message(exc.line, exc.col, unit.code, str(exc), kind="manual"))
                new_text = text  # never half-rewrite: all units' edits or none
                break
            except Exception as exc:  # a codemod bug must not corrupt or crash the run
                _reraise_interrupt(exc)
                result.cacheable = False
                result.messages.append(
                    Message(1, 0, unit.code, f"internal error, file left untouched: {exc!r}", kind="manual")
                )
                new_text = text
                break
        if new_text != text:
            try:
                new_data = new_text.encode(encoding)
                compile(new_text, job.rel, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            except (UnicodeEncodeError, SyntaxError) as exc:
                result.messages.append(
                    Message(1, 0, "engine", f"rewrite rejected, file left untouched: {exc}", kind="manual")
                )
            else:
                result.status = "rewritten"
                result.new = new_data
                result.old = data
    elif due:
        result.status = "rewritten"
    if result.status == "unchanged" and result.manual:
        result.status = "manual"
    return result


def _reraise_interrupt(exc: BaseException) -> None:
    """A Ctrl-C that a library wrapped into another exception is still a Ctrl-C: never
    reported (or cached) as an internal error of the file."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            raise KeyboardInterrupt from exc
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__


def _unparsable(result: FileResult, exc: BaseException) -> FileResult:
    result.status = "unparsable"
    line = getattr(exc, "lineno", None) or 1
    col = max((getattr(exc, "offset", None) or 1) - 1, 0)
    msg = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    result.messages.append(Message(line, col, "engine", f"cannot parse: {msg}", kind="unparsable"))
    return result


# -- the cache -----------------------------------------------------------------------


class Cache:
    """Per-file outcomes in ``<root>/.scaffold-cache/<key>.json``; corrupt caches are ignored.

    An entry holds the analysis outcome (``s`` status, ``m`` messages, ``d`` dependency
    hashes: what a run without fixes reports) and, once a fix ran on the file, its outcome
    (``f``: status, messages and ``n``, the content hash of the rewritten bytes, kept in
    ``new-<key>/<hash>``). ``--check`` and ``--diff`` (or ``fix --check`` and ``fix``) thus share
    one cache, and libcst runs again only on files that changed.
    """

    def __init__(self, folder: Path, key: str) -> None:
        self.path = folder / f"engine-{key}.json"
        self.folder = folder
        self.blobs = folder / f"new-{key}"
        self.entries: dict[str, Any] = {}
        self.pending: dict[str, bytes] = {}  # rewritten bytes to store, by content hash
        self.dirty = False
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.entries = loaded
        except (OSError, ValueError):
            pass

    def get(self, rel: str, digest: str, hash_of: Callable[[str], str | None]) -> dict[str, Any] | None:
        """The stored entry (``s`` status, ``m`` messages, ``d`` dependency hashes) when
        the file and every file its result depends on are unchanged; else None."""
        entry = self.entries.get(rel)
        if not entry or entry.get("h") != digest:
            return None
        for dep, dep_hash in entry.get("d", {}).items():
            if hash_of(dep) != dep_hash:
                return None
        return None if entry.get("s") is None else entry

    def fixed(
        self, entry: Mapping[str, Any], data: bytes
    ) -> tuple[Status, list[Message], bytes | None] | None:
        """The stored fix outcome of ``entry`` (status, messages, new bytes); None when no fix
        ran yet or the rewritten bytes are gone or damaged."""
        stored = entry.get("f")
        if not isinstance(stored, dict) or stored.get("s") is None:
            return None
        messages = [Message.from_json(m) for m in stored.get("m", [])]
        if stored["s"] != "rewritten":
            return stored["s"], messages, None
        digest = stored.get("n")
        if not isinstance(digest, str):
            return None
        try:
            new = self.pending.get(digest) or (self.blobs / digest).read_bytes()
        except OSError:
            return None
        if content_hash(new) != digest or new == data:
            return None
        return "rewritten", messages, new

    def put(self, result: FileResult, digest: str) -> None:
        status, messages = result.analysis or (result.status, result.messages)
        entry: dict[str, Any] = {
            "h": digest,
            "s": status,
            "m": [m.to_json() for m in messages],
            "d": result.deps,
        }
        if result.analysis is not None:  # a fix ran: keep its outcome (and bytes) too
            fixed: dict[str, Any] = {"s": result.status, "m": [m.to_json() for m in result.messages]}
            if result.status == "rewritten" and result.new is not None:
                fixed["n"] = content_hash(result.new)
                self.pending[fixed["n"]] = result.new
            elif result.status == "rewritten":
                fixed = {}
            if fixed:
                entry["f"] = fixed
        self.entries[result.rel] = entry
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        from scaffold.fsutil import atomic_write_bytes

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by scaffold\n*\n", encoding="utf-8")
            if self.pending:
                self.blobs.mkdir(exist_ok=True)
                for digest, new in self.pending.items():
                    if not (self.blobs / digest).exists():
                        atomic_write_bytes(self.blobs / digest, new)
            sweep_stale_temps(self.folder)
            if self.blobs.is_dir():  # drop rewrites no entry refers to any more
                sweep_stale_temps(self.blobs)
                wanted = {
                    e["f"].get("n")
                    for e in self.entries.values()
                    if isinstance(e, dict) and isinstance(e.get("f"), dict)
                }
                for blob in self.blobs.iterdir():
                    if blob.name not in wanted:
                        blob.unlink(missing_ok=True)
            atomic_write_bytes(self.path, json.dumps(self.entries, separators=(",", ":")).encode())
        except OSError:
            pass  # a read-only checkout just runs uncached


STALE_TEMP_SECONDS = 600


def sweep_stale_temps(folder: Path, now: float | None = None) -> None:
    """Remove ``.*.tmp`` files a killed run left in a cache folder (atomic_write_bytes' temp
    names). Only temps older than STALE_TEMP_SECONDS: a concurrent run's temp is seconds old."""
    import time

    limit = (time.time() if now is None else now) - STALE_TEMP_SECONDS
    for tmp in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if tmp.is_file() and tmp.stat().st_mtime < limit:
                tmp.unlink()


def cache_key(units: Sequence[Unit], settings: Mapping[str, Any]) -> str:
    from scaffold import __version__

    payload = json.dumps(
        {
            "engine": ENGINE_VERSION,
            "scaffold": __version__,
            "python": sys.version_info[:2],
            "units": sorted((u.code, u.version) for u in units),
            "settings": settings,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


# -- the driver ----------------------------------------------------------------------


ProgressFn = Callable[[int, int], None]


def run(
    units: Sequence[Unit],
    files: Iterable[SourceFile],
    *,
    root: Path,
    settings: Mapping[str, Any],
    jobs: int | None = None,
    fix: bool = True,
    need_bytes: bool = True,
    cache: bool = True,
    progress: ProgressFn | None = None,
) -> RunReport:
    """Run ``units`` over ``files`` and report per file; nothing is written here.

    ``fix=False`` runs analysis only (audit): libcst is never imported.
    ``need_bytes=False`` (``--check``) accepts cached "rewritten" outcomes without new bytes;
    otherwise files with a fix due are always rewritten afresh so ``new`` is set.
    ``jobs``: worker processes (default ``os.cpu_count()``; 1 runs in this process).
    ``progress(done, total)`` is called as candidate files complete.
    Write the results with :func:`changeset`.
    """
    units = list(units)
    jobs = max(1, jobs or os.cpu_count() or 1)
    settings = dict(settings)
    store = Cache(root / CACHE_DIR, cache_key(units, settings)) if cache else None

    hashes: dict[str, str | None] = {}

    def hash_of(rel: str) -> str | None:
        if rel not in hashes:
            try:
                hashes[rel] = content_hash((root / rel).read_bytes())
            except OSError:
                hashes[rel] = ""  # absent (as recorded by the index for missing modules)
        return hashes[rel]

    results: list[FileResult] = []
    todo: list[tuple[_Job, str, int]] = []  # job, digest, size
    needles = {n for u in units for n in u.needles}  # each scanned for once per file
    for src in files:
        result = FileResult(src.path, src.rel)
        results.append(result)
        try:
            data = src.path.read_bytes()
        except OSError as exc:
            result.status = "skipped"
            result.messages.append(Message(1, 0, "engine", f"skipped: {unreadable(exc)}", kind="skipped"))
            continue
        if len(data) > MAX_BYTES:
            if not any(not u.needles or any(n in data for n in u.needles) for u in units):
                continue  # no unit looks for anything it holds: nothing to analyze, nothing missed
            result.status = "skipped"
            result.messages.append(
                Message(
                    1, 0, "engine", f"skipped: {len(data) // 1024} KiB is over the 1 MB limit", kind="skipped"
                )
            )
            continue
        # The cache first: a warm run hashes each file once instead of scanning it for
        # every needle (files no unit wants are cached as unchanged too).
        digest = content_hash(data)
        hashes[src.rel] = digest
        if store is not None:
            entry = store.get(src.rel, digest, hash_of)
            if entry is not None and _from_cache(store, entry, result, data, fix=fix, need_bytes=need_bytes):
                continue
        present = {n for n in needles if n in data}
        unit_ids = tuple(
            i for i, u in enumerate(units) if not u.needles or any(n in present for n in u.needles)
        )
        if not unit_ids:
            if store is not None:
                store.put(result, digest)
            continue
        if src.path.is_symlink():  # a rewrite would replace the link with a copy
            result.status = "skipped"
            result.messages.append(
                Message(
                    1, 0, "engine", "skipped: symbolic link; run on the file it points to", kind="skipped"
                )
            )
            continue
        todo.append((_Job(src.path, src.rel, unit_ids, digest, data), digest, len(data)))

    by_rel = {r.rel: i for i, r in enumerate(results)}
    digests = {j.rel: d for j, d, _ in todo}
    done = 0
    total = len(todo)

    def collect(batch: list[FileResult]) -> None:
        nonlocal done
        for res in batch:
            results[by_rel[res.rel]] = res
            if store is not None and res.cacheable:
                store.put(res, digests[res.rel])
        done += len(batch)
        if progress is not None:
            progress(done, total)

    work_bytes = sum(s for _, _, s in todo)
    with _young_collections_only():
        if jobs == 1 or total < INLINE_MAX_FILES or work_bytes < INLINE_MAX_BYTES:
            _init_worker(units, settings, root, fix)
            for job, _, _ in todo:
                collect([_process_collected(job)])
        else:
            chunks = _chunks([j for j, _, _ in todo], jobs)
            # imported here: a run that needs no pool (a warm one) does not pay for them
            import concurrent.futures as cf
            import multiprocessing

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with cf.ProcessPoolExecutor(
                max_workers=min(jobs, len(chunks)),
                mp_context=multiprocessing.get_context(method),
                initializer=_init_worker,
                initargs=(units, settings, root, fix),
            ) as pool:
                for fut in cf.as_completed([pool.submit(_process_chunk, c) for c in chunks]):
                    collect(fut.result())
    if store is not None:
        store.save()
    return RunReport(results, root)


def _from_cache(
    store: Cache, entry: Mapping[str, Any], result: FileResult, data: bytes, *, fix: bool, need_bytes: bool
) -> bool:
    """Fill ``result`` from a valid cache ``entry``; False when the file must be processed.

    A file with no fix due has the same outcome with and without fixes. One with a fix due
    reports the analysis outcome when no fix is wanted (``--check`` trusts the analysis) or
    no bytes are needed; else the stored fix outcome, bytes included, when there is one.
    """
    status, messages = entry["s"], [Message.from_json(m) for m in entry["m"]]
    if status == "rewritten" and fix:
        fixed = store.fixed(entry, data)
        if fixed is not None:
            status, messages, new = fixed
            if new is not None:
                result.new, result.old = new, data
        elif need_bytes:
            return False
    result.status = status
    result.messages = messages
    result.deps = entry["d"]
    result.cached = True
    return True


def _chunks(jobs: list[_Job], workers: int) -> list[list[_Job]]:
    """About four chunks per worker: few enough to keep IPC cheap, enough to balance load."""
    size = max(1, -(-len(jobs) // (workers * 4)))
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def changeset(report: RunReport) -> Any:
    """A :class:`scaffold.fsutil.ChangeSet` of every rewritten file that carries new bytes."""
    from scaffold.fsutil import Change, ChangeSet

    changes = ChangeSet()
    for res in report.rewritten:
        if res.new is not None and res.old is not None:
            # ``old`` is what the rewrite was computed from: ChangeSet.apply refuses (and rolls
            # back) if the file was edited in the meantime, instead of overwriting that edit
            changes.changes.append(Change(res.path, res.new, res.old))
    return changes
