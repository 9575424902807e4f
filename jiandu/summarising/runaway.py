"""A runaway answer: one that ends by repeating the same short phrase many times in a row (pure)."""

from __future__ import annotations

MIN_REPEATS = 8  # times in a row
MIN_SPAN = 64  # characters the repeats must cover, so that "...." or a table rule is no runaway
MAX_PHRASE = 40  # characters


def repeating_tail(text: str) -> str | None:
    """The phrase text ends by repeating at least MIN_REPEATS times, covering MIN_SPAN
    characters, or None. The text may end part way through a repeat."""
    for size in range(1, MAX_PHRASE + 1):
        span = max(size * MIN_REPEATS, MIN_SPAN)
        if len(text) < span:
            break
        tail = text[-span:]
        if tail[size:] == tail[:-size]:  # tail has period `size`
            return tail[-size:]
    return None


def runaway_reason(text: str) -> str | None:
    """stop_when for a streamed answer: why to stop it, or None to let it go on."""
    phrase = repeating_tail(text)
    return f"it repeated {phrase!r} over and over" if phrase is not None else None
