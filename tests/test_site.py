"""The static site: pages on disk and an Atom feed that feedparser reads cleanly."""

from __future__ import annotations

import dataclasses
import datetime
from html.parser import HTMLParser

import feedparser
import pytest

from jiandu.render import render_body_html
from jiandu.site import SiteIssue, build_site
from tests.fixtures.issues.sample_issue import sample_context

BASE_URL = "https://digest.example.com/jiandu"


def site_issues() -> list[SiteIssue]:
    body = render_body_html(sample_context())
    return [
        SiteIssue(5, datetime.date(2024, 1, 8), "简读 第5期 · 2024-01-08", body, "英特尔发布第五代至强处理器等6条"),
        SiteIssue(7, datetime.date(2024, 1, 22), "简读 第7期 · 2024-01-22", body, "OpenAI安全框架 & <b>更多</b>"),
        SiteIssue(6, datetime.date(2024, 1, 15), "简读 第6期 <script>x</script>", body, "Rust 1.75 等"),
    ]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def links_of(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_build_writes_index_pages_and_feed(tmp_path):
    written = build_site(tmp_path, site_issues(), publication_name="简读", base_url=BASE_URL)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "feed.xml",
        "index.html",
        "issues/5.html",
        "issues/6.html",
        "issues/7.html",
    ]
    assert all(path.stat().st_size > 0 for path in written)


def test_feed_parses_without_errors_and_lists_issues_newest_first(tmp_path):
    build_site(tmp_path, site_issues(), publication_name="简读", base_url=BASE_URL)
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "简读"
    assert [entry.title for entry in feed.entries] == [
        "简读 第7期 · 2024-01-22",
        "简读 第6期 <script>x</script>",
        "简读 第5期 · 2024-01-08",
    ]
    assert [entry.link for entry in feed.entries] == [
        f"{BASE_URL}/issues/{n}.html" for n in (7, 6, 5)
    ]
    assert feed.entries[0].id == f"{BASE_URL}/issues/7.html"
    assert feed.entries[0].published_parsed[:3] == (2024, 1, 22)
    assert feed.entries[0].summary == "OpenAI安全框架 & <b>更多</b>"
    assert "OpenAI更新安全框架" in feed.entries[0].content[0].value


def test_index_links_every_issue_and_escapes_titles(tmp_path):
    build_site(tmp_path, site_issues(), publication_name="简读", base_url=BASE_URL + "/")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    parsed = links_of(index)
    assert [h for h in parsed.hrefs if h.startswith("issues/")] == [
        "issues/7.html",
        "issues/6.html",
        "issues/5.html",
    ]
    assert "script" not in parsed.tags
    assert "简读 第6期 &lt;script&gt;x&lt;/script&gt;" in index
    assert '<html lang="zh-CN">' in index and '<meta charset="utf-8">' in index
    assert f'href="{BASE_URL}/feed.xml"' in index


def test_index_shows_each_date_once(tmp_path):
    """Issue 13, item 12: a title that already says the date gets no second copy of it."""
    build_site(tmp_path, site_issues(), publication_name="简读", base_url=BASE_URL)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.count("2024-01-08") == 1 and index.count("2024-01-22") == 1
    assert index.count("2024-01-15") == 1  # issue 6's title has no date: shown beside it


def test_issue_page_holds_the_issue_and_links_its_neighbours(tmp_path):
    build_site(tmp_path, site_issues(), publication_name="简读", base_url=BASE_URL)
    page = (tmp_path / "issues" / "6.html").read_text(encoding="utf-8")
    parsed = links_of(page)
    assert "7.html" in parsed.hrefs and "5.html" in parsed.hrefs
    assert "../index.html" in parsed.hrefs
    assert "OpenAI更新安全框架" in page and "&lt;script&gt;alert" in page
    assert parsed.tags.count("script") == 0
    newest = links_of((tmp_path / "issues" / "7.html").read_text(encoding="utf-8"))
    assert "8.html" not in newest.hrefs and "6.html" in newest.hrefs


def test_building_twice_gives_the_same_bytes(tmp_path):
    first = {p.name: p.read_bytes() for p in build_site(tmp_path / "a", site_issues(), publication_name="简读", base_url=BASE_URL)}
    second = {p.name: p.read_bytes() for p in build_site(tmp_path / "b", site_issues(), publication_name="简读", base_url=BASE_URL)}
    assert first == second


def test_empty_site_still_has_a_valid_feed(tmp_path):
    build_site(tmp_path, [], publication_name="简读", base_url=BASE_URL)
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.entries == []
    assert "还没有发布任何一期" in (tmp_path / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("base_url", ["/local/path", "javascript:alert(1)", "digest.example.com"])
def test_base_url_must_be_http(tmp_path, base_url):
    with pytest.raises(ValueError, match="base_url"):
        build_site(tmp_path, site_issues(), publication_name="简读", base_url=base_url)


def test_repeated_issue_numbers_are_refused(tmp_path):
    issues = site_issues()
    issues.append(dataclasses.replace(issues[0], title="duplicate"))
    with pytest.raises(ValueError, match="repeat"):
        build_site(tmp_path, issues, publication_name="简读", base_url=BASE_URL)
