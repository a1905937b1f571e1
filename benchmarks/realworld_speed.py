"""How fast is scaffold on real code, next to ``ruff check`` on the same tree?

For each code base of the real-world evaluation (``benchmarks/realworld/manifest.toml``) present
in the corpus folder, the project root is copied to a temp dir (the corpus is never touched) and
its ``[tool.scaffold]`` keys are written into the copy. Then, interleaved in one run so that
machine load hits every command alike, each round runs ``ruff check --no-cache --isolated``
(ruff's default rules, the project's own ruff config ignored) before every scaffold command:

* cold (``--no-cache``): ``audit`` (every static rule), ``migrate-viewsets --check``,
  ``migrate-viewsets --diff``, ``fix --check``;
* warm (the content-hash cache primed once before the first round): the same four.

It prints medians of ``--runs`` rounds (default 3) and ratios: cold audit / ruff (target
<= 2.0), ``--check`` / ruff (<= 1.0), ``--diff`` and ``fix --check`` / ``--check`` (<= 1.5),
warm re-runs (<= 0.3 s), and the peak RSS of one cold audit (<= 300 MiB; the sum over the
process tree, sampled every 10 ms; also the largest single process, from ``wait4``).

Each round also times three floors (``speed_floor.py``), each after its own ruff run: an
interpreter that only ``ast.parse``s the files the audit's rules receive, the same for the
files ``migrate-viewsets`` receives (as many processes as scaffold), and an interpreter that
only imports ``libcst.codemod`` (the way scaffold's console script does). The last table
divides the audit and ``--check`` by their floors, and the import by ``--check``: a target
lower than its floor is out of reach of a tool that parses with CPython and rewrites with
libcst's codemod framework.

Usage::

    .venv/bin/python benchmarks/realworld_speed.py --corpus /work/corpus [--runs 3] [--only monta]
        [--scaffold PATH] [--ruff PATH] [-j N] [--json out.json] [--markdown out.md]

On a shared machine the absolute seconds drift with load; the ratios of interleaved medians are
the figures to quote.

Before measuring, the measured scaffold's package is compiled to bytecode (``compileall``), as
``pip install`` does: with ``PYTHONDONTWRITEBYTECODE`` set (as on the shared benchmark machine)
an editable checkout would otherwise compile every module it imports on every run, ~0.06 s of
CPU per command that no installed copy pays. ``--no-bytecode`` skips that step (as the sections
of ``SPEED.md`` before its "Final" section were measured; bytecode already on disk, from an
earlier run or an install, is still used). Compiling is forced (``-f``): ``compileall`` trusts a
cached file whose recorded mtime matches to the second, while the import system also compares
sizes, so a source edited within the second of an earlier compile would be compiled again on
every run, in every measured command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from realworld import IGNORE_DIRS, default_scaffold, fail, load_manifest, write_config  # noqa: E402

# name -> scaffold arguments (cold runs add --no-cache)
COMMANDS: dict[str, list[str]] = {
    "audit": ["audit"],
    "check": ["migrate-viewsets", "--check"],
    "diff": ["migrate-viewsets", "--diff"],
    "fix-check": ["fix", "--check"],
}
# name -> what is timed (see speed_floor.py): CPython's floor for reading the files the audit and
# --check analyse, and the fixed cost of libcst's codemod framework --diff pays once a file is due
FLOORS = ("parse-audit", "parse-check", "libcst")
# the codemod framework's import as scaffold's console script makes it (scaffold.libcst_import;
# a scaffold without that module imports it the plain way)
LIBCST_IMPORT = """
try:
    from scaffold.libcst_import import install
except ImportError:
    pass
else:
    install()
