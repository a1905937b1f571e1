"""scaffold.analysis.syntax: the fast walks and source slices answer exactly what the stdlib
helpers they replace answer (``ast.walk``, ``ast.get_source_segment``); only faster."""

from __future__ import annotations

import ast
import textwrap

import pytest

from scaffold.analysis.syntax import source_lines, source_segment, walk_all, walk_function

SOURCE = textwrap.dedent(
    """\
    class V(Base):
        queryset = Model.objects.filter(
            a=1,  # a comment
        ).all()

        def get(self, request, *args, **kwargs):
            rows = [r for r in self.get_queryset() if r.ok]
            if rows:
                for r in rows:
                    with open(r.path) as fh:
                        r.value = lambda x: x + 1
            return Response({"é": "ü", "rows": rows})
    """
)


def test_walk_all_yields_what_ast_walk_yields_in_its_order() -> None:
    tree = ast.parse(SOURCE)
    assert [id(n) for n in walk_all(tree)] == [id(n) for n in ast.walk(tree)]


def test_a_nested_statements_walk_is_the_same_whether_or_not_its_function_was_walked_first() -> None:
    first, second = ast.parse(SOURCE), ast.parse(SOURCE)
    fn1 = next(n for n in ast.walk(first) if isinstance(n, ast.FunctionDef))
    list(walk_function(fn1))  # nested statements now slice this walk
    stmts1 = [n for n in ast.walk(fn1) if isinstance(n, ast.stmt) and n is not fn1]
    fn2 = next(n for n in ast.walk(second) if isinstance(n, ast.FunctionDef))
    stmts2 = [n for n in ast.walk(fn2) if isinstance(n, ast.stmt) and n is not fn2]
    assert stmts1
    for a, b in zip(stmts1, stmts2, strict=True):  # b walked on its own, never sliced
        assert [ast.dump(n) for n in walk_function(a)] == [ast.dump(n) for n in walk_function(b)]
    # nested scopes are not entered: the lambda's body is not part of the handler's walk
    assert not any(isinstance(n, ast.BinOp) for n in walk_function(fn1))


@pytest.mark.parametrize(
    "source",
    ["", "x = 1", "a\r\nb\rc\nd", "x = 1\n\f\ny = 2\r", "\n\n", "é = 'ü'\nprint(é)\n", SOURCE],
)
def test_source_lines_split_as_the_parser_does(source: str) -> None:
    assert list(source_lines(source)) == ast._splitlines_no_ff(source)  # type: ignore[attr-defined]


def test_source_segment_is_get_source_segment() -> None:
    tree = ast.parse(SOURCE)
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.expr, ast.stmt))]
    assert len(nodes) > 40
    for node in nodes:
        assert source_segment(SOURCE, node) == ast.get_source_segment(SOURCE, node)
    assert source_segment(SOURCE, ast.Load()) is None  # no position: no segment
