"""A thread-safe requests-per-minute limiter shared by every caller of one client."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces requests evenly, 60/rpm seconds apart, so no burst can exceed the rate."""

    def __init__(self, requests_per_minute: float, *, clock=time.monotonic, sleep=time.sleep):
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.interval = 60.0 / requests_per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def acquire(self) -> None:
        """Block until this caller's slot comes; slots are handed out in call order."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
