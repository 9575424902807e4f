"""The quiet-source alarm: a route that answers 200 while serving year-old items goes unnoticed
until readers complain, so each source learns its rhythm and says when it has gone quiet.

- rhythm: the median gap between its entries' dates;
- quiet: no new entry for longer than max(7 days, 3 x rhythm), or, at the first poll, a newest
  entry more than 30 days old;
- quiet since: the newest entry's date (the last time the source said anything);
- the first new entry clears the mark. Quiet is not an error: the source is polled as before.

`assess` is pure; `observe` applies it to a source row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Iterable

QUIET_FLOOR = timedelta(days=7)
RHYTHM_FACTOR = 3
FIRST_POLL_LIMIT = timedelta(days=30)


@dataclass(frozen=True)
class QuietState:
    rhythm_seconds: float | None = None
    newest_entry_at: datetime | None = None
    quiet_since: datetime | None = None


def median_gap(dates: Iterable[datetime]) -> float | None:
    """Median seconds between consecutive distinct dates; None with fewer than two."""
    ordered = sorted(set(dates))
    if len(ordered) < 2:
        return None
    return median((b - a).total_seconds() for a, b in zip(ordered, ordered[1:]))


def quiet_after(rhythm_seconds: float | None) -> timedelta:
    if not rhythm_seconds:
        return QUIET_FLOOR
    return max(QUIET_FLOOR, timedelta(seconds=RHYTHM_FACTOR * rhythm_seconds))


def assess(previous: QuietState, entry_dates: Iterable[datetime | None], *, new_entries: int,
           now: datetime) -> QuietState:
    """The state after a poll that listed entries with `entry_dates` (all of the feed's, new or
    not; none for a 304) of which `new_entries` were not seen before."""
    dates = [d for d in entry_dates if d is not None and d <= now]
    first_poll = previous.newest_entry_at is None
    rhythm = median_gap(dates) or previous.rhythm_seconds
    newest = max(dates, default=None)
    if newest is None and new_entries:
        newest = now  # entries without dates: a new one is news today
    if previous.newest_entry_at is not None and (newest is None or newest < previous.newest_entry_at):
        newest = previous.newest_entry_at
    if newest is None:
        return QuietState(rhythm, None, previous.quiet_since)
    heard_from = not first_poll and newest > previous.newest_entry_at
    quiet_since = None if heard_from else previous.quiet_since
    silence = now - newest
    if quiet_since is None and (silence > quiet_after(rhythm)
                                or (first_poll and silence > FIRST_POLL_LIMIT)):
        quiet_since = newest
    return QuietState(rhythm, newest, quiet_since)


def observe(source, entry_dates: Iterable[datetime | None], *, new_entries: int,
            now: datetime) -> None:
    """Apply `assess` to a source row (anything with the three attributes)."""
    state = assess(QuietState(source.rhythm_seconds, source.newest_entry_at, source.quiet_since),
                   entry_dates, new_entries=new_entries, now=now)
    source.rhythm_seconds = state.rhythm_seconds
    source.newest_entry_at = state.newest_entry_at
    source.quiet_since = state.quiet_since
