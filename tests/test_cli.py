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
    """Every command says what it does and takes --project, with no exceptions."""
    for name in cli.commands:
        proc = run(name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout.startswith(f"Usage: scaffold {name} "), name
        description = proc.stdout.split("\n\n")[1].strip()
        assert description and not description.startswith("Options:"), name
        assert "--project" in proc.stdout, name


def test_check_update_help_names_what_it_compares_and_the_exit_codes() -> None:
    out = run("check-update", "--help").stdout
    assert "List generated modules whose template is behind" in out
    assert "_commit" in out and "scaffold --version" in out
    assert "Exit 1 when a module is behind" in out and "scaffold update --all" in out
    listed = run("--help").stdout
    assert "check-update      List modules whose template is behind (exit 1 if any).\n" in listed