import libcst.codemod
"""
TARGETS = {"audit/ruff": 2.0, "check/ruff": 1.0, "diff/check": 1.5, "fix-check/check": 1.5, "warm": 0.3}
MIB = 1024 * 1024


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


@dataclass
class Speed:
    name: str
    files: int = 0
    lines: int = 0
    ruff: Timing = field(default_factory=Timing)
    cold: dict[str, Timing] = field(default_factory=dict)
    warm: dict[str, Timing] = field(default_factory=dict)
    floor: dict[str, Timing] = field(default_factory=dict)
    floor_files: dict[str, int] = field(default_factory=dict)
    peak_rss_tree: int = 0
    peak_rss_single: int = 0
    errors: list[str] = field(default_factory=list)

    def ratio(self, key: str) -> float:
        top, _, bottom = key.partition("/")
        num = self.cold[top].median
        den = self.ruff.median if bottom == "ruff" else self.cold[bottom].median
        return num / den if den else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "files": self.files,
            "lines": self.lines,
            "ruff": self.ruff.wall,
            "ruff_cpu": self.ruff.cpu,
            "cold": {k: {"wall": t.wall, "cpu": t.cpu} for k, t in self.cold.items()},
            "warm": {k: {"wall": t.wall, "cpu": t.cpu} for k, t in self.warm.items()},
            "floor": {k: {"wall": t.wall, "cpu": t.cpu} for k, t in self.floor.items()},
            "floor_files": self.floor_files,
            "ratios": {k: self.ratio(k) for k in TARGETS if k != "warm"},
            "peak_rss_tree_mib": self.peak_rss_tree / MIB,
            "peak_rss_single_mib": self.peak_rss_single / MIB,
            "errors": self.errors,
        }


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (the process and the children it waited for), exit code,
    and the largest single-process max RSS in bytes."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss * 1024


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of ``root_pid`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        pid = int(entry)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * page
    tree = {root_pid}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return sum(rss.get(pid, 0) for pid in tree)


def peak_rss(cmd: list[str], cwd: Path) -> tuple[int, int]:
    """(peak of the summed RSS of the process tree, largest single process max RSS)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, _, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = 0
    return peak, usage.ru_maxrss * 1024


def count_python(root: Path) -> tuple[int, int]:
    files = lines = 0
    for path in root.rglob("*.py"):
        if any(part in IGNORE_DIRS for part in path.relative_to(root).parts):
            continue
        files += 1
        try:
            lines += path.read_bytes().count(b"\n")
        except OSError:
            pass
    return files, lines


def measure(
    name: str, project: Path, scaffold: str, ruff: str, runs: int, jobs: int | None, log: Any
) -> Speed:
    speed = Speed(name)
    speed.files, speed.lines = count_python(project)
    extra = ["-j", str(jobs)] if jobs else []
    ruff_cmd = [ruff, "check", "--no-cache", "--isolated", "--quiet", "--exit-zero", "."]

    floor_cmds = floor_commands(Path(scaffold).with_name("python"), project, extra, speed)

    def scaffold_cmd(key: str, cold: bool) -> list[str]:
        return [scaffold, *COMMANDS[key], *extra, *(["--no-cache"] if cold else [])]

    def record(timing: Timing, key: str, cmd: list[str]) -> None:
        wall, cpu, code, _ = timed(cmd, project)
        timing.wall.append(wall)
        timing.cpu.append(cpu)
        timing.codes.add(code)
        if code not in (0, 1):
            speed.errors.append(f"{' '.join(cmd[1:])} exited {code}")
        print(f"  {name} {key}: {wall:.2f} s", file=log, flush=True)

    for key in COMMANDS:  # prime the warm caches (and check each command runs at all)
        _, _, code, _ = timed(scaffold_cmd(key, cold=False), project)
        if code not in (0, 1):
            speed.errors.append(f"{' '.join(COMMANDS[key])} exited {code}")
    for _ in range(runs):
        for key in COMMANDS:
            for cold in (True, False):
                record(speed.ruff, "ruff", ruff_cmd)
                bucket = speed.cold if cold else speed.warm
                record(
                    bucket.setdefault(key, Timing()),
                    f"{key} {'cold' if cold else 'warm'}",
                    scaffold_cmd(key, cold),
                )
        for key, cmd in floor_cmds.items():
            record(speed.ruff, "ruff", ruff_cmd)
            record(speed.floor.setdefault(key, Timing()), f"floor {key}", cmd)
    speed.peak_rss_tree, speed.peak_rss_single = peak_rss(scaffold_cmd("audit", cold=True), project)
    return speed


def floor_commands(python: Path, project: Path, extra: list[str], speed: Speed) -> dict[str, list[str]]:
    """The command of each of :data:`FLOORS` (``speed_floor.py`` lists each command's files
    first, into the temp dir beside the copy); none, and the error noted, when listing fails."""
    script = str(HERE / "speed_floor.py")
    cmds: dict[str, list[str]] = {}
    for key in ("audit", "check"):
        listing = project.parent / f"floor-{key}.txt"
        listed = subprocess.run(
            [str(python), script, "list", str(project), str(listing), "--command", key],
            capture_output=True,
            text=True,
        )
        if listed.returncode != 0:
            speed.errors.append(
                f"speed_floor.py list exited {listed.returncode}: {listed.stderr.strip()[-200:]}"
            )
            return {}
        speed.floor_files[key] = int(listed.stdout.strip())
        cmds[f"parse-{key}"] = [str(python), script, "parse", str(listing), *extra]
    cmds["libcst"] = [str(python), "-c", LIBCST_IMPORT]
    return cmds


