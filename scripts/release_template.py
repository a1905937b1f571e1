"""Release the module template: append templates/module/ as tag v<VERSION> to templates/module.bundle.

    python scripts/release_template.py            # release templates/module/VERSION
    python scripts/release_template.py --check    # exit 1 if templates/module differs from its release

Before running it: bump templates/module/VERSION (PEP 440) and add a `## <version>` section
to CHANGELOG.md. Commit the updated bundle together with the template. See
docs/template-versioning.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scaffold import template_store  # noqa: E402
from scaffold.errors import ScaffoldError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="module", help="template folder under templates/ (default: module)")
    parser.add_argument(
        "--check", action="store_true", help="only report whether VERSION is released unchanged"
    )
    args = parser.parse_args(argv)
    templates = REPO / "templates"
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
