"""A cheap, lazy project index built with stdlib ``ast``.

Units ask it questions that cross files: "what does ``BaseTenantViewSet`` in this module
resolve to, and what are *its* bases?", "which file is ``purchasing.models``?". Modules are
parsed only when first asked about (then cached), so a run over thousands of files parses
only the handful of base-class and model modules that the candidate files actually use.

* :class:`Imports` resolves local names to qualified names, covering aliases
  (``from rest_framework import viewsets as v`` makes ``v.ModelViewSet`` resolve to
  ``rest_framework.viewsets.ModelViewSet``) and relative imports.
* :class:`ProjectIndex` maps module <-> file and qualified class name -> :class:`ClassInfo`
  (its bases, qualified where resolvable), and walks project-local class hierarchies
  (:meth:`ProjectIndex.ancestors`).
* :meth:`ProjectIndex.tracking` records which files an answer depended on (the engine's
  cache uses it to invalidate a file's result when a base class changes elsewhere).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from scaffold.project import file_module, module_file

T = TypeVar("T")


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None (calls, subscripts, ...)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@dataclass
class Imports:
    """Local name -> qualified name, from a module's imports (module level, under if/try/with too)."""

    module: str
    is_package: bool = False
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_tree(cls, tree: ast.Module, module: str, is_package: bool = False) -> Imports:
        imports = cls(module, is_package)
        for node in _module_level(tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports.names[alias.asname] = alias.name
                    else:  # `import a.b` binds `a`
                        top = alias.name.split(".")[0]
                        imports.names.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom):
                base = imports.absolute(node.module, node.level)
                if base is None:
                    continue
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    imports.names[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        return imports

    def absolute(self, module: str | None, level: int) -> str | None:
        """Resolve ``from ..x import`` against this module's package."""
        if not level:
            return module or ""
        parts = self.module.split(".") if self.module else []
        if not self.is_package:
            parts = parts[:-1]
        if level - 1 > len(parts):
            return None
        parts = parts[: len(parts) - (level - 1)]
        if module:
            parts.append(module)
        return ".".join(parts)

    def qualify(self, node: ast.expr | str, local: dict[str, str] | None = None) -> str | None:
        """The qualified name of a Name/Attribute chain (``v.ModelViewSet``).

        Names that are not imported resolve to ``<this module>.<name>`` when ``local`` (the
        module's own top-level definitions) holds them, else to the bare dotted name.
        """
        name = node if isinstance(node, str) else dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.names:
            base = self.names[head]
        elif local is not None and head in local:
            base = local[head]
        else:
            base = head
        return f"{base}.{rest}" if rest else base


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under if/try/with (not in defs or classes)."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == "TryStar":
            for field_name in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, field_name, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


@dataclass
class ClassInfo:
    """A class found in the project: where, its bases (qualified), and its ast node."""

    qualname: str
    module: str
    path: Path
    node: ast.ClassDef
    bases: list[str]  # qualified where resolvable; "?" for bases that are not names

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass
class ModuleInfo:
    module: str
    path: Path
    tree: ast.Module
    imports: Imports
    classes: dict[str, ClassInfo]  # by local (top-level) name
    local: dict[str, str]  # top-level defined name -> qualified name
    # module-level ``Alias = Other`` (under if/try too: ``if MULTI: TenantMixin = MultiTenantMixin``):
    # name -> every qualified name it may be bound to, in source order
    aliases: dict[str, list[str]] = field(default_factory=dict)
    digest: str = ""  # content hash of the bytes ``tree`` was parsed from, when the index read them
    source: bytes | None = field(default=None, repr=False, compare=False)  # those bytes (may_mention)

    def may_mention(self, word: bytes) -> bool:
        """False only when the module's source surely never spells the ASCII identifier
        ``word``: its bytes are known, ASCII (so no NFKC-equivalent spelling can hide) and do
        not contain it. A question that needs a whole-tree walk asks this first."""
        return self.source is None or not self.source.isascii() or word in self.source


class ProjectIndex:
    """Lazy module/class index of one project root. Safe to use in one process at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[str, ModuleInfo | None] = {}
        self._sources: dict[str, tuple[Path, ...]] = {}  # module -> file(s) its answer depends on
        self._tracking: list[_Deps] = []
        # class qualname -> (its ancestors, the modules that answer read, the class node)
        self._ancestors: dict[
            str, tuple[list[tuple[str, ClassInfo | None]], frozenset[str], ast.ClassDef]
        ] = {}
        self._memo: dict[str, tuple[Any, frozenset[str], object]] = {}  # see remembered()
        self._rels: dict[Path, str] = {}  # path -> its path relative to root (see _Deps.add)
        self._digests: dict[Path, str] = {}  # content hash of each file read (see digest())

    # -- modules and files -----------------------------------------------------------
    def module_name(self, path: Path) -> str:
        try:
            return file_module(self.root, path)
        except ValueError:
            return path.stem

    def is_local_package(self, top: str) -> bool:
        """True when the top-level module ``top`` is the project's own (isort's first party)."""
        return module_file(self.root, top) is not None

    def file_of(self, module: str) -> Path | None:
        try:
            return module_file(self.root, module)
        except (OSError, ValueError):
            return None

    def add_tree(self, module: str, path: Path, tree: ast.Module, source: bytes | None = None) -> ModuleInfo:
        """Register an already-parsed module (the file being analyzed; ``source`` the bytes
        it was parsed from, when the caller has them)."""
        known = self._modules.get(module)
        if known is not None and known.tree is tree and known.path == path:
            self._sources[module] = (path,)
            if source is not None:
                known.source = source
            return known
        if known is not None:  # a module changed under the remembered answers
            self._ancestors.clear()
            self._memo.clear()
        info = _module_info(module, path, tree)
        info.source = source
        self._modules[module] = info
        self._sources[module] = (path,)
        return info

    def parsed_tree(self, module: str, path: Path, digest: str) -> ast.Module | None:
        """The tree this index already parsed for ``module`` from ``path`` when its bytes had
        content hash ``digest`` (so the engine need not parse the file again); else None."""
        known = self._modules.get(module)
        if known is not None and known.path == path and known.digest and known.digest == digest:
            return known.tree
        return None

    def module(self, module: str) -> ModuleInfo | None:
        """Parse ``module`` on first use; None when it isn't a parsable project file.

        Tracked dependencies include the file (or, for a module that isn't in the project,
        the files that would define it), so creating, fixing or editing it invalidates
        cached answers that relied on it.
        """
        if module not in self._modules:
            path = self.file_of(module)
            info = None
            if path is not None:
                try:
                    data = path.read_bytes()
                    if len(data) <= 1_000_000:
                        info = _module_info(module, path, ast.parse(data))
                        info.digest = hashlib.blake2b(data, digest_size=16).hexdigest()
                        info.source = data
                        self._digests[path] = info.digest
                except (OSError, SyntaxError, ValueError, RecursionError):
                    info = None
                self._sources[module] = (path,)
            else:
                base = self.root.joinpath(*module.split("."))
                self._sources[module] = (base.with_suffix(".py"), base / "__init__.py")
            self._modules[module] = info
        self._track(module)
        return self._modules[module]

    def _track(self, module: str) -> None:
        for deps in self._tracking:
            if module not in deps.modules:
                deps.modules.add(module)
                for source in self._sources.get(module, ()):
                    deps.add(self, source)

    def _track_all(self, modules: frozenset[str]) -> None:
        """:meth:`_track` for every module of a remembered answer (replayed per view: one
        set test when the file already depends on all of them)."""
        for deps in self._tracking:
            if not modules <= deps.modules:
                for module in modules - deps.modules:
                    deps.modules.add(module)
                    for source in self._sources.get(module, ()):
                        deps.add(self, source)

    # -- classes ---------------------------------------------------------------------
    def class_info(self, qualname: str) -> ClassInfo | None:
        """Find a project class by qualified name, following re-exports one hop at a time."""
        seen: set[str] = set()
        while qualname not in seen:
            seen.add(qualname)
            module, _, name = qualname.rpartition(".")
            if not module:
                return None
            info = self.module(module)
            if info is None:
                # `pkg.mod.Cls` where pkg.mod is a package's attribute: try the package itself
                return None
            if name in info.classes:
                return info.classes[name]
            target = info.imports.names.get(name)
            if target is None and info.aliases.get(name):
                target = info.aliases[name][0]  # the first binding; ancestors() walks them all
            if target is None or target == qualname:
                return None
            qualname = target
        return None

    def ancestors(self, cls: ClassInfo) -> Iterator[tuple[str, ClassInfo | None]]:
        """Every base in MRO-ish (depth-first, left to right) order, once each.

        Yields ``(qualified name, ClassInfo or None)``: None for classes outside the
        project (``rest_framework.viewsets.ModelViewSet``) or that could not be resolved.
        Computed once per class and run (views share bases); a remembered answer still
        records, for the file being analysed, every module it was computed from.
        """
        known = self._ancestors.get(cls.qualname)
        if known is not None and known[2] is cls.node:
            self._track_all(known[1])
            return iter(known[0])
        recorder = _Deps(Path())
        self._tracking.append(recorder)
        try:
            found = list(self._walk_ancestors(cls))
        finally:
            self._tracking.remove(recorder)
        self._ancestors[cls.qualname] = (found, frozenset(recorder.modules), cls.node)
        return iter(found)

    def remembered(self, key: str, compute: Callable[[], T], token: object = None) -> T:
        """``compute()`` once per index (per run and worker), for project-wide answers such as
        the routes of every urlconf; later calls replay the modules it read, so each file
        that relies on the answer still records them as dependencies. With a ``token`` (the
        class node an answer is about), a remembered answer holds only for that same object
        (two nested ``Meta`` classes share a qualified name, not a node)."""
        known = self._memo.get(key)
        if known is None or known[2] is not token:
            recorder = _Deps(Path())
            self._tracking.append(recorder)
            try:
                value = compute()
            finally:
                self._tracking.remove(recorder)
            known = (value, frozenset(recorder.modules), token)
            self._memo[key] = known
        else:
            self._track_all(known[1])
        result: T = known[0]
        return result

    def _walk_ancestors(self, cls: ClassInfo) -> Iterator[tuple[str, ClassInfo | None]]:
        seen: set[str] = {cls.qualname}
        stack = list(reversed(cls.bases))
        while stack:
            qual = stack.pop()
            if qual in seen:
                continue
            seen.add(qual)
            info = self.class_info(qual)
            for other in self.alternatives(qual)[1:]:
                stack.append(other)  # a conditional alias: any of its bindings may be the base
            if info is not None and info.qualname != qual:
                seen.add(info.qualname)
                qual = info.qualname
            yield qual, info
            if info is not None:
                stack.extend(reversed(info.bases))

    def alternatives(self, qualname: str) -> list[str]:
        """The classes a module-level alias may be bound to (``[]`` when it is no alias)."""
        module, _, name = qualname.rpartition(".")
        info = self.module(module) if module else None
        if info is None or name in info.classes:
            return []
        return list(info.aliases.get(name, []))

    # -- dependency tracking ---------------------------------------------------------
    def digest(self, path: Path) -> str:
        """The content hash of ``path`` ("" when absent), read once per index: a worker
        records the same base-class and model modules for file after file. For a module
        the index parsed, the hash of the very bytes its answers came from."""
        known = self._digests.get(path)
        if known is None:
            try:
                known = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
            except OSError:
                known = ""  # absent: its creation invalidates the answer
            self._digests[path] = known
        return known

    @contextlib.contextmanager
    def tracking(self, own: Path) -> Iterator[_Deps]:
        """Record the files (other than ``own``) whose contents answers depended on."""
        deps = _Deps(own, self)
        self._tracking.append(deps)
        try:
            yield deps
        finally:
            self._tracking.remove(deps)


@dataclass
class _Deps:
    own: Path
    index: ProjectIndex | None = None  # the index whose digests hashes() reads
    paths: dict[Path, str] = field(default_factory=dict)  # path -> rel
    modules: set[str] = field(default_factory=set)  # modules already recorded

    def add(self, index: ProjectIndex, path: Path) -> None:
        if path != self.own and path not in self.paths:
            rel = index._rels.get(path)
            if rel is None:
                try:
                    rel = path.relative_to(index.root).as_posix()
                except ValueError:
                    rel = path.as_posix()
                index._rels[path] = rel
            self.paths[path] = rel

    def hashes(self) -> dict[str, str]:
        """rel path -> content hash of every file recorded (each read once per index)."""
        assert self.index is not None
        return {rel: self.index.digest(path) for path, rel in self.paths.items()}


def _module_info(module: str, path: Path, tree: ast.Module) -> ModuleInfo:
    imports = Imports.from_tree(tree, module, is_package=path.name == "__init__.py")
    local: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            local[node.name] = f"{module}.{node.name}"
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    local[target.id] = f"{module}.{target.id}"
    classes: dict[str, ClassInfo] = {}
    aliases: dict[str, list[str]] = {}
    for node in _module_level(tree.body):  # also classes defined under if/try/with
        if isinstance(node, ast.ClassDef):
            local.setdefault(node.name, f"{module}.{node.name}")
            # Mixin[Model] (a generic base): the class is Mixin
            bases = [
                imports.qualify(b.value if isinstance(b, ast.Subscript) else b, local) or "?"
                for b in node.bases
            ]
            classes[node.name] = ClassInfo(f"{module}.{node.name}", module, path, node, bases)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, (ast.Name, ast.Attribute))
        ):
            name = node.targets[0].id
            local.setdefault(name, f"{module}.{name}")
            bound = imports.qualify(node.value, local)
            if bound is not None and bound != f"{module}.{name}":
                aliases.setdefault(name, []).append(bound)
    return ModuleInfo(module, path, tree, imports, classes, local, aliases)
