"""connectors.feeds: parse_feed over real feeds, fetch_feed against a misbehaving loopback server."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import jiandu.connectors.feeds as feeds
from jiandu.connectors.errors import HTTPStatusError, ParseError, RedirectLoop, Timeout, TooLarge
from jiandu.connectors.feeds import decode_feed_bytes, fetch_feed, html_to_text, parse_feed
from jiandu.connectors.http import make_client
from tests.support.http_server import http_server  # noqa: F401  (fixture)

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
FEEDPARSER = FIXTURES / "feedparser"
MANIFEST = [json.loads(line) for line in (FEEDPARSER / "MANIFEST.jsonl").read_text().splitlines()]
GB2312_FEED = (FIXTURES / "encoding-gb2312.xml").read_bytes()
QQ_FIRST_TITLE = "拟298亿元重组盛大游戏后 世纪华通发20亿回购预案"
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>http://example.org/</link>
<item><title>One</title><link>pages/one.html</link><guid isPermaLink="false">one</guid>
<pubDate>Tue, 10 Jun 2025 08:00:00 +0800</pubDate>
<description>&lt;p&gt;First para.&lt;/p&gt;&lt;p&gt;Second &lt;b&gt;para&lt;/b&gt;.&lt;/p&gt;</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[
<p>Longer first paragraph, from content:encoded.</p><ul><li>item a</li><li>item b</li></ul>
<script>alert(1)</script><p>Last<br>line</p>]]></content:encoded></item>
<item><title>Two</title><link>http://other.example/two</link></item>
</channel></rss>"""


def _headers_of(case):
    content_type = next((v for k, v in case["http_headers"].items()
                         if k.lower() == "content-type"), None)
    if content_type is None:
        return None, None
    media, _, params = content_type.partition(";")
    charset = params.split("=", 1)[1].strip() if "charset=" in params else None
    return media.strip().lower(), charset


def _case_url(case):
    """Where feedparser's own suite served the file (its expectations resolve against it)."""
    location = next((v for k, v in case["http_headers"].items()
                     if k.lower() == "content-location"), None)
    return location or f"http://127.0.0.1:8097/{case['path']}"


def _parse_case(case):
    content_type, charset = _headers_of(case)
    return parse_feed((FEEDPARSER / case["path"]).read_bytes(), url=_case_url(case),
                      content_type=content_type, charset=charset)


@pytest.mark.parametrize("case", [c for c in MANIFEST if not c["path"].startswith("illformed")],
                         ids=lambda c: c["path"])
def test_every_wellformed_and_encoding_feed_parses(case):
    # CDF (Microsoft's 1997 Channel Definition Format) channels without a title or items are
    # not a format we read; everything else must parse.
    if case["path"].startswith("wellformed/cdf/"):
        try:
            _parse_case(case)
        except ParseError as error:
            assert str(error).startswith(_case_url(case) + ": not a feed")
        return
    result = _parse_case(case)
    assert result.status == 200
    for entry in result.entries:
        assert entry.key.split(":", 1)[0] in ("guid", "url", "hash")
        assert entry.published is None or entry.published.tzinfo is timezone.utc


@pytest.mark.parametrize("case", [c for c in MANIFEST if c["path"].startswith("illformed")],
                         ids=lambda c: c["path"])
def test_illformed_feeds_yield_entries_or_a_clear_parse_error(case):
    try:
        result = _parse_case(case)
    except ParseError as error:
        assert str(error).startswith(_case_url(case) + ": not a feed")
        return
    assert result.status == 200  # an empty channel is still a feed
    assert all(entry.key for entry in result.entries)


_SIMPLE = re.compile(r"^not bozo and (feed|entries\[0\])\['(title|link|author|id|published_parsed"
                     r"|description)'\] == (.+)$")


def _simple_expectations():
    for case in MANIFEST:
        match = _SIMPLE.match(case["expect"])
        if not match:
            continue
        try:
            expected = ast.literal_eval(match.group(3))
        except (ValueError, SyntaxError):
            continue
        if isinstance(expected, str) and ("<" in expected or "&" in expected):
            continue  # markup in the expectation; we keep plain text
        if match.group(2) == "link" and not str(expected).startswith("http"):
            continue  # we resolve relative links against the feed URL
        if match.group(1) == "feed" and match.group(2) != "title":
            continue  # FeedFetch keeps only the feed's title
        yield pytest.param(case, match.group(1), match.group(2), expected, id=case["path"])


