"""Small ``ast`` helpers the view analysis walks code with (no project knowledge)."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator

from scaffold.index import dotted_name

TRY_STMTS: tuple[type[ast.Try], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# where a request carries what the client sent (``request.<source>``)
CLIENT_SOURCES = frozenset(["query_params", "data", "GET", "POST", "headers", "META", "COOKIES", "FILES"])
_WALKED = "_scaffold_walk"  # attribute holding a function's walk (trees are never mutated)
_SPAN = "_scaffold_span"  # (enclosing walk, start, end): a statement's walk, not yet sliced


def walk_all(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk(node)``, in the same (breadth-first) order, twice as fast: a list grown
    while it is iterated instead of a deque fed by two generators per node. The analysis
    walks expressions and class bodies many thousands of times per run."""
    todo = [node]
    append = todo.append
    for current in todo:
        yield current
        for name in current._fields:
            value = getattr(current, name, None)
            if isinstance(value, ast.AST):
                append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


@functools.lru_cache(maxsize=8)
def source_lines(source: str) -> tuple[str, ...]:
    """``source`` split as the parser splits it (``\r\n``, ``\r``, ``\n``; not form feeds),
    line ends kept: what ``ast.get_source_segment`` splits, character by character, on every
    call (6 ms per call on a long views module). Kept for the last few sources."""
    return tuple(_LINE.findall(source))


def source_segment(source: str, node: ast.AST) -> str | None:
    """``ast.get_source_segment(source, node)`` (unpadded) over :func:`source_lines`."""
    lineno, end_lineno = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if lineno is None or end_lineno is None or col is None or end_col is None:
        return None
    lines = source_lines(source)
    if end_lineno == lineno:
        return lines[lineno - 1].encode()[col:end_col].decode()
    first = lines[lineno - 1].encode()[col:].decode()
    last = lines[end_lineno - 1].encode()[:end_col].decode()
    return "".join([first, *lines[lineno : end_lineno - 1], last])


def walk_function(node: ast.AST) -> Iterator[ast.AST]:
    """Pre-order, source-order walk of a function body that does not enter nested scopes.

    A function's (or statement's) walk is computed once and kept on its node: the analysis
    walks the same methods and statements for many views and questions (a profile of a
    600-file code base counted 38 million generator steps here before). A statement inside
    an already walked function or statement is a slice of that walk (a pre-order walk lists
    each subtree contiguously), so nested statements are not walked again."""
    if isinstance(node, (*FUNCTIONS, ast.stmt)):  # statements too: each is judged by several readers
        known = node.__dict__
        walked = known.get(_WALKED)
        if walked is None:
            span = known.get(_SPAN)
            walked = span[0][span[1] : span[2]] if span is not None else _walk(node, keep_spans=True)
            known[_WALKED] = walked
        return iter(walked)
    return iter(_walk(node))


class _End:
    """Marks, on the walk's stack, where the subtree of a statement ends."""

    __slots__ = ("stmt", "start")

    def __init__(self, stmt: ast.stmt, start: int) -> None:
        self.stmt = stmt
        self.start = start


def _walk(node: ast.AST, keep_spans: bool = False) -> tuple[ast.AST, ...]:
    out: list[ast.AST] = []
    spans: list[tuple[ast.stmt, int, int]] = []
    todo: list[ast.AST | _End] = list(reversed(_children(node)))
    while todo:
        child = todo.pop()
        if isinstance(child, _End):
            spans.append((child.stmt, child.start, len(out)))
            continue
        out.append(child)
        kids = _children(child)
        if keep_spans and isinstance(child, ast.stmt) and kids:
            todo.append(_End(child, len(out)))
        kids.reverse()
        todo.extend(kids)
    walked = tuple(out)
    for stmt, start, end in spans:
        if _WALKED not in stmt.__dict__:
            stmt.__dict__[_SPAN] = (walked, start, end)
    return walked


