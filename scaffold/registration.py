"""Register things in settings-like files: append a string to a literal list or tuple.

``add_to_sequence(source, "INSTALLED_APPS", "tenancy")`` finds the (last) top-level
assignment ``INSTALLED_APPS = [...]`` / ``(...)`` (or the one in ``class_name``'s body)
and appends ``"tenancy"`` with libcst, keeping the file's layout: comments, quote style,
one-item-per-line or single-line lists, trailing commas and line endings. It is a pure
function and idempotent: when the value is already anywhere in the assigned expression
(also inside a call, or a list added by hand) the source comes back unchanged.

A concatenation (``DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS``, cookiecutter-django;
``[...] + i18n_patterns(...)``) is followed to its literal operands, inline or assigned at
module level in the same file: a string goes into ``LOCAL_APPS`` when that is an operand,
else into the last literal operand; an expression (a ``path(...)``) into the first. A
target that is missing, or has no literal operand (``get_apps()``), is a
:class:`scaffold.errors.SourceError` naming the fix; nothing is ever half-edited. A UTF-8
byte-order mark is kept; settings in a PEP 263 encoding are read and written in it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from pathlib import Path

import libcst as cst

from scaffold.config import star_imported_files
from scaffold.errors import ConfigError, SourceError
from scaffold.fsutil import ChangeSet
from scaffold.project import module_file, read_required, rel_path, unreadable_error

__all__ = [
    "add_expression_to_sequence",
    "add_installed_app",
    "add_to_sequence",
    "check_syntax",
    "pending_text",
    "sequence_values",
    "source_text",
]

_Seq = cst.List | cst.Tuple


def parse_error(filename: str, line: object, message: str) -> SourceError:
    """The one-line error for a file scaffold must read or edit but cannot parse."""
    message = " ".join(str(message).split()) or "invalid syntax"
    return SourceError(f"{filename}: cannot parse (line {line}: {message}); fix the syntax error first")


def check_syntax(source: str | bytes, filename: str) -> ast.Module:
    """``ast.parse`` with a :class:`SourceError` naming the file, line and problem."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise parse_error(filename, exc.lineno or "?", exc.msg) from exc
    except ValueError as exc:  # null bytes
        raise parse_error(filename, "?", str(exc)) from exc


BOM = "\ufeff"


def split_bom(source: str) -> tuple[str, str]:
    """``(bom, rest)``: a UTF-8 byte-order mark decoded as text is kept aside, so the source
    parses (Python skips it in a file) and the edited text gets it back."""
    return (BOM, source[1:]) if source.startswith(BOM) else ("", source)


def _parse(source: str, filename: str) -> cst.Module:
    check_syntax(source, filename)  # Python's own message and line for a real syntax error
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise parse_error(filename, getattr(exc, "raw_line", "?"), exc.message) from exc


def pending_text(changes: ChangeSet, path: Path, filename: str, fix: str) -> str:
    """The text ``path`` will hold once ``changes`` is applied (its disk text when nothing
    edits it yet), so successive registration edits of one file compose."""
    try:
        data = changes.pending(path)
    except OSError as exc:  # chmod 000: one line, never a traceback
        raise unreadable_error(filename, exc, "edit it") from None
    if data is None:
        raise SourceError(f"{filename}: no such file; {fix}")
    try:
        return data.decode("utf-8")  # a BOM stays in the text, and is written back
    except UnicodeDecodeError as exc:
        _text, encoding = source_text(data, filename, fix)  # raises when Python cannot read it either
        raise SourceError(
            f"{filename}: encoded in {encoding} (PEP 263), which scaffold edits only in settings "
            "files; save it as UTF-8 (and drop its coding line), then re-run"
        ) from exc


def source_text(data: bytes, filename: str, fix: str) -> tuple[str, str]:
    """``(text, encoding)`` of Python source as Python reads it (PEP 263 cookie, BOM);
    ``encoding`` encodes the edited text back to the file's bytes (``utf-8-sig`` keeps a BOM)."""
    from scaffold.engine import Undecodable, decode_source  # the engine's decoder, one for all

    try:
        return decode_source(data)
    except Undecodable as exc:
        raise SourceError(f"{filename}: {exc}; {fix}") from exc


