"""Faults of feed servers, met by the ingest stage: each one ends in a clear record on its
source (status, error, error count, next check), the run stays within its deadline, and the
well-behaved feed next to it is ingested as if nothing happened."""

from __future__ import annotations

import gzip
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from jiandu.stages.ingest import ingest
from tests.faults.support import (
    FETCH_DEADLINE,
    FIRST_BACKOFF,
    add_feed,
    closed_port,
    fault_runtime,
    items_of,
    now_utc,
    rss,
    serve_good_feed,
    source_row,
)
from tests.support.http_server import LocalHTTPServer

RUN_MARGIN = 10.0  # seconds: loose, this checks "bounded", not "fast"
XML = {"Content-Type": "application/rss+xml"}
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
               for n in range(1, 10))
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
      b"<link>http://example.invalid/a</link></item></channel></rss>"
)


@dataclass
class FeedFault:
    name: str
    routes: dict = field(default_factory=dict)  # path -> Route options
    url: str | None = None  # a feed URL other than the server's /bad.xml ("{port}" filled in)
    error: str | None = None  # expected in source.last_error
    status: int | None = None  # expected source.last_status
    names: str | None = None  # the URL the error names, when not the feed's own host


def gzip_bomb() -> bytes:
    # 200 MB of zeros in about 200 KB: decoded past MAX_BODY_BYTES it must stop.
    return gzip.compress(b"\0" * 200_000_000, compresslevel=9)


FEED_FAULTS = [
    FeedFault("500", {"/bad.xml": dict(status=500, body=b"oops")}, error="HTTP 500", status=500),
    FeedFault("404", {"/bad.xml": dict(status=404)}, error="HTTP 404", status=404),
    FeedFault("connection refused", url="http://127.0.0.1:{closed}/feed.xml", error="network error"),
    FeedFault("DNS failure", url="http://no-such-feed.invalid/feed.xml", error="network error"),
    FeedFault("TLS failure", url="https://127.0.0.1:{port}/bad.xml",
              routes={"/bad.xml": dict(body=b"<rss/>")}, error="network error"),
    FeedFault("read timeout", {"/bad.xml": dict(delay=FETCH_DEADLINE + 3, body=b"<rss/>")},
              error="timed out"),
    FeedFault("drips a byte a second",
              {"/bad.xml": dict(drip=1.0, body=rss([{"guid": "g", "title": "t", "link": "http://x.invalid/"}]),
                                headers=XML)}, error="deadline"),
    FeedFault("never ends", {"/bad.xml": dict(endless=True, headers=XML)}, error="larger than"),
    FeedFault("gzip bomb", {"/bad.xml": dict(body=None, headers={**XML, "Content-Encoding": "gzip"})},
              error="larger than"),
    FeedFault("50 MB", {"/bad.xml": dict(body=b"<rss>" + b" " * 50_000_000, headers=XML)},
              error="larger than"),
    FeedFault("HTML where XML was promised",
              {"/bad.xml": dict(body=b"<!doctype html><html><head><title>Hi</title></head>"
                                     b"<body><p>Welcome to our shop</p></body></html>", headers=XML)},
              error="not a feed"),
    FeedFault("random bytes", {"/bad.xml": dict(body=random.Random(8).randbytes(4096), headers=XML)},
              error="not a feed"),
    FeedFault("redirect loop", {"/bad.xml": dict(redirect="/bad2.xml"),
                                "/bad2.xml": dict(redirect="/bad.xml")}, error="redirect loop"),
    FeedFault("redirect to a file", {"/bad.xml": dict(redirect="file:///etc/passwd")},
              error="only http/https", names="/etc/passwd"),
]


@pytest.fixture
def server():
    with LocalHTTPServer() as served:
        yield served


@pytest.mark.parametrize("fault", FEED_FAULTS, ids=lambda fault: fault.name)
def test_feed_fault_is_recorded_on_its_source_and_the_other_feed_is_unaffected(fault, server, monkeypatch):
    for path, options in fault.routes.items():
        if fault.name == "gzip bomb":
            options = {**options, "body": gzip_bomb()}
        server.route(path, **options)
    good_pages = serve_good_feed(server)
    url = (fault.url or server.url("/bad.xml")).format(closed=closed_port(), port=server.port)
    rt = fault_runtime(monkeypatch)
    bad = add_feed(rt, url)
    good = add_feed(rt, server.url("/good.xml"))
    now = now_utc()

    started = time.monotonic()
    report = ingest(rt, now=now)
    elapsed = time.monotonic() - started

    assert elapsed < FETCH_DEADLINE + RUN_MARGIN, f"{fault.name}: run took {elapsed:.1f} s"
    assert report.sources_polled == 2 and report.source_errors == 1
    source = source_row(rt, bad)
    assert fault.error in source.last_error, source.last_error
    assert (fault.names or url.split("/")[2]) in source.last_error  # names where it happened
    assert source.last_status == fault.status
    assert source.error_count == 1 and source.enabled
    assert source.last_polled_at == now
    assert source.next_check_at == now + FIRST_BACKOFF
    assert items_of(rt, bad) == []
    # The good feed: both items, each with its page's text.
    good_source = source_row(rt, good)
    assert good_source.error_count == 0 and good_source.last_error is None
    good_items = items_of(rt, good)
    assert [item.url for item in good_items] == good_pages
    assert [item.status for item in good_items] == ["extracted", "extracted"]
    assert [item.text_origin for item in good_items] == ["page", "page"]

    # Backoff: not polled again before its next check, polled (and recovered) after it.
    hits = server.hits("/bad.xml")
    ingest(rt, now=now + FIRST_BACKOFF - timedelta(seconds=1))
    assert server.hits("/bad.xml") == hits
    assert source_row(rt, bad).error_count == 1
    rt.close()


