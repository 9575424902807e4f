"""One story, once: the same 20 stories from three outlets, under different URLs and lightly
edited, become 20 stories with three links each, summarised once each."""

from __future__ import annotations

import gzip
import html
import re

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store
from tests.support.http_server import LocalHTTPServer
from tests.support.world import FIXTURES, rss

OUTLETS = ("daily", "wire", "weekly")


def story_texts(count: int = 20) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of real articles: each page's readable paragraphs."""
    from jiandu.connectors.pages import extract_page
    from jiandu.records import PageFetch

    stories = []
    for case in sorted((FIXTURES / "pages_more").iterdir()):
        page = case / "source.html.gz"
        if not page.exists():
            continue
        body = gzip.decompress(page.read_bytes())
        extracted = extract_page(PageFetch(url=f"http://x/{case.name}", status=200,
                                           content_type="text/html", charset=None, body=body))
        paragraphs = [p for p in extracted.text.split("\n") if len(p) > 40]
        if len(" ".join(paragraphs)) > 1500:
            stories.append((extracted.title or case.name, paragraphs[:12]))
        if len(stories) == count:
            break
    return stories


def outlet_page(outlet: str, title: str, paragraphs: list[str]) -> bytes:
    """The story as one outlet runs it: its own chrome, its own lede, the same reporting."""
    lede = f"<p>{outlet.title()} report: {html.escape(title)}.</p>"
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f"<html><head><meta charset='utf-8'><title>{html.escape(title)} | {outlet}</title></head>"
            f"<body><nav>{outlet} home · world · tech</nav><article><h1>{html.escape(title)}</h1>"
            f"{lede}{body}<p>Copyright {outlet}.</p></article><footer>{outlet} footer</footer>"
            f"</body></html>").encode("utf-8")


def test_twenty_stories_from_three_outlets_are_twenty_stories(monkeypatch):
    stories = story_texts()
    assert len(stories) == 20
    with LocalHTTPServer() as server:
        for outlet in OUTLETS:
            entries = []
            for n, (title, paragraphs) in enumerate(stories):
                path = f"/{outlet}/{n}/{re.sub(r'[^a-z]+', '-', title.lower())[:30]}.html"
                server.route(path, body=outlet_page(outlet, title, paragraphs),
                             headers={"Content-Type": "text/html; charset=utf-8"})
                entries.append((f"{outlet}-{n}", f"{title} ({outlet})", server.url(path)))
            server.route(f"/{outlet}/feed.xml", body=rss(server.url("/"), entries, title=outlet),
                         headers={"Content-Type": "application/rss+xml"})
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        get_settings.cache_clear()
        rt = open_runtime()
        with rt.sessions.begin() as session:
            for outlet in OUTLETS:
                store.add_source(session, kind="feed", url=server.url(f"/{outlet}/feed.xml"))
        report = ingest(rt)
        assert report.new_items == 60
        assert report.merged_into_stories == 40
        assert summarise(rt).summarised == 20  # each story summarised once
        published = publish(rt)
        assert (published.stories, published.items) == (20, 60)  # 20 entries, from 60 items
        with rt.sessions() as session:
            issue = store.issue_by_number(session, 1)
            markdown = issue.markdown
            assert store.issue_counts(session, [issue.id]) == {issue.id: (20, 60)}
        link_lines = [line for line in markdown.splitlines() if line.startswith("原文链接:")]
        assert len(link_lines) == 20
        assert all(line.count("](http") == 3 for line in link_lines)
        rt.close()