def _targets(stmt: cst.BaseSmallStatement) -> list[cst.BaseExpression]:
    if isinstance(stmt, cst.Assign):
        return [t.target for t in stmt.targets]
    if isinstance(stmt, cst.AnnAssign) and stmt.value is not None:
        return [stmt.target]
    return []


def _body(module: cst.Module, class_name: str | None, filename: str) -> Sequence[cst.BaseStatement]:
    if class_name is None:
        return module.body
    for node in module.body:
        if isinstance(node, cst.ClassDef) and node.name.value == class_name:
            body = node.body
            if isinstance(body, cst.IndentedBlock):
                return body.body
            return [body]  # type: ignore[list-item]
    raise SourceError(f"{filename}: no class {class_name} at module level; check the configured module:Class")


class _Target:
    """Where an assignment's items live: the literal sequences it is made of (inline or
    assigned to a name in the same file), by operand order, and every node of the
    expression (to tell whether an entry is already there, wherever it was put)."""

    def __init__(self) -> None:
        self.literals: list[tuple[str | None, _Seq]] = []  # (operand name or None, sequence)
        self.nodes: list[cst.BaseExpression] = []  # every operand, including opaque ones
        self.extensions: list[_Seq] = []  # the literal ``name += [...]`` that follow it


def _operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``a + b + [c]`` -> ``[a, b, [c]]`` (parentheses dropped)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*_operands(node.left), *_operands(node.right)]
    return [node]


def _assigned_value(body: Sequence[cst.BaseStatement], name: str) -> cst.BaseExpression | None:
    value: cst.BaseExpression | None = None
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if any(isinstance(t, cst.Name) and t.value == name for t in _targets(small)):
                    value = small.value  # type: ignore[attr-defined]
    return value


def _find(
    module: cst.Module, name: str, class_name: str | None, filename: str
) -> tuple[cst.BaseSmallStatement, _Target]:
    """The last assignment of ``name`` (module level or in ``class_name``), resolved to its
    literal sequences, plus the literal ``+=`` extensions that follow it."""
    where = f"class {class_name}" if class_name else "module level"
    body = _body(module, class_name, filename)
    found: cst.BaseSmallStatement | None = None
    augmented: list[_Seq] = []
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if any(isinstance(t, cst.Name) and t.value == name for t in _targets(small)):
                found = small
                augmented = []
            elif (
                isinstance(small, cst.AugAssign)
                and isinstance(small.target, cst.Name)
                and small.target.value == name
                and isinstance(small.value, (cst.List, cst.Tuple))
            ):
                augmented.append(small.value)
    if found is None:
        raise SourceError(
            f"{filename}: no `{name} = [...]` assignment at {where}; add one, or register the entry by hand"
        )
    target = _Target()
    for operand in _operands(found.value):  # type: ignore[attr-defined]
        target.nodes.append(operand)
        if isinstance(operand, (cst.List, cst.Tuple)):
            target.literals.append((None, operand))
        elif isinstance(operand, cst.Name) and operand.value != name:
            value = _assigned_value(body, operand.value)
            if value is None and class_name is not None:
                value = _assigned_value(module.body, operand.value)
            if isinstance(value, (cst.List, cst.Tuple)):
                target.literals.append((operand.value, value))
                target.nodes.append(value)
    for seq in augmented:
        target.literals.append((None, seq))
        target.nodes.append(seq)
        target.extensions.append(seq)
    return found, target


def _no_literal(filename: str, name: str) -> SourceError:
    return SourceError(
        f"{filename}: `{name}` is computed and none of its parts is a literal list or tuple "
        f"in this file; add the entry to it by hand (scaffold then finds it there) or make "
        f"`{name}` a literal list"
    )


