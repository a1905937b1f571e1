"""TEN050 (transaction-local context with no transaction): turn on ``ATOMIC_REQUESTS``.

Appends, right after the settings module's last top-level ``DATABASES = ...`` assignment::

    # One transaction per request: the transaction-local tenant context lasts exactly as
    # long as the request (scaffold fix TEN050).
    DATABASES["default"]["ATOMIC_REQUESTS"] = True

It works whatever builds ``DATABASES`` (a literal, ``dj_database_url``, a helper function).
A module that mentions ``ATOMIC_REQUESTS`` already is left alone; one without a top-level
``DATABASES`` assignment is skipped (manual review).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile, VisitorBasedCodemodCommand

from ._registry import register

LINES = (
    "# One transaction per request: the transaction-local tenant context lasts exactly as\n"
    "# long as the request (scaffold fix TEN050).\n"
)


def _assigns(stmt: cst.CSTNode, name: str) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        targets = (
            [t.target for t in small.targets]
            if isinstance(small, cst.Assign)
            else ([small.target] if isinstance(small, cst.AnnAssign) else [])
        )
        if any(isinstance(t, cst.Name) and t.value == name for t in targets):
            return True
    return False


@register
class AtomicRequests(VisitorBasedCodemodCommand):
    DESCRIPTION = "Turn on ATOMIC_REQUESTS for the default database in settings."
    CODE = "TEN050"

    def __init__(self, context: CodemodContext, alias: str = "default") -> None:
        super().__init__(context)
        self.alias = alias

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if "ATOMIC_REQUESTS" in tree.code:
            return tree
        last = max((i for i, s in enumerate(tree.body) if _assigns(s, "DATABASES")), default=None)
        if last is None:
            raise SkipFile("no top-level DATABASES assignment; set ATOMIC_REQUESTS = True by hand")
        statement = cst.parse_statement(f'DATABASES["{self.alias}"]["ATOMIC_REQUESTS"] = True\n')
        comments = [cst.EmptyLine(comment=cst.Comment(line)) for line in LINES.splitlines()]
        statement = statement.with_changes(leading_lines=[cst.EmptyLine(), *comments])
        body = list(tree.body)
        body.insert(last + 1, statement)
        return tree.with_changes(body=body)
