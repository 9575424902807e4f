"""Not stories: profile, channel, home and search pages are skipped, with the reason, before
anything is downloaded (routes.py decides which pages these are)."""

from __future__ import annotations

from jiandu.connectors.resolvers.base import NotAStory
from jiandu.connectors.rsshub import rsshub_route_for


def resolve_not_story(ctx, url: str, reason: str):
    raise NotAStory(url, with_rsshub_hint(url, reason))


def with_rsshub_hint(url: str, reason: str) -> str:
    """A profile RSSHub can follow says how: the reader wanted the account, not the page."""
    route = rsshub_route_for(url)
    return f"{reason}; to follow the account: jiandu source add {route}" if route else reason
