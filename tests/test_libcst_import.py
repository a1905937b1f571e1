"""scaffold.libcst_import: the ``scaffold`` command imports libcst's matchers without a
signature docstring per class, and nothing else changes: the matchers and the codemod
framework work, other dataclasses keep their docstrings, the finder goes once it has run,
and importing scaffold as a library installs nothing.

Each test runs in a fresh interpreter: which modules are imported is process state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_installed_the_matchers_import_without_signatures_and_work() -> None:
    out = run(
        """
        import dataclasses, inspect, json, sys
        from scaffold import libcst_import

        first = libcst_import.install()
        again = libcst_import.install()
        waiting = libcst_import.installed()
        import libcst as cst
        import libcst.matchers as m
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        ctx = CodemodContext()
        AddImportsVisitor.add_needed_import(ctx, "django.db", "models")
        module = AddImportsVisitor(ctx).transform_module(cst.parse_module("x = 1\\n"))

        @dataclasses.dataclass
        class Later:
            a: int

        print(json.dumps({
            "first": first,
            "again": again,
            "waiting": waiting,
            "finders": sum(type(f).__name__ == "_Finder" for f in sys.meta_path),
            "installed_after": libcst_import.installed(),
            "name_doc": m.Name.__doc__,
            "matches": m.matches(cst.Name("x"), m.Name("x")) and not m.matches(cst.Name("y"), m.Name("x")),
            "code": module.code,
            "restored": dataclasses.inspect is inspect,
            "later_doc": Later.__doc__,
            "node_doc_kept": cst.Name.__doc__.strip().startswith("A simple variable name"),
        }))
        """
    )
    assert out == {
        "first": True,
        "again": True,
        "waiting": True,
        "finders": 0,
        "installed_after": False,
        "name_doc": "Name",
        "matches": True,
        "code": "from django.db import models\n\nx = 1\n",
        "restored": True,
        "later_doc": "Later(a: int)",
        "node_doc_kept": True,
    }


def test_a_library_import_of_scaffold_installs_nothing() -> None:
    out = run(
        """
        import json
        import scaffold.api, scaffold.cli, scaffold.codemods, scaffold.migrate, scaffold.fix
        import libcst.matchers as m

        print(json.dumps({"doc": m.Name.__doc__[:5]}))
        """
    )
    assert out == {"doc": "Name("}


def test_the_console_installs_it_before_the_command_runs() -> None:
    out = run(
        """
        import json, sys
        import scaffold.cli as cli

        def main(args):
            import libcst.matchers as m
            print(json.dumps({"doc": m.Name.__doc__, "args": args}))
            return 0

        cli.main = main
        sys.argv = ["scaffold", "--version"]
        try:
            cli.console()
        except SystemExit:
            pass
        """
    )
    assert out == {"doc": "Name", "args": ["--version"]}


def test_nothing_is_installed_when_it_cannot_help() -> None:
    out = run(
        """
        import dataclasses, json, sys
        from scaffold import libcst_import

        import libcst.matchers
        imported_already = libcst_import.install()
        del sys.modules["libcst.matchers"]

        real = dataclasses.inspect
        dataclasses.inspect = object()  # a dataclasses that does not render docstrings this way
        other_python = libcst_import.install()
        dataclasses.inspect = real
        print(json.dumps({
            "imported_already": imported_already,
            "other_python": other_python,
            "installed": libcst_import.installed(),
        }))
        """
    )
    assert out == {"imported_already": False, "other_python": False, "installed": False}


def test_the_finders_behind_it_are_asked_in_order_as_python_would() -> None:
    out = run(
        """
        import json, sys
        from scaffold import libcst_import

        asked = []

        class Recorder:  # an editable install's finder, say: asked before the path finder
            def find_spec(self, fullname, path, target=None):
                if fullname.startswith("libcst"):
                    asked.append(fullname)
                return None

        sys.meta_path.insert(0, Recorder())
        libcst_import.install()
        import libcst.matchers as m

        print(json.dumps({"asked": "libcst.matchers" in asked, "doc": m.Name.__doc__}))
        """
    )
    assert out == {"asked": True, "doc": "Name"}