def compile_bytecode(scaffold: str) -> str:
    """Compile the package the ``scaffold`` executable runs to bytecode; returns what was done."""
    python = Path(scaffold).with_name("python")
    if not python.exists():
        return "bytecode: not compiled (no python next to the scaffold executable)"
    found = subprocess.run(  # run next to the executable: a checkout's cwd would shadow it
        [str(python), "-c", "import os, scaffold; print(os.path.dirname(scaffold.__file__))"],
        capture_output=True,
        text=True,
        cwd=python.parent,
    )
    package = found.stdout.strip()
    if found.returncode != 0 or not package:
        return "bytecode: not compiled (scaffold not importable)"
    done = subprocess.run([str(python), "-m", "compileall", "-q", "-f", package], capture_output=True)
    return "scaffold's bytecode compiled first" if done.returncode == 0 else "bytecode: compileall failed"


def verdict(value: float, target: float) -> str:
    return f"{value:.2f}" + ("" if value <= target else " ✗")


def table(results: list[Speed]) -> str:
    head = (
        "| code base | files / lines | ruff | cold audit (x ruff) | --check (x ruff) | --diff (x --check) "
        "| fix --check (x --check) | warm audit / --check / --diff / fix --check | peak RSS cold audit |"
    )
    rows = [head, "|" + "---|" * 9]
    for s in results:
        if not s.cold:
            continue
        warm = " / ".join(f"{s.warm[k].median:.2f}" for k in COMMANDS)
        rows.append(
            f"| {s.name} | {s.files} / {s.lines // 1000}k | {s.ruff.median:.2f} s "
            f"| {s.cold['audit'].median:.2f} s ({verdict(s.ratio('audit/ruff'), TARGETS['audit/ruff'])}) "
            f"| {s.cold['check'].median:.2f} s ({verdict(s.ratio('check/ruff'), TARGETS['check/ruff'])}) "
            f"| {s.cold['diff'].median:.2f} s ({verdict(s.ratio('diff/check'), TARGETS['diff/check'])}) "
            f"| {s.cold['fix-check'].median:.2f} s ({verdict(s.ratio('fix-check/check'), TARGETS['fix-check/check'])}) "
            f"| {warm} s{'' if max(s.warm[k].median for k in COMMANDS) <= TARGETS['warm'] else ' ✗'} "
            f"| {s.peak_rss_tree / MIB:.0f} MiB (largest process {s.peak_rss_single / MIB:.0f}) |"
        )
    cpu = [
        "",
        "CPU seconds, cold (median; the process and its workers), and the same ratios in CPU time",
        "(steadier than wall time on a shared machine):",
        "",
    ]
    for s in results:
        if s.cold:
            c = {k: s.cold[k].cpu_median for k in COMMANDS}
            cpu.append(
                f"- {s.name}: ruff {s.ruff.cpu_median:.2f}, "
                + ", ".join(f"{k} {c[k]:.2f}" for k in COMMANDS)
                + f"; audit/ruff {c['audit'] / s.ruff.cpu_median:.1f}, check/ruff {c['check'] / s.ruff.cpu_median:.1f}, "
                f"diff/check {c['diff'] / c['check']:.1f}, fix-check/check {c['fix-check'] / c['check']:.1f}"
            )
    return "\n".join(rows + cpu + floors(results))


