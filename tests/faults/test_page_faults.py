"""Faults of article pages: an item whose feed gave a teaser keeps the teaser (and says why the
page was not used); an item with nothing else is failed at the fetch stage with the reason, an
attempt count and a next attempt time, and succeeds on a later run once the page is back.
Then the private-address guard, redirects included, at the connector."""

from __future__ import annotations

import gzip
import ipaddress
import random
import time
from datetime import timedelta

import pytest

from jiandu.connectors import http as connectors_http
from jiandu.connectors.errors import BlockedAddress
from jiandu.connectors.http import fetch, make_client
from jiandu.connectors.pages import extract_page, fetch_page
from jiandu.stages.ingest import ingest
from jiandu.zi import count_zi
from tests.faults.support import (
    FETCH_DEADLINE,
    FIRST_BACKOFF,
    add_feed,
    article,
    article_html,
    fault_runtime,
    items_of,
    now_utc,
    rss,
    serve_good_feed,
    source_row,
)
from tests.support.http_server import LocalHTTPServer

RUN_MARGIN = 10.0
HTML = {"Content-Type": "text/html"}

PAGE_FAULTS = {
    "500": (dict(status=500, body=b"oops"), "HTTP 500"),
    "404": (dict(status=404), "HTTP 404"),
    "read timeout": (dict(delay=FETCH_DEADLINE + 3, headers=HTML), "timed out"),
    "drips a byte a second": (dict(drip=1.0, body=b"<html><body><p>slow</p></body></html>", headers=HTML),
                              "deadline"),
    "never ends": (dict(endless=True, headers=HTML), "larger than"),
    "gzip bomb": (dict(headers={**HTML, "Content-Encoding": "gzip"}), "larger than"),
    "50 MB of HTML": (dict(body=b"<html><body>" + b"<p>word</p>" * 4_600_000, headers=HTML), "larger than"),
    "redirect loop": (dict(redirect="{page}?again"), "redirect loop"),
    "random bytes as HTML": (dict(body=random.Random(3).randbytes(20_000), headers=HTML), "not parseable as HTML"),
    # PDFs are read now (connectors/resolvers/pdf.py): a broken one fails like any bad page.
    "broken PDF": (dict(body=b"%PDF-1.4 ...", headers={"Content-Type": "application/pdf"}),
                   "not a readable PDF"),
    "video": (dict(body=b"\x00\x00\x00\x18ftypmp42", headers={"Content-Type": "video/mp4"}),
              "unsupported content type video/mp4"),
}


@pytest.fixture
def server():
    with LocalHTTPServer() as served:
        yield served


@pytest.mark.parametrize("name", list(PAGE_FAULTS))
def test_page_fault_keeps_the_teaser_or_fails_the_item_for_a_later_retry(name, server, monkeypatch):
    options, reason = PAGE_FAULTS[name]
    title, text = article("gmw")
    for path in ("/pages/teaser.html", "/pages/bare.html"):
        route = dict(options)
        if name == "gzip bomb":
            route["body"] = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
        if "redirect" in route:
            # A loop: page -> page?again -> page?again (each hop a distinct URL once, then a repeat).
            route["redirect"] = server.url(path + "?again")
            server.route(path + "?again", redirect=server.url(path + "?again"))
        server.route(path, **route)
    server.route("/fault.xml", headers={"Content-Type": "application/rss+xml"}, body=rss([
        {"guid": "teaser", "title": "有导语的条目", "link": server.url("/pages/teaser.html"),
         "description": "这是订阅源给出的导语，页面取不到时就用它。"},
        {"guid": "bare", "title": "没有导语的条目", "link": server.url("/pages/bare.html")},
    ]))
    good_pages = serve_good_feed(server)
    rt = fault_runtime(monkeypatch)
    fault_source = add_feed(rt, server.url("/fault.xml"))
    good_source = add_feed(rt, server.url("/good.xml"))
    now = now_utc()

    started = time.monotonic()
    ingest(rt, now=now)
    assert time.monotonic() - started < FETCH_DEADLINE + RUN_MARGIN

    teaser, bare = items_of(rt, fault_source)
    assert teaser.status == "extracted" and teaser.text_origin == "feed"
    assert teaser.text.content.startswith("这是订阅源给出的导语")
    assert teaser.text_reason.startswith("page not used: ") and reason in teaser.text_reason
    if name == "video":
        assert (bare.status, bare.content_type) == ("skipped", "video/mp4")
        assert reason in bare.error
    else:
        assert (bare.status, bare.failed_stage, bare.attempts) == ("failed", "fetch", 1)
        assert reason in bare.error and "/pages/bare.html" in bare.error
        assert bare.next_attempt_at == now + FIRST_BACKOFF
    assert [i.text_origin for i in items_of(rt, good_source)] == ["page", "page"], [i.text_reason for i in items_of(rt, good_source)]
    assert [i.url for i in items_of(rt, good_source)] == good_pages
    if name == "video":
        rt.close()
        return

    # The page comes back; it is not asked for before the backoff, and is read after it.
    server.route("/pages/bare.html", body=article_html(title, text), headers=HTML)
    hits = server.hits("/pages/bare.html")
    ingest(rt, now=now + FIRST_BACKOFF - timedelta(seconds=1))
    assert server.hits("/pages/bare.html") == hits
    ingest(rt, now=now + FIRST_BACKOFF)
    _, bare = items_of(rt, fault_source)
    assert (bare.status, bare.text_origin, bare.error, bare.next_attempt_at) == ("extracted", "page", None, None)
    assert count_zi(bare.text.content) > count_zi(text) // 2
    rt.close()


