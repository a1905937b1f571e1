"""Meta-tests: the rule registry, the rule modules, docs/rules/ and the README table agree,
and the pre-commit hook definition is valid."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import scaffold.rules
from scaffold.audit import rule_markdown
from scaffold.rules import RULES, all_rules
from scaffold.rules._docs import readme_table

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ["What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "References"]


def test_one_module_per_rule_named_by_its_public_name() -> None:
    rules = all_rules()
    assert [r.code for r in rules] == sorted(RULES)
    modules = {
        p.stem for p in Path(scaffold.rules.__file__).parent.glob("*.py") if not p.stem.startswith("_")
    }
    assert modules == {r.name.replace("-", "_") for r in rules}
    for r in rules:
        assert r.check.__module__ == f"scaffold.rules.{r.name.replace('-', '_')}"


def test_every_rule_doc_has_the_ruff_sections() -> None:
    for r in all_rules():
        headings = re.findall(r"^## (.+)$", r.doc, re.M)
        assert headings == SECTIONS, r.code
        assert r.doc.startswith(f"{r.code} {r.name}: "), r.code


def test_docs_rules_match_the_registry_and_are_generated() -> None:
    folder = REPO / "docs" / "rules"
    assert {p.stem for p in folder.glob("*.md")} == set(RULES)
    for r in all_rules():
        assert (folder / f"{r.code}.md").read_text(encoding="utf-8") == rule_markdown(r), (
            f"docs/rules/{r.code}.md is stale; run python -m scaffold.rules._docs"
        )


def test_readme_rule_table_matches_the_registry() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "README rule table is stale; paste python -m scaffold.rules._docs output"
    linked = set(re.findall(r"\[(TEN\d{3})\]\(docs/rules/(TEN\d{3})\.md\)", readme))
    assert {a for a, b in linked if a == b} == set(RULES)


def test_explain_and_list_rules(capsys) -> None:  # type: ignore[no-untyped-def]
    from scaffold.cli import main

    assert main(["audit", "--explain", "ten040"]) == 0
    assert capsys.readouterr().out == rule_markdown(RULES["TEN040"])
    assert main(["audit", "--list-rules"]) == 0
    listing = capsys.readouterr().out
    assert all(code in listing for code in RULES)
    assert main(["audit", "--explain", "TEN999"]) == 2


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    hook = next(h for h in hooks if h["id"] == "scaffold-audit")
    for key in ("id", "name", "entry", "language"):
        assert isinstance(hook[key], str) and hook[key]
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook["pass_filenames"] is True
    command, *args = hook["entry"].split()
    assert args == ["audit"]
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[command] == "scaffold.cli:console"
    from scaffold.cli import cli

    assert "audit" in cli.commands
