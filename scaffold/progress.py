"""A rich progress bar for long runs, shown only when stderr is a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from scaffold.engine import ProgressFn


@contextlib.contextmanager
def progress_bar(label: str, min_total: int = 50) -> Iterator[ProgressFn | None]:
    """Yield a ``progress(done, total)`` callback, or None when stderr is not a TTY.

    The bar (``label ━━━━ 12/80 files 0:00:03``) appears once a run has ``min_total``
    files to analyse; it is transient: the line is cleared when the run ends."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, visible=False)

        def update(done: int, total: int) -> None:
            if total >= min_total:
                bar.update(task, completed=done, total=total, visible=True)

        yield update
