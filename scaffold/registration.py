"""Register things in settings-like files: append a string to a literal list or tuple.

``add_to_sequence(source, "INSTALLED_APPS", "tenancy")`` finds the (last) top-level
assignment ``INSTALLED_APPS = [...]`` / ``(...)`` (or the one in ``class_name``'s body)
and appends ``"tenancy"`` with libcst, keeping the file's layout: comments, quote style,
one-item-per-line or single-line lists, trailing commas and line endings. It is a pure
function and idempotent: when the value is already there the source comes back unchanged.
A target that is missing, or is not a literal list/tuple (``BASE_APPS + [...]``), is a
:class:`scaffold.errors.SourceError` naming the fix; nothing is ever half-edited.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from pathlib import Path

import libcst as cst

from scaffold.config import star_imported_files
from scaffold.errors import ConfigError, SourceError
from scaffold.fsutil import ChangeSet
from scaffold.project import module_file

__all__ = [
    "add_expression_to_sequence",
    "add_installed_app",
    "add_to_sequence",
    "check_syntax",
    "pending_text",
    "sequence_values",
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


def _parse(source: str, filename: str) -> cst.Module:
    check_syntax(source, filename)  # Python's own message and line for a real syntax error
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise parse_error(filename, getattr(exc, "raw_line", "?"), exc.message) from exc


def pending_text(changes: ChangeSet, path: Path, filename: str, fix: str) -> str:
    """The text ``path`` will hold once ``changes`` is applied (its disk text when nothing
    edits it yet), so successive registration edits of one file compose."""
    data = changes.pending(path)
    if data is None:
        raise SourceError(f"{filename}: no such file; {fix}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{filename}: not UTF-8; {fix}") from exc


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


def _find(
    module: cst.Module, name: str, class_name: str | None, filename: str
) -> tuple[cst.BaseSmallStatement, list[_Seq]]:
    """The last top-level assignment of ``name``, plus the literal sequences of its ``+=`` edits."""
    where = f"class {class_name}" if class_name else "module level"
    found: cst.BaseSmallStatement | None = None
    augmented: list[_Seq] = []
    for stmt in _body(module, class_name, filename):
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
    value = found.value  # type: ignore[attr-defined]
    if not isinstance(value, (cst.List, cst.Tuple)):
        raise SourceError(
            f"{filename}: `{name}` is not a literal list or tuple (it is computed); "
            f"add the entry by hand or make `{name}` a literal list"
        )
    return found, augmented


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
    """The string items of ``name`` (its literal plus any literal ``+=`` extensions)."""
    module = _parse(source, filename)
    found, augmented = _find(module, name, class_name, filename)
    values = _strings(found.value)  # type: ignore[attr-defined]
    for seq in augmented:
        values.extend(_strings(seq))
    return values


def _quote(seq: _Seq, value: str) -> str:
    quote = '"'
    for el in seq.elements:
        if isinstance(el, cst.Element) and isinstance(el.value, cst.SimpleString):
            prefix_free = el.value.value.lstrip("rRbBuUfF")
            if prefix_free[:1] in ("'", '"'):
                quote = prefix_free[:1]
            break
    if quote in value or "\\" in value or "\n" in value:
        return repr(value) if quote == "'" else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{quote}{value}{quote}"


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
    def __init__(self, target: cst.CSTNode, literal: str) -> None:
        self.target = target
        self.literal = literal
        self.done = False

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        return self._leave(original_node, updated_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        return self._leave(original_node, updated_node)

    def _leave(self, original_node, updated_node):
        if original_node is self.target:
            self.done = True
            return updated_node.with_changes(value=_append(updated_node.value, self.literal))
        return updated_node


def add_to_sequence(
    source: str,
    name: str,
    value: str,
    *,
    class_name: str | None = None,
    filename: str = "<source>",
) -> str:
    """Return ``source`` with the string ``value`` appended to the literal list/tuple ``name``.

    ``name`` is looked up among module-level assignments, or in the body of the top-level
    class ``class_name``. Unchanged when ``value`` is already an item (idempotent).
    Raises :class:`SourceError` when the source does not parse, the assignment is missing,
    or it is not a literal list/tuple.
    """
    module = _parse(source, filename)
    found, augmented = _find(module, name, class_name, filename)
    seq = found.value  # type: ignore[attr-defined]
    existing = _strings(seq)
    for extra in augmented:
        existing.extend(_strings(extra))
    if value in existing:
        return source
    appender = _Appender(found, _quote(seq, value))
    new_module = module.visit(appender)
    if not appender.done:  # pragma: no cover - _find returned a node of this module
        raise SourceError(f"{filename}: could not edit `{name}`; add {value!r} by hand")
    return new_module.code


def add_expression_to_sequence(
    source: str,
    name: str,
    expression: str,
    *,
    present: Callable[[cst.BaseExpression], bool],
    class_name: str | None = None,
    filename: str = "<source>",
) -> str:
    """Like :func:`add_to_sequence`, for any expression (``path("api/x/", include("x.urls"))``).

    ``present(item)`` tells whether an existing item already is the entry; when one is,
    the source comes back unchanged (idempotent).
    """
    module = _parse(source, filename)
    found, augmented = _find(module, name, class_name, filename)
    seq = found.value  # type: ignore[attr-defined]
    items = [el.value for s in (seq, *augmented) for el in s.elements]
    if any(present(item) for item in items):
        return source
    appender = _Appender(found, expression)
    new_module = module.visit(appender)
    if not appender.done:  # pragma: no cover - _find returned a node of this module
        raise SourceError(f"{filename}: could not edit `{name}`; add {expression} by hand")
    return new_module.code


# -- settings: INSTALLED_APPS -----------------------------------------------------------


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


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
            continue
        if data is None:
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError) as exc:
            if path in executed or b"INSTALLED_APPS" in data:
                rel = _rel(root, path)
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


def add_installed_app(root: Path, settings_module: str, app: str, changes: ChangeSet) -> list[Path]:
    """Add ``app`` to every INSTALLED_APPS assignment reachable from the settings module
    (into ``changes``); return the settings files that hold it afterwards."""
    files = installed_apps_files(root, settings_module, changes)
    if not files:
        raise SourceError(
            f"no INSTALLED_APPS assignment found from settings module {settings_module!r}; "
            f"add {app!r} to INSTALLED_APPS by hand, or set settings in [tool.scaffold]"
        )
    edited: list[Path] = []
    errors: list[str] = []
    for path in files:
        rel = _rel(root, path)
        text = pending_text(changes, path, rel, f"add {app!r} to INSTALLED_APPS by hand")
        try:
            present = sequence_values(text, "INSTALLED_APPS", filename=rel)
        except SourceError as exc:
            errors.append(str(exc))
            continue
        if any(v == app or v.startswith(app + ".apps.") for v in present):
            edited.append(path)
            continue
        new = add_to_sequence(text, "INSTALLED_APPS", app, filename=rel)
        changes.add(path, new.encode("utf-8"))
        edited.append(path)
    if not edited:
        raise SourceError(errors[0])
    return edited
