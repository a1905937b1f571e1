"""What a planned :class:`~scaffold.fsutil.ChangeSet` would do, readable at a glance.

A dry run of ``init`` renders a whole tenancy core (hundreds of lines) next to a two-line
edit of ``settings.py``; printed as one long diff, the edit to the user's own file is
buried. :func:`preview` lists new files with their line counts and shows the full diff
only of files that exist and are edited; ``full=True`` shows every diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from scaffold.fsutil import Change
from scaffold.project import rel_path


def line_count(data: bytes) -> int:
    """Lines of ``data`` as an editor counts them (a last line without newline counts)."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def preview(
    changes: Iterable[Change],
    root: Path,
    *,
    full: bool = False,
    reasons: Mapping[Path, str] | None = None,
) -> str:
    """New files as ``path (N lines)`` (grouped under their reason), then the diff of each
    edited file under ``# edit path: reason``; with ``full`` every file's diff. Ends with a
    newline unless there is nothing to show."""
    reasons = reasons or {}
    ordered = sorted(changes, key=lambda c: str(c.path))
    named = [] if full else [c for c in ordered if c.created]  # listed by name, not diffed
    lines: list[str] = []
    last_reason: str | None = None
    for change in named:
        why = reasons.get(change.path, "")
        if why != last_reason:
            lines.append(f"# create: {why}" if why else "# create")
            last_reason = why
        count = line_count(change.new or b"")  # created: never a deletion
        lines.append(f"    {rel_path(root, change.path)} ({count} line{'' if count == 1 else 's'})")
    for change in ordered:
        if full or not change.created:
            why = reasons.get(change.path, "")
            head = f"# {'create' if change.created else 'edit'} {rel_path(root, change.path)}"
            lines.append(f"{head}: {why}" if why else head)
            lines.append(change.diff(root).rstrip("\n"))
    if named:
        lines.append(f"({len(named)} new file(s) listed by name; --full shows their content)")
    return "\n".join(lines) + "\n" if lines else ""
