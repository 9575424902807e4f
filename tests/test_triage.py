"""Topic triage: the real `jiandu` command against feeds and an OpenAI-compatible server on
127.0.0.1 (jiandu.testing.llm_server answers a triage prompt by its content: relevant when the
article holds one of the topic's words); offline, the topic's keywords."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

import pytest

from jiandu.connectors.llm import ChatClient
from jiandu.records import ArticleInput
from jiandu.settings import Settings
from jiandu.summarising.prompts import prompt_version
from jiandu.summarising.triage import MEMORY, LLMTriage, opening, read_answer
from jiandu.testing.llm_server import LLMServer, invalid_triage, is_triage, server_error, triage_only
from jiandu.topic import KeywordTriage, topic_keywords
from tests.support.http_server import LocalHTTPServer
from tests.test_rules import AI_TEXT, PHONE_TEXT, SALE_TEXT, exported, feed, jiandu

TOPIC = "AI、大模型、人工智能"


def entries():
    now = datetime.now(timezone.utc)
    return [("ai", ("OpenAI 发布新的大模型", AI_TEXT), now - timedelta(hours=1)),
            ("sale", ("电商平台双十一促销", SALE_TEXT), now - timedelta(hours=2)),
            ("phone", ("某品牌发布新款手机", PHONE_TEXT), now - timedelta(hours=3))]


@pytest.fixture
def world(monkeypatch):
    """A feed of one AI story and two others, a loopback LLM, triage on with a stated topic."""
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_TRIAGE", "auto")
    monkeypatch.setenv("JIANDU_PUBLICATION_TOPIC", TOPIC)
    MEMORY.clear()
    with LocalHTTPServer() as feeds, LLMServer() as llm:
        feeds.route("/feed.xml", body=feed(feeds.url("/p/"), entries()),
                    headers={"Content-Type": "application/rss+xml"})
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("JIANDU_LLM_RESPONSE_FORMAT", "json_object")
        assert jiandu("source", "add", feeds.url("/feed.xml")).returncode == 0
        yield llm


def table_value(output: str, name: str) -> str:
    match = re.search(rf"{re.escape(name)}\s+│?\s*(\S+)", output)
    assert match, f"{name!r} not in the report:\n{output}"
    return match.group(1)


def summary_requests(llm: LLMServer) -> list[dict]:
    return [request for request in llm.requests if not is_triage(request)]


def test_off_topic_items_are_skipped_before_any_summary_and_the_run_report_says_so(world):
    llm = world
    run = jiandu("run")
    assert run.returncode == 0, run.stderr
    items = exported()
    assert items["OpenAI 发布新的大模型"]["status"] == "published"
    for title in ("电商平台双十一促销", "某品牌发布新款手机"):
        assert items[title]["status"] == "skipped"
        assert items[title]["error"].startswith("triage: off-topic (score 0.10): ")
        assert items[title]["summary"] is None
    triage = [request for request in llm.requests if is_triage(request)]
    assert len(triage) == 3 and len(summary_requests(llm)) == 1  # no summary asked for the two
    assert all(request["max_tokens"] == 200 for request in triage)
    prompt = triage[0]["messages"][1]["content"]
    assert f"<topic>\n{TOPIC}\n</topic>" in prompt and "标题：" in prompt
    # The run report: skipped as off-topic, what triage cost, what it saved.
    assert table_value(run.stdout, "skipped by triage") == "2"
    assert table_value(run.stdout, "triage requests") == "3"
    assert int(table_value(run.stdout, "triage tokens saved")) > 100
    assert int(table_value(run.stdout, "triage prompt tokens")) > 0
    why = jiandu("items", "why", str(items["某品牌发布新款手机"]["id"]))
    assert why.returncode == 0 and "skipped as off-topic" in why.stdout


def test_an_invalid_triage_answer_is_taken_as_relevant_never_a_silent_drop(world):
    llm = world
    llm.behaviour = invalid_triage
    run = jiandu("run")
    assert run.returncode == 0, run.stderr
    items = exported()
    assert {item["status"] for item in items.values()} == {"published"}
    assert len(summary_requests(llm)) == 3
    assert table_value(run.stdout, "triage invalid") == "3"
    assert table_value(run.stdout, "skipped by triage") == "0"


def test_a_failing_triage_endpoint_leaves_the_items_waiting_not_skipped(world, monkeypatch):
    llm = world
    llm.behaviour = triage_only(server_error)
    monkeypatch.setenv("JIANDU_LLM_MAX_ATTEMPTS", "1")
    run = jiandu("run")
    assert run.returncode == 0, run.stderr
    items = exported()
    for item in items.values():
        assert item["status"] == "failed", item
        assert item["error"].startswith("triage request failed: HTTP 500")
    assert summary_requests(llm) == []
    assert table_value(run.stdout, "skipped by triage") == "0"
    why = jiandu("items", "why", str(items["某品牌发布新款手机"]["id"]))
    assert "failed at summarise" in why.stdout and "tried again after" in why.stdout


# Offline: the topic's keywords -------------------------------------------------------------------


def test_offline_the_topics_keywords_decide(monkeypatch):
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_TRIAGE", "auto")
    monkeypatch.setenv("JIANDU_TOPIC_KEYWORDS", "大模型, OpenAI")
    with LocalHTTPServer() as feeds:
        feeds.route("/feed.xml", body=feed(feeds.url("/p/"), entries()),
                    headers={"Content-Type": "application/rss+xml"})
        assert jiandu("source", "add", feeds.url("/feed.xml")).returncode == 0
        run = jiandu("run")
        assert run.returncode == 0, run.stderr
    items = exported()
    assert items["OpenAI 发布新的大模型"]["status"] == "published"
    assert items["某品牌发布新款手机"]["error"] == (
        "triage: off-topic: none of the topic's keywords (大模型、OpenAI) is in the title or text")
    assert table_value(run.stdout, "triage") == "keywords"
    assert table_value(run.stdout, "skipped by triage") == "2"


def test_topic_keywords_come_from_the_topic_or_the_purpose_line():
    assert topic_keywords("人工智能、大模型、AI") == ["人工智能", "大模型", "AI"]
    purpose = "本系列文章主要是用于持续跟踪最新的AI产业情况，让你减少知识焦虑。"
    assert topic_keywords(purpose) == ["AI", "产业"]  # jieba's keywords, generic words left out
    assert topic_keywords("whatever", ["  GPU ", "芯片"]) == ["GPU", "芯片"]
    triage = KeywordTriage(("AI",))
    assert triage.reason_to_skip("Gmail 的新 MAIL 功能", "") is not None  # a whole word, not inside one
    assert triage.reason_to_skip("新的 ai 工具", "") is None


# Pieces ----------------------------------------------------------------------------------------


def test_when_triage_runs():
    assert Settings().triage_mode == "off"  # offline, no topic stated (conftest says off too)
    assert Settings(triage="auto").triage_mode == "off"
    assert Settings(triage="auto", llm_base_url="http://127.0.0.1:1/v1").triage_mode == "llm"
    assert Settings(triage="auto", publication_topic="AI").triage_mode == "keywords"
    assert Settings(triage="llm").triage_mode == "keywords"  # no LLM: the offline way
    assert Settings(triage="off", llm_base_url="http://127.0.0.1:1/v1").triage_mode == "off"
    assert Settings(publication_topic="").topic.startswith("本系列文章")  # the purpose line


def test_triage_answers_are_read_forgivingly_and_refused_when_they_say_nothing():
    answer, problem = read_answer('```json\n{"relevant": "yes", "score": 0.7, "reason": "谈AI",}\n```', None)
    assert problem is None and answer.relevant is True and answer.score == 0.7
    assert read_answer('{"relevant": "maybe", "score": 0.5, "reason": "?"}', None)[0] is None
    assert read_answer('{"relevant": true, "score": 7, "reason": "x"}', None)[1].startswith("score:")
    assert read_answer("", None)[1] == "the answer was empty"
    assert read_answer(None, "no")[1] == "the model refused: no"


def test_the_opening_is_the_first_paragraph_within_a_few_hundred_tokens():
    first = AI_TEXT + AI_TEXT  # about 200 字: enough
    assert opening("第一段很短。\n\n" + first + "\n\n" + PHONE_TEXT) == "第一段很短。\n" + first
    assert len(opening("长" * 5000)) <= 901


def test_triage_prompts_do_not_change_the_summaries_prompt_version():
    assert prompt_version() != prompt_version("triage")
    assert len(prompt_version()) == 12


def test_a_text_is_judged_once_per_process():
    MEMORY.clear()
    with LLMServer() as llm:
        client = ChatClient(base_url=llm.base_url, api_key="t", model="m", max_attempts=1)
        triage = LLMTriage(client, model="m", topic=TOPIC, response_format="json_object")
        article = ArticleInput(title="新的大模型", text=AI_TEXT, url="https://example.com/a")
        first = triage.judge("sha-1", article)
        again = triage.judge("sha-1", article)
        other_topic = LLMTriage(client, model="m", topic="体育", response_format="json_object")
        elsewhere = other_topic.judge("sha-1", article)
        assert first.relevant and first.requests == 1 and first.prompt_tokens > 0
        assert again.relevant and again.remembered and again.requests == 0
        assert not elsewhere.relevant and elsewhere.requests == 1  # another topic asks again
        assert len(llm.requests) == 2
        assert llm.requests[0]["response_format"]["schema"]["required"] == ["relevant", "score", "reason"]


# Reports ---------------------------------------------------------------------------------------


def test_the_run_report_and_status_count_each_kind_of_skip_and_the_tokens_saved(monkeypatch):
    """A rule, the topic (offline keywords) and a first poll each skip one entry; `jiandu run`
    and `jiandu status` say how many of each, and what the skipped summaries would have cost."""
    now = datetime.now(timezone.utc)
    monkeypatch.setenv("COLUMNS", "200")  # one table row a line
    monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
    monkeypatch.setenv("JIANDU_FETCH_PAGES", "false")
    monkeypatch.setenv("JIANDU_TRIAGE", "auto")
    monkeypatch.setenv("JIANDU_TOPIC_KEYWORDS", "大模型, 促销")
    monkeypatch.setenv("JIANDU_EXCLUDE", "促销")
    monkeypatch.setenv("JIANDU_FIRST_POLL_MAX_AGE_DAYS", "3")
    old = [("old", ("旧闻：大模型去年的消息", AI_TEXT + " 去年。"), now - timedelta(days=200))]
    with LocalHTTPServer() as feeds:
        feeds.route("/feed.xml", body=feed(feeds.url("/p/"), entries() + old),
                    headers={"Content-Type": "application/rss+xml"})
        assert jiandu("source", "add", feeds.url("/feed.xml")).returncode == 0
        run = jiandu("run")
        assert run.returncode == 0, run.stderr
    assert table_value(run.stdout, "skipped first poll") == "1"
    assert table_value(run.stdout, "skipped by rule") == "1"
    assert table_value(run.stdout, "skipped by triage") == "1"
    assert int(table_value(run.stdout, "triage tokens saved")) > 50
    status = jiandu("status")
    assert status.returncode == 0, status.stderr
    assert table_value(status.stdout, "items skipped by a rule") == "1"
    assert table_value(status.stdout, "items skipped as off-topic (triage)") == "1"
    assert table_value(status.stdout, "items seen at a first poll, not read (source backfill)") == "1"
    saved = int(table_value(status.stdout, "tokens triage saved this week (estimated)"))
    assert saved == int(table_value(run.stdout, "triage tokens saved"))
    assert int(table_value(status.stdout, "tokens rules saved this week (estimated)")) > 50


def test_config_says_which_triage_runs():
    offline = jiandu("config", "--format", "json")
    assert json.loads(offline.stdout)["in_use"]["topic triage"] == "off"
    env = {**os.environ, "JIANDU_TRIAGE": "auto", "JIANDU_PUBLICATION_TOPIC": TOPIC}
    keywords = json.loads(jiandu("config", "--format", "json", env=env).stdout)["in_use"]["topic triage"]
    assert keywords == "offline, by the topic's keywords: AI, 大模型, 人工智能"
    env["JIANDU_LLM_BASE_URL"] = "http://127.0.0.1:9/v1"
    llm = json.loads(jiandu("config", "--format", "json", env=env).stdout)["in_use"]["topic triage"]
    assert llm.startswith("one short LLM request per item") and TOPIC in llm


def test_with_a_fallback_chain_the_triage_asks_the_primary_and_is_priced_at_its_rate(monkeypatch):
    """Real pages on 127.0.0.1, a topic none of them is about: every text is judged once by the
    primary, none is summarised, and the run's cost is the triage's at the primary's price."""
    from jiandu.runtime import open_runtime
    from jiandu.settings import get_settings
    from jiandu.stages.ingest import ingest
    from jiandu.stages.summarise import summarise
    from jiandu.models import store
    from tests.support.world import serve_world

    MEMORY.clear()
    with LocalHTTPServer() as pages, LLMServer() as primary, LLMServer() as backup:
        serve_world(pages)
        for name, value in {
            "JIANDU_ALLOW_PRIVATE_HOSTS": "1", "JIANDU_TRIAGE": "llm",
            "JIANDU_PUBLICATION_TOPIC": "核聚变反应堆XYZQ",
            "JIANDU_LLM_BASE_URL": primary.base_url, "JIANDU_LLM_MODEL": "primary-model",
            "JIANDU_LLM_RESPONSE_FORMAT": "json_object",
            "JIANDU_LLM_FALLBACKS": json.dumps([{"base_url": backup.base_url, "model": "backup-model"}]),
            "JIANDU_LLM_PRICES": json.dumps({"primary-model": [1, 2], "backup-model": [3, 4]}),
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        rt = open_runtime()
        try:
            with rt.sessions.begin() as session:
                store.add_source(session, kind="feed", url=pages.url("/feed.xml"))
            ingest(rt)
            report = summarise(rt)
        finally:
            rt.close()
    texts = report.skipped_by_triage
    assert texts > 3 and report.summarised == 0 and report.failed == 0
    assert report.triage_requests == texts == len(primary.requests) and backup.requests == []
    assert report.models == {"primary-model": {
        "requests": texts, "prompt_tokens": report.triage_prompt_tokens,
        "completion_tokens": report.triage_completion_tokens, "summaries": 0,
        "cost_usd": report.cost_usd}}
    assert report.cost_usd == round((report.triage_prompt_tokens * 1 + report.triage_completion_tokens * 2) / 1e6, 6)
    assert report.triage_tokens_saved > report.triage_prompt_tokens  # real articles: worth it
