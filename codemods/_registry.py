"""The codemod registry: ``CODEMODS[name] -> VisitorBasedCodemodCommand subclass``."""

from __future__ import annotations

from typing import TypeVar

from libcst.codemod import VisitorBasedCodemodCommand

CODEMODS: dict[str, type[VisitorBasedCodemodCommand]] = {}

C = TypeVar("C", bound=type[VisitorBasedCodemodCommand])


def register(cls: C) -> C:
    """Register a codemod under its module's public name (``scaffold.codemods.<name>``)."""
    name = cls.__module__.rpartition(".")[2]
    if name in CODEMODS and CODEMODS[name] is not cls:
        raise RuntimeError(f"two codemods named {name!r}")
    CODEMODS[name] = cls
    return cls
