"""Versions of scaffold's own templates."""

from __future__ import annotations

from scaffold.errors import ScaffoldError
from scaffold.templates import template_path


def template_version(name: str = "module") -> str:
    """The PEP 440 version of template ``name`` (from its ``VERSION`` file)."""
    try:
        path = template_path(name) / "VERSION"
    except ScaffoldError:
        return "missing"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else "unreleased"