def _all_strings(nodes: Sequence[cst.CSTNode]) -> list[str]:
    """Every string literal anywhere in ``nodes`` (items added by hand, inside calls too)."""
    values: list[str] = []

    class Collect(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            value = node.evaluated_value
            if isinstance(value, str):
                values.append(value)

        def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
            value = node.evaluated_value
            if isinstance(value, str):
                values.append(value)
            return False

    for node in nodes:
        node.visit(Collect())
    return values


def _strings(seq: _Seq) -> list[str]:
    values = []
    for el in seq.elements:
        if isinstance(el, cst.Element) and isinstance(el.value, (cst.SimpleString, cst.ConcatenatedString)):
            evaluated = el.value.evaluated_value
            if isinstance(evaluated, str):
                values.append(evaluated)
    return values


def sequence_values(
    source: str, name: str, *, class_name: str | None = None, filename: str = "<source>"
) -> list[str]:
    """The string items of ``name``: those of every literal it is made of (assigned parts of
    a concatenation, ``+=`` extensions)."""
    _bom, source = split_bom(source)
    module = _parse(source, filename)
    _found, target = _find(module, name, class_name, filename)
    return [v for _, seq in target.literals for v in _strings(seq)]


class _QuoteCount(cst.CSTVisitor):
    """How many one-line string literals use ``'`` and ``"``."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = {"'": 0, '"': 0}

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        body = node.value.lstrip("rRbBuUfF")
        if body[:3] not in ("'''", '"""') and body[:1] in self.counts:
            self.counts[body[:1]] += 1


class _Contains(cst.CSTVisitor):
    def __init__(self, target: cst.CSTNode) -> None:
        super().__init__()
        self.target = target
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.target:
            self.found = True
        return not self.found


def _surroundings(module: cst.Module, node: cst.CSTNode) -> list[cst.CSTNode]:
    """The top-level statement holding ``node``, then the other statements nearest first
    (the one before, the one after, two before, ...)."""
    body = list(module.body)
    index = None
    for i, stmt in enumerate(body):
        probe = _Contains(node)
        stmt.visit(probe)
        if probe.found:
            index = i
            break
    if index is None:
        return list(body)
    order: list[cst.CSTNode] = [body[index]]
    for distance in range(1, len(body)):
        order += [body[i] for i in (index - distance, index + distance) if 0 <= i < len(body)]
    return order


def _quote_char(seq: cst.CSTNode, module: cst.Module | None = None) -> str:
    """The quote the surrounding code writes its strings with: the more common of ``'``
    and ``"`` among the one-line string literals of the first scope that has any: the
    sequence being edited, its statement, then the statements nearest to it. ``"`` when
    there are none or as many of each."""
    scopes = [seq, *(_surroundings(module, seq) if module is not None else [])]
    for scope in scopes:
        count = _QuoteCount()
        scope.visit(count)
        single, double = count.counts["'"], count.counts['"']
        if single != double:
            return "'" if single > double else '"'
    return '"'


def _literal(value: str, quote: str) -> str:
    """``value`` as a one-line string literal, in ``quote`` unless it holds that quote."""
    if quote == "'" and "'" not in value:
        return repr(value) if "\\" in value or "\n" in value else f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _quote(seq: _Seq, value: str, module: cst.Module | None = None) -> str:
    return _literal(value, _quote_char(seq, module))


def _requote(expression: str, quote: str) -> str:
    """``expression`` with its plain string literals in ``quote`` (values unchanged)."""
    node = cst.parse_expression(expression)

    class Requote(cst.CSTTransformer):
        def leave_SimpleString(
            self, original_node: cst.SimpleString, updated_node: cst.SimpleString
        ) -> cst.SimpleString:
            value = original_node.evaluated_value
            if original_node.prefix or not isinstance(value, str):
                return updated_node
            return updated_node.with_changes(value=_literal(value, quote))

    requoted = node.visit(Requote())
    assert isinstance(requoted, cst.BaseExpression)
    return cst.Module(body=[]).code_for_node(requoted)


def _opener_ws(seq: _Seq) -> cst.BaseParenthesizableWhitespace:
    if isinstance(seq, cst.List):
        return seq.lbracket.whitespace_after
    return seq.lpar[0].whitespace_after if seq.lpar else cst.SimpleWhitespace("")


def _closer_ws(seq: _Seq) -> cst.BaseParenthesizableWhitespace:
    if isinstance(seq, cst.List):
        return seq.rbracket.whitespace_before
    return seq.rpar[-1].whitespace_before if seq.rpar else cst.SimpleWhitespace("")


def _with_closer_ws(seq: _Seq, ws: cst.BaseParenthesizableWhitespace) -> _Seq:
    if isinstance(seq, cst.List):
        return seq.with_changes(rbracket=seq.rbracket.with_changes(whitespace_before=ws))
    if not seq.rpar:
        return seq
    return seq.with_changes(rpar=[*seq.rpar[:-1], seq.rpar[-1].with_changes(whitespace_before=ws)])


def _item_indent(seq: _Seq) -> cst.ParenthesizedWhitespace | None:
    """The whitespace that starts an item on its own line, or None for a single-line literal."""
    candidates = [_opener_ws(seq)]
    candidates += [el.comma.whitespace_after for el in seq.elements[:-1] if isinstance(el.comma, cst.Comma)]
    for ws in reversed(candidates):
        if isinstance(ws, cst.ParenthesizedWhitespace):
            return cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(),
                empty_lines=(),
                indent=ws.indent,
                last_line=ws.last_line,
            )
    return None


