"""Progress reporting for long work, decoupled from how it is shown.

Stages call `progress().start(...)` and `.advance(...)`; the CLI installs a rich progress bar,
everything else (flows on a server, tests) gets the silent default.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, task: str, total: int | None) -> None: ...

    def advance(self, task: str, amount: int = 1, *, total: int | None = None) -> None: ...

    def finish(self, task: str) -> None: ...


class Silent:
    def start(self, task: str, total: int | None) -> None:
        pass

    def advance(self, task: str, amount: int = 1, *, total: int | None = None) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


_current: Reporter = Silent()


def progress() -> Reporter:
    return _current


def set_reporter(reporter: Reporter | None) -> None:
    global _current
    _current = reporter or Silent()
