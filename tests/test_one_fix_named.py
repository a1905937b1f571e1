"""One fix named everywhere for a user model without the tenant attribute: the CLI warning
(init, new-module), the tenancy core's system check ``tenancy.W005`` as ``manage.py check``
prints it, and the README all name ``[tool.scaffold] user_tenant_attr`` (and the core's
``USER_TENANT_ATTR`` it becomes), word for word ``projectchecks.USER_TENANT_ATTR_FIX``.

The project is an untouched ``django-admin startproject`` (``auth.User``, sqlite: hence
``--allow-non-postgres``; ``manage.py check`` needs no database for W005)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scaffold.projectchecks import USER_TENANT_ATTR_FIX
from tests.helpers.djproject import VENV_BIN

REPO = Path(__file__).resolve().parents[1]


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_cli_check_and_readme_name_the_same_fix(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    subprocess.run([str(VENV_BIN / "django-admin"), "startproject", "mysite", str(root)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["HOME"] = str(tmp_path / "home")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )

    init = run("-m", "scaffold", "init", "--no-input", "--allow-non-postgres", "--project", ".")
    assert init.returncode == 0, init.stdout + init.stderr
    assert f"or {USER_TENANT_ATTR_FIX}" in init.stdout

    made = run(
        "-m",
        "scaffold",
        "new-module",
        "billing",
        "--no-input",
        "--field",
        "title:str",
        "--allow-non-postgres",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"or {USER_TENANT_ATTR_FIX}" in made.stdout

    check = run("manage.py", "check")
    report = check.stdout + check.stderr
    w005 = [line for line in report.splitlines() if "tenancy.W005" in line]
    assert w005, report
    hint = report.split("tenancy.W005", 1)[1].split("HINT:", 1)[1].splitlines()[0]
    assert USER_TENANT_ATTR_FIX in hint, hint
    assert "USER_TENANT_ATTR in tenancy.views" not in report  # the old, second fix

    readme = one_line((REPO / "README.md").read_text(encoding="utf-8"))
    assert USER_TENANT_ATTR_FIX in readme
