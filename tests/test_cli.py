"""The CLI is thin: --version, --help listing real commands, errors as exit codes."""

from __future__ import annotations

import subprocess
import sys

from scaffold import __version__
from scaffold.cli import cli, main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scaffold", *args], capture_output=True, text=True)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"scaffold {__version__} (module template ")


def test_help_lists_only_registered_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    listed = {
        line.split()[0]
        for line in proc.stdout.split("Commands:")[1].splitlines()
        if line.startswith("  ") and line.strip()
    }
    assert listed == set(cli.commands)
    for name, command in cli.commands.items():
        assert command.callback is not None, name


def test_unknown_command_is_usage_error(capsys) -> None:
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "no-such-command" in err and "Traceback" not in err


def test_bad_option_is_usage_error(capsys) -> None:
    assert main(["config", "--nope"]) == 2
    assert "--nope" in capsys.readouterr().err


def test_every_command_has_help() -> None:
    for name in cli.commands:
        proc = run(name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)
        assert "--project" in proc.stdout or name in ("check-update",), name
