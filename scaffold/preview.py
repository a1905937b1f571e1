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
    lines: list[str] = []

    def header(change: Change) -> str:
        rel = change.path.relative_to(root).as_posix()
        why = reasons.get(change.path, "")
        verb = "create" if change.created else "edit"
        return f"# {verb} {rel}: {why}" if why else f"# {verb} {rel}"

    created = [c for c in ordered if c.created]
    if full:
        for change in ordered:
            lines.append(header(change))
            lines.append(change.diff(root).rstrip("\n"))
        return "\n".join(lines) + "\n" if lines else ""
    last_reason: str | None = None
    for change in created:
        why = reasons.get(change.path, "")
        if why != last_reason:
            lines.append(f"# create: {why}" if why else "# create")
            last_reason = why
        rel = change.path.relative_to(root).as_posix()
        count = line_count(change.new)
        lines.append(f"    {rel} ({count} line{'' if count == 1 else 's'})")
    for change in ordered:
        if not change.created:
            lines.append(header(change))
            lines.append(change.diff(root).rstrip("\n"))
    if created:
        lines.append(f"({len(created)} new file(s) listed by name; --full shows their content)")
    return "\n".join(lines) + "\n" if lines else ""
