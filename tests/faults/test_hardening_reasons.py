"""Issue 12, hole 12: each failure is recorded with its true reason and its true cost.

- an LLM endpoint that answers a body that is not JSON: the reason says so, the request counts;
- a summary that fails after its repair request: the repair is counted;
- a redirect whose Location is not a URL (`http:\\\\127.0.0.1`): a FetchError naming the URL.
"""

from __future__ import annotations

import pytest

from jiandu.connectors.errors import FetchError
from jiandu.connectors.http import fetch, make_client
from jiandu.models.schema import Item
from jiandu.stages.summarise import summarise
from jiandu.testing.llm_server import LLMServer, Reply
from tests.faults.support import article, fault_runtime, load_articles
from tests.support.http_server import http_server  # noqa: F401  (fixture)


def summarise_against(monkeypatch, tmp_path, behaviour):
    with LLMServer() as llm:
        llm.behaviour = behaviour
        rt = fault_runtime(monkeypatch, JIANDU_FETCH_PAGES="0", JIANDU_LLM_BASE_URL=llm.base_url,
                           JIANDU_LLM_API_KEY="k", JIANDU_LLM_MAX_ATTEMPTS="1")
        load_articles(rt, tmp_path, {"gmw": article("gmw")})
        report = summarise(rt)
        with rt.sessions() as session:
            [item] = session.query(Item).all()
            error = item.error
        rt.close()
        return report, error, len(llm.requests)


def test_a_body_that_is_not_json_is_named_and_its_request_counted(monkeypatch, tmp_path):
    report, error, asked = summarise_against(monkeypatch, tmp_path, lambda request, number: Reply(
        raw_body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}))
    assert report.failed == 1 and "AttributeError" not in error
    assert "not JSON" in error or "not a chat completion" in error, error
    assert report.requests == asked >= 1


def test_a_failed_summary_counts_its_repair(monkeypatch, tmp_path):
    def no_json(request, number):  # notes for the parts of a long article are fine
        return Reply(content="no JSON here") if request.get("response_format") else Reply()

    report, error, asked = summarise_against(monkeypatch, tmp_path, no_json)
    assert report.failed == 1 and "after one repair" in error, error
    assert report.requests == asked
    assert report.repairs == 1


def test_an_invalid_redirect_location_is_a_fetch_error_naming_the_url(http_server):
    http_server.route("/moved", redirect="http:\\\\127.0.0.1")
    with make_client(connect_timeout=1, read_timeout=2) as client:
        with pytest.raises(FetchError) as caught:
            fetch(client, http_server.url("/moved"), allow_private=True)
    assert http_server.url("/moved") in str(caught.value)
    assert "http:\\\\127.0.0.1" in caught.value.reason
