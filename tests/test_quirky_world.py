"""Issue 14's bar: the loopback world answering the way small local models write (every quirk
at once, and each quirk on its own for a share of articles). 60 real articles publish in one
run, with no request beyond one per summary (and one per part of a long article)."""

from __future__ import annotations

import hashlib

import pytest

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.testing import llm_server
from jiandu.testing.llm_server import LLMServer
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

QUIRKS = [llm_server.real_model, *llm_server.QUIRKS.values()]


def like_small_models(request: dict, number: int) -> llm_server.Reply:
    """Each article always gets the same quirk, chosen by a stable hash of its text."""
    text = llm_server.article_text(request)
    index = int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(QUIRKS)
    return QUIRKS[index](request, number)


@pytest.mark.slow
def test_sixty_articles_answered_like_small_models_all_publish(monkeypatch):
    with LocalHTTPServer() as server, LLMServer(like_small_models) as llm:
        urls = serve_world(server, more=True)
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("JIANDU_LLM_API_KEY", "test")
        monkeypatch.setenv("JIANDU_LLM_RESPONSE_FORMAT", "json_object")
        monkeypatch.setenv("JIANDU_LLM_MAX_CONCURRENCY", "4")
        get_settings.cache_clear()
        rt = open_runtime()
        from jiandu.models import store

        with rt.sessions.begin() as session:
            store.add_source(session, kind="feed", url=server.url("/feed.xml"))
        assert ingest(rt).new_items == len(urls) == 60
        report = summarise(rt)
        assert report.failed == 0 and report.unfaithful == 0 and report.repairs == 0, report.attention
        summary_requests = sum(1 for request in llm.requests if request.get("response_format"))
        assert summary_requests == report.summarised  # no repair, no regeneration
        issue = publish(rt)
        assert issue.items == report.summarised
        rt.close()