@pytest.mark.parametrize("header", ["text/html; charset=iso-8859-1", "text/html"],
                         ids=["wrong charset", "missing charset"])
def test_gbk_page_with_a_wrong_or_missing_charset_is_read_as_chinese(header, server):
    title, text = article("youth")
    body = article_html(title, text, charset=None).encode("gb18030")
    server.route("/gbk.html", body=body, headers={"Content-Type": header})
    with make_client() as client:
        page = fetch_page(client, server.url("/gbk.html"), allow_private=True)
    extracted = extract_page(page)
    assert "出国前后关注点大不同" in extracted.text


# --- the private-address guard -------------------------------------------------------------


def test_with_private_hosts_off_a_loopback_feed_is_refused_before_any_request(server, monkeypatch):
    server.route("/feed.xml", body=b"<rss/>")
    rt = fault_runtime(monkeypatch, JIANDU_ALLOW_PRIVATE_HOSTS="0")
    source_id = add_feed(rt, server.url("/feed.xml"))
    now = now_utc()
    ingest(rt, now=now)
    source = source_row(rt, source_id)
    assert "non-public address" in source.last_error and "127.0.0.1" in source.last_error
    assert source.next_check_at == now + FIRST_BACKOFF
    assert server.hits("/feed.xml") == 0
    rt.close()


@pytest.fixture
def origin_counts_as_public(monkeypatch):
    """The test server's own address (127.0.0.1) passes the guard as if it were a public
    host; every other address is judged by the real rule. Only so can a redirect from an
    allowed origin to a private target be tried on one machine."""
    real_rule = connectors_http.is_refused_address
    origin = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(connectors_http, "is_refused_address",
                        lambda address: address != origin and real_rule(address))


@pytest.mark.parametrize("target", [
    "http://127.0.0.2:{inner}/secret", "http://[::1]:{inner}/secret",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://100.100.100.200/",
    "http://[::ffff:10.0.0.1]/", "file:///etc/passwd", "gopher://127.0.0.2/",
])
def test_a_redirect_to_a_private_address_is_refused(target, server, origin_counts_as_public):
    with LocalHTTPServer(host="127.0.0.2") as inner:
        inner.route("/secret", body=b"internal only", headers=HTML)
        location = target.format(inner=inner.port)
        server.route("/feed.xml", redirect=location, status=301)
        with make_client(connect_timeout=1, read_timeout=1) as client:
            with pytest.raises(BlockedAddress) as caught:
                fetch(client, server.url("/feed.xml"), allow_private=False)
            assert inner.hits("/secret") == 0
    assert server.hits("/feed.xml") == 1  # the origin was asked; the target never was
    assert "refused" in caught.value.reason or "non-public address" in caught.value.reason


def test_the_guard_itself_is_what_refuses(server, origin_counts_as_public):
    """Control for the case above: with allow_private the same redirect is followed."""
    with LocalHTTPServer(host="127.0.0.2") as inner:
        inner.route("/secret", body=b"internal only", headers=HTML)
        server.route("/feed.xml", redirect=inner.url("/secret"))
        with make_client() as client:
            assert fetch(client, server.url("/feed.xml"), allow_private=True).body == b"internal only"
            with pytest.raises(BlockedAddress):
                fetch(client, server.url("/feed.xml"), allow_private=False)
