"""scaffold.codemods._matchers: matcher tables built once per class behave like libcst's own."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.codemod.visitors import AddImportsVisitor

import scaffold.codemods  # noqa: F401 - installs the per-class tables
from scaffold.codemods import _matchers


class Plain(VisitorBasedCodemodCommand):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


class Decorated(VisitorBasedCodemodCommand):
    @m.call_if_inside(m.FunctionDef(name=m.Name("keep")))
    @m.leave(m.Name())
    def shout(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


SOURCE = "def keep():\n    a = b\n\n\ndef other():\n    c = d\n"


def run(cls: type[VisitorBasedCodemodCommand]) -> str:
    return cls(CodemodContext()).transform_module(cst.parse_module(SOURCE)).code


def test_plain_class_second_instance_skips_the_lookup_and_still_works() -> None:
    assert run(Plain) == run(Plain) == "def KEEP():\n    A = B\n\n\ndef OTHER():\n    C = D\n"
    assert Plain in _matchers._PLAIN
    second = Plain(CodemodContext())
    assert second._extra_visit_funcs == {} and second._extra_leave_funcs == {}
    assert second._matchers == {}


def test_decorated_class_keeps_libcst_own_tables_on_every_instance() -> None:
    # only names inside the keep() node (its own name included) are matched
    expected = "def KEEP():\n    A = B\n\n\ndef other():\n    c = d\n"
    assert run(Decorated) == run(Decorated) == expected
    assert Decorated not in _matchers._PLAIN


def test_libcst_import_visitor_is_built_fast_and_adds_imports() -> None:
    for _ in range(2):
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, "os", "path")
        out = AddImportsVisitor(context).transform_module(cst.parse_module("x = 1\n")).code
        assert out == "from os import path\n\nx = 1\n"
    assert AddImportsVisitor in _matchers._PLAIN


def test_libcst_gather_visitor_is_built_fast_and_gathers() -> None:
    from libcst.codemod.visitors import GatherImportsVisitor

    for _ in range(2):
        visitor = GatherImportsVisitor(CodemodContext())
        cst.parse_module("import os\nfrom a import b\n").visit(visitor)
        assert visitor.module_imports == {"os"}
        assert visitor.object_mapping == {"a": {"b"}}
    assert GatherImportsVisitor in _matchers._PLAIN