SIMPLE = list(_simple_expectations())


def test_the_checked_subset_is_meaningful():
    assert len(SIMPLE) >= 30


@pytest.mark.parametrize("case,scope,field,expected", SIMPLE)
def test_feedparser_expectations_hold_for_our_records(case, scope, field, expected):
    result = _parse_case(case)
    if scope == "feed":
        assert result.title == " ".join(expected.split())
        return
    entry = result.entries[0]
    actual = {"title": entry.title, "link": entry.url, "author": entry.author,
              "id": entry.guid, "description": entry.content,
              "published_parsed": entry.published}[field]
    if field == "published_parsed":
        expected = datetime(*expected[:6], tzinfo=timezone.utc)
    elif isinstance(expected, str):
        expected = " ".join(expected.split())
    assert actual == expected


def test_gb2312_feed_gives_correct_chinese():
    result = parse_feed(GB2312_FEED, url="http://tech.qq.com/web/rss.xml")
    assert result.title == "互联网"
    assert result.entries[0].title == QQ_FIRST_TITLE
    assert result.entries[0].content.startswith("腾讯科技讯9月18日")
    assert result.entries[0].published == datetime(2018, 9, 19, 5, 11, 22, tzinfo=timezone.utc)


@pytest.mark.parametrize("header_charset", [None, "gb2312", "utf-8", "bogus-charset"])
def test_gb2312_feed_served_with_any_header_charset(http_server, header_charset):
    content_type = "application/rss+xml" + (f"; charset={header_charset}" if header_charset else "")
    http_server.route("/qq.xml", body=GB2312_FEED, headers={"Content-Type": content_type})
    with make_client() as client:
        result = fetch_feed(client, http_server.url("/qq.xml"), allow_private=True)
    assert result.entries[0].title == QQ_FIRST_TITLE


def test_header_charset_is_trusted_over_the_prolog():
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Ünïcode ' \
           'é</title></channel></rss>'.encode("latin-1")
    assert parse_feed(body, url="http://x.example/f", charset="iso-8859-1").title == "Ünïcode é"
    assert "Ünïcode é" in decode_feed_bytes(body, "latin-1")


def test_json_feed(http_server):
    body = (FEEDPARSER / "json" / "example.json").read_bytes()
    http_server.route("/feed.json", body=body, headers={"Content-Type": "application/feed+json"})
    with make_client() as client:
        result = fetch_feed(client, http_server.url("/feed.json"), allow_private=True)
    assert result.title == "My Example Feed"
    assert [e.title for e in result.entries] == ["post 2", "post 1"] or result.entries[0].guid
    assert result.entries[0].url == "https://example.org/second-item"
    assert result.entries[0].content == "This is a second item."


def test_entry_normalisation_and_relative_links_of_a_local_feed(tmp_path):
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(RSS)
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "one.html").write_text("<p>one</p>")  # a saved page beside the feed
    for url in (str(feed_file), feed_file.as_uri()):
        result = fetch_feed(None, url)  # type: ignore[arg-type]  (no client needed for files)
        assert (result.status, result.url, result.title) == (0, url, "Local")
        one, two = result.entries
        assert one.url == str(tmp_path / "pages" / "one.html")
        assert (one.guid, one.key) == ("one", "guid:one")
        assert one.published == datetime(2025, 6, 10, 0, 0, tzinfo=timezone.utc)
        assert one.content == ("Longer first paragraph, from content:encoded.\n\nitem a\n\n"
                               "item b\n\nLast\n\nline")
        assert two.url == "http://other.example/two" and two.key.startswith("url:")


def test_relative_links_resolve_against_the_final_url(http_server):
    http_server.route("/blog/feed.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    with make_client() as client:
        result = fetch_feed(client, http_server.url("/blog/feed.xml"), allow_private=True)
    assert result.entries[0].url == http_server.url("/blog/pages/one.html")


INTERTWINGLY = FIXTURES / "intertwingly.atom"


def test_relative_links_of_a_feed_copied_to_disk_resolve_against_its_declared_address(tmp_path):
    """node-feedparser's intertwingly.atom: every link is "/blog/...", the feed says it lives at
    http://intertwingly.net/blog/index.atom (rel=self)."""
    result = fetch_feed(None, str(INTERTWINGLY))  # type: ignore[arg-type]
    urls = [entry.url for entry in result.entries]
    assert len(urls) == 20 and len(set(urls)) == 20
    assert urls[0] == "http://intertwingly.net/blog/2012/07/16/Inhibiting-Suspend"
    assert all(url.startswith("http://intertwingly.net/blog/20") for url in urls)
    assert "http://intertwingly.net/blog/2012/04/02/Hacked" in urls
    # A file beside the feed still wins over the declared address (saved pages).
    copy = tmp_path / "feed.atom"
    copy.write_bytes(INTERTWINGLY.read_bytes().replace(
        b'href="/blog/2012/07/16/Inhibiting-Suspend"', b'href="saved/inhibit.html"'))
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "inhibit.html").write_text("<p>saved</p>")
    first = fetch_feed(None, str(copy)).entries[0]  # type: ignore[arg-type]
    assert first.url == str(tmp_path / "saved" / "inhibit.html")