def _append(seq: _Seq, literal: str) -> _Seq:
    new_value = cst.parse_expression(literal)
    elements = list(seq.elements)
    if not elements:
        if isinstance(seq, cst.List) and isinstance(
            seq.lbracket.whitespace_after, cst.ParenthesizedWhitespace
        ):
            # Empty but multi-line (`[\n    # comment\n]`): the item goes on its own line
            # after any comment lines, with a trailing comma; `]` keeps its indentation.
            opener = seq.lbracket.whitespace_after
            closer_indent = opener.last_line.value
            closing = cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(),
                empty_lines=(),
                indent=opener.indent,
                last_line=cst.SimpleWhitespace(closer_indent),
            )
            return seq.with_changes(
                lbracket=seq.lbracket.with_changes(
                    whitespace_after=opener.with_changes(
                        last_line=cst.SimpleWhitespace(closer_indent + "    ")
                    )
                ),
                elements=[cst.Element(new_value, comma=cst.Comma(whitespace_after=closing))],
            )
        comma = cst.Comma() if isinstance(seq, cst.Tuple) else cst.MaybeSentinel.DEFAULT
        return seq.with_changes(elements=[cst.Element(new_value, comma=comma)])
    last = elements[-1]
    indent = _item_indent(seq)
    closer = _closer_ws(seq)
    if indent is None or not isinstance(closer, cst.ParenthesizedWhitespace):
        # Single line: `["a", "b"]` -> `["a", "b", "x"]` (a trailing comma is dropped).
        elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        elements.append(cst.Element(new_value))
        return seq.with_changes(elements=elements)
    # One item per line. The whitespace before the closer holds the last item's own-line
    # comment and any comment lines before the closer: they stay with the last item, the
    # new item goes on a fresh line below them, and the trailing-comma style is kept.
    trailing = isinstance(last.comma, cst.Comma)
    elements[-1] = last.with_changes(
        comma=cst.Comma(
            whitespace_before=(
                last.comma.whitespace_before
                if isinstance(last.comma, cst.Comma)
                else cst.SimpleWhitespace("")
            ),
            whitespace_after=closer.with_changes(indent=indent.indent, last_line=indent.last_line),
        )
    )
    elements.append(cst.Element(new_value, comma=cst.Comma() if trailing else cst.MaybeSentinel.DEFAULT))
    fresh_closer = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=(),
        indent=closer.indent,
        last_line=closer.last_line,
    )
    return _with_closer_ws(seq.with_changes(elements=elements), fresh_closer)


class _Appender(cst.CSTTransformer):
    """Append ``literal`` to the one sequence node ``target`` (wherever it is assigned)."""

    def __init__(self, target: _Seq, literal: str) -> None:
        self.target = target
        self.literal = literal
        self.done = False

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.BaseExpression:
        return self._leave(original_node, updated_node)

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.BaseExpression:
        return self._leave(original_node, updated_node)

    def _leave(self, original_node: _Seq, updated_node: _Seq) -> cst.BaseExpression:
        if original_node is self.target:
            self.done = True
            return _append(updated_node, self.literal)
        return updated_node


