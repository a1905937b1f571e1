"""Locate the copier templates: ``$SCAFFOLD_TEMPLATES_DIR`` when set, else the ones shipped
in a source checkout or an installed wheel. The one locator and the one VERSION reader every
command uses (the release tooling is :mod:`scaffold.release`)."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from scaffold.errors import ScaffoldError

_PACKAGE_DIR = Path(__file__).resolve().parent
OVERRIDE_ENV = "SCAFFOLD_TEMPLATES_DIR"


def shipped_root() -> Path:
    """The templates shipped with scaffold (``scaffold/_templates`` in a wheel, the
    checkout's ``templates/`` in a source or editable install)."""
    for candidate in (_PACKAGE_DIR / "_templates", _PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise ScaffoldError("scaffold's templates are missing; reinstall with `pip install scaffold-tenancy`")


def templates_root() -> Path:
    """The folder holding every template and its release bundle: ``$SCAFFOLD_TEMPLATES_DIR``
    when set (template development, tests), else the shipped one. The one place every
    command (init, new-module, update, ``--version``) finds its templates."""
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return shipped_root()


def template_path(name: str) -> Path:
    """The copier template ``name`` (``module``, ``tenancy``)."""
    root = templates_root()
    path = root / name
    if not (path / "copier.yml").is_file():
        if os.environ.get(OVERRIDE_ENV):
            raise ScaffoldError(
                f"template {name!r} not found in ${OVERRIDE_ENV} ({root}); add it there or unset {OVERRIDE_ENV}"
            )
        raise ScaffoldError(f"template {name!r} not found in {root}; reinstall scaffold")
    return path


def template_version(name: str = "module") -> str:
    """The PEP 440 version of template ``name``, from its ``VERSION`` file (``0.0.0`` when
    it has none). The one version reader: ``--version``, the template store and update."""
    path = template_path(name) / "VERSION"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else "0.0.0"


def packaged_bundle(name: str) -> Path | None:
    """The release history shipped with the template (``<templates>/<name>.bundle``), if any."""
    path = templates_root() / f"{name}.bundle"
    return path if path.is_file() else None


def template_source(name: str, *, allow_unversioned: bool = False) -> tuple[str, str | None]:
    """``(src_path, vcs_ref)`` to hand to ``copier.run_copy`` for template ``name``.

    The pair is what copier records as ``_src_path`` / ``_commit`` in the answers file, so
    it must stay usable by ``copier update`` later: ``("~/.local/share/scaffold/templates/
    module.bundle", "v0.2.0")``, the per-user copy of the template's release history and the
    tag of the version being rendered (see :mod:`scaffold.template_store` and
    docs/template-versioning.md). Without git the template cannot be versioned: an error,
    unless ``allow_unversioned`` (then ``vcs_ref`` is None).
    """
    from scaffold.template_store import resolve

    return resolve(name, allow_unversioned=allow_unversioned).as_tuple()


def without_src_path(answers: bytes) -> bytes:
    """An answers file without copier's ``_src_path`` line: for renderings that copier cannot
    update (the tenancy core, an ``--unversioned`` module) it would only be the template folder
    inside this virtualenv, meaningless anywhere else."""
    return re.sub(rb"(?m)^_src_path:.*\n", b"", answers)


@functools.cache
def macros(name: str) -> Any:
    """The jinja macros of ``templates/module/_macros/<name>.jinja`` (``secure``, ``rls``).

    The module template imports the same files, so scaffold's own renderings
    (:mod:`scaffold.pattern` for the codemods, :mod:`scaffold.rls` for SQL) and generated
    modules share one source. Same jinja settings as the template (``copier.yml``
    ``_envops``): trailing newlines kept, undefined names are errors.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_path("module"))),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(f"_macros/{name}.jinja").module
