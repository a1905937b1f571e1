"""The error hierarchy. The CLI maps these to exit codes in exactly one place."""

from __future__ import annotations


def first_line(exc: BaseException, *, with_type: bool = False) -> str:
    """The first line of ``exc``'s text (its type's name when it has none), to quote a
    driver's or the user's code's exception in a one-line message; ``with_type`` puts the
    type's name first (``KeyError: 'x'``)."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    return f"{type(exc).__name__}: {lines[0].strip()}" if with_type else lines[0].strip()


class ScaffoldError(Exception):
    """Base class of every error the user can act on (never shown as a traceback)."""

    exit_code = 2


class UsageError(ScaffoldError):
    """Bad command-line input: an invalid name, an unknown field type, ..."""


class ProjectNotFound(UsageError):
    """No Django project (no manage.py) where one was expected."""


class ConfigError(UsageError):
    """A bad ``[tool.scaffold]`` key or value, or autodetection that needs help."""


class SourceError(UsageError):
    """A file the operation must edit cannot be parsed or edited safely."""


class OperationFailed(ScaffoldError):
    """An operation failed part-way; every file was restored."""


class Interrupted(ScaffoldError):
    """SIGINT / SIGTERM stopped a run; the change being written was finished or not begun."""

    exit_code = 130