# Where a string entry goes in a concatenation: the project's own apps.
_LOCAL_NAMES = ("LOCAL_APPS", "PROJECT_APPS")


def _string_target(target: _Target) -> _Seq | None:
    assigned = [(n, seq) for n, seq in target.literals if n is not None]
    for wanted in _LOCAL_NAMES:
        for operand_name, seq in assigned:
            if operand_name == wanted:
                return seq
    # the assignment's own last literal part; a later `+= [...]` only when it has none
    own = [seq for _, seq in target.literals if not any(seq is ext for ext in target.extensions)]
    operands = own or [seq for _, seq in target.literals]
    return operands[-1] if operands else None


def _edit(module: cst.Module, seq: _Seq, literal: str, filename: str, name: str) -> str:
    appender = _Appender(seq, literal)
    new_module = module.visit(appender)
    if not appender.done:  # pragma: no cover - _find returned a node of this module
        raise SourceError(f"{filename}: could not edit `{name}`; add {literal} by hand")
    return new_module.code


def add_to_sequence(
    source: str,
    name: str,
    value: str,
    *,
    class_name: str | None = None,
    filename: str = "<source>",
) -> str:
    """Return ``source`` with the string ``value`` appended to the list/tuple ``name``.

    ``name`` is looked up among module-level assignments, or in the body of the top-level
    class ``class_name``. A concatenation of literals and names of literals gets it in
    ``LOCAL_APPS`` when that is a part, else in its last literal part. Unchanged when
    ``value`` is already anywhere in the expression (idempotent). Raises
    :class:`SourceError` when the source does not parse, the assignment is missing, or
    ``value`` is not there and nothing in the expression is a literal list/tuple.
    """
    bom, text = split_bom(source)
    module = _parse(text, filename)
    _found, target = _find(module, name, class_name, filename)
    if value in _all_strings(target.nodes):
        return source
    seq = _string_target(target)
    if seq is None:
        raise _no_literal(filename, name)
    return bom + _edit(module, seq, _quote(seq, value, module), filename, name)


def add_expression_to_sequence(
    source: str,
    name: str,
    expression: str,
    *,
    present: Callable[[cst.BaseExpression], bool],
    class_name: str | None = None,
    filename: str = "<source>",
) -> str:
    """Like :func:`add_to_sequence`, for any expression (``path("api/x/", include("x.urls"))``),
    appended to the *first* literal part of a concatenation (``[...] + i18n_patterns(...)``).

    ``present(node)`` tells whether an existing item, or any part of the expression (a
    call such as ``i18n_patterns(...)`` included), already holds the entry; when one does,
    the source comes back unchanged (idempotent). Its string literals take the quote the
    sequence (else the file) already uses: startproject's ``path('admin/', ...)`` gets
    ``path('api/x/', include('x.urls'))``.
    """
    bom, text = split_bom(source)
    module = _parse(text, filename)
    _found, target = _find(module, name, class_name, filename)
    items = [el.value for _, seq in target.literals for el in seq.elements]
    opaque = [n for n in target.nodes if not isinstance(n, (cst.List, cst.Tuple, cst.Name))]
    if any(present(item) for item in [*items, *opaque]):
        return source
    if not target.literals:
        raise _no_literal(filename, name)
    seq = target.literals[0][1]
    return bom + _edit(module, seq, _requote(expression, _quote_char(seq, module)), filename, name)


# -- settings: INSTALLED_APPS -----------------------------------------------------------