def floors(results: list[Speed]) -> list[str]:
    """How far each target lies from what CPython and libcst cost before scaffold does any work."""
    measured = [s for s in results if s.cold and all(k in s.floor for k in FLOORS)]
    if not measured:
        return []
    rows = [
        "",
        "Floors (wall, medians): `parse` starts an interpreter and `ast.parse`s, in as many forked",
        "processes as scaffold uses, only the files the command's units receive (no import of",
        "scaffold, no analysis, none of the index's reads of other files); `libcst` only imports",
        "`libcst.codemod` (as scaffold's console script does), which `--diff` pays once a file is",
        "due. A target below its floor cannot be met by any CPython tool built this way, however",
        "little it does beyond the floor.",
        "",
        "| code base | audit: files, parse floor (x ruff; target 2.0) | audit (x its floor) "
        "| --check: files, parse floor (x ruff; target 1.0) | --check (x its floor) "
        "| libcst import (x --check; --diff target 1.5) |",
        "|" + "---|" * 6,
    ]
    for s in measured:
        audit, check, libcst = (s.floor[k].median for k in FLOORS)
        rows.append(
            f"| {s.name} | {s.floor_files.get('audit', 0)}, {audit:.2f} s ({audit / s.ruff.median:.2f}) "
            f"| {s.cold['audit'].median:.2f} s ({s.cold['audit'].median / audit:.1f}) "
            f"| {s.floor_files.get('check', 0)}, {check:.2f} s ({check / s.ruff.median:.2f}) "
            f"| {s.cold['check'].median:.2f} s ({s.cold['check'].median / check:.1f}) "
            f"| {libcst:.2f} s ({libcst / s.cold['check'].median:.2f}) |"
        )
    return rows


def from_json(data: list[dict[str, Any]]) -> list[Speed]:
    """The results of an earlier ``--json`` run (``--render`` prints their table again)."""
    out = []
    for item in data:
        s = Speed(item["name"], item["files"], item["lines"])
        s.ruff = Timing(list(item["ruff"]), list(item.get("ruff_cpu", [])))
        s.cold = {k: Timing(v["wall"], v["cpu"]) for k, v in item["cold"].items()}
        s.warm = {k: Timing(v["wall"], v["cpu"]) for k, v in item["warm"].items()}
        s.floor = {k: Timing(v["wall"], v["cpu"]) for k, v in item.get("floor", {}).items()}
        s.floor_files = dict(item.get("floor_files", {}))
        s.peak_rss_tree = int(item["peak_rss_tree_mib"] * MIB)
        s.peak_rss_single = int(item["peak_rss_single_mib"] * MIB)
        s.errors = list(item["errors"])
        out.append(s)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder holding the extracted code bases")
    parser.add_argument("--scaffold", default=None, help="scaffold executable (default: this venv's)")
    parser.add_argument("--ruff", default=None, help="ruff executable (default: next to scaffold, else PATH)")
    parser.add_argument("--labels", type=Path, default=HERE / "realworld", help="folder with manifest.toml")
    parser.add_argument("--only", action="append", default=[], help="code base name (repeatable)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="passed to scaffold -j")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw timings here")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument("--render", type=Path, default=None, help="print the table of an earlier --json run")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="skip compiling scaffold's modules first (see above)"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        print(table(from_json(json.loads(args.render.read_text(encoding="utf-8")))))
        return 0
    if not args.corpus.is_dir():
        fail(f"--corpus {args.corpus} is not a folder; extract the code bases there")
    if args.runs < 1:
        fail(f"--runs {args.runs}: must be 1 or more")
    scaffold = args.scaffold or default_scaffold()
    ruff = args.ruff or str(Path(scaffold).with_name("ruff"))
    if not Path(ruff).exists():
        ruff = shutil.which("ruff") or fail("no ruff executable found; pass --ruff PATH")
    compiled = "bytecode not compiled first" if args.no_bytecode else compile_bytecode(scaffold)
    codebases = [cb for cb in load_manifest(args.labels) if not args.only or cb.name in args.only]
    results = []
    for cb in codebases:
        source = args.corpus / cb.name / cb.root
        if not source.is_dir():
            print(f"skip {cb.name}: {source} missing (extract {cb.repo}@{cb.commit})", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory(prefix=f"speed-{cb.name}-") as tmp:
            project = Path(tmp) / cb.name
            shutil.copytree(source, project, ignore=shutil.ignore_patterns(*IGNORE_DIRS), symlinks=True)
            write_config(project, cb.config)
            results.append(measure(cb.name, project, scaffold, ruff, args.runs, args.jobs, sys.stderr))
    out = table(results)
    env = (
        f"{args.runs} interleaved rounds, medians; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; Python {platform.python_version()}; "
        f"{subprocess.run([ruff, '--version'], capture_output=True, text=True).stdout.strip()}; "
        f"{compiled}"
    )
    print(out)
    print(f"\n{env}")
    for s in results:
        if s.errors:
            print(f"{s.name}: errors: {'; '.join(sorted(set(s.errors)))}")
    if args.markdown:
        args.markdown.write_text(out + f"\n\n{env}\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps([s.to_json() for s in results], indent=2) + "\n", encoding="utf-8")
    return 1 if any(s.errors for s in results) else 0


if __name__ == "__main__":
    sys.exit(main())
