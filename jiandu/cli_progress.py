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


class PlainProgress:
    """Progress as plain lines on stderr, for logs and pipes (no terminal to redraw a bar on):
    a line when a task starts, every tenth of the way (at most one per 5 s), and when it ends."""

    def __init__(self, stream=None, *, clock=None, min_gap: float = 5.0):
        import sys
        import threading
        import time

        self._stream = stream or sys.stderr
        self._clock = clock or time.monotonic
        self._min_gap = min_gap
        self._lock = threading.Lock()
        self._tasks: dict[str, dict] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc) -> None:
        for task in list(self._tasks):
            self.finish(task)

    def _say(self, task: str, state: dict, note: str = "") -> None:
        total = f"/{state['total']:,}" if state["total"] else ""
        elapsed = self._clock() - state["began"]
        self._stream.write(f"{task}: {state['done']:,}{total}{note} ({elapsed:.0f} s)\n")
        self._stream.flush()
        state["said_at"], state["said_done"] = self._clock(), state["done"]

    def start(self, task: str, total: int | None) -> None:
        with self._lock:
            state = {"total": total, "done": 0, "began": self._clock(), "said_at": 0.0, "said_done": -1}
            self._tasks[task] = state
            if total:
                self._stream.write(f"{task}: {total:,} to do\n")
                self._stream.flush()
            state["said_at"] = self._clock()

    def advance(self, task: str, amount: int = 1, *, total: int | None = None) -> None:
        if task not in self._tasks:
            self.start(task, total)
        with self._lock:
            state = self._tasks[task]
            state["done"] += amount
            if total is not None:
                state["total"] = total
            step = max(1, (state["total"] or 0) // 10) if state["total"] else 50
            if (state["done"] - max(state["said_done"], 0) >= step
                    and self._clock() - state["said_at"] >= self._min_gap):
                self._say(task, state)

    def finish(self, task: str) -> None:
        with self._lock:
            state = self._tasks.pop(task, None)
            if state is not None and (state["done"] or state["total"]):
                self._say(task, state, " done")


def make_progress(console: Console):
    """A bar on a terminal, plain lines otherwise."""
    return RichProgress(console) if console.is_terminal else PlainProgress(console.file)
