"""Choosing what gets summarised: include/exclude rules, a minimum length and the first-poll
limit, through the real command against feeds on 127.0.0.1 (the offline summariser: no key)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from jiandu.rules import Candidate, FirstPollLimit, RuleError, RuleSet, parse_rule, reason_to_skip, skip_kind
from tests.support.http_server import LocalHTTPServer

AI_TEXT = ("OpenAI 今天发布了新的大模型，参数规模与推理速度都有明显提升。研究团队表示，新模型在数学、编程和多语言理解上"
           "全面超过上一代，并将向开发者开放接口。业内人士认为，这将推动更多企业把大模型用于客服、写作和数据分析。")
SALE_TEXT = ("双十一促销活动今天开始，多家电商平台推出满减和优惠券。商家表示，今年的促销力度比去年更大，"
             "家电和数码产品的折扣最高可达五折。消费者可以在活动页面领取优惠券，活动持续到本月底结束。")
PHONE_TEXT = ("某品牌今天发布了新款手机，配备更大的电池和更亮的屏幕。厂商称新机的续航比上一代延长两小时，"
              "相机也加入了夜景模式。新手机将于下周在各大商城开售，起售价与上一代持平。")


def jiandu(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiandu", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def feed(base: str, entries: list[tuple[str, str, datetime]]) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{escape(title)}</title>"
        f"<link>{base}{guid}</link><description>{escape(text)}</description>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for guid, (title, text), when in ((e[0], e[1], e[2]) for e in entries))
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
            f"<link>{base}</link><description>d</description>{items}</channel></rss>").encode()


def exported(env=None) -> dict[str, dict]:
    result = jiandu("items", "export", env=env)
    assert result.returncode == 0, result.stderr
    return {json.loads(line)["title"]: json.loads(line) for line in result.stdout.splitlines()}


# The rules themselves ---------------------------------------------------------------------------


def test_a_rule_is_a_regular_expression_limited_to_a_field_by_its_prefix():
    rule = parse_rule("title:AI|大模型")
    assert rule.fields == ("title",)
    assert rule.matches({"title": "新的大模型", "text": ""}) == "title"
    assert rule.matches({"title": "手机", "text": "大模型"}) is None
    assert parse_rule("ai").matches({"url": "https://x.org/AI/news"}) == "url"  # any field, any case
    with pytest.raises(RuleError, match=r"'\(oops' is not a valid regular expression"):
        parse_rule("(oops")


def test_exclude_wins_include_must_match_and_every_scope_applies():
    publication = RuleSet.build("the publication", include=["AI|大模型"])
    source = RuleSet.build("source 7", exclude=["促销"], min_zi=20)
    ai = Candidate(title="大模型", text=AI_TEXT)
    assert reason_to_skip(ai, [publication, source]) is None
    sale = Candidate(title="大模型促销", text=SALE_TEXT)
    assert reason_to_skip(sale, [publication, source]) == "rule: source 7 excludes '促销' (matched the title)"
    phone = Candidate(title="新手机", text=PHONE_TEXT)
    assert reason_to_skip(phone, [publication, source]) == (
        "rule: the publication includes only 'AI|大模型' (no match)")
    short = Candidate(title="AI", text="很短")
    assert reason_to_skip(short, [publication, source]) == "rule: source 7 skips texts under 20 字"
    assert skip_kind(reason_to_skip(short, [publication, source])) == "rule"


def test_the_first_poll_keeps_the_newest_within_age_and_count():
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    limit = FirstPollLimit(max_age_days=3, max_items=2)
    ages = [0, 1, 2, 5]
    reasons = [limit.reason_to_skip(now - timedelta(days=days), now) for days in ages]
    assert reasons[:2] == [None, None]
    assert reasons[2].startswith("first poll: beyond the newest 2 entries")
    assert reasons[3].startswith("first poll: older than 3 days")
    assert (limit.kept, limit.skipped) == (2, 2)


# Through the real command -----------------------------------------------------------------------


def test_a_source_added_with_rules_summarises_only_what_matches(tmp_path, monkeypatch):
    now = datetime.now(timezone.utc)
    entries = [("ai", ("OpenAI 发布新的大模型", AI_TEXT), now - timedelta(hours=1)),
               ("sale", ("大模型音箱双十一促销", SALE_TEXT), now - timedelta(hours=2)),
               ("phone", ("某品牌发布新款手机", PHONE_TEXT), now - timedelta(hours=3))]
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    with LocalHTTPServer() as server:
        server.route("/feed.xml", body=feed(server.url("/p/"), entries),
                     headers={"Content-Type": "application/rss+xml"})
        bad = jiandu("source", "add", server.url("/feed.xml"), "--include", "(AI")
        assert bad.returncode != 0 and "Traceback" not in bad.stderr
        assert "--include: '(AI' is not a valid regular expression" in " ".join(bad.stderr.split())
        added = jiandu("source", "add", server.url("/feed.xml"), "--include", "AI|大模型",
                       "--exclude", "促销")
        assert added.returncode == 0, added.stderr
        run = jiandu("run")
        assert run.returncode == 0, run.stderr
    items = exported()
    assert items["OpenAI 发布新的大模型"]["status"] == "published"
    assert items["大模型音箱双十一促销"]["status"] == "skipped"
    assert "excludes '促销'" in items["大模型音箱双十一促销"]["error"]
    assert items["某品牌发布新款手机"]["status"] == "skipped"
    assert "includes only 'AI|大模型'" in items["某品牌发布新款手机"]["error"]
    phone_id = str(items["某品牌发布新款手机"]["id"])
    why = jiandu("items", "why", phone_id)
    assert why.returncode == 0 and "skipped by a rule" in why.stdout and "AI|大模型" in why.stdout
    # Loosening the rules does not bring back what was skipped by them: it was judged.
    edited = jiandu("source", "edit", "1", "--clear-rules")
    assert edited.returncode == 0, edited.stderr
    assert "include: -" in edited.stdout


def test_a_first_poll_of_a_years_feed_takes_only_the_recent_entries(monkeypatch):
    now = datetime.now(timezone.utc)
    texts = [AI_TEXT, PHONE_TEXT, SALE_TEXT]
    entries = [(f"e{n}", (f"第 {n} 条新闻", texts[n % 3] + f" 编号 {n}。"), now - timedelta(hours=n * 29))
               for n in range(300)]  # 300 entries, about a year
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_FIRST_POLL_MAX_AGE_DAYS", "3")
    monkeypatch.setenv("JIANDU_FIRST_POLL_MAX_ITEMS", "50")
    with LocalHTTPServer() as server:
        server.route("/feed.xml", body=feed(server.url("/p/"), entries),
                     headers={"Content-Type": "application/rss+xml"})
        assert jiandu("source", "add", server.url("/feed.xml")).returncode == 0
        ingest = jiandu("ingest")
        assert ingest.returncode == 0, ingest.stderr
        items = exported()
        recent = {title for title, item in items.items() if item["status"] != "skipped"}
        # 3 days at 29 h apart: entries 0, 1 and 2.
        assert recent == {"第 0 条新闻", "第 1 条新闻", "第 2 条新闻"}
        assert len(items) == 300
        assert all(item["error"].startswith("first poll: older than 3 days")
                   for title, item in items.items() if title not in recent)
        backfill = jiandu("source", "backfill", "1")
        assert backfill.returncode == 0 and "297 older entries queued" in backfill.stdout
        assert sum(item["status"] == "new" for item in exported().values()) == 297
