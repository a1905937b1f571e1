"""Audit rules: one module per rule, named by the rule's public name.

Each module declares itself as data::

    rule = Rule(
        code="TEN001",
        name="unscoped-viewset-queryset",
        summary="...",
        fixable=True,
        needles=(b"queryset",),
        check=check,
        doc=__doc__,
    )

and is registered when imported; :func:`all_rules` imports every module of this package,
so nobody keeps a list by hand. Codes are stable and never reused. The module docstring is
the rule's documentation in ruff's sections (What it does / Why is this bad? / Example /
Use instead / Fix safety / References); ``docs/rules/<CODE>.md`` is generated from it.

A rule's ``scope`` says what ``check`` receives:

- ``"file"``: a :class:`scaffold.rules._context.FileContext` (one parsed source file, with
  the project index to resolve names, base classes, models, urls and the middleware across
  files); the rule runs through the engine only on files containing one of its ``needles``;
- ``"database"``: a :class:`scaffold.rules._live.DatabaseContext` (read-only catalog
  queries, only with ``--database-url``).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from scaffold.errors import UsageError

__all__ = ["Finding", "Rule", "RULES", "all_rules", "get_rule", "select_rules", "parse_codes"]

CODE = re.compile(r"^TEN\d{3}$")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found by a rule. ``path`` is relative to the project root (posix)."""

    path: str
    line: int
    column: int
    code: str
    message: str
    symbol: str = ""
    fixable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "symbol": self.symbol,
            "message": self.message,
            "fixable": self.fixable,
        }


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    check: Callable[[Any], Iterable[Finding]]
    doc: str
    fixable: bool = False
    scope: Literal["file", "database"] = "file"
    # Byte strings one of which must occur in a file before it is parsed for this rule.
    needles: tuple[bytes, ...] = ()
    # Top-level packages the file must import for the rule to run (return early otherwise).
    frameworks: tuple[str, ...] = field(default=())
    # The views the rule judged in a file, as (line, view, verdict): ``scoped``, ``unscoped``,
    # ``not tenant data``, ``no model data`` or ``not judged: <why>`` (audit's summary counts
    # them and names the views it could not judge).
    census: Callable[[Any], Iterable[tuple[int, str, str]]] | None = None

    def __post_init__(self) -> None:
        if not CODE.match(self.code):
            raise ValueError(f"bad rule code {self.code!r}")
        if self.scope == "file" and not self.needles:
            raise ValueError(f"{self.code}: a file rule needs byte needles for the prefilter")

    @property
    def url(self) -> str:
        return f"docs/rules/{self.code}.md"


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add ``rule`` to the registry (called by each rule module at import)."""
    existing = RULES.get(rule.code)
    if existing is not None and existing.name != rule.name:
        raise ValueError(f"rule code {rule.code} registered twice ({existing.name}, {rule.name})")
    RULES[rule.code] = rule
    return rule


_LOADED = False


def all_rules() -> list[Rule]:
    """Every rule, sorted by code (imports each rule module once)."""
    global _LOADED
    if not _LOADED:
        for info in pkgutil.iter_modules(__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return [RULES[c] for c in sorted(RULES)]


def get_rule(code: str) -> Rule:
    all_rules()
    key = code.strip().upper()
    if key not in RULES:
        raise UsageError(f"unknown rule code {code!r}; see `scaffold audit --list-rules`")
    return RULES[key]


def parse_codes(value: str | Iterable[str] | None) -> list[str]:
    """``"TEN001,TEN05"`` -> ``["TEN001", "TEN05"]`` (prefixes allowed, ``ALL`` too)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [p for v in value for p in v.split(",")]
    return [p.strip().upper() for p in items if p.strip()]


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def select_rules(
    select: str | Iterable[str] | None = None,
    ignore: str | Iterable[str] | None = None,
    *,
    live: bool = False,
) -> list[Rule]:
    """The rules chosen by ``--select``/``--ignore`` (codes or prefixes such as ``TEN00``).

    Database rules are dropped unless ``live`` (a database URL was given), unless they
    were selected explicitly, in which case the caller reports the missing URL.
    """
    rules = all_rules()
    selected = parse_codes(select)
    ignored = parse_codes(ignore)
    for sel in (*selected, *ignored):
        if not any(_matches(r.code, sel) for r in rules):
            raise UsageError(
                f"unknown rule code {sel!r} in --select/--ignore; see `scaffold audit --list-rules`"
            )
    chosen = [r for r in rules if not selected or any(_matches(r.code, s) for s in selected)]
    chosen = [r for r in chosen if not any(_matches(r.code, s) for s in ignored)]
    if not live:
        chosen = [r for r in chosen if r.scope != "database"]
    return chosen
