"""Put imports that the codemods added (through ``AddImportsVisitor``) where isort would.

``AddImportsVisitor`` appends a new ``from x import y`` after the module's last import,
which is usually the first-party section, so ``ruff check`` (rule I001) would flag every
rewritten file. :func:`tidy_added_imports` moves each *added* statement into the block that
already holds imports of the same top-level package, else into the block of its isort
section (standard library, third party, first party: the project's own packages), at its
sorted position, else into a new block of its own between the sections around it; and it
sorts the names of statements the visitor extended. Statements the user wrote are never
reordered.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

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


STDLIB, THIRD_PARTY, FIRST_PARTY = 1, 2, 3


def _section(top: str | None, is_local: Callable[[str], bool] | None) -> int:
    if top is None or top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return STDLIB
    return FIRST_PARTY if is_local is not None and is_local(top) else THIRD_PARTY


def tidy_added_imports(
    before: cst.Module,
    after: cst.Module,
    is_local: Callable[[str], bool] | None = None,
    before_code: str | None = None,
) -> cst.Module:
    """Move imports present in ``after`` but not in ``before`` to their isort position
    (imports the rewrite needs at runtime first taken out of ``if TYPE_CHECKING:``).
    ``is_local(top)`` tells first-party packages (the project's own) from third-party ones.
    ``before_code``: ``before``'s source, when the caller has it (saves rendering it)."""
    after = runtime_imports(before, after, before_code)
    old_codes = {before.code_for_node(s) for s in before.body if _is_import(s)}
    body = list(after.body)
    added: list[cst.SimpleStatementLine] = []
    kept: list[cst.BaseStatement | cst.BaseSmallStatement] = []
    for stmt in body:
        imp = _import_from(stmt)  # only imports are rendered: a view class is long to render
        if imp is not None and after.code_for_node(stmt) not in old_codes:
            top = _top(stmt)
            same_module_before = any(
                _import_from(s) is not None
                and _module_name(_import_from(s).module) == _module_name(imp.module)  # type: ignore[union-attr]
                for s in before.body
            )
            if same_module_before:  # the visitor extended the user's statement: sort its names
                kept.append(stmt.with_changes(body=[_sorted_names(imp)]))
                continue
            if top is not None and any(_is_import(s) and after.code_for_node(s) in old_codes for s in body):
                added.append(stmt)  # type: ignore[arg-type]
                continue
        kept.append(stmt)
    for stmt in added:
        kept = _place(kept, stmt, is_local)
    return after.with_changes(body=kept)


def _place(body: list, stmt: cst.SimpleStatementLine, is_local: Callable[[str], bool] | None) -> list:
    """Insert an added import beside the imports of its package, else of its section."""
    top = _top(stmt)
    section = _section(top, is_local)

    def same_package(node: cst.CSTNode) -> bool:
        return _top(node) == top

    def same_section(node: cst.CSTNode) -> bool:
        other = _top(node)
        return other is not None and _section(other, is_local) == section

    if any(same_package(s) for s in body):
        return _insert_sorted(body, stmt, same_package)
    if any(same_section(s) for s in body):
        return _insert_sorted(body, stmt, same_section)
    return _new_block(body, stmt, section, is_local)


def _new_block(
    body: list, stmt: cst.SimpleStatementLine, section: int, is_local: Callable[[str], bool] | None
) -> list:
    """``stmt`` as a block of its own: after the last top-level import of an earlier
    section (before the first of a later one), one blank line around it."""
    imports = [i for i, s in enumerate(body) if _is_import(s) and _top(s) is not None]
    later = [i for i in imports if _section(_top(body[i]), is_local) > section]
    blank = [cst.EmptyLine()]
    if later:
        at = later[0]
        stmt = stmt.with_changes(leading_lines=body[at].leading_lines)
        return [*body[:at], stmt, body[at].with_changes(leading_lines=blank), *body[at + 1 :]]
    at = imports[-1] + 1
    while at < len(body) and _is_import(body[at]) and not body[at].leading_lines:
        at += 1  # relative imports close the first-party block
    return [*body[:at], stmt.with_changes(leading_lines=blank), *body[at:]]


def _insert_sorted(body: list, stmt: cst.SimpleStatementLine, same: Callable[[cst.CSTNode], bool]) -> list:
    new_key = _module_name(_import_from(stmt).module).lower()  # type: ignore[union-attr]
    # the block (no blank lines inside) holding the first import that belongs with it
    first = next(i for i, s in enumerate(body) if same(s))
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


# -- imports under `if TYPE_CHECKING:` bind nothing at runtime ----------------------------


def _is_type_checking(test: cst.BaseExpression) -> bool:
    """``TYPE_CHECKING`` or ``<module>.TYPE_CHECKING`` (``typing.TYPE_CHECKING``)."""
    if isinstance(test, cst.Name):
        return test.value == "TYPE_CHECKING"
    return isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING"


def _bound_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _module_name(alias.name).split(".")[0]


def _import_aliases(stmt: cst.CSTNode) -> list[tuple[cst.Import | cst.ImportFrom, cst.ImportAlias]]:
    out: list[tuple[cst.Import | cst.ImportFrom, cst.ImportAlias]] = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                small.names, cst.ImportStar
            ):
                out += [(small, alias) for alias in small.names]
    return out


