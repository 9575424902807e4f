"""Issue 12, hole 13: extraction has a cost budget per page.

A page of a few megabytes that is nothing but links (120,000 of them here; 500,000 in 9 MB took
132 s and 1.2 GB before) is not handed to trafilatura: the item fails at the fetch stage with
the reason, like any other page that yields no text, and the run goes on.
"""

from __future__ import annotations

from jiandu.models import store
from jiandu.models.schema import Item
from jiandu.stages.ingest import ingest
from tests.faults.support import article, article_html, fault_runtime, rss
from tests.support.http_server import http_server  # noqa: F401  (fixture)

HTML = {"Content-Type": "text/html; charset=utf-8"}


def link_bomb(links: int) -> str:
    title, text = article("gmw")
    anchors = "".join(f'<a href="/p/{i}">{i}</a>' for i in range(links))
    return article_html(title, text).replace("</article>", f"</article><div>{anchors}</div>")


def test_a_page_of_120000_links_fails_with_the_budget_as_its_reason(monkeypatch, http_server):
    title, text = article("bbc-1")
    http_server.route("/bomb.html", body=link_bomb(120_000), headers=HTML)
    http_server.route("/fine.html", body=article_html(title, text), headers=HTML)
    http_server.route("/feed.xml", headers={"Content-Type": "application/rss+xml"}, body=rss([
        {"guid": "bomb", "title": "All the links", "link": http_server.url("/bomb.html")},
        {"guid": "fine", "title": title, "link": http_server.url("/fine.html")},
    ]))
    rt = fault_runtime(monkeypatch, JIANDU_MAX_BODY_BYTES="10000000")
    with rt.sessions.begin() as session:
        store.add_source(session, kind="feed", url=http_server.url("/feed.xml"))
    report = ingest(rt)
    with rt.sessions() as session:
        items = {item.guid: (item.status, item.failed_stage, item.error) for item in session.query(Item)}
    rt.close()
    status, stage, error = items["bomb"]
    assert (status, stage) == ("failed", "fetch"), items["bomb"]
    assert "budget" in error and "elements" in error, error
    assert items["fine"][0] == "extracted" and report.text_from_page == 1


def test_a_large_page_that_takes_too_long_is_stopped_at_the_time_budget(monkeypatch):
    """Within the element budget, a large page is read in a worker process that is killed past
    the time budget (shortened here so the case is quick)."""
    import jiandu.connectors.pages as pages
    from jiandu.connectors.errors import ParseError
    from jiandu.records import PageFetch

    title, text = article("gmw")
    many = "".join(f"<p>paragraph {i} has some words in it.</p>" for i in range(24_000))
    html = article_html(title, text).replace("</article>", f"</article>{many}")
    monkeypatch.setattr(pages, "EXTRACT_SECONDS", 0.5)
    page = PageFetch(url="http://example.com/long", status=200, content_type="text/html",
                     charset="utf-8", body=html.encode())
    try:
        pages.extract_page(page)
    except ParseError as error:
        assert "time budget" in error.reason, error.reason
    else:
        raise AssertionError("a page that needs seconds was read within a 0.5 s budget")
