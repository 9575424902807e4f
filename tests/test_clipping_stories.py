"""A clipping is its own story: posts by one author never fold into one story because they
share the author's page. Issue 13, item 1. The clippings file is the user's seed 001
(tests/fixtures/saved/seed001_clippings.md, see PROVENANCE.md there)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from jiandu.connectors.savedlinks import read_saved_file
from jiandu.models.schema import Item
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.urls import canonicalize, is_profile_url

SEED = Path(__file__).parent / "fixtures" / "saved" / "seed001_clippings.md"


def jiandu_cli(*args: str) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it."""
    command = Path(sys.executable).with_name("jiandu")
    proc = subprocess.run([str(command), *args], capture_output=True, text=True, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    return proc


def ingest_and_read_stories() -> tuple[list[Item], Counter]:
    get_settings.cache_clear()
    rt = open_runtime()
    try:
        ingest(rt)
        with rt.sessions() as session:
            items = list(session.scalars(select(Item).order_by(Item.id)))
            session.expunge_all()
    finally:
        rt.close()
    return items, Counter(item.story_id for item in items)


def test_seed_clippings_stay_one_story_each_unless_they_share_a_story_link():
    jiandu_cli("links", "import", str(SEED))
    items, stories = ingest_and_read_stories()
    posts = read_saved_file(SEED)
    assert len(items) == len(posts) == 116
    # Which posts share a story link (not an author's or a home page): the only honest merges.
    by_link: dict[str, set[int]] = {}
    for index, post in enumerate(posts):
        for link in post.links:
            if not is_profile_url(link):
                by_link.setdefault(canonicalize(link), set()).add(index)
    sharing = {index for group in by_link.values() if len(group) > 1 for index in group}
    assert len(stories) >= len(items) - len(sharing)
    # 41 posts by @op7418 and 13 by @dotey once became two stories; now each is its own.
    for handle, count in (("@op7418", 41), ("@dotey", 13)):
        by_author = [item for item in items if item.author and item.author.endswith(handle)]
        assert len(by_author) >= count
        alone = [item for item in by_author if not item.links or all(is_profile_url(u) for u in item.links)]
        assert len({item.story_id for item in alone}) == len(alone)
    for item in items:
        assert item.url is None or not is_profile_url(item.url), item.url
        members = [other for other in items if other.story_id == item.story_id]
        if len(members) > 1:  # a real merge: the posts cite the same article
            shared = set.intersection(*({canonicalize(u) for u in m.links if not is_profile_url(u)}
                                        for m in members))
            assert shared, [m.links for m in members]


def test_two_posts_citing_one_article_are_one_story_and_a_home_page_merges_nothing(tmp_path):
    clips = tmp_path / "clips.md"
    clips.write_text(
        "### 01\n\n2024-05-01\n\n甲\n@alpha\n这是第一条关于某篇文章的评论，写得很长很认真。\n"
        "原文：https://example.org/story/1\n\n"
        "### 02\n\n2024-05-02\n\n乙\n@beta\n另一位作者对同一篇文章的不同看法，也写得很认真。\n"
        "原文：https://example.org/story/1\n\n"
        "### 03\n\n2024-05-03\n\n甲\n@alpha\n完全不同的话题：一个新发布的开源数据库项目。\n"
        "项目主页：https://example.net\n\n"
        "### 04\n\n2024-05-04\n\n甲\n@alpha\n又一个不同的话题：某公司发布了新的推理芯片。\n"
        "作者主页：https://example.net/\n\n",
        encoding="utf-8",
    )
    jiandu_cli("links", "import", str(clips))
    items, stories = ingest_and_read_stories()
    assert len(items) == 4
    assert items[0].story_id == items[1].story_id == items[0].id
    assert items[2].story_id == items[2].id and items[3].story_id == items[3].id
    assert items[2].url is None and items[2].links == ["https://example.net"]


def test_feed_entries_that_all_link_to_the_home_page_stay_apart(tmp_path, monkeypatch):
    """Some feeds give every entry the site's home page as its link: no reason to merge."""
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    bodies = ["新型固态电池能量密度提升百分之四十，预计明年小批量生产。",
              "一家开源数据库公司完成新一轮融资，将扩大在亚洲的研发团队。",
              "城市地铁新线路开通，早高峰通勤时间平均缩短十二分钟。"]
    entries = "".join(
        f"<item><guid>n{n}</guid><title>消息{n}</title><link>https://news.example.org/</link>"
        f"<description>{body}</description></item>" for n, body in enumerate(bodies))
    feed = tmp_path / "feed.xml"
    feed.write_text("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                    "<title>t</title><link>https://news.example.org/</link>"
                    f"{entries}</channel></rss>", encoding="utf-8")
    jiandu_cli("source", "add", str(feed))
    items, stories = ingest_and_read_stories()
    assert [item.canonical_url for item in items] == ["https://news.example.org/"] * 3
    assert len(stories) == 3
