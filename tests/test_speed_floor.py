"""benchmarks/speed_floor.py lists exactly the files the audit's rules receive and parses them
(a file that does not parse is counted out, not fatal); realworld_speed.py prints each floor
next to the ratios it bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.benchmarks import load_benchmark

floor = load_benchmark("speed_floor")
speed = load_benchmark("realworld_speed")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.scaffold]\nexclude = ["vendored/*"]\n')
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "views.py").write_text("class V:\n    queryset = None\n")
    (tmp_path / "shop" / "urls.py").write_text("urlpatterns = []\n")
    (tmp_path / "shop" / "broken.py").write_text("def f(:\n    cursor.execute(sql)\n")
    (tmp_path / "shop" / "util.py").write_text("def helper():\n    return 1\n")  # no needle
    (tmp_path / "vendored").mkdir()
    (tmp_path / "vendored" / "views.py").write_text("queryset = None\n")  # excluded by the config
    (tmp_path / "shop" / "migrations").mkdir()
    (tmp_path / "shop" / "migrations" / "0001_initial.py").write_text("queryset = None\n")  # default exclude
    huge = "queryset = None\n" + "#" * (1 << 20)  # over the engine's size limit
    (tmp_path / "shop" / "huge.py").write_text(huge)
    (tmp_path / "shop" / "link.py").symlink_to(tmp_path / "shop" / "views.py")  # the engine skips links
    return tmp_path


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
