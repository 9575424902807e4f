"""Not stories: profile, channel, home and search pages are skipped, with the reason, before
anything is downloaded (routes.py decides which pages these are)."""

from __future__ import annotations

from jiandu.connectors.resolvers.base import NotAStory


def resolve_not_story(ctx, url: str, reason: str):
    raise NotAStory(url, reason)
