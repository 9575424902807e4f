"""Stopping a run at once: SIGTERM and Ctrl-C end a command within seconds.

install() makes SIGTERM behave like Ctrl-C (KeyboardInterrupt in the main thread), after
setting `stopping`, which work in other threads watches: an LLM request in flight ends at its
next byte, and no new one starts. The stages' own `finally` blocks give their claims back on the
way out, so whatever was in flight is claimable by the next run at once, not after the lease.
"""

from __future__ import annotations

import signal
import threading

stopping = threading.Event()
_received: int | None = None


def _on_signal(signum, frame) -> None:
    global _received
    _received = signum
    stopping.set()
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGTERM and SIGINT (only the main thread may; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


def exit_code() -> int:
    """128 + the signal's number, as a shell reports a command a signal stopped (130: Ctrl-C)."""
    return 128 + (_received or signal.SIGINT)


def signal_name() -> str:
    return signal.Signals(_received).name if _received else "SIGINT"
