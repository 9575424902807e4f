"""A rich progress bar per stage task ("feeds", "pages", "summaries"), on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RichProgress:
    def __init__(self, console: Console):
        self._progress = Progress(
            TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=False,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, task: str, total: int | None) -> None:
        if task in self._tasks:
            self._progress.reset(self._tasks[task], total=total)
        else:
            self._tasks[task] = self._progress.add_task(task, total=total)

    def advance(self, task: str, amount: int = 1, *, total: int | None = None) -> None:
        if task not in self._tasks:
            self.start(task, total)
        self._progress.update(self._tasks[task], advance=amount,
                              **({"total": total} if total is not None else {}))

    def finish(self, task: str) -> None:
        if task in self._tasks:
            t = self._progress.tasks[self._tasks[task]]
            self._progress.update(self._tasks[task], completed=t.total or t.completed)
