"""Held and failed are never silent (issue 14): every summarise run and `jiandu status` list the
items held, failed or flagged with their reasons, and `jiandu items retry` asks again now.
Real HTTP world, the loopback OpenAI-compatible server, real SQLite, through the typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jiandu.cli import app
from jiandu.settings import get_settings
from jiandu.testing import llm_server as fake
from jiandu.testing.llm_server import LLMServer
from tests.support.http_server import LocalHTTPServer
from tests.support.world import serve_world

runner = CliRunner()


def jiandu(*args: str, code: int = 0) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    # An InputError reaches the user through jiandu.cli.main; here it is the exception.
    return result.output + (str(result.exception) if code and result.exception else "")


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in jiandu("items", "export").splitlines():
        status = json.loads(line)["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


@pytest.fixture
def world(monkeypatch):
    with LocalHTTPServer() as server, LLMServer(fake.invented_number) as llm:
        urls = serve_world(server)
        monkeypatch.setenv("JIANDU_ALLOW_PRIVATE_HOSTS", "true")
        monkeypatch.setenv("JIANDU_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("JIANDU_LLM_API_KEY", "sk-test")
        monkeypatch.setenv("COLUMNS", "250")  # one line per table row
        jiandu("source", "add", server.url("/feed.xml"))
        jiandu("ingest")
        yield llm, urls


def test_held_items_are_listed_with_reasons_then_retried_now(world):
    llm, urls = world
    out = jiandu("summarise")
    assert "Needs attention" in out and out.count(" held ") >= len(urls)
    assert "unsupported claims: 987654亿" in out
    assert statuses() == {"held": len(urls)}

    status = jiandu("status")
    assert f"{len(urls)} held" in status and "unsupported claims: 987654亿" in status

    # The endpoint is fixed; nothing would be asked before the backoff, but retry asks now.
    llm.behaviour = fake.ok
    sent = len(llm.requests)
    assert "Nothing" not in jiandu("summarise") and len(llm.requests) == sent  # backoff holds them
    out = jiandu("items", "retry", "--all")
    assert f"{len(urls)} items due now ({len(urls)} to summarise, 0 to fetch)" in out
    assert len(llm.requests) >= sent + len(urls)  # long articles take a request per part too
    assert statuses() == {"summarised": len(urls)}
    assert "Needs attention" not in jiandu("status")


def test_failed_items_are_listed_and_retried_by_id(world):
    llm, urls = world
    llm.behaviour = fake.truncated_json
    out = jiandu("summarise")
    assert "failed" in out and "cut off" in out
    status = jiandu("status")
    assert f"{len(urls)} failed" in status
    first_id = min(json.loads(line)["id"] for line in jiandu("items", "export").splitlines())

    llm.behaviour = fake.ok
    out = jiandu("items", "retry", str(first_id))
    assert "1 items due now (1 to summarise, 0 to fetch)" in out
    assert statuses() == {"summarised": 1, "failed": len(urls) - 1}


def test_a_foreign_title_is_published_but_flagged_for_the_editor(world):
    llm, urls = world

    def english_title(request, number):
        if not request.get("response_format"):  # notes for a part of a long article
            return fake.Reply()
        data = json.loads(fake.default_answer(request))
        return fake.Reply(content=json.dumps({**data, "title": "An English title"}, ensure_ascii=False))

    llm.behaviour = english_title
    out = jiandu("summarise")
    assert " flagged " in out and "title: not in Chinese" in out
    assert statuses() == {"summarised": len(urls)}
    assert f"{len(urls)} flagged" in jiandu("status")
    exported = [json.loads(line) for line in jiandu("items", "export").splitlines()]
    assert all(record["summary"]["title"] == "An English title" for record in exported)
    jiandu("publish")  # published like any other summary
    assert statuses() == {"published": len(urls)}


def test_retry_refuses_what_it_cannot_retry(world):
    llm, urls = world
    assert "give item ids or --all" in jiandu("items", "retry", code=1)
    out = jiandu("items", "retry", "99999", code=1)
    assert "item 99999: no such item" in out and "nothing to retry" in out
    llm.behaviour = fake.ok
    jiandu("summarise")
    an_id = json.loads(jiandu("items", "export").splitlines()[0])["id"]
    assert f"item {an_id}: is summarised, not held or failed" in jiandu("items", "retry", str(an_id), code=1)


@pytest.mark.slow
def test_the_summarise_flow_leaves_an_artifact_of_held_items(world, prefect_harness):
    from prefect.client.orchestration import get_client

    from jiandu.flows.pipeline import summarise_flow

    llm, urls = world
    get_settings.cache_clear()
    report = summarise_flow()
    assert report["unfaithful"] == len(urls)
    with get_client(sync_client=True) as client:
        artifacts = {a.key: a.data for a in client.read_artifacts() if a.key}
    rows = artifacts["summarise-report-attention"]
    rows = json.loads(rows) if isinstance(rows, str) else rows
    assert len(rows) == len(urls) and {row["status"] for row in rows} == {"held"}
    assert all(row["reason"] == "unsupported claims: 987654亿" for row in rows)
