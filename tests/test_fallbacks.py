"""JIANDU_LLM_FALLBACKS: two loopback OpenAI-compatible servers, the first refusing connections
or answering 401; items are published by the second, and their summaries name it."""

from __future__ import annotations

import json
import socket

import pytest

from jiandu.errors import SummariseError
from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.status import collect_status
from jiandu.summarising.fallback import FallbackSummariser, endpoint_gave_up
from jiandu.testing.llm_server import LLMServer, Reply, truncated_json
from jiandu.models import store
from jiandu.models.schema import Item
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def unauthorised(request: dict, number: int) -> Reply:
    return Reply(status=401, content='{"error": {"message": "invalid api key"}}')


@pytest.fixture
def world(monkeypatch):
    with LocalHTTPServer() as server:
        serve_world(server)
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_LLM_MAX_ATTEMPTS", "2")
        monkeypatch.setenv("JIANDU_LLM_PRICES", json.dumps({"primary-model": [1, 2], "backup-model": [3, 4]}))
        rt = open_runtime()
        with rt.sessions.begin() as session:
            store.add_source(session, kind="feed", url=server.url("/feed.xml"))
        ingest(rt)
        rt.close()
        yield monkeypatch


@pytest.mark.parametrize("primary", ["refused", "401"])
def test_items_are_published_through_the_fallback_and_name_it(world, primary):
    with LLMServer(unauthorised) as first, LLMServer() as second:
        world.setenv("JIANDU_LLM_BASE_URL", closed_port_url() if primary == "refused" else first.base_url)
        world.setenv("JIANDU_LLM_MODEL", "primary-model")
        world.setenv("JIANDU_LLM_FALLBACKS", json.dumps(
            [{"base_url": second.base_url, "model": "backup-model", "api_key": "sk-backup",
              "response_format": "json_object"}]))
        get_settings.cache_clear()
        rt = open_runtime()
        try:
            report = summarise(rt)
            published = publish(rt)
            with rt.sessions() as session:
                models = {item.summary.model for item in session.query(Item) if item.summary}
        finally:
            rt.close()
    assert report.summarised > 0 and report.failed == 0
    assert published.issue_number == 1
    assert models == {"backup-model"}
    assert report.models["backup-model"]["summaries"] == report.summarised + report.unfaithful
    if primary == "401":
        assert report.models["primary-model"]["requests"] >= 1  # 401 is not retried
        assert len(first.requests) == report.models["primary-model"]["requests"]
    assert report.models["backup-model"]["prompt_tokens"] > 0
    backup = report.models["backup-model"]
    assert backup["cost_usd"] == round((3 * backup["prompt_tokens"] + 4 * backup["completion_tokens"]) / 1e6, 6)
    assert report.cost_usd == round(sum(m["cost_usd"] for m in report.models.values()), 6)
    rt = open_runtime()
    try:
        assert collect_status(rt)["cost this week (USD)"] == round(report.cost_usd, 4)
    finally:
        rt.close()


class Failing:
    def __init__(self, model, reason):
        self.model, self.prompt_version, self.reason, self.calls = model, "v", reason, 0

    def summarise(self, article, sections):
        self.calls += 1
        error = SummariseError(self.reason)
        error.spent(10, 0, 1)
        raise error


def test_an_invalid_answer_is_not_passed_down_the_chain():
    invalid = Failing("a", "invalid answer from a: the answer was empty; after one repair: the answer was empty")
    backup = Failing("b", "never asked")
    with pytest.raises(SummariseError, match="invalid answer"):
        FallbackSummariser([invalid, backup]).summarise(None, ["其他"])
    assert backup.calls == 0


def test_every_endpoint_giving_up_names_each_reason():
    a = Failing("a", "HTTP 404 from http://a/v1: no such model")
    b = Failing("b", "APIConnectionError from http://b/v1; gave up after 2 attempts")
    with pytest.raises(SummariseError) as caught:
        FallbackSummariser([a, b]).summarise(None, ["其他"])
    assert "a: HTTP 404" in caught.value.reason and "b: APIConnectionError" in caught.value.reason
    assert caught.value.requests == 2 and caught.value.prompt_tokens == 20


@pytest.mark.parametrize("reason, gave_up", [
    ("HTTP 401 from http://x/v1: bad key", True), ("HTTP 403 from http://x/v1: no", True),
    ("HTTP 404 from http://x/v1: no model", True), ("HTTP 400 from http://x/v1: bad", False),
    ("HTTP 503 from http://x/v1: busy; gave up after 5 attempts", True),
    ("invalid answer from m: title is not in Chinese", False),
])
def test_what_counts_as_the_endpoint_giving_up(reason, gave_up):
    assert endpoint_gave_up(SummariseError(reason)) is gave_up


def test_bad_fallbacks_setting_is_one_line_naming_it(monkeypatch):
    from jiandu.errors import ConfigError

    monkeypatch.setenv("JIANDU_LLM_FALLBACKS", '[{"model": "m"}]')
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="JIANDU_LLM_FALLBACKS"):
        get_settings()
