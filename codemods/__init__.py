"""libcst codemods that bring existing code up to scaffold's secure pattern.

One codemod per module, named by its public name; each module registers its
``VisitorBasedCodemodCommand`` with :func:`scaffold.codemods._registry.register` when imported.
Every public module of this package is imported here, so the registry is filled on import
and nobody keeps a list by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

from . import _matchers
from ._registry import CODEMODS, register

_matchers.install()  # before any codemod (or libcst import visitor) is built

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CODEMODS", "register"]
