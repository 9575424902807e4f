"""Publishing from the database: numbering, periods, the per-issue cap, held summaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from jiandu.records import FeedEntry, Summary
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.publish import publish
from jiandu.models import store
from jiandu.models.schema import Item

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Asia/Shanghai


def summarised_stories(rt, importances: list[int], *, faithful=True, published=None):
    """Stories straight into the database, as summarise would leave them."""
    with rt.sessions.begin() as session:
        source, _ = store.add_source(session, kind="feed", url="http://example.com/feed")
        base = session.query(Item).count()
        entries = [FeedEntry(key=f"guid:{base + n}", url=f"http://example.com/{base + n}",
                             guid=str(base + n), title=f"Story {base + n}",
                             published=(published or NOW) - timedelta(hours=n))
                   for n in range(len(importances))]
        store.add_feed_entries(session, source, entries, NOW)
        items = session.query(Item).filter(Item.id > base).order_by(Item.id).all()
        for item, importance in zip(items, importances):
            text = f"第{item.id}篇。" + "正文内容用于测试发布。" * 20
            blob = store.text_for(session, text, 200, None)
            row = store.store_summary(session, blob.sha256, Summary(
                title=f"标题{item.id}", emoji="📰", section="其他", importance=importance,
                bullets=[f"要点{n}：" + "内容" * 20 for n in range(3)], model="m",
                prompt_version="v", faithful=faithful))
            item.text_id, item.story_id, item.summary_id = blob.id, item.id, row.id
            item.status = "summarised"
        return [item.id for item in items]


@pytest.fixture
def rt():
    runtime = open_runtime()
    yield runtime
    runtime.close()


def test_issue_numbers_rise_and_each_story_is_in_one_issue(rt):
    summarised_stories(rt, [3, 3])
    assert publish(rt, now=NOW).issue_number == 1
    assert publish(rt, now=NOW).issue_number is None  # nothing new: no issue
    summarised_stories(rt, [2])
    second = publish(rt, now=NOW)
    assert second.issue_number == 2 and second.items == 1


def test_a_capped_issue_takes_the_most_important_and_leaves_the_rest(rt, monkeypatch):
    monkeypatch.setenv("JIANDU_ISSUE_MAX_STORIES", "3")
    get_settings.cache_clear()
    rt.settings = get_settings()
    ids = summarised_stories(rt, [1, 5, 2, 4, 3])
    first = publish(rt, now=NOW)
    assert first.items == 3
    with rt.sessions() as session:
        in_first = {i.id for i in session.query(Item).filter(Item.issue_id.is_not(None))}
    assert in_first == {ids[1], ids[3], ids[4]}  # importance 5, 4, 3
    assert publish(rt, now=NOW).items == 2


def test_backfill_takes_only_the_days_asked_for(rt):
    summarised_stories(rt, [3], published=datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc))
    summarised_stories(rt, [3], published=datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc))
    report = publish(rt, since=date(2026, 11, 1), until=date(2026, 11, 1), now=NOW)
    assert report.items == 1
    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        assert issue.issue_date == "2026-11-01"


def test_unfaithful_summaries_are_kept_out_unless_allowed(rt, monkeypatch):
    summarised_stories(rt, [3], faithful=False)
    assert publish(rt, now=NOW).issue_number is None
    monkeypatch.setenv("JIANDU_HOLD_UNFAITHFUL", "false")
    get_settings.cache_clear()
    rt.settings = get_settings()
    assert publish(rt, now=NOW).items == 1
