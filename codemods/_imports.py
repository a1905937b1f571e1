"""Put imports that the codemods added (through ``AddImportsVisitor``) where isort would.

``AddImportsVisitor`` appends a new ``from x import y`` after the module's last import,
which is usually the first-party section, so ``ruff check`` (rule I001) would flag every
rewritten file. :func:`tidy_added_imports` moves each *added* statement into the block that
already holds imports of the same top-level package, at its sorted position, and sorts the
names of statements the visitor extended. Statements the user wrote are never reordered.
"""

from __future__ import annotations

import libcst as cst


def _module_name(node: cst.BaseExpression | None) -> str:
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
    return ".".join(reversed(parts))


def _import_from(stmt: cst.CSTNode) -> cst.ImportFrom | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.ImportFrom)
    ):
        node = stmt.body[0]
        return node if not node.relative else None
    return None


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _top(stmt: cst.CSTNode) -> str | None:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and not small.relative:
            return _module_name(small.module).split(".")[0]
        if isinstance(small, cst.Import):
            return _module_name(small.names[0].name).split(".")[0]
    return None


def _name_key(name: str) -> tuple[int, str]:
    # isort's order-by-type: CONSTANTS, Classes, functions/variables
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def _sorted_names(node: cst.ImportFrom) -> cst.ImportFrom:
    if isinstance(node.names, cst.ImportStar) or node.lpar is not None:
        return node
    names = list(node.names)
    keyed = sorted(names, key=lambda a: _name_key(_module_name(a.name)))
    if [id(a) for a in keyed] == [id(a) for a in names]:
        return node
    commas = [a.comma for a in names]
    return node.with_changes(names=[a.with_changes(comma=c) for a, c in zip(keyed, commas, strict=True)])


def tidy_added_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """Move imports present in ``after`` but not in ``before`` to their isort position."""
    old_codes = {before.code_for_node(s) for s in before.body if _is_import(s)}
    body = list(after.body)
    added: list[cst.SimpleStatementLine] = []
    kept: list[cst.BaseStatement | cst.BaseSmallStatement] = []
    for stmt in body:
        imp = _import_from(stmt)
        code = after.code_for_node(stmt)
        if imp is not None and code not in old_codes:
            top = _top(stmt)
            same_module_before = any(
                _import_from(s) is not None
                and _module_name(_import_from(s).module) == _module_name(imp.module)  # type: ignore[union-attr]
                for s in before.body
            )
            if same_module_before:  # the visitor extended the user's statement: sort its names
                kept.append(stmt.with_changes(body=[_sorted_names(imp)]))
                continue
            if top is not None and any(_top(s) == top for s in body if after.code_for_node(s) in old_codes):
                added.append(stmt)  # type: ignore[arg-type]
                continue
        kept.append(stmt)
    for stmt in added:
        kept = _insert_sorted(kept, stmt)
    return after.with_changes(body=kept)


def _insert_sorted(body: list, stmt: cst.SimpleStatementLine) -> list:
    top = _top(stmt)
    new_key = _module_name(_import_from(stmt).module).lower()  # type: ignore[union-attr]
    # the block (no blank lines inside) holding the first import of the same package
    first = next(i for i, s in enumerate(body) if _top(s) == top)
    start = first
    while start > 0 and _is_import(body[start - 1]) and not body[start].leading_lines:
        start -= 1
    end = first + 1
    while end < len(body) and _is_import(body[end]) and not body[end].leading_lines:
        end += 1
    position = end
    for i in range(start, end):
        imp = _import_from(body[i])
        if imp is not None and _module_name(imp.module).lower() > new_key:
            position = i
            break
    stmt = stmt.with_changes(leading_lines=[])
    if position == start and body[start].leading_lines:
        # take over the block's leading blank lines / comments
        stmt = stmt.with_changes(leading_lines=body[start].leading_lines)
        body = [*body[:start], stmt, body[start].with_changes(leading_lines=[]), *body[start + 1 :]]
        return body
    return [*body[:position], stmt, *body[position:]]
