"""`make demo`: run scaffold's main job on a throwaway copy of examples/legacy_erp.

Each step runs the real CLI (`python -m scaffold ...`) in a temp copy, so the bundled
example is never modified. Steps whose command is not part of this build are skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scaffold.cli import cli

HERE = Path(__file__).resolve().parent
FIELDS = [
    "--model",
    "Item",
    "--field",
    "name:str",
    "--field",
    "sku:str:unique",
    "--field",
    "quantity:int",
    "--field",
    "price:decimal:10,2",
]

STEPS: list[tuple[str, list[str]]] = [
    ("What scaffold detects in the example", ["config"]),
    ("Record the project's config and its existing tenancy core", ["init", "--no-input"]),
    ("Audit: every seed failure, before fixing", ["audit"]),
    ("migrate-viewsets --diff: the ViewSet rewrites it would make", ["migrate-viewsets", "--diff"]),
    ("fix: apply every safe fix", ["fix"]),
    ("Audit again, after fixing", ["audit"]),
    (
        "new-module inventory --dry-run: files and registration diff",
        ["new-module", "inventory", "--no-input", *FIELDS, "--dry-run"],
    ),
    ("new-module inventory: generate it", ["new-module", "inventory", "--no-input", *FIELDS]),
    (
        "new-module inventory again: idempotent",
        ["new-module", "inventory", "--no-input", *FIELDS, "--dry-run"],
    ),
    ("check-update: are generated modules behind the template?", ["check-update"]),
]


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="scaffold-demo-") as tmp:
        project = Path(tmp) / "legacy_erp"
        shutil.copytree(HERE / "legacy_erp", project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        git(project, "init", "-q", "-b", "main")
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "legacy_erp as shipped")
        print(f"demo project: {project} (a temporary copy of examples/legacy_erp)\n")
        for title, args in STEPS:
            if args[0] not in cli.commands:
                continue
            print(f"\n=== {title}\n$ scaffold {' '.join(args)}", flush=True)
            proc = subprocess.run([sys.executable, "-m", "scaffold", *args, "--project", str(project)])
            print(f"(exit {proc.returncode})", flush=True)
            if proc.returncode == 2:
                return 2
            if args[0] == "new-module" and "--dry-run" not in args:
                status = subprocess.run(
                    ["git", "status", "--short"], cwd=project, capture_output=True, text=True
                )
                print("git status after new-module:\n" + status.stdout)
            if args[0] in ("init", "fix", "new-module") and "--dry-run" not in args:
                git(project, "add", "-A")
                git(project, "commit", "-q", "--allow-empty", "-m", f"scaffold {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