def test_a_second_failure_doubles_the_wait(server, monkeypatch):
    server.route("/bad.xml", status=503)
    rt = fault_runtime(monkeypatch)
    bad = add_feed(rt, server.url("/bad.xml"))
    now = now_utc()
    ingest(rt, now=now)
    later = now + FIRST_BACKOFF
    ingest(rt, now=later)
    source = source_row(rt, bad)
    assert source.error_count == 2
    assert source.next_check_at == later + 2 * FIRST_BACKOFF
    # The feed recovers: the error state is cleared and its entries arrive.
    server.route("/bad.xml", body=rss([{"guid": "a", "title": "A", "link": "http://x.invalid/a",
                                        "description": "Some text."}]), headers=XML)
    ingest(rt, now=later + 2 * FIRST_BACKOFF)
    source = source_row(rt, bad)
    assert (source.error_count, source.last_error, source.next_check_at, source.last_status) == (0, None, None, 200)
    assert len(items_of(rt, bad)) == 1
    rt.close()


def test_410_gone_disables_the_source_and_it_is_not_polled_again(server, monkeypatch):
    server.route("/bad.xml", status=410)
    rt = fault_runtime(monkeypatch)
    bad = add_feed(rt, server.url("/bad.xml"))
    now = now_utc()
    ingest(rt, now=now)
    source = source_row(rt, bad)
    assert not source.enabled
    assert source.last_status == 410 and "410 Gone" in source.last_error
    ingest(rt, now=now + timedelta(days=30))
    assert server.hits("/bad.xml") == 1
    rt.close()


def test_429_retry_after_sets_the_next_check(server, monkeypatch):
    server.route("/bad.xml", status=429, headers={"Retry-After": "7200"})
    rt = fault_runtime(monkeypatch)
    bad = add_feed(rt, server.url("/bad.xml"))
    now = now_utc()
    ingest(rt, now=now)
    source = source_row(rt, bad)
    assert source.last_status == 429 and "retry after 7200 s" in source.last_error
    assert source.next_check_at == now + timedelta(seconds=7200)  # longer than the 15 min backoff
    ingest(rt, now=now + timedelta(seconds=7199))
    assert server.hits("/bad.xml") == 1
    server.route("/bad.xml", body=rss([{"guid": "a", "title": "A", "link": "http://x.invalid/a",
                                        "description": "Text."}]), headers=XML)
    ingest(rt, now=now + timedelta(seconds=7200))
    assert server.hits("/bad.xml") == 2
    assert source_row(rt, bad).error_count == 0
    rt.close()


@pytest.mark.parametrize("charset_header", ["application/rss+xml; charset=utf-8", "application/rss+xml"],
                         ids=["wrong charset", "missing charset"])
def test_gbk_feed_with_a_wrong_or_missing_charset_is_read_as_chinese(charset_header, server, monkeypatch):
    body = rss([{"guid": "cn-1", "title": "海外留学生看两会", "link": "http://x.invalid/1",
                 "description": "出国前后关注点大不同，学子对两会的关注点发生了很大的变化。"}],
               title="中国青年网", encoding="gb2312")
    server.route("/cn.xml", body=body, headers={"Content-Type": charset_header})
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    source_id = add_feed(rt, server.url("/cn.xml"))
    ingest(rt, now=now_utc())
    source = source_row(rt, source_id)
    assert source.error_count == 0 and source.name == "中国青年网"
    [item] = items_of(rt, source_id)
    assert item.title == "海外留学生看两会"
    assert "关注点大不同" in item.text.content
    rt.close()


def test_billion_laughs_is_not_expanded(server, monkeypatch):
    """Entity expansion would make 3 GB of "lol"; the entities stay unexpanded text, the feed's
    one entry is kept and the parser's complaint is recorded as the source's warning."""
    server.route("/lol.xml", body=BILLION_LAUGHS, headers=XML)
    rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0")
    source_id = add_feed(rt, server.url("/lol.xml"))
    started = time.monotonic()
    ingest(rt, now=now_utc())
    assert time.monotonic() - started < RUN_MARGIN
    source = source_row(rt, source_id)
    assert source.error_count == 0
    assert "entity" in source.warning
    [item] = items_of(rt, source_id)
    assert "lollol" not in item.title and len(item.title) < 100
    rt.close()
