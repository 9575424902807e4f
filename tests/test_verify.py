"""The optional LLM verifier (JIANDU_VERIFY=llm, issue 14) through the loopback server: one more
request per summary, listed statements get one regeneration, then hold; every request counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jiandu.records import ArticleInput
from jiandu.settings import get_settings
from jiandu.summarising.llm import from_settings
from jiandu.testing import llm_server as fake
from jiandu.testing.llm_server import LLMServer
from jiandu.summarising.verify import read_statements

ARTICLE = json.loads((Path(__file__).parent / "fixtures" / "articles" / "gmw.json").read_text(encoding="utf-8"))
SECTIONS = ["产品介绍", "产业资讯", "技术教程", "其他"]


def is_verification(request: dict) -> bool:
    return "逐条核对" in request["messages"][-1]["content"]


def verifier_says(*answers: list[str]):
    """Summaries as usual; the n-th verification lists answers[n] (the last one from then on)."""
    seen = []

    def behaviour(request, number):
        if not is_verification(request):
            return fake.ok(request, number)
        listed = answers[min(len(seen), len(answers) - 1)]
        seen.append(request)
        return fake.Reply(content=json.dumps({"unsupported": listed}, ensure_ascii=False))

    return behaviour


def summarise(monkeypatch, behaviour, **env):
    with LLMServer(behaviour) as server:
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("JIANDU_LLM_MAX_CONCURRENCY", "2")
        monkeypatch.setenv("JIANDU_VERIFY", "llm")
        monkeypatch.setenv("JIANDU_LLM_INPUT_TOKEN_BUDGET", "100000")  # one request per summary
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        summary = from_settings(get_settings()).summarise(
            ArticleInput(title=ARTICLE["title"], text=ARTICLE["text"]), SECTIONS)
        return summary, server.requests


def test_a_supported_summary_costs_one_more_request_counted(monkeypatch):
    summary, requests = summarise(monkeypatch, verifier_says([]))
    assert [is_verification(r) for r in requests] == [False, True]
    assert summary.requests == 2 and summary.faithful is True
    # The loopback server counts a token per two characters: both prompts are in the total.
    prompts = ["".join(m["content"] for m in r["messages"]) for r in requests]
    assert summary.prompt_tokens >= sum(len(p) // 2 for p in prompts) - 2


def test_listed_statements_get_one_regeneration(monkeypatch):
    summary, requests = summarise(monkeypatch, verifier_says(["国际空间站由SpaceX建造"], []))
    assert [is_verification(r) for r in requests] == [False, True, False, True]
    assert "国际空间站由SpaceX建造" in requests[2]["messages"][-1]["content"]
    assert summary.faithful is True and summary.repairs == 1 and summary.requests == 4


def test_statements_listed_twice_hold_the_summary(monkeypatch):
    summary, requests = summarise(monkeypatch, verifier_says(["霍特说宇航员可以喝酒"]))
    assert len(requests) == 4
    assert summary.faithful is False and summary.unsupported == ["霍特说宇航员可以喝酒"]


def test_a_second_model_can_verify(monkeypatch):
    _, requests = summarise(monkeypatch, verifier_says([]), JIANDU_LLM_MODEL="small",
                            JIANDU_VERIFY_MODEL="big")
    assert [r["model"] for r in requests] == ["small", "big"]


def test_off_by_default(monkeypatch):
    summary, requests = summarise(monkeypatch, verifier_says(["x"]), JIANDU_VERIFY="off")
    assert len(requests) == 1 and summary.faithful is True


@pytest.mark.parametrize(("content", "statements"), [
    ('{"unsupported": []}', []),
    ('```json\n{"unsupported": ["甲", "乙",],}\n```', ["甲", "乙"]),
    ('["甲"]', ["甲"]),
    ('{"unsupported": "甲"}', ["甲"]),
    ("I think everything is fine.", None),
])
def test_the_verifiers_answer_is_read_forgivingly(content, statements):
    assert read_statements(content) == statements