def _children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` minus nested scopes, without its two generators (the walk of
    every analysed function and statement goes through here)."""
    kids: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            if not isinstance(value, SCOPES):
                kids.append(value)
        elif isinstance(value, list):
            kids.extend(v for v in value if isinstance(v, ast.AST) and not isinstance(v, SCOPES))
    return kids


# the requesting user, and the credentials DRF authenticated the request with
USER_EXPRS = frozenset(["self.request.user", "request.user"])
AUTH_EXPRS = frozenset(["self.request.auth", "request.auth"])


class ExprFacts:
    """What a walk of one expression says, independent of who asks (kept on its node, since
    the same expressions are judged for many views and locals): the names it reads, whether
    it reads ``request.user`` / ``self.request.user`` (``reads_user``: also through any
    ``.request``; ``reads_requester``: exactly those two or ``request.auth``), the client's
    input directly (query string, body, headers, ``self.kwargs`` / ``kwargs``), whether it
    builds an ``OuterRef``, and every attribute name and string constant it spells."""

    __slots__ = ("names", "outer_ref", "reads_client", "reads_requester", "reads_user", "spelled")

    def __init__(self, expr: ast.AST) -> None:
        names: set[str] = set()
        spelled: set[str] = set()
        self.reads_user = self.reads_client = self.outer_ref = self.reads_requester = False
        for sub in walk_all(expr):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
                if sub.id == "kwargs":
                    self.reads_client = True
            elif isinstance(sub, ast.Attribute):
                base = sub.value
                spelled.add(sub.attr)
                if sub.attr == "user" and (
                    (isinstance(base, ast.Name) and base.id == "request")
                    or (isinstance(base, ast.Attribute) and base.attr == "request")
                ):
                    self.reads_user = True
                if sub.attr in ("user", "auth") and dotted_name(sub) in (USER_EXPRS | AUTH_EXPRS):
                    self.reads_requester = True
                if sub.attr in CLIENT_SOURCES and dotted_name(base) in ("request", "self.request"):
                    self.reads_client = True
                elif sub.attr == "kwargs" and isinstance(base, ast.Name) and base.id == "self":
                    self.reads_client = True
            elif isinstance(sub, ast.Call) and (dotted_name(sub.func) or "").rpartition(".")[2] == "OuterRef":
                self.outer_ref = True
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                spelled.add(sub.value)
        self.names = frozenset(names)
        self.spelled = frozenset(spelled)


def expr_facts(expr: ast.AST) -> ExprFacts:
    """The :class:`ExprFacts` of ``expr``, computed once per node."""
    cached: ExprFacts | None = expr.__dict__.get("_scaffold_facts")
    if cached is None:
        cached = expr.__dict__["_scaffold_facts"] = ExprFacts(expr)
    return cached


def chain(expr: ast.expr) -> tuple[ast.expr, list[ast.Call]]:
    """Split ``root.m1(...).m2(...)`` into ``root`` and the method calls, outermost last."""
    calls: list[ast.Call] = []
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and not is_super_qs(expr):
        calls.append(expr)
        expr = expr.func.value
    calls.reverse()
    return expr, calls


def is_super_qs(node: ast.AST) -> bool:
    """``super().get_queryset()`` (a chain root, like ``Model.objects``)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_queryset"
        and isinstance(node.func.value, ast.Call)
        and dotted_name(node.func.value.func) == "super"
    )


def mentions_attr(node: ast.AST, attr: str) -> bool:
    for sub in walk_all(node):
        if isinstance(sub, ast.Attribute) and sub.attr == attr:
            return True
        if isinstance(sub, ast.Constant) and sub.value == attr:
            return True
    return False


def assigned_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for sub in walk_function(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        names.update(a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs))
    return names


def assignments(fn: ast.AST) -> dict[str, list[ast.expr | None]]:
    """Local name -> every value assigned to it in ``fn`` (None: bound some other way)."""
    out: dict[str, list[ast.expr | None]] = {}
    for sub in walk_function(fn):
        if isinstance(sub, ast.Assign):
            for t in sub.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(sub.value)
                else:
                    for n in walk_all(t):
                        if isinstance(n, ast.Name):
                            out.setdefault(n.id, []).append(None)
        elif isinstance(sub, (ast.AnnAssign, ast.AugAssign)) and isinstance(sub.target, ast.Name):
            out.setdefault(sub.target.id, []).append(sub.value if isinstance(sub, ast.AnnAssign) else None)
        elif isinstance(sub, ast.NamedExpr):
            out.setdefault(sub.target.id, []).append(sub.value)
        elif isinstance(sub, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            for n in bound_targets(sub):
                out.setdefault(n.id, []).append(None)
    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs):
            out.setdefault(a.arg, []).append(None)
    return out


def bound_targets(stmt: ast.AST) -> list[ast.Name]:
    """Names bound by a ``for`` target or ``with ... as``."""
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        roots: list[ast.AST] = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        roots = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    else:
        return []
    return [n for r in roots for n in walk_all(r) if isinstance(n, ast.Name)]


def string_items(stmt: ast.stmt | None) -> set[str]:
    value = stmt_value(stmt) if stmt is not None else None
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


ClassBody = tuple[
    dict[str, ast.stmt],  # assignments, the last one per name
    dict[str, "ast.FunctionDef | ast.AsyncFunctionDef"],  # methods, the first one per name
    dict[str, "ast.FunctionDef | ast.AsyncFunctionDef"],  # methods, the last one (Python's binding)
]


def class_body(node: ast.ClassDef) -> ClassBody:
    """A class body's assignments and methods, indexed once per class node (the analysis
    and the planner ask every class of every view's MRO for the same few names). Callers
    must not change the dicts."""
    cached: ClassBody | None = node.__dict__.get("_scaffold_members")
    if cached is None:
        attrs: dict[str, ast.stmt] = {}
        first: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        last: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        attrs[target.id] = stmt
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                attrs[stmt.target.id] = stmt
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first.setdefault(stmt.name, stmt)
                last[stmt.name] = stmt
        cached = node.__dict__["_scaffold_members"] = (attrs, first, last)
    return cached


def class_members(node: ast.ClassDef) -> tuple[dict[str, ast.stmt], dict[str, ast.FunctionDef]]:
    """Assignments and methods of a class body, the last definition of each name (what
    Python binds)."""
    attrs, _, last = class_body(node)
    return attrs, last  # type: ignore[return-value]


def stmt_value(stmt: ast.stmt) -> ast.expr | None:
    return stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None


def key_read(expr: ast.AST | None) -> tuple[ast.expr, object] | None:
    """``(mapping, key)`` of ``mapping["key"]`` / ``mapping.get("key", ...)``, else None."""
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        return expr.value, expr.slice.value
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "get"
        and expr.args
        and isinstance(expr.args[0], ast.Constant)
    ):
        return expr.func.value, expr.args[0].value
    return None
