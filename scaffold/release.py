"""Release the module template: append templates/module/ as tag v<VERSION> to templates/module.bundle.

    python -m scaffold.release            # release templates/module/VERSION
    python -m scaffold.release --check    # exit 1 if templates/module differs from its release

A maintainer tool for a scaffold source checkout (the wheel ships released bundles only).
Before running it: bump templates/module/VERSION (PEP 440) and add a `## <version>` section
to CHANGELOG.md. Commit the updated bundle together with the template. See
docs/template-versioning.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scaffold import template_store
from scaffold.errors import ScaffoldError

# The source checkout this module lives in: <repo>/scaffold/release.py.
REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scaffold.release", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--name", default="module", help="template folder under templates/ (default: module)")
    parser.add_argument(
        "--check", action="store_true", help="only report whether VERSION is released unchanged"
    )
    args = parser.parse_args(argv)
    templates = REPO / "templates"
    if not (templates / args.name / "VERSION").is_file():
        print(
            f"error: {templates / args.name / 'VERSION'} not found; run this from a scaffold source checkout",
            file=sys.stderr,
        )
        return 2
    try:
        if args.check:
            state = template_store.release_state(args.name, templates)
            print(state.message)
            return 0 if state.released else 1
        tag = template_store.release(args.name, templates, REPO / "CHANGELOG.md")
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"released {tag} into templates/{args.name}.bundle; commit it with the template")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
