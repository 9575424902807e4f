"""Ranking: one score (importance, outlets, freshness, source weight) orders a section and picks
the 看点; the editor's 看点 choices still win; `jiandu items why` explains it through the real
command, on feeds served on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from datetime import timedelta, timezone

from jiandu.issue_context import build_context
from jiandu.ranking import outlets_of, rank, source_weight
from jiandu.records import DigestItem
from tests.fixtures.issues.sample_issue import ISSUE_DATE, sample_publication
from tests.support.http_server import LocalHTTPServer
from tests.test_rules import AI_TEXT, PHONE_TEXT, SALE_TEXT, feed, jiandu

UTC = datetime.timezone.utc
NEWEST = datetime.datetime(2024, 1, 20, 12, 0, tzinfo=UTC)


def item(title: str, importance: int, hours_old: float = 0, **changes) -> DigestItem:
    made = DigestItem(title=title, emoji="📰", section="产业资讯", importance=importance,
                      bullets=[f"{title}一", f"{title}二", f"{title}三"], links=[f"https://e.com/{title}"],
                      published=NEWEST - timedelta(hours=hours_old), source_chars=100)
    return dataclasses.replace(made, **changes)


def order(items, highlights: int = 10) -> tuple[list[str], list[str]]:
    publication = dataclasses.replace(sample_publication("flat"), highlights=highlights)
    context = build_context(publication, items, number=1, date=ISSUE_DATE)
    shown = [view["title"] for section in context["sections"] for view in section["items"]]
    return shown, [h["title"] for h in context["highlights"]]


# The score ---------------------------------------------------------------------------------------


def test_the_score_adds_outlets_and_freshness_to_importance_and_weighs_the_source():
    fresh = rank(4, 1, 1.0, NEWEST, NEWEST)
    assert (fresh.score, fresh.fresh_bonus, fresh.outlet_bonus) == (4.5, 0.5, 0)
    day_old = rank(4, 3, 1.0, NEWEST - timedelta(hours=24), NEWEST)
    assert (day_old.score, day_old.fresh_bonus, day_old.outlet_bonus) == (5.25, 0.25, 1.0)
    assert rank(4, 9, 1.0, NEWEST, NEWEST).outlet_bonus == 1.5  # at most
    weighed = rank(2, 1, 2.0, NEWEST - timedelta(days=30), NEWEST)
    assert weighed.score == 4.0 and weighed.fresh_bonus == 0
    assert day_old.explain() == ("score 5.25 = importance 4 + 3 outlets carried it (+1.00) + "
                                 "freshness +0.25 (24 h before the issue's newest)")
    assert weighed.explain().endswith("x source weight 2")
    assert "the issue's newest story" in fresh.explain()


def test_outlets_are_distinct_sites_and_weights_match_a_source_by_id_or_url():
    assert outlets_of(["https://www.ithome.com/a", "https://ithome.com/b", "https://cnbeta.com/c"],
                      ["s1", "s1", "s2"]) == 2
    assert outlets_of([None, None], ["source 1", "source 2"]) == 2
    weights = {"3": 2.0, "https://feeds.example/ai.xml": 0.5}
    assert source_weight(weights, [(3, "https://x/feed")]) == 2.0
    assert source_weight(weights, [(7, "https://feeds.example/ai.xml")]) == 0.5
    assert source_weight(weights, [(7, "https://feeds.example/ai.xml"), (3, "u")]) == 2.0
    assert source_weight(weights, [(8, "elsewhere")]) == 1.0


# The order and the 看点 -----------------------------------------------------------------------------


def test_a_story_many_outlets_carried_and_a_weighty_source_climb_the_section():
    items = [item("单一来源", 4, hours_old=1),
             item("四家都报道", 3, hours_old=1, outlets=4),      # 3 + 1.5 + 0.49 = 4.99
             item("重要来源", 2, hours_old=1, source_weight=2.5),  # (2 + 0.49) x 2.5 = 6.23
             item("较新", 3, hours_old=0),                      # 3.5
             item("较旧", 3, hours_old=48)]                     # 3.12
    shown, _ = order(items)
    assert shown == ["重要来源", "四家都报道", "单一来源", "较新", "较旧"]


def test_freshness_breaks_ties_of_importance_and_picks_the_highlights():
    items = [item("旧", 3, hours_old=72), item("新", 3, hours_old=2), item("重要", 5, hours_old=100)]
    shown, highlights = order(items, highlights=2)
    assert shown == ["重要", "新", "旧"]
    assert highlights == ["重要", "新"]


def test_the_editors_highlight_choices_still_win_over_the_score():
    items = [item("高分", 5), item("次高", 4), item("编辑选中", 1, highlight=True),
             item("编辑去掉", 5, highlight=False)]
    shown, highlights = order(items, highlights=2)
    assert "编辑去掉" not in highlights and "编辑选中" in highlights
    assert highlights == [title for title in shown if title in ("高分", "编辑选中")]


def test_every_view_carries_its_score_and_the_words_for_it():
    publication = sample_publication("flat")
    context = build_context(publication, [item("甲", 4, outlets=2)], number=1, date=ISSUE_DATE)
    view = context["sections"][0]["items"][0]
    assert view["score"] == 5.0
    assert view["ranking"].startswith("score 5.00 = importance 4 + 2 outlets carried it (+0.50)")


# Through the real command -------------------------------------------------------------------------


def test_items_why_explains_the_rank_of_a_published_story(monkeypatch):
    """Two outlets carry the AI story (merged into one); the third source weighs 3."""
    now = datetime.datetime.now(timezone.utc)
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_SOURCE_WEIGHTS", '{"3": 3}')
    with LocalHTTPServer() as server:
        for outlet, entries in {
            "ithome": [("ai-1", ("OpenAI 发布新的大模型", AI_TEXT), now - timedelta(hours=1))],
            "cnbeta": [("ai-2", ("OpenAI 发布新的大模型", AI_TEXT), now - timedelta(hours=2))],
            "ofweek": [("phone", ("某品牌发布新款手机", PHONE_TEXT), now - timedelta(hours=3)),
                       ("sale", ("电商平台双十一促销", SALE_TEXT), now - timedelta(hours=1))],
        }.items():
            # Links on the outlets' own sites (pages are not fetched here).
            body = feed(f"https://www.{outlet}.example/", entries)
            server.route(f"/{outlet}.xml", body=body, headers={"Content-Type": "application/rss+xml"})
            added = jiandu("source", "add", server.url(f"/{outlet}.xml"), "--section", "产业资讯")
            assert added.returncode == 0, added.stderr
        run = jiandu("run")
        assert run.returncode == 0, run.stderr
    listed = [json.loads(line) for line in jiandu("items", "export").stdout.splitlines()]
    assert sorted(i["status"] for i in listed if i["title"] == "OpenAI 发布新的大模型") == ["merged", "published"]
    ai = next(i for i in listed if i["title"] == "OpenAI 发布新的大模型" and i["status"] == "published")
    items = {i["title"]: i for i in listed}
    why = jiandu("items", "why", str(ai["id"]))
    assert why.returncode == 0, why.stderr
    assert "ranked 3 of 3 in 产业资讯 (story 3 of 3 in issue 1)" in why.stdout, why.stdout
    assert "2 outlets carried it (+0.50)" in why.stdout
    assert "看点: yes (by score)" in why.stdout
    phone = jiandu("items", "why", str(items["某品牌发布新款手机"]["id"]))
    assert re.search(r"ranked [12] of 3 in 产业资讯", phone.stdout), phone.stdout
    assert "x source weight 3" in phone.stdout
    # The issue as published has that order.
    shown = jiandu("issue", "show", "1")
    headings = [line for line in shown.stdout.splitlines() if line.startswith("### ")]
    assert len(headings) == 3 and "OpenAI" in headings[-1]
    # New weights rank the next issues; the published one keeps the weights it was ranked with.
    monkeypatch.setenv("JIANDU_SOURCE_WEIGHTS", '{"1": 10}')
    again = jiandu("items", "why", str(ai["id"]))
    assert "ranked 3 of 3 in 产业资讯 (story 3 of 3 in issue 1)" in again.stdout, again.stdout
