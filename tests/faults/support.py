"""Shared pieces of the fault suite: small real articles, feeds that link to them, a runtime
with short timeouts, and readers of the database rows each case checks afterwards."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from jiandu.runtime import Runtime, open_runtime
from jiandu.settings import get_settings
from jiandu.models import store
from jiandu.stages.ingest import ingest
from jiandu.models.schema import Item, Source

ARTICLES = Path(__file__).parent.parent / "fixtures" / "articles"
# Short enough that a hanging server costs a case seconds, not minutes: every fetch has a
# total deadline of connect + read = 3 s.
CONNECT_TIMEOUT, READ_TIMEOUT = 1.0, 2.0
FETCH_DEADLINE = CONNECT_TIMEOUT + READ_TIMEOUT
MAX_BODY_BYTES = 2_000_000
FAULT_ENV = {
    "JIANDU_ALLOW_PRIVATE_HOSTS": "1",  # the servers live on 127.0.0.1
    "JIANDU_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    "JIANDU_READ_TIMEOUT": str(READ_TIMEOUT),
    "JIANDU_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
}
FIRST_BACKOFF = store.backoff(1)


def article(name: str) -> tuple[str, str]:
    """(title, text) of a real article from tests/fixtures/articles."""
    data = json.loads((ARTICLES / f"{name}.json").read_text(encoding="utf-8"))
    return data["title"], data["text"]


def article_html(title: str, text: str, *, charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
    return (f"<!doctype html><html><head>{meta}<title>{escape(title)}</title></head><body>"
            f"<article><h1>{escape(title)}</h1>{paragraphs}</article></body></html>")


def rss(entries: list[dict], *, title: str = "Fault feed", encoding: str = "utf-8") -> bytes:
    """RSS 2.0 of entries {guid, title, link, description?}, dated an hour apart."""
    start = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
    items = []
    for n, entry in enumerate(entries):
        description = entry.get("description")
        items.append(
            f"<item><guid isPermaLink='false'>{escape(entry['guid'])}</guid>"
            f"<title>{escape(entry['title'])}</title><link>{escape(entry['link'])}</link>"
            + (f"<description>{escape(description)}</description>" if description else "")
            + f"<pubDate>{format_datetime(start - timedelta(hours=n))}</pubDate></item>"
        )
    document = (f"<?xml version='1.0' encoding='{encoding}'?><rss version='2.0'><channel>"
                f"<title>{escape(title)}</title><link>http://example.invalid/</link>"
                f"<description>test</description>{''.join(items)}</channel></rss>")
    return document.encode(encoding)


def serve_good_feed(server, path: str = "/good.xml") -> list[str]:
    """A well-behaved feed of two real articles (one English, one Chinese); their page URLs."""
    urls = []
    entries = []
    for name in ("bbc-1", "youth"):
        title, text = article(name)
        page = f"/good/{name}.html"
        server.route(page, body=article_html(title, text), headers={"Content-Type": "text/html"})
        urls.append(server.url(page))
        entries.append({"guid": f"good-{name}", "title": title, "link": server.url(page),
                        "description": "A teaser."})
    server.route(path, body=rss(entries, title="Good feed"),
                 headers={"Content-Type": "application/rss+xml"})
    return urls


def fault_runtime(monkeypatch, **extra: str) -> Runtime:
    for name, value in {**FAULT_ENV, **extra}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return open_runtime()


def add_feed(rt: Runtime, url: str) -> int:
    with rt.sessions.begin() as session:
        source, _ = store.add_source(session, kind="feed", url=url)
        return source.id


def source_row(rt: Runtime, source_id: int) -> Source:
    with rt.sessions() as session:
        source = session.get(Source, source_id)
        session.expunge(source)
        return source


def items_of(rt: Runtime, source_id: int) -> list[Item]:
    with rt.sessions() as session:
        items = list(session.query(Item).filter(Item.source_id == source_id).order_by(Item.id))
        for item in items:
            if item.text is not None:  # load the text (its content is deferred) before closing
                _ = item.text.content
            session.expunge(item)
        return items


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def load_articles(rt, tmp_path, texts: dict[str, tuple[str, str]]) -> int:
    """A feed file whose entries carry whole articles; ingested without fetching pages."""
    entries = [{"guid": name, "title": title, "link": f"http://example.invalid/{name}",
                "description": text} for name, (title, text) in texts.items()]
    feed = tmp_path / "articles.xml"
    feed.write_bytes(rss(entries))
    with rt.sessions.begin() as session:
        source, _ = store.add_source(session, kind="feed", url=str(feed))
        source_id = source.id
    ingest(rt)
    assert [i.status for i in items_of(rt, source_id)] == ["extracted"] * len(texts)
    return source_id