def installed_apps_files(root: Path, settings_module: str, changes: ChangeSet | None = None) -> list[Path]:
    """Settings files with a top-level ``INSTALLED_APPS = ...`` assignment, following
    star imports (``settings/dev.py`` -> ``settings/base.py``) and settings packages.

    A file that Django would run (the settings module and what it star-imports) or that
    mentions INSTALLED_APPS but does not parse is a :class:`SourceError` naming the line:
    skipping it would turn a syntax error into a misleading "no INSTALLED_APPS"."""
    start = module_file(root, settings_module)
    if start is None:
        raise ConfigError(f"settings module {settings_module!r} not found; set settings in [tool.scaffold]")
    executed = [start, *star_imported_files(root, start)]
    files = list(executed)
    if start.name == "__init__.py":
        files += sorted(p for p in start.parent.glob("*.py") if p not in files)
    for path in list(files):
        files += [p for p in star_imported_files(root, path) if p not in files]
    hits: list[Path] = []
    for path in files:
        try:
            data = changes.pending(path) if changes is not None else path.read_bytes()
        except OSError:
            if path in executed:  # the settings Django runs: INSTALLED_APPS may be there
                read_required(root, path, "register the app in INSTALLED_APPS")
            continue
        if data is None:
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError) as exc:
            if path in executed or b"INSTALLED_APPS" in data:
                rel = rel_path(root, path)
                if isinstance(exc, SyntaxError):
                    raise parse_error(rel, exc.lineno or "?", exc.msg) from exc
                raise parse_error(rel, "?", str(exc)) from exc
            continue
        for node in tree.body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == "INSTALLED_APPS" for t in targets):
                hits.append(path)
                break
    return hits


def _extends_itself(module: cst.Module, name: str, filename: str) -> bool:
    """Whether the last ``name = ...`` builds on the value it replaces (``[..., *name]``,
    ``name + [...]``): cookiecutter-django's local.py over its base.py."""
    found, _target = _find(module, name, None, filename)

    class Uses(cst.CSTVisitor):
        hit = False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                Uses.hit = True

    found.value.visit(Uses())  # type: ignore[attr-defined]
    return Uses.hit


def add_installed_app(root: Path, settings_module: str, app: str, changes: ChangeSet) -> list[Path]:
    """Add ``app`` to every INSTALLED_APPS assignment reachable from the settings module
    (into ``changes``); return the settings files that hold it afterwards.

    An assignment that extends an earlier one (``INSTALLED_APPS = ["x", *INSTALLED_APPS]``
    in ``local.py`` over ``base.py``) is left alone, since it inherits the entry: editing
    it too would list the app twice. The app already in such an extension counts as done."""
    files = installed_apps_files(root, settings_module, changes)
    if not files:
        raise SourceError(
            f"no INSTALLED_APPS assignment found from settings module {settings_module!r}; "
            f"add {app!r} to INSTALLED_APPS by hand, or set settings in [tool.scaffold]"
        )
    fix = f"add {app!r} to INSTALLED_APPS by hand"
    parsed: list[tuple[Path, str, str, str, cst.Module, bool]] = []
    for path in files:
        rel = rel_path(root, path)
        data = changes.pending(path)
        if data is None:
            raise SourceError(f"{rel}: no such file; {fix}")
        text, encoding = source_text(data, rel, fix)
        module = _parse(text, rel)
        try:
            extends = _extends_itself(module, "INSTALLED_APPS", rel)
        except SourceError:
            extends = False
        parsed.append((path, rel, text, encoding, module, extends))
    bases = [p for p in parsed if not p[5]]
    if len(bases) < len(parsed) and bases:
        for path, rel, _text, _encoding, module, _extends in parsed:
            if _extends:
                _found, target = _find(module, "INSTALLED_APPS", None, rel)
                if app in _all_strings(target.nodes):
                    return [path]  # put there by hand: the base must not list it again
    edited: list[Path] = []
    errors: list[str] = []
    for path, rel, text, encoding, module, _extends in bases or parsed:
        try:
            new = add_to_sequence(text, "INSTALLED_APPS", app, filename=rel)
        except SourceError as exc:
            if "cannot parse" in str(exc):
                raise
            errors.append(str(exc))
            continue
        if new != text:
            _found, target = _find(module, "INSTALLED_APPS", None, rel)
            if any(v.startswith(app + ".apps.") for v in _all_strings(target.nodes)):
                new = text  # registered through its AppConfig
            changes.add(path, new.encode(encoding))
        edited.append(path)
    if not edited:
        raise SourceError(errors[0])
    return edited
