"""Run a function over many inputs in a thread pool with a bounded window of work in flight.

Results come back as they complete, so the caller (the only thread that writes to the
database) can store each one at once, and memory stays flat however many inputs there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def bounded_map(fn: Callable[[In], Out], inputs: Iterable[In], *, workers: int,
                window: int | None = None,
                keep_going: Callable[[], bool] = lambda: True) -> Iterator[tuple[In, Out | BaseException]]:
    """Yield (input, result or exception) pairs as they finish.

    At most `window` inputs are taken from `inputs` ahead of the consumer; `keep_going` is asked
    before each new input is started, so a budget can stop the work cleanly.
    """
    window = window or workers * 4
    source = iter(inputs)
    pending: dict[Future, In] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jiandu")
    finished = False
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < window and keep_going():
                try:
                    value = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(fn, value)] = value
            if not pending:
                finished = True
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                value = pending.pop(future)
                error = future.exception()
                yield value, (error if error is not None else future.result())
            if not keep_going():
                exhausted = True
    finally:
        # Interrupted (Ctrl-C, SIGTERM, the consumer gave up): do not wait for work in flight,
        # and start nothing more; the caller is on its way out.
        pool.shutdown(wait=finished, cancel_futures=not finished)