def _runtime_bound(body: Sequence[cst.BaseStatement]) -> set[str]:
    """Names a module binds at its top level when it runs (imports, defs, assignments),
    looking into ``if``/``try``/``with`` blocks but not into ``if TYPE_CHECKING:`` bodies."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            names |= {_bound_name(alias) for _, alias in _import_aliases(stmt)}
            for small in stmt.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                names |= {t.value for t in targets if isinstance(t, cst.Name)}
        elif isinstance(stmt, cst.If):
            if not _is_type_checking(stmt.test):
                names |= _runtime_bound(_block(stmt.body))
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                names |= _runtime_bound([orelse])
            elif isinstance(orelse, cst.Else):
                names |= _runtime_bound(_block(orelse.body))
        elif isinstance(stmt, (cst.Try, cst.TryStar, cst.With)):
            names |= _runtime_bound(_block(stmt.body))
            for part in (
                *getattr(stmt, "handlers", ()),
                getattr(stmt, "orelse", None),
                getattr(stmt, "finalbody", None),
            ):
                if part is not None:
                    names |= _runtime_bound(_block(part.body))
    return names


def _block(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return suite.body if isinstance(suite, cst.IndentedBlock) else []


def _runtime_uses(code: str, annotations_too: bool = False) -> dict[str, int]:
    """How often each name is read when the module runs (annotations do not count unless
    ``annotations_too``)."""
    import ast

    counts: dict[str, int] = {}
    annotations: set[int] = set()
    tree = ast.parse(code)
    for node in ast.walk(tree) if not annotations_too else ():
        notes: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            notes = [node.annotation]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            notes = [node.returns]
        elif isinstance(node, ast.AnnAssign):
            notes = [node.annotation]
        for note in notes:
            if note is not None:
                annotations |= {id(n) for n in ast.walk(note)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in annotations:
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def runtime_imports(before: cst.Module, after: cst.Module, before_code: str | None = None) -> cst.Module:
    """Move imports out of ``if TYPE_CHECKING:`` when the rewrite uses the name at runtime.

    A name bound only under ``if TYPE_CHECKING:`` (or ``if typing.TYPE_CHECKING:``) that
    ``after`` reads at runtime more often than ``before`` did (a tenant guard raising
    ``PermissionDenied``) would be a NameError: its import is moved to the module's top
    level (:func:`tidy_added_imports` then puts it where isort would). A type-only import
    of a name the rewrite imported at runtime anyway is dropped. An emptied block goes, and
    with it the ``TYPE_CHECKING`` import when nothing else reads it. Names already read at
    runtime before the rewrite are the user's business and are left alone.
    """
    if before_code is not None and "TYPE_CHECKING" not in before_code:
        return after  # the rewrites add no TYPE_CHECKING block: none to read (nothing rendered)
    if "TYPE_CHECKING" not in after.code:
        return after
    blocks = [i for i, s in enumerate(after.body) if isinstance(s, cst.If) and _is_type_checking(s.test)]
    if not blocks:
        return after
    runtime = _runtime_bound(after.body)
    was_runtime = _runtime_bound(before.body)
    used_before = _runtime_uses(before_code if before_code is not None else before.code)
    used_after = _runtime_uses(after.code)
    move: dict[str, cst.SimpleStatementLine] = {}  # name -> the import to add at the top level
    drop: set[str] = set()  # names to take out of the blocks
    for i in blocks:
        block = after.body[i]
        assert isinstance(block, cst.If)
        for stmt in _block(block.body):
            for imp, alias in _import_aliases(stmt):
                name = _bound_name(alias)
                if name in runtime:
                    if name not in was_runtime:  # the rewrite imported it for real
                        drop.add(name)
                    continue
                if used_after.get(name, 0) <= used_before.get(name, 0):
                    continue
                drop.add(name)
                single = imp.with_changes(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
                move.setdefault(name, cst.SimpleStatementLine(body=[single]))
    if not drop:
        return after
    body: list[cst.BaseStatement] = []
    carry: Sequence[cst.EmptyLine] = ()
    removed_block = False
    for i, stmt in enumerate(after.body):
        if i in blocks:
            assert isinstance(stmt, cst.If)
            kept = _drop_names(_block(stmt.body), drop)
            if not kept and stmt.orelse is None:
                removed_block = True
                carry = [*carry, *stmt.leading_lines]
                continue
            stmt = stmt.with_changes(
                body=stmt.body.with_changes(body=kept or [cst.SimpleStatementLine([cst.Pass()])])
            )
        body.append(_pass_on(carry, stmt))
        carry = ()
    # the moved imports go after the last top-level import above the (first) block
    first = min(blocks)
    at = max((i + 1 for i, s in enumerate(after.body[:first]) if _is_import(s)), default=0)
    body[at:at] = list(move.values())
    out = after.with_changes(body=body)
    if removed_block and "TYPE_CHECKING" not in _runtime_uses(out.code):
        out = out.with_changes(body=_drop_names(out.body, {"TYPE_CHECKING"}, ("typing", "typing_extensions")))
    return out


def _pass_on(carry: Sequence[cst.EmptyLine], stmt: cst.BaseStatement) -> cst.BaseStatement:
    """``stmt`` after the statements above it were removed: their comments stay (above
    ``stmt``), and their blank lines when ``stmt`` had none of its own."""
    own: Sequence[cst.EmptyLine] = getattr(stmt, "leading_lines", ())
    if not carry:
        return stmt
    if any(line.comment is not None for line in carry):
        return stmt.with_changes(leading_lines=[*carry, *own])
    return stmt if own else stmt.with_changes(leading_lines=carry)


def _drop_names(
    body: Sequence[cst.BaseStatement], names: set[str], modules: tuple[str, ...] | None = None
) -> list[cst.BaseStatement]:
    """``body`` without the import aliases binding ``names`` (only ``from <modules>`` ones
    when given); a statement left with no name goes (see :func:`_pass_on`)."""
    out: list[cst.BaseStatement] = []
    carry: Sequence[cst.EmptyLine] = ()
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine) or not _import_aliases(stmt):
            out.append(_pass_on(carry, stmt))
            carry = ()
            continue
        smalls: list[cst.BaseSmallStatement] = []
        for small in stmt.body:
            if (
                not isinstance(small, (cst.Import, cst.ImportFrom))
                or isinstance(small.names, cst.ImportStar)
                or (
                    modules is not None
                    and not (isinstance(small, cst.ImportFrom) and _module_name(small.module) in modules)
                )
            ):
                smalls.append(small)
                continue
            aliases = [a for a in small.names if _bound_name(a) not in names]
            if len(aliases) == len(small.names):
                smalls.append(small)
            elif aliases:
                aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                smalls.append(small.with_changes(names=aliases))
        if smalls:
            smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            out.append(_pass_on(carry, stmt.with_changes(body=smalls)))
            carry = ()
        else:
            carry = [*carry, *stmt.leading_lines]
    return out


def drop_unused_added_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """``after`` without the top-level imports it added (bound nothing in ``before``) that
    nothing reads: left over when a rewrite was taken back."""
    had = {_bound_name(a) for s in before.body for _, a in _import_aliases(s)}
    added = {_bound_name(a) for s in after.body for _, a in _import_aliases(s)} - had
    if not added:
        return after
    unused = added - set(_runtime_uses(after.code, annotations_too=True))
    return after.with_changes(body=_drop_names(after.body, unused)) if unused else after
