"""Benchmark: ``scaffold new-module --no-input`` against bare ``copier copy`` of the same template.

Both are timed as what a user runs (a fresh interpreter each time), side by side in the
same run, on fresh copies of ``examples/legacy_erp``:

* scaffold: ``python -m scaffold new-module inventory --no-input --field ...`` (validation,
  render, INSTALLED_APPS / urls / middleware registration with libcst, atomic write);
* baseline: ``copier copy --defaults --data-file answers.yml SRC DEST`` with the template
  source/ref scaffold uses (``scaffold.templates.template_source``) and the same answers.

Prints each median and the ratio. Goals: scaffold <= 1.0 s and <= 1.5x bare copier.

    python benchmarks/new_module.py [--runs 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "legacy_erp"
BIN = Path(sys.executable).parent
FIELDS = [
    "name:str",
    "sku:str:64:unique",
    "price:decimal:10,2",
    "quantity:int",
    "active:bool",
    "notes:text:optional",
]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import yaml

    from scaffold import newmodule
    from scaffold.templates import template_source

    src, ref = template_source("module")
    answers = {
        "module_name": "inventory",
        "model_name": "Inventory",
        "model_plural": "inventories",
        "fields": [newmodule.parse_field(f).answers() for f in FIELDS],
        "protected": False,
        "api_prefix": "/api/",
        "tenancy_module": "custom_auth.rls",
        "tenant_field": "tenant_id",
        "user_tenant_attr": "tenant_id",
        "tenant_setting": "app.current_tenant_id",
    }
    scaffold_cmd = [sys.executable, "-m", "scaffold", "new-module", "inventory", "--no-input"]
    for f in FIELDS:
        scaffold_cmd += ["--field", f]

    scaffold_times: list[float] = []
    copier_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-new-module-") as tmp:
        base = Path(tmp)
        data_file = base / "answers.yml"
        data_file.write_text(yaml.safe_dump(answers))
        for i in range(args.runs):
            project = base / f"p{i}"
            shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            scaffold_times.append(timed([*scaffold_cmd, "--project", str(project)], REPO))
            copier_cmd = [
                str(BIN / "copier"),
                "copy",
                "--defaults",
                "--quiet",
                "--data-file",
                str(data_file),
                "--answers-file",
                ".copier-answers.inventory.yml",
            ]
            if ref:
                copier_cmd += ["--vcs-ref", ref]
            copier_times.append(timed([*copier_cmd, src, str(base / f"c{i}")], REPO))
    s, c = statistics.median(scaffold_times), statistics.median(copier_times)
    print(f"runs: {args.runs}  template: {src}" + (f" @ {ref}" if ref else ""))
    print(f"scaffold new-module --no-input  median {s:.3f} s  (goal <= 1.0 s)")
    print(f"copier copy (same template)     median {c:.3f} s")
    print(f"ratio scaffold / copier          {s / c:.2f}x  (goal <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
