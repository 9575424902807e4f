"""A small loopback world for pipeline tests: real article pages and a feed that links to them."""

from __future__ import annotations

import gzip
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

FIXTURES = Path(__file__).parent.parent / "fixtures"


def real_pages(*, more: bool = False) -> dict[str, bytes]:
    """name -> the page's bytes as served (real pages from the readability test corpus):
    8 (English, French, German, Chinese, some GBK), or 60 with `more`."""
    folders = [FIXTURES / "pages"] + ([FIXTURES / "pages_more"] if more else [])
    return {case.name: gzip.decompress((case / "source.html.gz").read_bytes())
            for folder in folders for case in sorted(folder.iterdir())
            if (case / "source.html.gz").exists()}


def rss(base_url: str, entries: list[tuple[str, str, str]], *, title: str = "Loopback news") -> bytes:
    """An RSS 2.0 feed of (guid, title, link) with short teasers, dated a day apart."""
    start = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    items = []
    for n, (guid, entry_title, link) in enumerate(entries):
        items.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid><title>{escape(entry_title)}</title>"
            f"<link>{escape(link)}</link><description>A short teaser for {escape(entry_title)}.</description>"
            f"<pubDate>{format_datetime(start - timedelta(hours=n))}</pubDate></item>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>{escape(base_url)}</link><description>test</description>"
        + "".join(items) + "</channel></rss>"
    ).encode("utf-8")


def serve_world(server, *, feed_path: str = "/feed.xml", more: bool = False) -> dict[str, str]:
    """Route every real page and one feed linking to all of them; returns name -> page URL."""
    urls = {}
    for name, body in real_pages(more=more).items():
        path = f"/articles/{name}.html"
        server.route(path, body=body, headers={"Content-Type": "text/html"}, etag=f'"{name}-v1"')
        urls[name] = server.url(path)
    feed = rss(server.url("/"), [(f"id-{name}", f"Story {name}", url) for name, url in urls.items()])
    server.route(feed_path, body=feed, headers={"Content-Type": "application/rss+xml"},
                 etag='"feed-v1"', last_modified="Fri, 20 Nov 2026 08:00:00 GMT")
    return urls
