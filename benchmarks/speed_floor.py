"""The least any CPython tool pays to read the files ``scaffold audit`` analyses.

``realworld_speed.py`` times this next to ``ruff`` and scaffold's commands, so each table
says how much of a ratio is the language's floor and how much is scaffold's own work:

* ``list PROJECT OUT [--command audit|check]``: write the paths of the files the command's
  units receive (the project walk with its excludes, kept when one of a unit's byte needles
  occurs: every file rule's for ``audit``, the ``migrate-viewsets`` unit's for ``check``), one
  per line. Run once, untimed.
* ``parse LIST [-j N]``: start an interpreter, read and ``ast.parse`` every listed file in N
  forked processes (default: one per CPU, as ``scaffold -j``), print nothing. Timed: the
  floor of a cold audit with CPython's parser, before any import of scaffold and before any
  analysis, and lower still than that: the cross-file index's own reads (models, bases,
  urls of other files) are not in it.

The import cost of the libcst codemod framework (the fixed part of ``migrate-viewsets
--diff`` and ``fix --diff`` once one file is due) is timed with an interpreter that only
imports ``libcst.codemod`` the way scaffold's console script does (``LIBCST_IMPORT`` in
``realworld_speed.py``).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path


def needles_of(command: str) -> set[bytes]:
    """The byte needles of the units ``command`` runs (``audit`` or ``check``)."""
    if command == "check":
        from scaffold.migrate import MigrateViewSets

        return set(MigrateViewSets.needles)
    from scaffold.rules import all_rules

    return {n for rule in all_rules() if rule.scope == "file" for n in rule.needles}


def list_files(project: Path, out: Path, command: str = "audit") -> int:
    from scaffold.config import Config
    from scaffold.engine import MAX_BYTES

    needles = needles_of(command)
    kept = []
    for src in Config.load(project).python_files():
        try:
            data = src.path.read_bytes()
        except OSError:
            continue
        # as the engine: a file over its size limit or a symbolic link is skipped, not parsed
        if len(data) <= MAX_BYTES and not src.path.is_symlink() and any(n in data for n in needles):
            kept.append(str(src.path))
    out.write_text("".join(f"{p}\n" for p in kept), encoding="utf-8")
    return len(kept)


def _parse(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            ast.parse(fh.read())
    except (SyntaxError, ValueError, OSError):
        return 0
    return 1


def parse_files(listing: Path, jobs: int) -> int:
    paths = listing.read_text(encoding="utf-8").splitlines()
    if jobs <= 1 or len(paths) < 2:
        return sum(_parse(p) for p in paths)
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return sum(pool.imap_unordered(_parse, paths, chunksize=8))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    lister = sub.add_parser("list", help="write the files the audit's file rules receive")
    lister.add_argument("project", type=Path)
    lister.add_argument("out", type=Path)
    lister.add_argument("--command", choices=("audit", "check"), default="audit")
    parse = sub.add_parser("parse", help="ast.parse every listed file")
    parse.add_argument("listing", type=Path)
    parse.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if args.cmd == "list":
        print(list_files(args.project, args.out, args.command))
    else:
        parse_files(args.listing, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
