"""connectors.opml: a real Chinese subscription list, nested folders, malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiandu.connectors.opml import OpmlError, OpmlFeed, read_opml, write_opml

REAL_LIST = Path(__file__).parent / "fixtures" / "opml" / "chinese-independent-blogs.feed.opml"


def test_real_chinese_list_reads_over_a_thousand_feeds():
    feeds = read_opml(REAL_LIST)
    assert len(feeds) >= 1000
    assert feeds[1] == OpmlFeed(url="http://feeds.feedburner.com/ruanyifeng",
                                title="阮一峰的网络日志", category=None)
    assert all(feed.url.startswith(("http://", "https://")) for feed in feeds)
    assert len({feed.url for feed in feeds}) == len(feeds)


def test_nested_outlines_take_the_enclosing_category(tmp_path):
    path = tmp_path / "nested.opml"
    path.write_text("""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="科技"><outline text="A" xmlUrl="https://a.example/feed"/>
        <outline text="深层"><outline title="B" xmlurl="https://b.example/rss"/></outline>
      </outline>
      <outline text="Top" xmlUrl="https://top.example/atom.xml"/>
    </body></opml>""", encoding="utf-8")
    assert read_opml(path) == [
        OpmlFeed("https://a.example/feed", "A", "科技"),
        OpmlFeed("https://b.example/rss", "B", "深层"),
        OpmlFeed("https://top.example/atom.xml", "Top", None),
    ]


def test_write_then_read_round_trips(tmp_path):
    feeds = [OpmlFeed("https://a.example/feed", "甲", "科技"),
             OpmlFeed("https://b.example/feed", "B & co", None),
             OpmlFeed("https://c.example/feed", None, "科技")]
    path = tmp_path / "out.opml"
    write_opml(feeds, path)
    back = read_opml(path)
    # Written grouped by folder, so order changes but nothing else does.
    assert sorted((f.url, f.category) for f in back) == sorted((f.url, f.category) for f in feeds)
    titles = {f.url: f.title for f in back}
    assert titles["https://b.example/feed"] == "B & co"
    assert titles["https://c.example/feed"] == "https://c.example/feed"


@pytest.mark.parametrize("text,reason", [
    ("<opml><body><outline text='x'", "not well-formed"),
    ("<html><body/></html>", "not <opml>"),
    ("<opml version='1.0'><head/></opml>", "no <body>"),
    ("""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">
        <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
        <opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>""",
     "refused unsafe XML"),
])
def test_malformed_opml_names_the_file(tmp_path, text, reason):
    path = tmp_path / "broken.opml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OpmlError) as info:
        read_opml(path)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(OpmlError, match="no such file"):
        read_opml(tmp_path / "absent.opml")
