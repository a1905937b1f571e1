"""Import ``libcst.matchers`` without rendering a signature docstring for each of its classes.

Every rewrite stands on ``libcst.codemod`` (the codemod commands, and ``AddImportsVisitor`` /
``RemoveImportsVisitor``, the only way imports are added or removed), which imports
``libcst.matchers``: a generated module of 174 dataclasses without docstrings. For such a
class ``dataclasses`` writes ``__doc__`` as the class name plus ``str(inspect.signature(cls))``,
rendering every field's ``Union[...]`` annotation through ``typing``'s reprs: 0.1 s of the
0.52 s that ``import libcst.codemod`` costs, paid by each worker that rewrites a file.

:func:`install` adds a finder that imports that one module with the signatures left out, so
each of those classes' ``__doc__`` is its name alone (read by nothing but ``help()``); the
finder removes itself once it has run, and every other import is left to Python. The
``scaffold`` command installs it (:func:`scaffold.cli.console`; forked workers inherit it);
importing scaffold as a library does not. Where ``dataclasses`` does not render docstrings
through a module-level ``inspect`` as this expects (another Python), :func:`install` does
nothing and the import is the usual one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.machinery
import inspect
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, NoReturn

__all__ = ["MODULE", "install", "installed"]

MODULE = "libcst.matchers"


class _NoSignatures:
    """``inspect`` as ``dataclasses`` sees it while the module runs: ``signature`` fails the
    way ``dataclasses`` already tolerates (``ValueError``: the docstring is the bare name)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)

    @staticmethod
    def signature(*args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("signature left out of the docstring (scaffold.libcst_import)")


@contextlib.contextmanager
def _signatures_left_out() -> Iterator[None]:
    dataclasses.inspect = _NoSignatures()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        dataclasses.inspect = inspect  # type: ignore[attr-defined]


class _Finder:
    """A ``sys.meta_path`` finder (``importlib.abc`` is not imported for its base class: it
    pulls in ``importlib.resources``, 7 ms on every command)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        _remove()  # one module, once: every later import is Python's own
        spec = _find(fullname, path, target)  # what the import system would have found
        loader = getattr(spec, "loader", None)
        if spec is None or not isinstance(loader, importlib.machinery.SourceFileLoader):
            return spec  # not a plain source install: imported the usual way

        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            with _signatures_left_out():
                run(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this spec's loader only
        return spec


def _find(
    fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    """The spec the rest of ``sys.meta_path`` gives, asked in order as the import system asks
    (an editable install's finder before the path finder, say)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(fullname, path, target) if find is not None else None
        if spec is not None:
            return spec
    return None


def _remove() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def installed() -> bool:
    """Whether the finder waits for ``libcst.matchers``."""
    return any(isinstance(f, _Finder) for f in sys.meta_path)


def install() -> bool:
    """Have the next import of ``libcst.matchers`` leave the signatures out of its classes'
    docstrings; False (nothing done) when it is imported already or ``dataclasses`` renders
    docstrings some other way. Idempotent."""
    if MODULE in sys.modules or getattr(dataclasses, "inspect", None) is not inspect:
        return False
    if not installed():
        sys.meta_path.insert(0, _Finder())
    return True
