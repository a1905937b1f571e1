"""Generate ``docs/rules/<CODE>.md`` and the README rule table from the rule registry.

Run ``python -m scaffold.rules._docs`` after changing a rule's documentation; the meta-test
(tests/test_audit_docs.py) fails while the generated files are out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scaffold.rules import all_rules

REPO = Path(__file__).resolve().parents[2]


def rule_pages() -> dict[str, str]:
    """``{"TEN001.md": markdown, ...}`` for every registered rule."""
    from scaffold.audit import rule_markdown

    return {f"{r.code}.md": rule_markdown(r) for r in all_rules()}


def readme_table() -> str:
    """The README's rule catalogue table (links relative to the repository root)."""
    rows = ["| code | name | what it flags | fix |", "|---|---|---|---|"]
    for r in all_rules():
        fix = "`scaffold fix`" if r.fixable else "-"
        rows.append(f"| [{r.code}](docs/rules/{r.code}.md) | `{r.name}` | {r.summary} | {fix} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    folder = REPO / "docs" / "rules"
    folder.mkdir(parents=True, exist_ok=True)
    pages = rule_pages()
    for stale in folder.glob("TEN*.md"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")
    sys.stdout.write(readme_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
