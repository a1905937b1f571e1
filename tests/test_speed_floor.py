"""benchmarks/speed_floor.py lists exactly the files the audit's rules receive and parses them
(a file that does not parse is counted out, not fatal); realworld_speed.py prints each floor
next to the ratios it bounds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers.benchmarks import load_benchmark

floor = load_benchmark("speed_floor")
speed = load_benchmark("realworld_speed")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"  # the benchmark's layout: a copy inside its own temp dir
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.scaffold]\nexclude = ["vendored/*"]\n')
    (root / "shop").mkdir()
    (root / "shop" / "views.py").write_text("class V:\n    queryset = None\n")
    (root / "shop" / "urls.py").write_text("urlpatterns = []\n")
    (root / "shop" / "broken.py").write_text("def f(:\n    cursor.execute(sql)\n")
    (root / "shop" / "util.py").write_text("def helper():\n    return 1\n")  # no needle
    (root / "vendored").mkdir()
    (root / "vendored" / "views.py").write_text("queryset = None\n")  # excluded by the config
    (root / "shop" / "migrations").mkdir()
    (root / "shop" / "migrations" / "0001_initial.py").write_text("queryset = None\n")  # default exclude
    huge = "queryset = None\n" + "#" * (1 << 20)  # over the engine's size limit
    (root / "shop" / "huge.py").write_text(huge)
    (root / "shop" / "link.py").symlink_to(root / "shop" / "views.py")  # the engine skips links
    return root


@pytest.mark.parametrize(
    ("command", "expected"),
    [("audit", ["shop/broken.py", "shop/urls.py", "shop/views.py"]), ("check", ["shop/views.py"])],
)
def test_list_keeps_the_files_a_unit_needle_occurs_in_within_the_excludes(
    project: Path, tmp_path: Path, command: str, expected: list[str]
) -> None:
    out = tmp_path / "list.txt"
    assert floor.list_files(project, out, command) == len(expected)
    listed = sorted(Path(p).relative_to(project).as_posix() for p in out.read_text().splitlines())
    assert listed == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_parse_counts_the_files_that_parse_and_survives_one_that_does_not(
    project: Path, tmp_path: Path, jobs: int
) -> None:
    out = tmp_path / "list.txt"
    floor.list_files(project, out)
    assert floor.parse_files(out, jobs) == 2


def test_floors_table_bounds_each_target_by_its_floor() -> None:
    s = speed.Speed("demo", files=10, lines=1000, floor_files={"audit": 7, "check": 5})
    s.ruff = speed.Timing([0.05])
    s.cold = {
        k: speed.Timing([v]) for k, v in {"audit": 0.40, "check": 0.30, "diff": 1.0, "fix-check": 0.4}.items()
    }
    s.warm = {k: speed.Timing([0.1]) for k in speed.COMMANDS}
    s.floor = {
        k: speed.Timing([v]) for k, v in {"parse-audit": 0.10, "parse-check": 0.06, "libcst": 0.6}.items()
    }
    rows = speed.floors([s])
    assert (
        rows[-1]
        == "| demo | 7, 0.10 s (2.00) | 0.40 s (4.0) | 5, 0.06 s (1.20) | 0.30 s (5.0) | 0.60 s (2.00) |"
    )
    again = speed.from_json([s.to_json()])[0]
    assert speed.floors([again]) == rows
    assert speed.floors([speed.Speed("unmeasured")]) == []


def test_floor_commands_list_each_commands_files_and_cover_every_floor(project: Path) -> None:
    s = speed.Speed("demo")
    cmds = speed.floor_commands(Path(sys.executable), project, ["-j", "2"], s)
    assert tuple(cmds) == speed.FLOORS
    assert s.floor_files == {"audit": 3, "check": 1} and not s.errors
    assert cmds["parse-check"][-2:] == ["-j", "2"]
    assert (project.parent / "floor-check.txt").read_text().splitlines() == [
        str(project / "shop" / "views.py")
    ]


def test_floor_commands_are_none_when_the_files_cannot_be_listed(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.scaffold]\nno_such_key = 1\n")  # the config refuses
    s = speed.Speed("demo")
    assert speed.floor_commands(Path(sys.executable), root, [], s) == {}
    assert len(s.errors) == 1 and s.errors[0].startswith("speed_floor.py list exited 1:")