def test_relative_links_of_a_served_feed_resolve_against_its_url_and_xml_base(http_server):
    http_server.route("/mirror/index.atom", body=INTERTWINGLY.read_bytes(),
                      headers={"Content-Type": "application/atom+xml"})
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://base.example/news/">
<title>Based</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>
<entry><id>urn:1</id><title>One</title><updated>2026-01-01T00:00:00Z</updated>
<link href="2026/one.html"/></entry>
<entry xml:base="/other/"><id>urn:2</id><title>Two</title><updated>2026-01-01T00:00:00Z</updated>
<link href="two.html"/></entry>
</feed>"""
    http_server.route("/based.atom", body=atom, headers={"Content-Type": "application/atom+xml"})
    with make_client() as client:
        served = fetch_feed(client, http_server.url("/mirror/index.atom"), allow_private=True)
        based = fetch_feed(client, http_server.url("/based.atom"), allow_private=True)
    assert served.entries[0].url == http_server.url("/blog/2012/07/16/Inhibiting-Suspend")
    assert [e.url for e in based.entries] == ["http://base.example/news/2026/one.html",
                                              "http://base.example/other/two.html"]


def test_relative_links_of_a_json_feed_on_disk_resolve_against_its_home_page(tmp_path):
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "J",
        "home_page_url": "https://j.example/", "items": [
            {"id": "1", "url": "/posts/1", "content_text": "hello"}]}), encoding="utf-8")
    assert fetch_feed(None, str(feed)).entries[0].url == "https://j.example/posts/1"  # type: ignore[arg-type]


def test_missing_local_feed_names_the_file(tmp_path):
    with pytest.raises(Exception) as info:
        fetch_feed(None, str(tmp_path / "absent.xml"))  # type: ignore[arg-type]
    assert "absent.xml" in str(info.value) and "cannot read" in str(info.value)


def test_html_to_text_keeps_paragraphs():
    html = "<div><h2>Head</h2><p>One  two\nthree.</p><p>Four<br/>five</p></div><style>x{}</style>"
    assert html_to_text(html) == "Head\n\nOne two three.\n\nFour\n\nfive"
    assert html_to_text("") == ""


# --- conditional GET and misbehaving servers ----------------------------------------------

@pytest.fixture
def client():
    with make_client(connect_timeout=0.5, read_timeout=0.5) as c:
        yield c


def test_conditional_get_returns_304_without_parsing(http_server, client, monkeypatch):
    http_server.route("/feed.xml", body=RSS, headers={"Content-Type": "application/rss+xml"},
                      etag='"abc"', last_modified="Tue, 10 Jun 2025 08:00:00 GMT")
    first = fetch_feed(client, http_server.url("/feed.xml"), allow_private=True)
    assert (first.status, len(first.entries)) == (200, 2)
    assert (first.etag, first.last_modified) == ('"abc"', "Tue, 10 Jun 2025 08:00:00 GMT")

    def must_not_parse(*args, **kwargs):
        raise AssertionError("a 304 must not be parsed")

    monkeypatch.setattr(feeds, "parse_feed", must_not_parse)
    second = fetch_feed(client, http_server.url("/feed.xml"), etag=first.etag,
                        last_modified=first.last_modified, allow_private=True)
    assert (second.status, second.entries, second.etag) == (304, [], '"abc"')
    sent = http_server.requests("/feed.xml")[1]
    assert sent["if-none-match"] == '"abc"'
    assert sent["if-modified-since"] == "Tue, 10 Jun 2025 08:00:00 GMT"


def test_410_marks_the_feed_gone(http_server, client):
    http_server.route("/gone.xml", status=410)
    result = fetch_feed(client, http_server.url("/gone.xml"), allow_private=True)
    assert (result.status, result.gone, result.entries) == (410, True, [])


@pytest.mark.parametrize("status", [404, 500])
def test_error_status_raises(http_server, client, status):
    http_server.route("/bad.xml", status=status)
    with pytest.raises(HTTPStatusError) as info:
        fetch_feed(client, http_server.url("/bad.xml"), allow_private=True)
    assert info.value.status == status


def test_429_retry_after_reaches_the_caller(http_server, client):
    http_server.route("/busy.xml", status=429, headers={"Retry-After": "30"})
    with pytest.raises(HTTPStatusError) as info:
        fetch_feed(client, http_server.url("/busy.xml"), allow_private=True)
    assert info.value.retry_after == 30


def test_permanent_redirect_moves_the_feed_temporary_does_not(http_server, client):
    http_server.route("/new.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    http_server.route("/old.xml", redirect="/new.xml", status=301)
    http_server.route("/tmp.xml", redirect="/new.xml", status=307)
    moved = fetch_feed(client, http_server.url("/old.xml"), allow_private=True)
    assert (moved.url, moved.permanently_moved) == (http_server.url("/new.xml"), True)
    stayed = fetch_feed(client, http_server.url("/tmp.xml"), allow_private=True)
    assert (stayed.url, stayed.permanently_moved, len(stayed.entries)) == (
        http_server.url("/tmp.xml"), False, 2)


def test_redirect_loop(http_server, client):
    http_server.route("/a.xml", redirect="/b.xml")
    http_server.route("/b.xml", redirect="/a.xml")
    with pytest.raises(RedirectLoop):
        fetch_feed(client, http_server.url("/a.xml"), allow_private=True)


def test_endless_body_and_gzip_bomb_stop_at_max_bytes(http_server, client):
    http_server.route("/endless.xml", endless=True)
    http_server.route("/bomb.xml", body=gzip.compress(b"<rss>" + b" " * 50_000_000, 9),
                      headers={"Content-Encoding": "gzip"})
    for path in ("/endless.xml", "/bomb.xml"):
        with pytest.raises(TooLarge):
            fetch_feed(client, http_server.url(path), max_bytes=1_000_000, allow_private=True)


def test_drip_fed_feed_ends_at_the_timeout(http_server, client):
    http_server.route("/drip.xml", body=RSS, drip=0.2)
    with pytest.raises(Timeout):
        fetch_feed(client, http_server.url("/drip.xml"), allow_private=True)


@pytest.mark.parametrize("body,content_type", [
    (b"<!DOCTYPE html><html><head><title>Shop</title></head><body><p>Buy!</p></body></html>",
     "application/rss+xml"),
    (os.urandom(5000), "application/xml"),
    (b"", "application/rss+xml"),
    (b'{"not": "a feed"}', "application/json"),
])
def test_things_that_are_not_feeds_raise_parse_error(http_server, client, body, content_type):
    http_server.route("/feed", body=body, headers={"Content-Type": content_type})
    with pytest.raises(ParseError) as info:
        fetch_feed(client, http_server.url("/feed"), allow_private=True)
    assert str(info.value).startswith(http_server.url("/feed") + ": not a")


def test_an_unchanged_feed_file_is_not_parsed_again(tmp_path, monkeypatch):
    import jiandu.connectors.feeds as feeds

    feed = tmp_path / "feed.xml"
    feed.write_text("<rss version='2.0'><channel><title>t</title><item><title>a</title>"
                    "<link>http://example.com/a</link></item></channel></rss>", encoding="utf-8")
    first = feeds.fetch_feed(None, str(feed))
    assert first.status == 0 and len(first.entries) == 1 and first.last_modified
    monkeypatch.setattr(feeds, "parse_feed", lambda *a, **k: pytest.fail("parsed again"))
    again = feeds.fetch_feed(None, str(feed), last_modified=first.last_modified)
    assert again.status == 304 and again.entries == []


def test_an_http_link_without_a_host_is_no_link():
    # Found by the property test on a mutated real feed: a permalink guid "http:./x" is no URL.
    body = (b"<rss version='2.0'><channel><item><guid>http:./guid.example.com/</guid>"
            b"<title>t</title></item></channel></rss>")
    entry = feeds.parse_feed(body, url="https://example.org/feed.xml").entries[0]
    assert entry.url is None
