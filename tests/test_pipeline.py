"""The whole pipeline on real parts: feeds and pages on 127.0.0.1, an OpenAI-compatible server
on 127.0.0.1 through the real openai SDK, a real SQLite file. Stage functions are called
directly here; tests/test_cli_flows.py runs the same through the CLI and Prefect."""

from __future__ import annotations

import re

import pytest

from jiandu.runtime import open_runtime
from jiandu.settings import get_settings
from jiandu.stages.ingest import ingest
from jiandu.stages.publish import publish
from jiandu.stages.summarise import summarise
from jiandu.models import store
from tests.support.http_server import LocalHTTPServer
from jiandu.testing.llm_server import LLMServer
from tests.support.world import serve_world


@pytest.fixture
def world(monkeypatch):
    with LocalHTTPServer() as server, LLMServer() as llm:
        urls = serve_world(server)
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "1")
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("JIANDU_LLM_API_KEY", "test-key")
        monkeypatch.setenv("JIANDU_LLM_MODEL", "loopback-model")
        get_settings.cache_clear()
        rt = open_runtime()
        with rt.sessions.begin() as session:
            store.add_source(session, kind="feed", url=server.url("/feed.xml"))
        yield rt, server, llm, urls
        rt.close()


def issue_items(markdown: str) -> list[tuple[str, list[str]]]:
    blocks = re.split(r"\n(?=#{2,3} )", markdown)
    found = []
    for block in blocks:
        if "要点解析" in block:
            body = block.split("要点解析", 1)[1]
            found.append((block.splitlines()[0], [l for l in body.splitlines() if l.startswith("- ")]))
    return found


def test_run_publishes_every_item_with_three_bullets_and_rerun_costs_nothing(world):
    rt, server, llm, urls = world
    first = ingest(rt)
    assert first.new_items == len(urls)
    assert first.pages_fetched == len(urls)
    assert first.text_from_page == len(urls)
    summed = summarise(rt)
    assert summed.failed == 0
    assert summed.summarised == len(urls)
    assert len(llm.requests) >= len(urls)
    published = publish(rt)
    assert published.issue_number == 1
    assert published.items == len(urls)

    with rt.sessions() as session:
        issue = store.issue_by_number(session, 1)
        items = issue_items(issue.markdown)
    assert len(items) == len(urls)
    assert all(len(bullets) == 3 for _, bullets in items)
    for url in urls.values():
        assert f"[{url}]({url})" in issue.markdown

    # Second run: the feed answers 304, no page is downloaded again, no LLM request is sent.
    requests_before = len(llm.requests)
    page_hits = {name: server.hits(f"/articles/{name}.html") for name in urls}
    again = ingest(rt)
    assert again.not_modified == 1 and again.new_items == 0 and again.pages_fetched == 0
    assert server.requests("/feed.xml")[-1].get("if-none-match") == '"feed-v1"'
    assert summarise(rt).summarised == 0
    assert publish(rt).issue_number is None
    assert len(llm.requests) == requests_before
    assert {name: server.hits(f"/articles/{name}.html") for name in urls} == page_hits


def test_failed_page_without_feed_text_is_kept_and_retried(world, monkeypatch):
    rt, server, llm, urls = world
    broken = next(iter(urls))
    server.route(f"/articles/{broken}.html", body=b"oops", status=500)
    report = ingest(rt)
    assert report.fetch_failures == 0  # the feed's teaser stands in for the page
    with rt.sessions() as session:
        item = next(i for i in store.iter_items(session) if i.url == urls[broken])
        assert item.text_origin == "feed"
        assert "500" in item.text_reason


def test_summaries_start_while_pages_are_still_being_fetched(world):
    """Half the pages are held back until the LLM has had its first request: the run can only
    finish if summarising starts before fetching ends."""
    import threading

    from jiandu.stages import pipeline
    from tests.support.world import real_pages

    rt, server, llm, urls = world
    first_summary_requested = threading.Event()
    answer = llm.behaviour

    def noting_first_request(request, number):
        first_summary_requested.set()
        return answer(request, number)

    llm.behaviour = noting_first_request
    bodies = real_pages()

    def held_back(name):
        def handler(request):
            released = first_summary_requested.wait(timeout=30)
            body = bodies[name] if released else b"held back: no summary was requested"
            request.send_response(200 if released else 503)
            request.send_header("Content-Type", "text/html")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        return handler

    for name in list(urls)[len(urls) // 2:]:
        server.routes[f"/articles/{name}.html"].handler = held_back(name)
    ingested, summarised = pipeline.ingest_and_summarise(rt)
    assert first_summary_requested.is_set()
    assert ingested.new_items == len(urls) and ingested.text_from_page == len(urls)
    assert summarised.summarised + summarised.unfaithful == len(urls)
