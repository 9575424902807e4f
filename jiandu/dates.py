"""Dates as the sources write them, to aware UTC datetimes (pure)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any


def iso_to_utc(value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (JSON Feed's date_published, a page's metadata) in UTC;
    a date-time without a zone is taken as UTC, a string that only starts with a date is
    that day's midnight. None for anything else: a source's bad date is no date."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value[:10]), time.min)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
